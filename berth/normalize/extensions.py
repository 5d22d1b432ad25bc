"""Berth's own ``x-berth-*`` extensions of a service: known ones only, and the run policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from berth.quantities import Fail

BERTH_EXTENSIONS = {
    "x-berth-run": "run the job on every deployment (always) or only when it changed (on-change)",
    "x-berth-timeout": "how long the job may run, as a compose duration such as 30m",
}


def check_extensions(extensions: Mapping[str, Any], fail: Fail) -> None:
    """Refuse an ``x-berth-*`` key Berth does not know: a typo would silently do nothing."""
    for key in extensions:
        if key.startswith("x-berth-") and key not in BERTH_EXTENSIONS:
            known = ", ".join(sorted(BERTH_EXTENSIONS))
            raise fail(key, "unknown Berth extension", f"use one of {known}")


def run_policy(value: Any, fail: Fail) -> bool:
    """``x-berth-run``: whether the job runs on every deployment."""
    if value is None or value == "on-change":
        return False
    if value == "always":
        return True
    raise fail("x-berth-run", f"{value!r} is not a run policy", "use always or on-change")
