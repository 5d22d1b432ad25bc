"""Compose durations (``1m30s``, ``500ms``, ``2h``) as seconds."""

from __future__ import annotations

import math
import re

from berth.errors import written_value

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str | int | float, *, written: object = None) -> float:
    """Seconds in a compose duration; a bare number counts as seconds.

    Raises ValueError quoting the offending value as YAML spells it (``written``, the file's
    own spelling, when the caller knows it) when it is not a duration; examples of one are the
    caller's hint.
    """
    shown = text if written is None else written
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"{written_value(shown)} is not a duration")
    if isinstance(text, int | float):
        return _finite(text, shown)
    value = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return _finite(float(value), shown)
    parts = _PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"{written_value(shown)} is not a duration")
    return _finite(sum(float(number) * _UNITS[unit] for number, unit in parts), shown)


def _finite(seconds: float, text: object) -> float:
    """Seconds that are a real length of time: a number too large for a float (400 digits,
    ``999…9h``) is infinity, and no target holds an infinite timeout (nor NaN)."""
    try:
        value = float(seconds)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{written_value(text)} is not a duration of finite length")
    return value


def go_duration(seconds: float) -> str:
    """Seconds as Docker's API and CLI parse a duration (Go's ``time.ParseDuration``, Google's
    ``Duration`` too): ``30s``, ``0.5s``, ``3600s``; never ``%g``'s ``3.6e+09s`` or ``1e-09s``,
    which neither parses. Nanoseconds are Go's unit, so nothing finer is kept."""
    nanoseconds = round(seconds * 1e9)
    whole, fraction = divmod(nanoseconds, 10**9)
    return f"{whole}.{fraction:09d}".rstrip("0").rstrip(".") + "s"


def format_duration(seconds: float) -> str:
    """A short human form: ``10m``, ``1m30s``, ``2.5s``."""
    if seconds < 60:
        return f"{seconds:g}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs else "")
