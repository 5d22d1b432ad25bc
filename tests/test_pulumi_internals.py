"""``run_settled``: the mock engine's wait for a program, which fails as Pulumi's own
``run_pulumi_func`` fails, whatever fails first."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pytest
from pulumi.runtime.stack import run_pulumi_func

from berth.offline import plan
from berth.offline.plan import ProgramFailed, run_plan


def _failing_output() -> None:
    """An output that fails after fifty others settled."""
    settled = pulumi.Output.from_input(1)
    for _ in range(50):
        settled = settled.apply(lambda value: value + 1)
    settled.apply(lambda value: value / 0)


def _failing_program() -> None:
    raise LookupError("the program's own")


def _both() -> None:
    _failing_output()
    _failing_program()


@pytest.mark.parametrize("program", [_failing_output, _failing_program, _both])
def test_a_program_fails_as_under_pulumi_s_own_wait(
    program: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    raised = []
    for runner in (plan.run_settled, run_pulumi_func):
        monkeypatch.setattr(plan, "run_settled", runner)
        with pytest.raises(ProgramFailed) as failed:
            run_plan({}, program=program)  # type: ignore[arg-type]
        raised.append(type(failed.value.__cause__))
    assert raised[0] is raised[1]
    assert raised[0] in (ZeroDivisionError, LookupError)
