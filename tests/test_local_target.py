"""The local target's ``pre_start`` hooks and top-level ``jobs:``, under Pulumi's mock engine:
hooks as run-once containers that gate their service, and a manual job as the container
definition ``berth run`` reads from the stack output ``triggered``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi_docker as docker
import pulumi_docker_build as docker_build
import pytest

from berth.components.project import Project
from berth.components.pulumi_internals import is_secret
from berth.errors import BerthError
from berth.fields import JOB_FIELDS, Level
from berth.offline.plan import Plan, RecordingMonitor, plan_config, run_plan
from berth.providers.local import FIELD_SUPPORT, plan_outputs
from berth.providers.local.roles import TriggeredResources
from berth.providers.local.run_once import LocalJobProvider
from berth.variables import Variables
from tests.conftest import program
from tests.plans import find, project_outputs, provider_inputs, user_program
from tests.secrets_check import plain_occurrences

JOB = "pulumi-python:dynamic/berth:LocalJob"
CONTAINER = "docker:index/container:Container"

HOOKS = """
services:
  db:
    image: postgres:16
  web:
    image: nginx
    environment: {{A: "{a}"}}
    deploy: {{replicas: {replicas}}}
    depends_on: [db]
    pre_start:
      - command: ["./migrate"]
      - command: ["./seed"]
  migrate:
    image: migrate/migrate
    restart: "no"
"""


def _hooks(write: Any, a: str = "1", replicas: int = 1) -> Plan:
    write(HOOKS.format(a=a, replicas=replicas))
    return program(["compose.yaml"])


def test_local_hooks_run_once_in_order_and_the_service_waits_on_the_last(project_dir, write):
    plan = _hooks(write)

    first, second = (find(plan, JOB, f"web-pre-start-{i}-run") for i in (0, 1))
    db, web = find(plan, CONTAINER, "db"), find(plan, CONTAINER, "web")
    assert db.urn in first.dependencies, "the first hook waits for the service's depends_on"
    assert first.urn in second.dependencies
    assert second.urn in web.dependencies
    assert [first.inputs["hook"], second.inputs["hook"]] == [
        {"service": "web", "index": 0},
        {"service": "web", "index": 1},
    ]
    digest = first.inputs["definition"]["serviceDefinition"]
    assert digest == second.inputs["definition"]["serviceDefinition"]
    assert len(digest) == 64


def test_local_a_job_that_is_no_hook_keeps_its_inputs(project_dir, write):
    """No new key for a ``restart: "no"`` job: a stack deployed before re-runs nothing."""
    run = find(_hooks(write), JOB, "migrate-run")

    assert set(provider_inputs(run.raw_inputs)) == {
        "job", "definition", "runAlways", "timeout", "labels", "owner", "imageBuilder",
    }  # fmt: skip
    assert set(run.inputs["definition"]) == {
        "image", "network", "command", "entrypoint", "environment", "mounts", "files",
        "workingDir", "user", "cpus", "memory", "container",
    }  # fmt: skip


def _hook_inputs(plan: Plan, index: int = 0) -> dict[str, Any]:
    return provider_inputs(find(plan, JOB, f"web-pre-start-{index}-run").raw_inputs)


def test_local_hooks_run_again_when_their_service_changes_not_when_it_scales(project_dir, write):
    before = _hook_inputs(_hooks(write))
    changed = _hook_inputs(_hooks(write, a="2"))
    scaled = _hook_inputs(_hooks(write, replicas=3))

    provider = LocalJobProvider()
    assert changed["definition"]["serviceDefinition"] != before["definition"]["serviceDefinition"]
    assert provider.diff("id", before, changed).replaces == ["definition"]
    assert scaled == before
    assert not provider.diff("id", before, scaled).changes


BUILT_HOOKS = """
name: shop
services:
  web:
    build: .
    pre_start:
      - command: ["./migrate"]
      - image: busybox
        command: ["echo", "seeded"]
  plain:
    build: .
"""
IMAGE = "docker-build:index:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
COMPONENT = "berth:index:Service"


def _digests(context: str) -> Any:
    """The mock's outputs, a built image's digest a hash of its inputs and of ``context``, the
    version of its build context (a rebuilt context, a new image; compose text unchanged)."""

    def outputs(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if type_ != IMAGE:
            return plan_outputs(type_, inputs)
        return plan_outputs(type_, {**inputs, "context": {**inputs["context"], "version": context}})

    return outputs


def _built_hooks(write: Any, context: str = "v1") -> Plan:
    """``BUILT_HOOKS``, its build context at version ``context``."""
    write(BUILT_HOOKS)
    write("FROM busybox\n", "Dockerfile")
    config, secret_keys = plan_config(["compose.yaml"])
    return run_plan(config, secret_keys, preview=False, outputs=_digests(context))


def test_local_a_hook_runs_its_services_image_built_once(project_dir, write):
    plan = _built_hooks(write)

    built = [r.name for r in plan.registrations if r.type == IMAGE]
    assert sorted(built) == ["shop-plain-image", "shop-web-image"], "no build per hook"
    image, loaded, pulled = (
        find(plan, IMAGE, "web-image"),
        find(plan, REMOTE_IMAGE, "web-image-id"),
        find(plan, REMOTE_IMAGE, "web-pre-start-1-image"),
    )
    assert loaded.inputs["pullTriggers"] == [_digests("v1")(IMAGE, image.inputs)["digest"]]
    digest = plan_outputs(REMOTE_IMAGE, loaded.inputs)["imageId"]
    web = find(plan, CONTAINER, "web")
    first, second = (_hook_inputs(plan, i)["definition"] for i in (0, 1))
    assert web.inputs["image"] == first["image"] == digest, "the hook runs what the service runs"
    assert loaded.urn in web.dependencies and image.urn in loaded.dependencies
    assert second["image"] == plan_outputs(REMOTE_IMAGE, pulled.inputs)["imageId"], "its own"
    assert first["serviceImage"] == second["serviceImage"] == digest


def test_local_a_services_image_keeps_its_place_when_the_service_gets_hooks(
    project_dir, write, monkeypatch
):
    """Made under the first hook (hooks deploy before their service), aliased to where it was
    without hooks, under the service's component: a stack adding a hook builds nothing new."""
    # Each alias as sent (parent URN, type, name): the mock engine resolves a parent URN to
    # its last type only, which would not tell one service's component from another's.
    monkeypatch.setattr(
        RecordingMonitor,
        "_alias_urn",
        lambda _, __, alias: f"{alias.spec.parentUrn}|{alias.spec.type}|{alias.spec.name}",
    )
    plan = _built_hooks(write)

    image, plain = find(plan, IMAGE, "web-image"), find(plan, IMAGE, "plain-image")
    loaded = find(plan, REMOTE_IMAGE, "web-image-id")
    hook = find(plan, "berth:index:Job", "web-pre-start-0")
    assert image.parent == loaded.parent == hook.urn
    project, service = find(plan, "berth:index:Project", "shop"), find(plan, COMPONENT, "web")
    for resource in (image, loaded):
        moved = {alias for alias in resource.aliases if not alias.startswith("|")}
        assert moved == {f"{project.urn.rsplit('::', 1)[0]}${COMPONENT}::{service.name}||"}
    plain_loaded = find(plan, REMOTE_IMAGE, "plain-image-id")
    assert all(alias.startswith("|") for alias in plain.aliases), "no hooks: as it was"
    assert all(alias.startswith("|") for alias in plain_loaded.aliases), "no hooks: as it was"


def test_local_all_hooks_run_again_when_their_services_image_changes(project_dir, write):
    """Compose recreates the service when its image changes, and runs every hook again, one
    with an image of its own too; a rebuilt context changes no compose text."""
    before, after = (_built_hooks(write, context) for context in ("v1", "v2"))

    provider = LocalJobProvider()
    for index in (0, 1):
        old, new = _hook_inputs(before, index), _hook_inputs(after, index)
        assert old["definition"]["serviceDefinition"] == new["definition"]["serviceDefinition"]
        assert provider.diff("id", old, new).replaces == ["definition"], f"pre_start[{index}]"
    assert (
        _hook_inputs(before, 1)["definition"]["image"]
        == _hook_inputs(after, 1)["definition"]["image"]
    )


JOBS = """
name: shop
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
jobs:
  report:
    build: .
    command: ["./report", "--all"]
    entrypoint: ["/bin/sh", "-c"]
    environment:
      DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app
      MODE: full
    user: "1000"
    working_dir: /srv
    volumes: [data:/data]
    labels: {team: ops}
    stop_grace_period: 3s
    depends_on: [db]
    triggers:
      manual: true
  never:
    image: busybox
    triggers:
      manual: false
  nightly:
    image: busybox
    profiles: [scheduled]
    triggers:
      schedule: ["0 3 * * *"]
volumes:
  data: {}
"""
PASSWORD = "pw-7c6b5a49"


def triggered_outputs(write: Any) -> tuple[Plan, Any]:
    """The plan of ``JOBS``, and the stack output ``triggered`` as the engine gets it."""
    write(JOBS)
    write("FROM busybox\n", "Dockerfile")
    with project_outputs() as registered:
        plan = program(["compose.yaml"], secrets={"DB_PASSWORD": PASSWORD})
    return plan, registered["triggered"]


def test_local_a_manual_job_is_a_container_definition_berth_run_reads(project_dir, write):
    plan, triggered = triggered_outputs(write)
    shown = provider_inputs(triggered)  # as `pulumi stack output --show-secrets` shows it

    assert sorted(shown) == ["never", "report"], "a profile left off: no nightly"
    report = shown["report"]
    assert (report["target"], report["manual"], report["job"]) == ("local", True, "shop-dev-report")
    definition = report["definition"]
    built, loaded = find(plan, IMAGE, "report-image"), find(plan, REMOTE_IMAGE, "report-image-id")
    assert loaded.inputs["pullTriggers"] == [plan_outputs(built.type, built.inputs)["digest"]]
    assert definition["image"] == plan_outputs(loaded.type, loaded.inputs)["imageId"]
    assert definition["network"] == "shop-dev"
    assert definition["command"] == ["./report", "--all"]
    assert definition["entrypoint"] == ["/bin/sh", "-c"]
    assert definition["environment"] == {
        "DATABASE_URL": f"postgres://app:{PASSWORD}@db/app",
        "MODE": "full",
    }
    assert (definition["user"], definition["workingDir"]) == ("1000", "/srv")
    assert definition["mounts"] == [
        {"type": "volume", "target": "/data", "source": "shop-dev_data", "readOnly": False}
    ], "a named volume by the name the engine has it"
    assert report["labels"] == {"team": "ops"}
    assert report["owner"] == {"berth.project": "shop", "berth.stack": "dev", "berth.job": "report"}
    assert report["stopTimeout"] == 3
    assert "engine" not in report, "no docker setting: the runner reads DOCKER_HOST"
    assert report["scrubValues"] == [f"postgres://app:{PASSWORD}@db/app", PASSWORD]
    assert shown["never"]["manual"] is False
    assert not any(r.type == JOB for r in plan.registrations), "up never runs a job of jobs:"


def test_local_a_manual_jobs_secrets_stay_secret_in_its_output(project_dir, write):
    _, triggered = triggered_outputs(write)

    assert is_secret(triggered["report"])
    assert plain_occurrences(triggered, PASSWORD) == []
    assert not is_secret(triggered["never"]), "a job holding no secret stays readable"


def test_local_a_manual_job_names_the_engine_its_stack_deploys_to(project_dir, write):
    write(JOBS)
    write("FROM busybox\n", "Dockerfile")
    config, secret_keys = plan_config(["compose.yaml"], secrets={"DB_PASSWORD": PASSWORD})
    with project_outputs() as registered:
        run_plan({**config, "docker:host": "ssh://deploy@engine"}, secret_keys, preview=False)
    assert provider_inputs(registered["triggered"])["never"]["engine"] == {
        "host": "ssh://deploy@engine"
    }


def test_local_a_scheduled_job_is_refused_naming_the_profile_way_to_keep_it(project_dir, write):
    write(JOBS)
    write("FROM busybox\n", "Dockerfile")
    config, _ = plan_config(["compose.yaml"], profiles=["scheduled"])
    with pytest.raises(BerthError) as refusal:
        run_plan(config, preview=False)
    assert refusal.value.message == (
        "compose.yaml: job 'nightly', field 'triggers.schedule': not supported on the local "
        "target: the local engine has no scheduler (Compose's own up refuses scheduled jobs "
        "too); a job kept for the clouds can carry profiles: [scheduled], which local stacks "
        "leave out of berth:profiles. remove the field, or move the job to a profile this "
        "stack leaves off."
    )


def test_local_declares_every_jobs_row():
    rows = {f"jobs.{field}": FIELD_SUPPORT.get(f"jobs.{field}") for field in JOB_FIELDS}
    assert None not in rows.values(), rows
    assert rows["jobs.triggers.manual"].level is Level.SUPPORTED
    assert {s.level for k, s in rows.items() if k != "jobs.triggers.manual"} == {Level.REFUSED}


def test_local_a_manual_jobs_role_is_its_image(project_dir, write):
    write(JOBS)
    write("FROM busybox\n", "Dockerfile")
    built: list[Project] = []
    config, secret_keys = plan_config(["compose.yaml"], secrets={"DB_PASSWORD": PASSWORD})
    variables = Variables({"DB_PASSWORD": PASSWORD}, frozenset({"DB_PASSWORD"}))
    run_plan(
        config,
        secret_keys,
        program=user_program(["compose.yaml"], "local", built, variables=variables),
    )

    report, never = (built[0].triggered[job].resources for job in ("report", "never"))
    assert isinstance(TriggeredResources.of(report).definition, docker_build.Image), "built"
    assert isinstance(TriggeredResources.of(never).definition, docker.RemoteImage), "pulled"
    assert set(report) == set(never) == {"definition"}
