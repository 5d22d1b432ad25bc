"""A service's ``healthcheck``: none when disabled or ``NONE``, durations in seconds."""

from __future__ import annotations

from typing import Any

from berth.model import Healthcheck
from berth.normalize.context import Context
from berth.quantities import Fail, count, health_duration


def healthcheck(context: Context, raw: dict[str, Any] | None, fail: Fail) -> Healthcheck | None:
    if not raw or raw.get("disable") or not raw.get("test"):
        return None
    test = context.texts(raw["test"]) or ()
    if test and test[0] == "NONE":
        return None

    def seconds(key: str) -> float | None:
        return health_duration(raw.get(key), f"healthcheck.{key}", fail)

    return Healthcheck(
        test=test,
        interval=seconds("interval"),
        timeout=seconds("timeout"),
        retries=count(raw.get("retries"), "healthcheck.retries", fail),
        start_period=seconds("start_period"),
        start_interval=seconds("start_interval"),
    )
