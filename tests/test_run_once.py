"""The re-run rule of one-off jobs, shared by every target's run-once resource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from berth.components.pulumi_internals import UNKNOWN
from berth.components.run_once import (
    BUILDER_KEY,
    BUILDKIT,
    JobFailed,
    RunOnceProvider,
    scrub,
    tail,
)
from berth.providers.local.run_once import LocalJobProvider
from tests.pickling import unpickled_in_project_root


class ScriptedProvider(RunOnceProvider):
    """Runs nothing: reports the exit code and log the test scripted, and counts the runs.

    It reports a failure as a result, without raising: refusing to record it is the base
    class's job, for every target.
    """

    def __init__(self, exit_code: int = 0, log: str = "done") -> None:
        super().__init__()
        self.exit_code = exit_code
        self.log = log
        self.runs = 0

    def run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        self.runs += 1
        return {"exitCode": self.exit_code, "logTail": self.log}


def inputs(**changes: Any) -> dict[str, Any]:
    definition = {
        "image": "sha256:aaa",
        "command": ["./migrate.sh"],
        "environment": {"DATABASE_URL": "postgres://db/app"},
    }
    definition.update(changes.pop("definition", {}))
    return {
        "job": "migrate",
        "definition": definition,
        "runAlways": False,
        "timeout": 600,
        **changes,
    }


def state(**changes: Any) -> dict[str, Any]:
    """What the engine holds after a successful create: the inputs plus the run's result."""
    return ScriptedProvider().create(inputs(**changes)).outs


def test_an_unchanged_job_does_not_run_again():
    diff = ScriptedProvider().diff("id", state(), inputs())
    assert diff.changes is False
    assert not diff.replaces


@pytest.mark.parametrize(
    "changed",
    [
        {"image": "sha256:bbb"},
        {"command": ["./migrate.sh", "--seed"]},
        {"environment": {"DATABASE_URL": "postgres://db/other"}},
        {"entrypoint": ["/bin/sh", "-c"]},
        {"memory": 536870912},
    ],
)
def test_a_changed_definition_runs_the_job_again(changed):
    diff = ScriptedProvider().diff("id", state(), inputs(definition=changed))
    assert diff.changes is True
    assert diff.replaces == ["definition"]


def test_a_definition_not_known_yet_counts_as_changed():
    diff = ScriptedProvider().diff("id", state(), inputs(definition={"image": UNKNOWN}))
    assert diff.replaces == ["definition"]


def test_run_always_runs_on_every_deployment():
    diff = ScriptedProvider().diff("id", state(runAlways=True), inputs(runAlways=True))
    assert diff.replaces == ["definition"]


def test_a_new_timeout_updates_in_place_and_keeps_the_last_result():
    provider = ScriptedProvider()
    old = state()
    diff = provider.diff("id", old, inputs(timeout=1800))
    assert diff.changes is True
    assert not diff.replaces

    updated = provider.update("id", old, inputs(timeout=1800)).outs
    assert provider.runs == 0, "an update runs nothing"
    assert updated["timeout"] == 1800
    assert updated["exitCode"] == 0
    assert updated["finishedAt"] == old["finishedAt"]


def test_create_records_the_result():
    outs = ScriptedProvider().create(inputs()).outs
    assert outs["exitCode"] == 0
    assert outs["logTail"] == "done"
    assert outs["durationSeconds"] >= 0
    assert outs["finishedAt"].endswith("+00:00")
    assert outs["definition"] == inputs()["definition"]


@pytest.mark.parametrize("exit_code", [1, 137, -1, None])
def test_a_failed_run_raises_so_the_engine_records_nothing(exit_code):
    """The engine records a resource only when ``create`` returns: a run that reports any exit
    code but 0 (or none) must raise, with the log, its secrets hidden."""
    provider = ScriptedProvider(exit_code=exit_code, log="login as s3cr3t-pw failed")

    with pytest.raises(JobFailed) as failure:
        provider.create(inputs(scrubValues=["s3cr3t-pw"]))

    assert f"job 'migrate' failed with exit code {exit_code}" in str(failure.value)
    assert "login as [secret] failed" in str(failure.value)


def test_scrub_hides_every_secret_value_longest_first():
    text = "user=admin password=hunter22 token=hunter22-extra"
    assert scrub(text, ["hunter22", "hunter22-extra"]) == (
        "user=admin password=[secret] token=[secret]"
    )


def test_tail_keeps_the_last_lines():
    assert tail("\n".join(str(i) for i in range(100)), 3) == "97\n98\n99"


def test_the_local_provider_unpickles_in_a_fresh_interpreter_in_the_project_root():
    """The engine runs dynamic providers in a separate process started in the project root."""
    printed = unpickled_in_project_root(
        LocalJobProvider(),
        """
        old = {"definition": {"image": "a"}, "timeout": 1, "runAlways": False}
        new = {"definition": {"image": "b"}, "timeout": 1, "runAlways": False}
        print(type(provider).__module__, type(provider).__name__,
              provider.diff("id", old, new).replaces)
        """,
    )
    assert printed.split() == [
        "berth.providers.local.run_once",
        "LocalJobProvider",
        "['definition']",
    ]


# -- the move to BuildKit (issue 24): a stack's first up after it runs no job -------------------

OLD_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/migrate@sha256:" + "a" * 64
REBUILT = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/migrate@sha256:" + "b" * 64


def test_a_run_recorded_before_buildkit_adopts_the_rebuilt_image_without_running():
    provider = ScriptedProvider()
    old = state(definition={"image": OLD_IMAGE})
    new = inputs(definition={"image": REBUILT}, **{BUILDER_KEY: BUILDKIT})

    diff = provider.diff("id", old, new)
    updated = provider.update("id", old, new).outs

    assert (diff.changes, diff.replaces) == (True, [])
    assert provider.runs == 0
    assert updated["definition"]["image"] == REBUILT, "the next digest change is measured from it"
    assert updated["finishedAt"] == old["finishedAt"]


def test_the_move_adopts_an_image_digest_not_yet_known_in_a_preview():
    old = state(definition={"image": OLD_IMAGE})
    new = inputs(definition={"image": UNKNOWN}, **{BUILDER_KEY: BUILDKIT})

    assert ScriptedProvider().diff("id", old, new).replaces == []


@pytest.mark.parametrize(
    "changed",
    [{"command": ["./migrate.sh", "--seed"]}, {"environment": {"DATABASE_URL": "other"}}],
)
def test_the_move_still_runs_a_job_whose_definition_changed_otherwise(changed):
    old = state(definition={"image": OLD_IMAGE})
    new = inputs(definition={"image": REBUILT, **changed}, **{BUILDER_KEY: BUILDKIT})

    assert ScriptedProvider().diff("id", old, new).replaces == ["definition"]


def test_after_the_move_a_new_digest_runs_the_job_again():
    old = state(definition={"image": OLD_IMAGE}, **{BUILDER_KEY: BUILDKIT})
    new = inputs(definition={"image": REBUILT}, **{BUILDER_KEY: BUILDKIT})

    assert ScriptedProvider().diff("id", old, new).replaces == ["definition"]


def test_after_the_move_the_same_digest_runs_nothing():
    old = state(definition={"image": REBUILT}, **{BUILDER_KEY: BUILDKIT})
    new = inputs(definition={"image": REBUILT}, **{BUILDER_KEY: BUILDKIT})

    assert ScriptedProvider().diff("id", old, new).changes is False
