"""berth/normalize/healthcheck.py, fed dicts."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.model import Healthcheck, Secret
from berth.normalize.healthcheck import healthcheck
from tests.normalize_support import context, placeholder


def test_durations_are_seconds_and_a_secret_in_the_test_stays_one():
    ctx = context(secrets={"PW": "hunter22"})
    raw = {
        "test": ["CMD", "check", placeholder(ctx, "PW")],
        "interval": "1m30s",
        "timeout": "5s",
        "retries": 3,
        "start_period": "500ms",
    }
    assert healthcheck(ctx, raw, ctx.fail("db")) == Healthcheck(
        test=("CMD", "check", Secret(value="hunter22", keys=("PW",))),
        interval=90.0,
        timeout=5.0,
        retries=3,
        start_period=0.5,
    )


@pytest.mark.parametrize(
    "raw",
    [None, {}, {"disable": True, "test": ["CMD", "x"]}, {"test": ["NONE"]}, {"test": []}],
)
def test_a_disabled_or_empty_check_is_none(raw):
    ctx = context()
    assert healthcheck(ctx, raw, ctx.fail("db")) is None


def test_a_bad_duration_names_its_field():
    ctx = context()
    with pytest.raises(BerthError) as refused:
        healthcheck(ctx, {"test": ["CMD", "x"], "interval": "soon"}, ctx.fail("db"))
    assert refused.value.field == "healthcheck.interval"
