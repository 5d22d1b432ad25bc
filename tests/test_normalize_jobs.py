"""berth/normalize/jobs.py and their checks: the top-level ``jobs:`` through the real loader."""

from __future__ import annotations

import pytest

from berth.model import Concurrency, MissedFires, Schedule, Secret, Triggers
from tests.conftest import refused

WEB = "services:\n  web:\n    image: nginx\n"


def jobs(text: str) -> str:
    return WEB + "jobs:\n" + text


def test_a_job_is_a_container_with_triggers_never_a_service(load):
    project = load(
        jobs(
            "  backup:\n    image: alpine\n    command: [backup]\n    depends_on: [web]\n"
            "    x-berth-timeout: 30m\n"
            "    triggers:\n      manual: true\n      schedule:\n        - '@daily'\n"
            "        - {cron: '30 2 * * sun', timezone: Europe/Paris, concurrency: queue, "
            "missed_fires: skip}\n"
        )
    )

    assert list(project.services) == ["web"] and list(project.triggered) == ["backup"]
    backup = project.triggered["backup"]
    assert backup.job and backup.command == ("backup",) and backup.timeout == 1800
    assert backup.triggers == Triggers(
        manual=True,
        schedules=(
            Schedule("0 0 * * *"),
            Schedule("30 2 * * SUN", "Europe/Paris", Concurrency.QUEUE, MissedFires.SKIP),
        ),
    )
    assert {"triggers.manual", "triggers.schedule"} <= set(backup.fields)
    assert "restart" not in backup.fields
    assert project.jobs == []  # nothing a deployment runs


def test_manual_is_composes_default_and_false_only_when_written(load):
    only_scheduled = load(jobs("  j:\n    image: a\n    triggers: {schedule: ['0 1 * * *']}\n"))
    never_by_hand = load(
        jobs("  j:\n    image: a\n    triggers: {manual: false, schedule: ['0 1 * * *']}\n")
    )

    assert only_scheduled.triggered["j"].triggers.manual is True
    assert never_by_hand.triggered["j"].triggers.manual is False
    # a target that cannot run a job by hand has nothing to refuse in manual: false
    assert "triggers.manual" not in never_by_hand.triggered["j"].fields


def test_profiles_apply_to_jobs(load):
    text = jobs("  j:\n    image: a\n    profiles: [ops]\n    triggers: {manual: true}\n")

    assert load(text).triggered == {}
    assert list(load(text, profiles=("ops",)).triggered) == ["j"]


@pytest.mark.parametrize(
    ("job", "field", "words"),
    [
        ("triggers: {schedule: ['not a cron']}", "triggers.schedule[0].cron", "has 3 fields"),
        ("triggers: {schedule: ['61 * * * *']}", "triggers.schedule[0].cron", "not a minute"),
        ("triggers: {schedule: ['']}", "triggers.schedule[0].cron", "is empty"),
        (
            "triggers: {schedule: [{cron: '0 1 * * *', timezone: Mars/Olympus}]}",
            "triggers.schedule[0].timezone",
            "'Mars/Olympus' is not a time zone",
        ),
        (
            "triggers: {schedule: [{cron: '0 1 * * *', timezone: posix/Europe/Paris}]}",
            "triggers.schedule[0].timezone",
            "not a time zone a cloud scheduler knows",
        ),
        ("triggers: {manual: true}\n    bogus: 1", "bogus", "not allowed"),
        ("triggers: {manual: true}\n    depends_on: [nowhere]", "depends_on", "not defined"),
    ],
)
def test_a_bad_job_is_refused_in_one_line_naming_the_job(load, job, field, words):
    error = refused(load, jobs(f"  j:\n    image: a\n    {job}\n"))

    assert (error.kind, error.service, error.field) == ("job", "j", field), error.message
    assert words in error.message
    assert error.message.startswith("compose.yaml: job 'j'")


def test_a_service_cannot_depend_on_a_job(load):
    text = jobs("  j:\n    image: a\n    triggers: {manual: true}\n").replace(
        "image: nginx\n", "image: nginx\n    depends_on: [j]\n", 1
    )
    error = refused(load, text)

    assert (error.service, error.field) == ("web", "depends_on")
    assert "services can only depend on other services" in error.message
    assert 'restart: "no"' in error.message


def test_a_job_and_a_service_of_one_name_are_refused(load):
    error = refused(load, jobs("  web:\n    image: a\n    triggers: {manual: true}\n"))

    assert (error.kind, error.service) == ("job", "web")
    assert "declared both as a service and a job" in error.message


def test_a_job_depending_on_a_job_is_told_to_run_it_first(load):
    text = jobs(
        "  a:\n    image: a\n    triggers: {manual: true}\n"
        "  b:\n    image: a\n    depends_on: [a]\n    triggers: {manual: true}\n"
    )
    error = refused(load, text)

    assert (error.service, error.field) == ("b", "depends_on")
    assert "berth run a" in error.message


def test_a_volume_only_a_job_mounts_is_kept(load):
    """Compose v5 leaves it out of its output; the job still needs it."""
    project = load(
        jobs("  j:\n    image: a\n    volumes: [cache:/c]\n    triggers: {manual: true}\n")
        + "volumes:\n  cache: {}\n"
    )

    assert project.volumes["cache"].name.endswith("_cache")


def test_a_jobs_environment_may_hold_a_stack_secret(load):
    project = load(
        jobs(
            "  j:\n    image: a\n    environment: {TOKEN: $TOKEN}\n    triggers: {manual: true}\n"
        ),
        secrets={"TOKEN": "s3cret-value"},
    )

    token = project.triggered["j"].environment["TOKEN"]
    assert isinstance(token, Secret) and token.value == "s3cret-value"


def test_a_job_with_no_image_nor_build_is_refused(load):
    error = refused(load, jobs("  j:\n    command: [x]\n    triggers: {manual: true}\n"))

    assert (error.kind, error.service, error.field) == ("job", "j", "image")


def test_a_jobs_ports_are_not_published_as_compose_run_does_not(load):
    project = load(jobs("  j:\n    image: a\n    ports: ['80:80']\n    triggers: {manual: true}\n"))

    assert project.triggered["j"].ports == ()
    assert any("job 'j': its ports are not published" in w for w in project.warnings)


def test_an_unknown_trigger_is_named_with_its_path(load):
    error = refused(load, jobs("  j:\n    image: a\n    triggers: {manual: true, bogus: 1}\n"))

    assert (error.kind, error.service, error.field) == ("job", "j", "triggers.bogus")


def test_a_project_of_jobs_only_deploys_something(load):
    project = load("jobs:\n  j:\n    image: a\n    triggers: {manual: true}\n")

    assert not any("nothing to deploy" in w for w in project.warnings)
