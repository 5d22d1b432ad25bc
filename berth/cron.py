"""Cron expressions as every cloud scheduler reads them: five fields, checked here once.

Compose does not check a schedule's ``cron`` at all (``not a cron`` loads); a cloud refuses
one at deploy time, after the images are built. Berth accepts what all three schedulers
accept and converts: numbers, ``*``, ranges, steps and lists, month and weekday names, and the
descriptors ``@hourly`` to ``@yearly``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    """Names standing for ``low``, ``low + 1``, ...; written in any case."""


FIELDS = (
    CronField("a minute", 0, 59),
    CronField("an hour", 0, 23),
    CronField("a day of month", 1, 31),
    CronField("a month", 1, 12, MONTHS),
    CronField("a day of week", 0, 7, WEEKDAYS),
)
_PART = re.compile(r"^(?P<range>\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/(?P<step>[0-9]+))?$")


class CronError(ValueError):
    """What is wrong with an expression, in words for a one-line message."""


def normalized_cron(expression: str) -> str:
    """``expression`` as five space-separated fields, names upper-cased; CronError if a cloud
    scheduler would refuse it."""
    text = " ".join(str(expression).split())
    text = DESCRIPTORS.get(text.lower(), text)
    parts = text.split(" ") if text else []
    if len(parts) != len(FIELDS):
        raise CronError(
            f"{expression!r} has {len(parts)} fields, not 5 (minute hour day-of-month month "
            "day-of-week)"
        )
    fields = [
        ",".join(_checked(item, field, expression) for item in part.split(","))
        for part, field in zip(parts, FIELDS, strict=True)
    ]
    return " ".join(fields).upper()


def _checked(item: str, field: CronField, expression: str) -> str:
    """``item`` as every scheduler reads it: a step from a single value (``5/15``, which
    Cloud Scheduler does not document) written as the range it means (``5-59/15``)."""
    match = _PART.match(item)
    if not match:
        raise CronError(f"{item!r} in {expression!r} is not a value, range or step")
    if match["step"] is not None and int(match["step"]) == 0:
        raise CronError(f"the step in {item!r} of {expression!r} is 0")
    if match["range"] == "*":
        return item
    bounds = [_value(bound, field, expression) for bound in match["range"].split("-")]
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        raise CronError(
            f"the range {match['range']!r} in {expression!r} runs backwards: schedulers do not "
            "wrap around"
        )
    if match["step"] is not None and len(bounds) == 1:
        return f"{bounds[0]}-{field.high}/{match['step']}"
    return item


def _value(bound: str, field: CronField, expression: str) -> int:
    value = field_value(bound, field)
    if value is None:
        raise CronError(
            f"{bound!r} in {expression!r} is not {field.name} "
            f"({field.low}-{field.high}"
            + (f" or {field.names[0]}-{field.names[-1]}" if field.names else "")
            + ")"
        )
    return value


def field_value(text: str, field: CronField) -> int | None:
    """The number ``text`` stands for in ``field``, or None."""
    if text.isdigit():
        number = int(text)
        return number if field.low <= number <= field.high else None
    upper = text.upper()
    return field.low + field.names.index(upper) if upper in field.names else None


def field_values(text: str, field: CronField) -> set[int]:
    """The values a field of a checked expression matches: its lists, ranges and steps (a
    step from a single value running to the field's end, as cron reads ``5/15``)."""
    found: set[int] = set()
    for item in text.split(","):
        span, _, step = item.partition("/")
        if span == "*":
            low, high = field.low, field.high
        else:
            first, _, last = span.partition("-")
            low = _value(first, field, text)
            high = _value(last, field, text) if last else (field.high if step else low)
        found.update(range(low, high + 1, int(step) if step else 1))
    return found
