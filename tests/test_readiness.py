"""The readiness check every target's waits share (components/readiness.py): its polling
and its rule of when to wait again, without a cloud."""

from __future__ import annotations

from typing import Any

import pytest

from berth.components.readiness import ReadinessProvider, poll


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_poll_returns_what_the_check_saw_once_done():
    seen = iter([(False, "starting"), (False, "starting"), (True, "running")])
    clock = Clock()
    assert (
        poll(lambda: next(seen), 60, RuntimeError, poll_seconds=5, clock=clock, sleep=clock.sleep)
        == "running"
    )
    assert clock.sleeps == [5, 5]


def test_poll_fails_past_its_timeout_with_what_it_saw_last():
    clock = Clock()
    with pytest.raises(RuntimeError, match=r"^starting$"):
        poll(
            lambda: (False, "starting"),
            12,
            RuntimeError,
            poll_seconds=5,
            clock=clock,
            sleep=clock.sleep,
        )
    assert clock.now == 15, "it looks once more after its last sleep, then gives up"


class Check(ReadinessProvider):
    RECHECK = ("instance",)

    def ready(self, props: dict[str, Any]) -> tuple[str, str]:
        return f"{props['instance']}-check", "ready"


def test_create_records_the_state_it_saw():
    created = Check().create({"instance": "i-1"})
    assert (created.id, created.outs) == ("i-1-check", {"instance": "i-1", "state": "ready"})


def test_a_new_workload_waits_again_another_input_is_an_update():
    olds = {"instance": "i-1", "timeout": 60, "state": "ready"}
    replaced = Check().diff("x", olds, {"instance": "i-2", "timeout": 60})
    assert (replaced.changes, replaced.replaces) == (True, ["instance"])
    updated = Check().diff("x", olds, {"instance": "i-1", "timeout": 90})
    assert (updated.changes, updated.replaces) == (True, [])
    # the resource's inputs hold ``state: None``, its outputs the state seen: no change
    same = Check().diff("x", olds, {"instance": "i-1", "timeout": 60, "state": None})
    assert (same.changes, same.replaces) == (False, [])


def test_an_update_keeps_the_state_seen():
    assert Check().update("x", {"state": "ready"}, {"timeout": 90}).outs == {
        "timeout": 90,
        "state": "ready",
    }
