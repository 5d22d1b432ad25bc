"""A top-level volume: its name as Docker knows it (``<project>_<key>`` unless named), and an
external one's name checked, since it is looked up by that name."""

from __future__ import annotations

from typing import Any

from berth.errors import BerthError
from berth.model import Volume
from berth.quantities import volume_name
from berth.sources import Sources


def volume(sources: Sources, key: str, raw: dict[str, Any], project: str) -> Volume:
    name = str(raw.get("name") or f"{project}_{key}")
    if raw.get("external"):  # looked up by that name: one Docker could have made
        file = sources.declaring("volumes")
        volume_name(
            name,
            lambda field, problem, hint: BerthError(problem, file=file, field=field, hint=hint),
        )
    return Volume(
        key=key,
        name=name,
        external=bool(raw.get("external")),
        driver=raw.get("driver"),
        extensions={k: v for k, v in raw.items() if str(k).startswith("x-")},
    )
