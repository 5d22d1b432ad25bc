"""The no-op rule on aws, proved on the examples (issue 18): a second ``pulumi up`` of an
unchanged stack changes nothing and runs no job; one changed variable of ``migrate`` re-runs
only ``migrate``; a rotated ``POSTGRES_PASSWORD`` re-runs ``migrate`` and rolls what reads it,
nothing else.

Each version is planned as ``pulumi up`` runs it (every output known, built images digested
from their context, as ``berth diff`` does), and compared resource by resource; whether a job
runs is its run-once provider's own ``diff``, the function ``pulumi up`` calls.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from berth.offline.compare import Version, compare
from berth.offline.diff import plan_version
from berth.offline.plan import plan_config
from berth.providers.aws import plan_outputs
from berth.providers.aws.run_once import EcsJobProvider
from tests.aws_support import JOB
from tests.conftest import EXAMPLES
from tests.plans import provider_inputs

PASSWORD = "pw-first-0a1b2c3d"
ROTATED = "pw-second-4e5f6a7b"
EXAMPLE_FILES = {
    "migrate": ["compose.yaml"],
    "migrate+managed": ["compose.yaml", "compose.managed.yaml"],
    "release": ["compose.yaml"],
}


def checkout(root: Path, example: str) -> list[str]:
    """A copy of the example in its own folder (a checkout); its compose files."""
    name = example.split("+", maxsplit=1)[0]
    folder = root / name
    source = EXAMPLES / name
    shutil.copytree(source, folder)  # the project is named after its folder, as Compose does
    return [str(folder / name) for name in EXAMPLE_FILES[example]]


def version(files: list[str], password: str = PASSWORD) -> Version:
    config, secret_keys = plan_config(files, target="aws", secrets={"POSTGRES_PASSWORD": password})
    return plan_version(files, config, secret_keys, "dev")


REPLACED_ON_ANY_CHANGE = {
    "aws:ecs/taskDefinition:TaskDefinition": "arn",  # every argument is ForceNew: a new revision
    "aws:secretsmanager/secretVersion:SecretVersion": "versionId",  # secret_string is ForceNew
}
"""Resources the provider replaces on any change, and the output that is new then (the mock
engine derives both from what stays, so it cannot show it: a version id from the value would
print a hash of a secret)."""


def changed(old: Version, new: Version) -> dict[str, str]:
    """The custom resources ``pulumi up`` would change, by name, with the service each belongs
    to (``-`` for the project's shared ones): those whose inputs differ, or were added or
    removed, and those that read a new output of a replaced one (a new task definition
    revision's ARN, a new secret version's id), until nothing more changes."""

    def inputs(v: Version) -> dict[str, tuple[str, str, Any]]:
        return {
            r.urn: (r.type, v.plan.service_of(r) or "-", r.raw_inputs)
            for r in v.plan.registrations
            if r.custom
        }

    before, after = inputs(old), inputs(new)
    found = {urn for urn in before.keys() | after.keys() if before.get(urn) != after.get(urn)}
    while True:
        renewed = [
            str(plan_outputs(type_, provider_inputs(raw))[REPLACED_ON_ANY_CHANGE[type_]])
            for urn in found & after.keys()
            for type_, _, raw in [after[urn]]
            if type_ in REPLACED_ON_ANY_CHANGE
        ]
        readers = {
            urn
            for urn, (_, _, raw) in after.items()
            if any(value in json.dumps(provider_inputs(raw)) for value in renewed)
        }
        if readers <= found:
            break
        found |= readers
    return {_label(urn): (after.get(urn) or before[urn])[1] for urn in found}


def _label(urn: str) -> str:
    """``TaskDefinition migrate-web``: a resource's type and name (one name serves several)."""
    path, name = urn.rsplit("::", 1)
    return f"{path.rsplit(':', 1)[-1]} {name}"


def runs(old: Version, new: Version) -> bool:
    """Whether ``pulumi up`` would run migrate again: its run-once provider's diff."""

    def props(v: Version) -> dict[str, Any]:
        (run,) = [r for r in v.plan.registrations if r.type == JOB]
        return provider_inputs(run.raw_inputs)

    return bool(EcsJobProvider().diff("id", props(old), props(new)).replaces)


@pytest.mark.parametrize("example", sorted(EXAMPLE_FILES))
def test_an_unchanged_stack_changes_nothing_and_runs_no_job(tmp_path, example):
    files = checkout(tmp_path, example)
    first, second = version(files), version(files)

    assert changed(first, second) == {}
    diff = compare(first, second)
    assert [job.runs for job in diff.jobs] == [False] * len(diff.jobs)
    assert {service.change for service in diff.services} == {"none"}
    if example.startswith("migrate"):
        assert runs(first, second) is False


def add_job_variable(files: list[str]) -> None:
    """One more environment variable for the example's ``migrate`` job, and nothing else."""
    compose = Path(files[0])
    text = compose.read_text()
    marker = '    command: ["./migrate.sh"]\n    environment:\n'
    assert marker in text
    compose.write_text(text.replace(marker, marker + '      MIGRATE_VERBOSE: "1"\n'))


@pytest.mark.parametrize("example", ["migrate", "migrate+managed"])
def test_one_changed_variable_of_the_job_reruns_only_the_job(tmp_path, example):
    files = checkout(tmp_path, example)
    before = version(files)
    add_job_variable(files)
    after = version(files)

    assert set(changed(before, after).values()) == {"migrate"}
    assert sorted(changed(before, after)) == [
        "EcsJob migrate-migrate-run",
        "TaskDefinition migrate-migrate",
    ]
    diff = compare(before, after)
    assert [(j.name, j.runs, j.because) for j in diff.jobs] == [("migrate", True, ("environment",))]
    assert {s.name: s.change for s in diff.services} == {"db": "none", "web": "none"}
    assert runs(before, after) is True


def test_a_rotated_password_reruns_the_migration_and_rolls_web_and_the_database(tmp_path):
    """With the managed store: RDS takes the new password in place, the migration runs again
    with it, web rolls out with it; nothing else changes (the shared resources included)."""
    files = checkout(tmp_path, "migrate+managed")
    before, after = version(files), version(files, ROTATED)

    assert changed(before, after) == {
        "Instance migrate-db-db": "db",
        "TaskDefinition migrate-migrate": "migrate",
        "SecretVersion migrate-migrate-env-DATABASE_URL": "migrate",
        "EcsJob migrate-migrate-run": "migrate",
        "TaskDefinition migrate-web": "web",
        "Service migrate-web": "web",
        "SecretVersion migrate-web-env-DATABASE_URL": "web",
        "EcsServiceReady migrate-web-ready": "web",
    }
    diff = compare(before, after)
    assert [(j.name, j.runs) for j in diff.jobs] == [("migrate", True)]
    assert {s.name: s.change for s in diff.services} == {"db": "update", "web": "update"}
    assert runs(before, after) is True


def test_a_rotated_password_also_rolls_a_database_container_that_reads_it(tmp_path):
    """Without the managed store, ``db`` is a container whose environment holds the password:
    it rolls out too (postgres reads it only when its data directory is new)."""
    files = checkout(tmp_path, "migrate")
    before, after = version(files), version(files, ROTATED)

    changes = changed(before, after)
    assert set(changes.values()) == {"-", "db", "migrate", "web"}
    shared = [name for name, service in changes.items() if service == "-"]
    assert shared == ["SecretVersion migrate-stack-POSTGRES_PASSWORD"], "its one stored value"
    assert {"Service migrate-db", "Service migrate-web"} <= changes.keys()
    assert [(j.name, j.runs) for j in compare(before, after).jobs] == [("migrate", True)]
    assert runs(before, after) is True
