"""The seed's workflows on every target: what waits on what, and nothing more.

Each target's own tests check its resource types; these hold every target to the sequencing
rules with the types left out, so a new target is checked the day it is added. A target says
how it orders a deployment (``berth.components.target.Ordering``): per resource, checked on
the resources' dependencies, or as one unit in phases, checked on the phases it sends.
"""

from __future__ import annotations

import pytest

from berth.components.target import Phased, Sequenced, available_targets, load_target
from berth.offline.plan import Plan, ProgramFailed
from tests.conftest import copy_example, program
from tests.plans import named, ordered_targets, resources_of, waits_on_services

TARGETS = available_targets()
SEQUENCED = ordered_targets(Sequenced)
PHASED = ordered_targets(Phased)


def test_every_target_declares_how_it_orders_a_deployment():
    assert sorted(SEQUENCED + PHASED) == sorted(TARGETS)


def phase_of(plan: Plan) -> dict[str, int]:
    """Each compose service's phase in the one unit a phased target deploys."""
    ordering = load_target(plan.target).ORDERING
    assert isinstance(ordering, Phased)
    (unit,) = [r for r in plan.registrations if r.type == ordering.unit]
    phases = ordering.phases(plan.compose, unit.inputs)
    found = {service: index for index, phase in enumerate(phases) for service in phase}
    assert sorted(found) == sorted(plan.compose.services), "every service has one phase"
    return found


@pytest.mark.parametrize("target", TARGETS)
def test_release_runs_concurrently_with_app(project_dir, target):
    plan = program([copy_example("release", project_dir)], target=target)

    for service in ("app", "release"):
        resources = resources_of(plan, service)
        assert resources, f"{service} deployed nothing"
        assert all(waits_on_services(plan, r) == set() for r in resources), service


@pytest.mark.parametrize("target", SEQUENCED)
def test_migrate_runs_after_db_and_before_web(project_dir, target):
    plan = program([copy_example("migrate", project_dir)], target=target)

    run = named(plan.registrations, "migrate-run")
    assert run is not None, "the job has a run-once resource named <job>-run"
    assert "db" in waits_on_services(plan, run)
    web = resources_of(plan, "web")
    assert any(run.urn in r.dependencies for r in web), "web waits on the job's run"
    assert all(waits_on_services(plan, r) <= {"migrate"} for r in web)
    assert all(waits_on_services(plan, r) == set() for r in resources_of(plan, "db"))


@pytest.mark.parametrize("target", SEQUENCED)
def test_a_failed_job_creates_nothing_it_gates(project_dir, target):
    file = copy_example("migrate", project_dir)
    plan = program([file], target=target)
    run = named(plan.registrations, "migrate-run")
    assert run is not None
    gated = {(r.type, r.name) for r in resources_of(plan, "web") if run.urn in r.dependencies}

    def fail(_type: str, name: str) -> str | None:
        return "job 'migrate' failed with exit code 1" if name == run.name else None

    with pytest.raises(ProgramFailed, match="exit code 1") as failure:
        program([file], target=target, fail=fail)
    created = {(r.type, r.name) for r in failure.value.registrations if r.custom}
    assert gated and not gated & created
    assert (run.type, run.name) not in created


@pytest.mark.parametrize("target", PHASED)
def test_release_holds_no_service_back_in_phases(project_dir, target):
    """Nothing waits on the release job: no service is in a phase after it."""
    phase = phase_of(program([copy_example("release", project_dir)], target=target))
    assert phase["app"] <= phase["release"]


@pytest.mark.parametrize("target", PHASED)
def test_migrate_runs_after_db_and_before_web_in_phases(project_dir, target):
    """A phased unit keeps the order by phases: a failed job in one stops the later ones."""
    phase = phase_of(program([copy_example("migrate", project_dir)], target=target))
    assert phase["db"] < phase["migrate"] < phase["web"]


@pytest.mark.parametrize("target", PHASED)
def test_a_hook_runs_after_its_services_dependencies_and_before_it_in_phases(write, target):
    """A ``pre_start`` hook is a job its service waits on, after what the service waits on:
    a phased unit puts it in a phase between them."""
    write("""
        services:
          db: {image: postgres:16}
          web:
            image: nginx
            ports: ["80:80"]
            depends_on: [db]
            pre_start: [{command: [./migrate]}]
    """)

    phase = phase_of(program(["compose.yaml"], target=target))
    assert phase["db"] < phase["web-pre-start-0"] < phase["web"]


@pytest.mark.parametrize("target", TARGETS)
def test_two_runs_give_identical_resource_inputs(project_dir, target):
    file = copy_example("migrate", project_dir)

    def snapshot() -> list[tuple[str, object, tuple[str, ...]]]:
        plan = program([file], target=target, secrets={"POSTGRES_PASSWORD": "pw-5e6f7a8b"})
        return sorted((r.urn, r.raw_inputs, r.dependencies) for r in plan.registrations)

    assert snapshot() == snapshot()
