"""Every example of examples/ plans on every target, or is refused in one line (issue 23).

A target's answer to the one-off work of Compose v5 is its own support table's: the rows
``pre_start``, ``jobs.triggers.manual`` and ``jobs.triggers.schedule`` say whether it deploys a
hook, a manual job and a scheduled one, and these hold each target to what its table says, on
the examples a user copies (examples/pre-start, examples/backup with its ``scheduled`` profile
on and off), so a new target is checked the day it is added.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from berth.components.target import Phased, available_targets, load_target
from berth.errors import BerthError
from berth.fields import Level, support_for
from berth.offline.plan import Plan, plan_config, run_plan
from tests.conftest import EXAMPLES
from tests.plans import named, resources_of, waits_on_services

TARGETS = available_targets()
PLANNED = sorted(path.parent.name for path in EXAMPLES.glob("*/compose.yaml"))
"""Every example that is a compose project (examples/extend is a Pulumi program of its own)."""
SCHEDULED = "scheduled"
"""The profile examples/backup keeps its scheduled job in: local Docker refuses it, as Compose's
own ``up`` does, and a cloud stack turns it on."""
STACK_SECRETS = {"digitaloceanModelAccessKey": "sk-do-example"}
"""What a stack of examples/models sets on digitalocean (docs/models.md), unread elsewhere."""
BACKUP_JOBS = {(): ("backup",), (SCHEDULED,): ("backup", "backup-nightly")}
"""The jobs of examples/backup each set of profiles deploys."""


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/, each project named after its folder (examples/pre-start builds
    from examples/migrate's context, so they are copied together)."""
    folder = tmp_path_factory.mktemp("all") / "examples"
    shutil.copytree(EXAMPLES, folder)
    return folder


def plan(examples: Path, name: str, target: str, profiles: tuple[str, ...] = ()) -> Plan:
    config, secret_keys = plan_config(
        [str(examples / name / "compose.yaml")],
        target=target,
        profiles=profiles,
        secrets=STACK_SECRETS,
    )
    return run_plan(config, secret_keys, preview=False)


def first_refusal(target: str, written: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The first of ``written`` (a job's or service's name, and a field's support row) that
    ``target``'s table refuses."""
    table = load_target(target).FIELD_SUPPORT
    return next(
        (
            (name, row)
            for name, row in written
            if support_for(table, row, target).level is Level.REFUSED
        ),
        None,
    )


def assert_one_line_refusal(error: BerthError, name: str, field: str) -> None:
    """A refusal as the support check words it: one line, naming the file, the service or
    job, and the field (``field`` is how the field's name starts)."""
    assert "\n" not in error.message, error.message
    assert error.file and error.file.endswith("compose.yaml"), error.message
    assert error.service == name, error.message
    assert error.field and error.field.startswith(field), error.message
    assert "not supported on the " in error.message


def test_contract_examples_include_the_three_forms_of_one_off_work() -> None:
    assert {"migrate", "release", "pre-start", "backup"} <= set(PLANNED)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", [n for n in PLANNED if n != "backup"])
def test_contract_each_example_plans(examples: Path, name: str, target: str) -> None:
    refused = first_refusal(target, [("web", "pre_start")] if name == "pre-start" else [])
    if refused:
        with pytest.raises(BerthError) as caught:
            plan(examples, name, target)
        assert_one_line_refusal(caught.value, "web", "pre_start")
        return

    assert plan(examples, name, target).registrations


@pytest.mark.parametrize("target", TARGETS)
def test_contract_the_pre_start_example_migrates_after_db_and_before_web(
    examples: Path, target: str
) -> None:
    if first_refusal(target, [("web", "pre_start")]):
        pytest.skip("the target refuses pre_start: test_contract_each_example_plans holds it")
    planned = plan(examples, "pre-start", target)
    ordering = load_target(target).ORDERING

    if isinstance(ordering, Phased):
        (unit,) = [r for r in planned.registrations if r.type == ordering.unit]
        phases = ordering.phases(planned.compose, unit.inputs)
        phase = {service: index for index, names in enumerate(phases) for service in names}
        assert phase["db"] < phase["web-pre-start-0"] < phase["web"]
        return
    run = named(planned.registrations, "web-pre-start-0-run")
    assert run is not None, "the hook is a run-once job named <service>-pre-start-<index>"
    assert "db" in waits_on_services(planned, run)
    assert any(run.urn in r.dependencies for r in resources_of(planned, "web"))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("profiles", list(BACKUP_JOBS), ids=["default", SCHEDULED])
def test_contract_the_backup_example_deploys_its_jobs_and_runs_none(
    examples: Path, target: str, profiles: tuple[str, ...]
) -> None:
    """Each job of ``jobs:`` is a component of its own, with no run-once resource: ``up``
    never runs it. A target that refuses a trigger says so in one line, naming the job."""
    jobs = BACKUP_JOBS[profiles]
    written = [(job, "jobs.triggers.manual") for job in jobs]
    written += [("backup-nightly", "jobs.triggers.schedule")] if SCHEDULED in profiles else []
    refused = first_refusal(target, written)
    if refused:
        with pytest.raises(BerthError) as caught:
            plan(examples, "backup", target, profiles)
        job, row = refused
        assert_one_line_refusal(caught.value, job, row.removeprefix("jobs."))
        assert caught.value.kind == "job"
        return

    planned = plan(examples, "backup", target, profiles)

    components = [r for r in planned.registrations if r.type == "berth:index:TriggeredJob"]
    assert sorted(planned.service_of(r) for r in components) == sorted(jobs)
    assert planned.compose.jobs == [], "no job of jobs: is among the jobs a deployment runs"
    for job in jobs:
        resources = resources_of(planned, job)
        assert not [r for r in resources if {"definition", "__provider"} <= r.raw_inputs.keys()]
    if SCHEDULED in profiles:
        assert len(resources_of(planned, "backup-nightly")) > len(resources_of(planned, "backup"))
