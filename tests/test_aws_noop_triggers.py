"""The no-op rule on aws for hooks, a job of ``jobs:`` and its schedule, as
tests/test_gcp_noop.py proves it on gcp: a second ``pulumi up`` of an unchanged stack changes
nothing and runs no hook; one changed variable of a hooked service runs its hooks again and
no other; a scale change runs none; one changed variable of the scheduled job gives it a new
task definition revision, which its schedule starts from then on, and runs nothing.

Each version is planned as ``pulumi up`` runs it (tests/test_aws_noop.py's ``version``) and
compared resource by resource (its ``changed``). Whether a dynamic resource changes (a hook
runs, a release is waited for) is its own provider's ``diff``, unpickled from the plan as the
engine's dynamic provider process does, given what the first version recorded (its inputs and
what its ``create`` reports: the target's plan outputs stand in) and the second one's inputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pulumi.dynamic import DiffResult

from berth.components.pulumi_internals import UNKNOWN
from berth.offline.compare import Version
from berth.offline.plan import Registration
from berth.providers.aws import plan_outputs
from tests.plans import dynamic_provider, provider_inputs
from tests.test_aws_noop import changed, version

DYNAMIC = "pulumi-python:dynamic/"
HOOKS_AND_JOBS = """
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
    pre_start:
      - command: ["echo", "before db"]
  web:
    image: nginx
    ports: ["80:80"]
    command: ["nginx", "-g", "%(directive)s"]
    environment:
      GREETING: "%(greeting)s"
    deploy: {replicas: %(replicas)d}
    depends_on: [db]
    pre_start:
      - command: ["./migrate"]
      - image: busybox
        command: ["./seed"]
jobs:
  backup:
    image: postgres:16
    command: ["pg_dump", "-h", "db"]
    environment:
      PGPASSWORD: ${POSTGRES_PASSWORD}
      LEVEL: "%(level)s"
    depends_on: [db]
    triggers:
      schedule:
        - cron: "0 3 * * *"
          timezone: Europe/Paris
"""
WEB_HOOKS = ["EcsJob shop-web-pre-start-0-run", "EcsJob shop-web-pre-start-1-run"]
DB_HOOK = "EcsJob shop-db-pre-start-0-run"
BACKUP = ["Schedule shop-backup-schedule-0", "TaskDefinition shop-backup"]


def hooks_and_jobs(folder: Path, **changes: str | int) -> Version:
    """The project, as above, with ``changes`` to its ``greeting``, ``directive``,
    ``replicas`` or ``level``."""
    compose = folder / "shop" / "compose.yaml"
    compose.parent.mkdir(parents=True)
    values = {"greeting": "hello", "directive": "daemon off;", "replicas": 1, "level": "1"}
    compose.write_text(HOOKS_AND_JOBS % (values | changes))
    return version([str(compose)])


def label(urn: str) -> str:
    """``EcsJob shop-web-pre-start-0-run``: a resource's type and name."""
    path, name = urn.rsplit("::", 1)
    return f"{path.rsplit(':', 1)[-1]} {name}"


def given(registration: Registration) -> dict[str, Any]:
    """A dynamic resource's inputs as the engine hands them to its provider."""
    return provider_inputs(registration.raw_inputs)


def recorded(registration: Registration) -> dict[str, Any]:
    """The outputs the engine records for a dynamic resource created from ``registration``."""
    inputs = given(registration)
    return {**inputs, **plan_outputs(registration.type, inputs)}


def dynamic_diffs(old: Version, new: Version) -> dict[str, DiffResult]:
    """Each dynamic resource of both versions: its provider's ``diff`` of what ``old``
    recorded and ``new``'s inputs, the call ``pulumi up`` makes."""
    olds = {r.urn: r for r in old.plan.registrations if r.type.startswith(DYNAMIC)}
    return {
        label(r.urn): dynamic_provider(r).diff(f"{r.name}-id", recorded(olds[r.urn]), given(r))
        for r in new.plan.registrations
        if r.urn in olds
    }


def changing(diffs: dict[str, DiffResult]) -> list[str]:
    """The dynamic resources whose diff finds a change (a hook, a release check, ...)."""
    return sorted(name for name, diff in diffs.items() if diff.changes is not False)


def rerun(diffs: dict[str, DiffResult]) -> list[str]:
    """The run-once jobs (hooks) ``pulumi up`` would run again: replaced (a release check
    replaced waits again, and runs nothing)."""
    return sorted(
        name for name, diff in diffs.items() if name.startswith("EcsJob ") and diff.replaces
    )


def test_an_unchanged_stack_of_hooks_and_jobs_changes_nothing_and_runs_no_hook(tmp_path):
    first = hooks_and_jobs(tmp_path / "first")
    second = hooks_and_jobs(tmp_path / "second")

    unknown = [
        label(r.urn) for r in first.plan.registrations if UNKNOWN in json.dumps(r.raw_inputs)
    ]
    assert unknown == [], "every input known, as in pulumi up"
    assert changed(first, second) == {}
    diffs = dynamic_diffs(first, second)
    assert {*WEB_HOOKS, DB_HOOK, "TriggeredRuns shop-backup-runs"} <= diffs.keys()
    assert changing(diffs) == []


WEB_CHANGED = {
    "TaskDefinition shop-web": "web",
    "Service shop-web": "web",
    "EcsServiceReady shop-web-ready": "web",
    "EcsJob shop-web-pre-start-0-run": "web-pre-start-0",
    "EcsJob shop-web-pre-start-1-run": "web-pre-start-1",
}
HOOK_DEFINITIONS = {
    "TaskDefinition shop-web-pre-start-0": "web-pre-start-0",
    "TaskDefinition shop-web-pre-start-1": "web-pre-start-1",
}


def test_a_changed_variable_of_a_hooked_service_runs_its_hooks_again_and_no_other(tmp_path):
    """Compose's rule: the hooks run again when their service would be recreated; they run
    with its environment (Compose runs them in its container), so their definitions change
    too. db's hook, the job and its schedule stay as they are."""
    before = hooks_and_jobs(tmp_path / "before")
    after = hooks_and_jobs(tmp_path / "after", greeting="bonjour")

    diffs = dynamic_diffs(before, after)
    assert rerun(diffs) == WEB_HOOKS
    assert changing(diffs) == WEB_HOOKS
    assert changed(before, after) == WEB_CHANGED | HOOK_DEFINITIONS


def test_a_changed_command_of_a_hooked_service_runs_its_hooks_again(tmp_path):
    """The hooks' own definitions stay (each has its command): the digest of web's
    definition each holds (``serviceDefinition``) runs them again."""
    before = hooks_and_jobs(tmp_path / "before")
    after = hooks_and_jobs(tmp_path / "after", directive="daemon off; error_log stderr;")

    assert rerun(dynamic_diffs(before, after)) == WEB_HOOKS
    assert changed(before, after) == WEB_CHANGED


def test_a_scale_change_runs_no_hook(tmp_path):
    before = hooks_and_jobs(tmp_path / "before")
    scaled = hooks_and_jobs(tmp_path / "scaled", replicas=3)

    assert rerun(dynamic_diffs(before, scaled)) == []
    assert changed(before, scaled) == {
        "Service shop-web": "web",
        "EcsServiceReady shop-web-ready": "web",
    }, "web scales, and its release check waits for the new count; nothing else"


def test_a_changed_variable_of_a_scheduled_job_changes_its_definition_and_runs_nothing(tmp_path):
    """A new task definition revision, which the schedule starts from then on (it names the
    revision); nothing runs during ``pulumi up``, and what stops the job's runs at destroy is
    untouched (it holds the family)."""
    before = hooks_and_jobs(tmp_path / "before")
    after = hooks_and_jobs(tmp_path / "after", level="2")

    assert changed(before, after) == {name: "backup" for name in BACKUP}
    assert changing(dynamic_diffs(before, after)) == []


BUILT_HOOKS = """
services:
  web:
    build: .
    ports: ["80:80"]
    pre_start:
      - command: ["./migrate"]
      - image: busybox
        command: ["./seed"]
"""


def built_hooks(folder: Path, content: str) -> Version:
    """web built from a context whose ``app.txt`` holds ``content``, with a hook that runs
    web's image and one that runs busybox."""
    project = folder / "shop"
    project.mkdir(parents=True)
    (project / "Dockerfile").write_text("FROM busybox\nCOPY app.txt /app.txt\n")
    (project / "app.txt").write_text(content)
    (project / "compose.yaml").write_text(BUILT_HOOKS)
    return version([str(project / "compose.yaml")])


def test_a_rebuilt_image_of_a_hooked_service_runs_all_its_hooks_again(tmp_path):
    """A changed build context leaves web's definition as Compose hashes it (``build`` is not
    in it) but gives web a new image digest, so Compose recreates web and runs all its hooks,
    in order: the one with an image of its own too (``serviceImage``), whose own task
    definition stays. An unchanged context runs none."""
    before = built_hooks(tmp_path / "before", "one")
    again = built_hooks(tmp_path / "again", "one")
    after = built_hooks(tmp_path / "after", "two")

    assert changed(before, again) == {}
    assert changing(dynamic_diffs(before, again)) == []
    assert rerun(dynamic_diffs(before, after)) == WEB_HOOKS
    assert changed(before, after) == {
        "TaskDefinition shop-web": "web",
        "Service shop-web": "web",
        "EcsServiceReady shop-web-ready": "web",
        "TaskDefinition shop-web-pre-start-0": "web-pre-start-0",
        "EcsJob shop-web-pre-start-0-run": "web-pre-start-0",
        "EcsJob shop-web-pre-start-1-run": "web-pre-start-1",
    }
