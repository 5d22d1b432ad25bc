"""A job of the top-level ``jobs:`` (Compose v5): a container that runs to completion on
demand (``triggers.manual``) or on schedules (``triggers.schedule``), never by a deployment."""

from __future__ import annotations

import dataclasses
import functools
import zoneinfo
from collections.abc import Mapping
from typing import Any

from berth.cron import CronError, normalized_cron
from berth.model import Concurrency, MissedFires, Schedule, Service, Triggers
from berth.normalize.context import Context
from berth.normalize.service import service as service_step
from berth.quantities import Fail

_NOT_CONTAINER = ("triggers", "name")
"""Keys of a job's Compose output that are not its container's (``name`` is its own key)."""


def job(context: Context, name: str, raw: dict[str, Any], defined: Mapping[str, Any]) -> Service:
    fail = context.fail(name, "jobs")
    body = {key: value for key, value in raw.items() if key not in _NOT_CONTAINER}
    body["restart"] = "no"
    built = service_step(context, name, body, defined, section="jobs")
    written = raw.get("triggers") or {}
    schedules = tuple(
        _schedule(entry, index, fail) for index, entry in enumerate(written.get("schedule") or ())
    )
    triggers = Triggers(
        manual=str(written.get("manual", True)).lower() != "false", schedules=schedules
    )
    # ``manual: false`` asks nothing of a target: only a job that may be run by hand does.
    trigger_fields = {
        f"triggers.{key}"
        for key in written
        if not str(key).startswith("x-") and not (key == "manual" and not triggers.manual)
    }
    return dataclasses.replace(
        built,
        job=True,
        triggers=triggers,
        fields=tuple(sorted((set(built.fields) - {"restart"}) | trigger_fields)),
    )


@functools.cache
def cloud_time_zones() -> frozenset[str]:
    """The IANA zones, without the tz database's own aliases no cloud scheduler takes
    (``posix/…``, ``right/…``, ``localtime``, ``Factory``)."""
    return frozenset(
        zone
        for zone in zoneinfo.available_timezones()
        if not zone.startswith(("posix/", "right/")) and zone not in _NOT_CLOUD_ZONES
    )


_NOT_CLOUD_ZONES = frozenset({"localtime", "Factory", "posixrules"})


def _schedule(entry: Mapping[str, Any], index: int, fail: Fail) -> Schedule:
    field = f"triggers.schedule[{index}]"
    cron = str(entry.get("cron") or "")
    try:
        cron = normalized_cron(cron)
    except CronError as error:
        raise fail(
            f"{field}.cron",
            f"{error} (a cloud scheduler would refuse it)"
            if cron
            else "the cron expression is empty",
            'write five fields, e.g. "0 3 * * *" for 03:00 every day, or @daily',
        ) from None
    timezone = entry.get("timezone")
    if timezone is not None and str(timezone) not in cloud_time_zones():
        raise fail(
            f"{field}.timezone",
            f"{timezone!r} is not a time zone a cloud scheduler knows",
            "use an IANA time zone name, e.g. Europe/Paris, America/New_York or UTC",
        )
    return Schedule(
        cron=cron,
        timezone=None if timezone is None else str(timezone),
        concurrency=Concurrency(entry.get("concurrency") or Concurrency.FORBID),
        missed_fires=MissedFires(entry.get("missed_fires") or MissedFires.ONE),
    )
