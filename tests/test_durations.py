"""Compose durations as seconds, and back to a short human form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from berth.durations import format_duration, go_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("1m30s", 90.0),
        ("10m", 600.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("250us", 0.00025),
        ("250µs", 0.00025),
        ("100ns", 1e-7),
        ("1h1m1s1ms", 3661.001),
        ("45", 45.0),
        ("2.5", 2.5),
        (" 30s ", 30.0),
        (30, 30.0),
        (1.5, 1.5),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["", "soon", "1d", "10M", "1m 30s", "m30", "-5s", "1h-30m", "30s!", "s"],
)
def test_parse_duration_refuses_what_is_not_a_duration(text):
    """Examples of a duration are each caller's hint: said here too, they were said twice."""
    with pytest.raises(ValueError, match=r"is not a duration$"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (True, "true"),
        (False, "false"),
        (None, "null"),
        ([1], "[1]"),
        ({"a": 1}, "{a: 1}"),
        (float("nan"), ".nan"),
        (float("inf"), ".inf"),
    ],
)
def test_parse_duration_refuses_other_types_spelled_as_yaml_spells_them(value, shown):
    with pytest.raises(ValueError, match="is not a duration") as caught:
        parse_duration(value)

    assert str(caught.value).startswith(f"{shown} is not a duration")


def test_a_duration_is_quoted_as_the_file_wrote_it_when_the_caller_knows():
    """Compose re-spells ``1e9`` as ``1e+09``: the user wrote the first."""
    with pytest.raises(ValueError, match=r"^1e9 is not a duration$"):
        parse_duration("1e+09", written="1e9")


@pytest.mark.parametrize("value", [10**400, "9" * 400, "9" * 400 + "h"])
def test_a_duration_too_long_for_a_float_is_refused_cut_short(value):
    """A 400-digit number was an OverflowError, ``999…9h`` infinity (issue 21)."""
    with pytest.raises(ValueError, match="is not a duration of finite length") as caught:
        parse_duration(value)

    assert "characters)" in str(caught.value)
    assert len(str(caught.value)) < 100


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (30, "30s"),
        (90.0, "90s"),
        (0.5, "0.5s"),
        (0.001, "0.001s"),
        (1e-9, "0.000000001s"),
        (3599996400, "3599996400s"),
    ],
)
def test_go_duration_is_what_docker_parses(seconds, text):
    """Never ``%g``'s exponents (``3.6e+09s``, ``1e-09s``), which Go's parser refuses."""
    assert go_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (2.5, "2.5s"),
        (59, "59s"),
        (60, "1m"),
        (90, "1m30s"),
        (3600, "1h"),
        (3661, "1h1m1s"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@settings(database=None)
@given(st.integers(min_value=0, max_value=10 * 24 * 3600))
def test_whole_seconds_round_trip(seconds):
    assert parse_duration(format_duration(seconds)) == seconds
