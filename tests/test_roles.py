"""``berth.components.roles`` and each target's ``roles`` module: the typed views of a Project's
role dictionaries name every role a target builds, typed as what it builds, on every target."""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Mapping
from pathlib import Path

import pulumi
import pytest

from berth.components.project import Project
from berth.components.roles import Roles
from berth.components.target import available_targets, load_target
from berth.fields import Level, support_for
from berth.offline.plan import plan_config, run_plan
from berth.variables import Variables
from tests.plans import user_program

COMPOSE = """\
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
    x-defang-postgres: true
  migrate:
    build: .
    command: ["./migrate.sh"]
    depends_on: [db]
    restart: "no"
  web:
    build: .
    ports: ["80:80"]
    volumes: [data:/data]
    depends_on: [migrate]
volumes:
  data: {}
"""
JOBS = """jobs:
  report:
    build: .
    command: ["./migrate.sh", "--report"]
    depends_on: [web]
    triggers:
      manual: true
"""
"""A job of jobs:, on the targets that deploy one (their table does not refuse it)."""


def _deploys_jobs(target: str) -> bool:
    table = load_target(target).FIELD_SUPPORT
    return support_for(table, "jobs.triggers.manual", target).level is not Level.REFUSED


def _planned(target: str, folder: Path) -> Project:
    (folder / "compose.yaml").write_text(COMPOSE + (JOBS if _deploys_jobs(target) else ""))
    (folder / "Dockerfile").write_text("FROM busybox\nCOPY . /app\n")
    (folder / "migrate.sh").write_text("echo migrating\n")
    files, built = [str(folder / "compose.yaml")], []
    secrets = {"DB_PASSWORD": "pw-3c4d5e6f"}
    variables = Variables(secrets, frozenset(secrets))
    config, secret_keys = plan_config(files, target, secrets=secrets)
    program = user_program(files, target, built, variables=variables)
    run_plan(config, secret_keys, preview=False, program=program)
    return built[0]


def _held_to(resources: Mapping[str, pulumi.Resource], roles: type[Roles]) -> list[str]:
    """What is wrong between a role dictionary and its dataclass: a role with no field, a
    resource not of its field's type, a field without default (always there) missing."""
    hints = typing.get_type_hints(roles)
    fields = {field.name: field for field in dataclasses.fields(roles)}
    wrong = [
        f"{role}: no field"
        for role in resources
        if role not in fields and not role.startswith(roles.PER_ITEM)
    ]
    view = roles.of(resources)
    for name, field in fields.items():
        value = getattr(view, name)
        if value is None and field.default is dataclasses.MISSING:
            wrong.append(f"{name}: missing")
        elif value is not None and not isinstance(value, hints[name]):
            wrong.append(f"{name}: {type(value).__name__} is no {hints[name]}")
    return wrong


@pytest.mark.parametrize("target", available_targets())
def test_every_role_is_a_typed_field(target: str, tmp_path: Path) -> None:
    roles = importlib.import_module(f"berth.providers.{target}.roles")
    project = _planned(target, tmp_path)
    wrong = {"shared": _held_to(project.shared, roles.Shared)}
    for name, service in project.services.items():
        wrong[name] = _held_to(service.resources, roles.ServiceResources)
    for name, job in project.jobs.items():
        wrong[name] = _held_to(job.resources, roles.JobResources)
    for name, triggered in project.triggered.items():
        wrong[name] = _held_to(triggered.resources, roles.TriggeredResources)
    assert project.triggered or not _deploys_jobs(target), "the jobs: entry was not planned"
    assert {where: found for where, found in wrong.items() if found} == {}


def test_a_typed_view_reads_the_dictionary() -> None:
    @dataclasses.dataclass(frozen=True)
    class Shared(Roles):
        network: object
        cache: object | None = None

    assert Shared.of({"network": "n", "volume_a": "v"}) == Shared(network="n")
    with pytest.raises(TypeError):
        Shared.of({"cache": "c"})
