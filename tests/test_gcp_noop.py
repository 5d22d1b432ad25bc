"""The no-op rule on gcp, proved on the examples (issue 18) as tests/test_aws_noop.py proves it on
aws: a second ``pulumi up`` of an unchanged stack changes nothing, runs no job and waits for no
VM again; credentials renewed for each run (a refreshed ``gcp:accessToken``, or the token the
provider mints) change nothing either; one changed variable of ``migrate`` re-runs only
``migrate``; a rotated ``POSTGRES_PASSWORD`` re-runs ``migrate`` and rolls ``web``. And what
can be proved of ``pulumi destroy`` offline: each of Berth's dynamic resources deletes from the
state it recorded without calling Google Cloud, and nothing is protected, kept or guarded by
``deletion_protection`` but what docs/gcp.md says.

Each version is planned as ``pulumi up`` runs it (every output known, built images digested
from their context, as ``berth diff`` does) and compared resource by resource. Whether a
dynamic resource changes (a job runs, a VM is waited for again) is its own provider's ``diff``,
unpickled from the plan as the engine's dynamic provider process does, given the outputs the
first version recorded (the engine's ``olds``) and the second version's inputs.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from pulumi.dynamic import DiffResult

import berth.providers.gcp as gcp_target
from berth.components.pulumi_internals import UNKNOWN
from berth.offline.compare import Version, compare
from berth.offline.contexts import digest_outputs
from berth.offline.plan import Registration, plan_config, run_plan
from berth.providers.gcp import readiness as readiness_module
from berth.providers.gcp import run_once as run_once_module
from tests.plans import dynamic_provider, provider_inputs, resource_options
from tests.test_aws_noop import EXAMPLE_FILES, PASSWORD, ROTATED, add_job_variable, checkout
from tests.test_gcp_run_once_executions import ScriptedSession

DYNAMIC = "pulumi-python:dynamic/"
RUN = f"{DYNAMIC}berth:CloudRunJobExecution"
READY = f"{DYNAMIC}berth:VmServiceReady"
PIN = f"{DYNAMIC}berth:PinnedDigest"
IMAGE = "docker-build:index:Image"
MINTED = "ya29.minted-for-this-run"
"""The access token ``get_client_config`` reports (the provider's own, fresh each run)."""


# -- planning a version --------------------------------------------------------------------------


@contextlib.contextmanager
def client_token(token: str) -> Iterator[None]:
    """``get_client_config`` reports ``token`` as the provider's access token: the stack's
    ``gcp:accessToken`` when it sets one, else one the provider minted for this run."""
    original = gcp_target.plan_call

    def call(token_: str, args: Mapping[str, Any]) -> dict[str, Any]:
        answer = original(token_, args)
        return {**answer, "accessToken": token} if token_ == gcp_target.CLIENT_CONFIG else answer

    with mock.patch.object(gcp_target, "plan_call", call):
        yield


def version(
    files: list[str],
    secrets: Mapping[str, str] | None = None,
    *,
    token: str | None = None,
    minted: str = MINTED,
    options: Mapping[str, str] | None = None,
) -> Version:
    """``files`` planned on gcp as ``pulumi up`` runs them; ``token``: the stack's
    ``gcp:accessToken`` (a secret), ``minted``: the token the provider reports without one."""
    config, secret_keys = plan_config(
        files,
        target="gcp",
        variables=options,
        secrets={"POSTGRES_PASSWORD": PASSWORD} if secrets is None else secrets,
    )
    if token is not None:
        config["gcp:accessToken"] = token
        secret_keys.append("gcp:accessToken")
    with client_token(token or minted):
        plan = run_plan(
            config,
            secret_keys,
            stack="dev",
            preview=False,
            outputs=digest_outputs(gcp_target.plan_outputs),
        )
    return Version(plan, os.path.dirname(os.path.abspath(files[0])))


def label(urn: str) -> str:
    """``Service migrate-web``: a resource's type and name."""
    path, name = urn.rsplit("::", 1)
    return f"{path.rsplit(':', 1)[-1]} {name}"


# -- what pulumi up would do ---------------------------------------------------------------------


def as_diffed(type_: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Inputs as the resource's provider weighs them: pulumi-docker-build's ``Image`` compares
    its ``registries`` by address and username only, never by password (its ``Diff``,
    provider/internal/image.go), and the gcp target pushes with the provider's access token as
    the password, new on every run."""
    registries = raw.get("registries")
    if type_ != IMAGE or not isinstance(registries, list):
        return raw
    return {
        **raw,
        "registries": [
            {k: v for k, v in entry.items() if k != "password"}
            if isinstance(entry, dict)
            else entry
            for entry in registries
        ],
    }


def changed(old: Version, new: Version, *, weighed: bool = True) -> dict[str, str]:
    """The custom resources ``pulumi up`` would change, by label, with the service each
    belongs to (``-``: shared): those added or removed, and those whose inputs differ
    (``__provider`` and secrets included). ``weighed``: as their providers weigh them, a
    dynamic resource by its own ``diff`` (``dynamic_diffs``), a built image without its
    registry login (``as_diffed``)."""

    def inputs(v: Version) -> dict[str, tuple[str, str, Any]]:
        return {
            r.urn: (
                r.type,
                v.plan.service_of(r) or "-",
                as_diffed(r.type, r.raw_inputs) if weighed else r.raw_inputs,
            )
            for r in v.plan.registrations
            if r.custom
        }

    before, after = inputs(old), inputs(new)
    diffs = dynamic_diffs(old, new) if weighed else {}

    def differs(urn: str) -> bool:
        if label(urn) in diffs:
            return diffs[label(urn)].changes is not False
        return before.get(urn) != after.get(urn)

    return {
        label(urn): (after.get(urn) or before[urn])[1]
        for urn in before.keys() | after.keys()
        if differs(urn)
    }


def given(registration: Registration) -> dict[str, Any]:
    """A dynamic resource's inputs as the engine hands them to its provider."""
    (serialized,) = provider_inputs([registration.raw_inputs["__provider"]])  # a secret
    return {**provider_inputs(registration.raw_inputs), "__provider": serialized}


def recorded(registration: Registration) -> dict[str, Any]:
    """The outputs the engine records for a dynamic resource created from ``registration``:
    its inputs and what its ``create`` reports (the target's plan outputs stand in)."""
    inputs = provider_inputs(registration.raw_inputs)
    return {**given(registration), **gcp_target.plan_outputs(registration.type, inputs)}


def dynamic_diffs(old: Version, new: Version) -> dict[str, DiffResult]:
    """Each dynamic resource of both versions: its provider's ``diff`` of what ``old``
    recorded and ``new``'s inputs, the call ``pulumi up`` makes."""
    olds = {r.urn: r for r in old.plan.registrations if r.type.startswith(DYNAMIC)}
    return {
        label(r.urn): dynamic_provider(r).diff(f"{r.name}-id", recorded(olds[r.urn]), given(r))
        for r in new.plan.registrations
        if r.urn in olds
    }


def runs(diffs: Mapping[str, DiffResult]) -> bool:
    """Whether ``pulumi up`` would execute migrate again: its execution is replaced."""
    return bool(diffs["CloudRunJobExecution migrate-migrate-run"].replaces)


def quiet(diffs: Mapping[str, DiffResult]) -> list[str]:
    """The dynamic resources whose diff finds a change."""
    return sorted(name for name, diff in diffs.items() if diff.changes is not False)


def assert_known(v: Version) -> None:
    """Every input is known, as in ``pulumi up``: an unknown one would compare equal to itself
    and hide a difference."""
    unknown = [label(r.urn) for r in v.plan.registrations if UNKNOWN in json.dumps(r.raw_inputs)]
    assert unknown == []


# -- the no-op rule ------------------------------------------------------------------------------

WATCHED = {
    "migrate": {"CloudRunJobExecution migrate-migrate-run", "VmServiceReady migrate-db-running"},
    "migrate+managed": {"CloudRunJobExecution migrate-migrate-run"},
    "release": {"CloudRunJobExecution release-release-run"},
}
"""Dynamic resources each example has at least: the job's execution, a VM's readiness."""


@pytest.mark.parametrize("example", sorted(EXAMPLE_FILES))
def test_an_unchanged_stack_changes_nothing_and_runs_no_job(tmp_path, example):
    files = checkout(tmp_path, example)
    first, second = version(files), version(files)

    assert_known(first)
    assert changed(first, second, weighed=False) == {}
    diffs = dynamic_diffs(first, second)
    assert WATCHED[example] <= diffs.keys()
    assert quiet(diffs) == [], "no execution, no wait for a VM, nothing recorded anew"
    diff = compare(first, second)
    assert [job.runs for job in diff.jobs] == [False] * len(diff.jobs)
    assert {service.change for service in diff.services} == {"none"}


@pytest.mark.parametrize("example", ["migrate", "migrate+managed"])
@pytest.mark.parametrize(
    "renewed",
    [
        pytest.param({"token": "ya29.ci-run-1"}, id="stack-accessToken"),
        pytest.param({"minted": "ya29.minted-run-1"}, id="minted-by-the-provider"),
    ],
)
def test_credentials_renewed_for_each_run_change_nothing_and_run_no_job(tmp_path, example, renewed):
    """A ``gcp:accessToken`` refreshed for each CI run, or the token the provider mints for
    each run (Application Default Credentials), reaches the dynamic resources (``identity``)
    and the image pushes (the registry login): neither may make the second ``up`` differ."""
    files = checkout(tmp_path, example)
    refreshed = {key: value.replace("run-1", "run-2") for key, value in renewed.items()}
    first, second = version(files, **renewed), version(files, **refreshed)

    assert changed(first, second, weighed=False), "the new token reached the inputs"
    assert changed(first, second) == {}
    assert quiet(dynamic_diffs(first, second)) == []
    assert [job.runs for job in compare(first, second).jobs] == [False]


@pytest.mark.parametrize(
    "renewed",
    [
        pytest.param({"token": "ya29.ci-run-1"}, id="stack-accessToken"),
        pytest.param({"minted": "ya29.minted-run-1"}, id="minted-by-the-provider"),
    ],
)
def test_a_renewed_token_changes_only_the_registry_password_of_a_built_image(tmp_path, renewed):
    """Why ``as_diffed`` leaves only the registry password out: a new token reaches a built
    image as ``registries[].password`` and nothing else (the address and the username
    ``oauth2accesstoken`` stay), and pulumi-docker-build's ``Image`` diff ignores a password
    change alone (provider/internal/image.go: registries differ by address or username)."""
    files = checkout(tmp_path, "migrate")
    refreshed = {key: value.replace("run-1", "run-2") for key, value in renewed.items()}
    first, second = version(files, **renewed), version(files, **refreshed)

    def images(v: Version) -> dict[str, dict[str, Any]]:
        return {r.urn: r.raw_inputs for r in v.plan.registrations if r.type == IMAGE}

    before, after = images(first), images(second)
    assert before.keys() == after.keys() and len(before) == 2, "web and migrate are built"
    for urn, old in before.items():
        new = after[urn]
        assert old != new, "the new token reached the image's inputs"
        assert {k: v for k, v in old.items() if k != "registries"} == {
            k: v for k, v in new.items() if k != "registries"
        }, "nothing but the registry login differs"
        assert len(old["registries"]) == len(new["registries"]) == 1
        (was,), (now,) = old["registries"], new["registries"]
        assert was["password"] != now["password"]
        assert {k: v for k, v in was.items() if k != "password"} == {
            k: v for k, v in now.items() if k != "password"
        }, "same address and username: only the password changes"


MIGRATE_ONLY = {
    "Job migrate-migrate": "migrate",
    "CloudRunJobExecution migrate-migrate-run": "migrate",
}


@pytest.mark.parametrize("example", ["migrate", "migrate+managed"])
def test_one_changed_variable_of_the_job_reruns_only_the_job(tmp_path, example):
    files = checkout(tmp_path, example)
    before = version(files)
    add_job_variable(files)
    after = version(files)

    assert changed(before, after) == MIGRATE_ONLY
    diffs = dynamic_diffs(before, after)
    assert runs(diffs) is True
    assert quiet(diffs) == ["CloudRunJobExecution migrate-migrate-run"]
    diff = compare(before, after)
    assert [(j.name, j.runs, j.because) for j in diff.jobs] == [("migrate", True, ("environment",))]
    assert {s.name: s.change for s in diff.services} == {"db": "none", "web": "none"}


def test_a_rotated_password_reruns_the_migration_and_rolls_web_and_the_database(tmp_path):
    """With the managed store: Cloud SQL takes the new root password in place; the migration's
    and web's secrets get new versions, which the job and web name, so the migration runs
    again and web rolls out a new revision; nothing shared changes."""
    files = checkout(tmp_path, "migrate+managed")
    before = version(files)
    after = version(files, {"POSTGRES_PASSWORD": ROTATED})

    assert changed(before, after) == {
        "DatabaseInstance migrate-db-dev": "db",
        **MIGRATE_ONLY,
        "SecretVersion migrate-migrate-DATABASE_URL": "migrate",
        "Service migrate-web": "web",
        "SecretVersion migrate-web-DATABASE_URL": "web",
    }
    diffs = dynamic_diffs(before, after)
    assert runs(diffs) is True
    assert quiet(diffs) == ["CloudRunJobExecution migrate-migrate-run"]
    diff = compare(before, after)
    assert [(j.name, j.runs) for j in diff.jobs] == [("migrate", True)]
    assert {s.name: s.change for s in diff.services} == {"db": "update", "web": "update"}


def test_a_rotated_password_also_replaces_a_database_vm_that_reads_it(tmp_path):
    """Without the managed store, ``db`` is a VM whose boot script names its secret's version:
    a new version replaces the instance (its state disk and address stay) and its readiness
    check waits for the new one; the migration runs again and web rolls out."""
    files = checkout(tmp_path, "migrate")
    before = version(files)
    after = version(files, {"POSTGRES_PASSWORD": ROTATED})

    assert changed(before, after) == {
        "SecretVersion migrate-db-POSTGRES_PASSWORD": "db",
        "Instance migrate-db": "db",
        "VmServiceReady migrate-db-running": "db",
        **MIGRATE_ONLY,
        "SecretVersion migrate-migrate-DATABASE_URL": "migrate",
        "Service migrate-web": "web",
        "SecretVersion migrate-web-DATABASE_URL": "web",
    }, "nothing shared, and db's pinned image stays"
    diffs = dynamic_diffs(before, after)
    assert runs(diffs) is True
    assert diffs["VmServiceReady migrate-db-running"].replaces == ["instanceId"]
    assert [(j.name, j.runs) for j in compare(before, after).jobs] == [("migrate", True)]


# -- pulumi destroy ------------------------------------------------------------------------------

EVERYTHING = """
name: shop
services:
  db:
    image: postgres:16
    x-defang-postgres: true
    environment:
      POSTGRES_USER: shop
      POSTGRES_DB: orders
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
  cache:
    image: redis:7
    x-defang-redis: true
    environment:
      REDIS_PASSWORD: ${REDIS_PASSWORD}
  search:
    image: example/search
    expose: ["9200"]
    volumes: [index:/data]
    healthcheck:
      test: ["CMD", "true"]
  web:
    image: nginx
    ports: ["80:80"]
    volumes: [uploads:/srv/uploads]
    environment:
      DATABASE_URL: postgres://shop:${POSTGRES_PASSWORD}@db:5432/orders
      REDIS_URL: redis://:${REDIS_PASSWORD}@cache:6379/0
  worker:
    image: example/worker
    environment:
      SEARCH_URL: http://search:9200
  migrate:
    image: example/app
    restart: "no"
    environment:
      DATABASE_URL: postgres://shop:${POSTGRES_PASSWORD}@db:5432/orders
    depends_on:
      db: {condition: service_started}
      search: {condition: service_healthy}
volumes:
  index: {}
  uploads: {}
"""
"""Every kind of resource the gcp target makes: Cloud SQL with its own user and database,
Memorystore with AUTH, a VM with a disk and a health check, a Cloud Run service with a bucket,
a worker pool, a job."""
EVERYTHING_SECRETS = {"POSTGRES_PASSWORD": PASSWORD, "REDIS_PASSWORD": "redis-pw-9f8e7d6c"}


def everything(tmp_path: Path, **options: str) -> Version:
    compose = tmp_path / "shop" / "compose.yaml"
    compose.parent.mkdir(parents=True)
    compose.write_text(EVERYTHING)
    return version(
        [str(compose)], EVERYTHING_SECRETS, token="ya29.recorded-before", options=options
    )


def test_each_dynamic_resource_deletes_from_its_recorded_state_without_calling_google_cloud(
    tmp_path, monkeypatch
):
    """``pulumi destroy`` deletes a dynamic resource with the outputs the state holds (its
    identity possibly stale: a diff that found no change kept them), through the provider
    pickled there; a delete that called an API with them, or needed what they lack, would
    leave the stack undestroyable."""
    plan = everything(tmp_path, gcpDeletionProtection="false").plan
    session = ScriptedSession([])
    for module in (run_once_module, readiness_module):
        monkeypatch.setattr(module, "authorized_session", lambda *_args, **_kwargs: session)

    dynamic = [r for r in plan.registrations if r.type.startswith(DYNAMIC)]
    assert {RUN, READY, PIN} <= {r.type for r in dynamic}
    assert {label(r.urn) for r in dynamic if r.type == READY} == {
        "VmServiceReady shop-search-running",
        "VmServiceReady shop-search-healthy",
    }
    for registration in dynamic:
        state = recorded(registration)
        assert dynamic_provider(registration).delete(f"{registration.name}-id", state) is None
    assert session.sent == [], "no request to Google Cloud"


def test_an_unchanged_stack_of_every_kind_changes_nothing_and_runs_no_job(tmp_path):
    """Beyond the examples: Memorystore's AUTH string in the secrets, a bucket, a worker pool,
    a VM waited for until healthy, a job waiting on it."""
    first = everything(tmp_path / "first")
    second = everything(tmp_path / "second")

    assert_known(first)
    assert changed(first, second, weighed=False) == {}
    diffs = dynamic_diffs(first, second)
    assert {
        "CloudRunJobExecution shop-migrate-run",
        "VmServiceReady shop-search-running",
        "VmServiceReady shop-search-healthy",
        "PinnedDigest shop-search-pinned-image",
    } <= diffs.keys()
    assert quiet(diffs) == []


PROTECTED_STORES = {
    "DatabaseInstance shop-db-dev",
    "Database shop-db-database",
    "Instance shop-cache-cache",
    "GlobalAddress shop-services-range",
    "Connection shop-services-peering",
}
"""What docs/gcp.md protects (*Managed databases and caches*, "Protected"): the Cloud SQL
instance and its database, Memorystore, the peering and its range; not with
``gcpThrowawayStores``."""
KEPT = {
    "Disk shop-index",
    "Bucket shop-uploads",
    "Disk shop-search-state",
    "IAMMember shop-services-agent-role",
}
"""What docs/gcp.md keeps on ``pulumi destroy`` (``retain_on_delete``): named volumes' disks
and buckets, each VM's state disk, the Service Networking agent's role."""
GUARDED_BY_DELETION_PROTECTION = {
    "gcp:cloudrunv2/service:Service": "gcpDeletionProtection",
    "gcp:cloudrunv2/job:Job": "gcpDeletionProtection",
    "gcp:cloudrunv2/workerPool:WorkerPool": "gcpDeletionProtection",
    "gcp:sql/databaseInstance:DatabaseInstance": "stores",
    "gcp:redis/instance:Instance": "stores",
}
"""The ``deletion_protection`` docs/gcp.md gives: Cloud Run's follows ``gcpDeletionProtection``,
the managed stores' is on unless ``gcpThrowawayStores``."""


def sdk_deletion_protection(type_: str) -> str | None:
    """What pulumi-gcp's own documentation says of the type's ``deletion_protection``
    argument; None when it has none (or is not a gcp resource)."""
    if not type_.startswith("gcp:"):
        return None
    _, path, name = type_.split(":")
    module = importlib.import_module(f"pulumi_gcp.{path.split('/', maxsplit=1)[0]}")
    resource = getattr(module, name)
    if "deletion_protection" not in inspect.signature(resource._internal_init).parameters:
        return None
    args = getattr(module, f"{name}Args")
    found = re.search(
        r"deletion_protection:(.*?)(?=:param|\Z)", args.__init__.__doc__ or "", re.DOTALL
    )
    return " ".join(found.group(1).split()) if found else ""


@pytest.mark.parametrize(
    ("cloud_run", "throwaway"),
    [(False, False), (False, True), (True, False)],
    ids=["dev", "dev-throwaway-stores", "default"],
)
def test_nothing_is_protected_or_kept_but_what_the_docs_say(tmp_path, cloud_run, throwaway):
    """``pulumi destroy`` completes when nothing refuses it: no ``protect`` but the stores'
    (and none with throwaway stores), ``retain_on_delete`` only on what holds data, and every
    resource that takes a ``deletion_protection`` given it explicitly (pulumi-gcp turns it on
    by default for Cloud Run, Cloud SQL and Memorystore), on only where the docs say."""
    options = {
        "gcpDeletionProtection": str(cloud_run).lower(),
        "gcpThrowawayStores": str(throwaway).lower(),
    }
    with resource_options() as recorded_options:
        plan = everything(tmp_path, **options).plan

    custom = [r for r in plan.registrations if r.custom]
    protected = {label(r.urn) for r in custom if recorded_options[r.urn].protect}
    assert protected == (set() if throwaway else PROTECTED_STORES)
    kept = {label(r.urn) for r in custom if recorded_options[r.urn].retainOnDelete}
    assert kept == KEPT

    on = {"gcpDeletionProtection": cloud_run, "stores": not throwaway}
    guarded = {}
    for registration in custom:
        documented = sdk_deletion_protection(registration.type)
        if documented is None:
            continue
        value = registration.inputs.get("deletionProtection")
        if value is None:
            assert "Defaults to false" in documented, f"{label(registration.urn)}: {documented}"
            value = False
        expected = GUARDED_BY_DELETION_PROTECTION.get(registration.type)
        assert value is (on[expected] if expected else False), label(registration.urn)
        guarded[registration.type] = value
    assert GUARDED_BY_DELETION_PROTECTION.keys() <= guarded.keys(), "each kind was planned"
    sql = next(r for r in custom if r.type == "gcp:sql/databaseInstance:DatabaseInstance")
    assert sql.inputs["settings"]["deletionProtectionEnabled"] is (not throwaway)


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
    command: ["nginx", "-g", "%(a)s"]
    environment:
      LOG_LEVEL: %(web_level)s
    deploy: {replicas: %(replicas)d}
    depends_on: [db]
    pre_start:
      - command: ["./migrate"]
      - command: ["./seed"]
jobs:
  backup:
    image: postgres:16
    command: ["pg_dump", "-h", "db"]
    environment:
      PGPASSWORD: ${POSTGRES_PASSWORD}
      KEEP_DAYS: "%(keep_days)d"
    depends_on: [db]
    triggers:
      schedule:
        - cron: "0 3 * * *"
          timezone: Europe/Paris
"""
WEB_HOOKS = {
    "CloudRunJobExecution shop-web-pre-start-0-run",
    "CloudRunJobExecution shop-web-pre-start-1-run",
}


SCHEDULED = {
    "Job shop-backup",
    "Job shop-backup-schedule-0",
    "Account shop-backup-schedule-0-account",
    "JobIamMember shop-backup-schedule-0-invoker",
}
"""The job of ``jobs:`` and its schedule: its Cloud Run job, its Cloud Scheduler job, the
schedule's account and its grant."""


def hooks_and_jobs(
    tmp_path: Path,
    a: str = "daemon off;",
    replicas: int = 1,
    web_level: str = "info",
    keep_days: int = 7,
) -> Version:
    compose = tmp_path / "shop" / "compose.yaml"
    compose.parent.mkdir(parents=True, exist_ok=True)
    values = {"a": a, "replicas": replicas, "web_level": web_level, "keep_days": keep_days}
    compose.write_text(HOOKS_AND_JOBS % values)
    return version([str(compose)])


def planned(v: Version) -> set[str]:
    """The custom resources of ``v``, by label."""
    return {label(r.urn) for r in v.plan.registrations if r.custom}


def test_an_unchanged_stack_of_hooks_and_jobs_changes_nothing_and_runs_no_hook(tmp_path):
    first, second = hooks_and_jobs(tmp_path / "first"), hooks_and_jobs(tmp_path / "second")

    assert_known(first)
    assert changed(first, second, weighed=False) == {}
    assert planned(first) >= SCHEDULED, "the job of jobs: and its schedule were compared too"
    diffs = dynamic_diffs(first, second)
    assert {*WEB_HOOKS, "CloudRunJobExecution shop-db-pre-start-0-run"} <= diffs.keys()
    assert quiet(diffs) == []


def test_a_changed_service_runs_its_hooks_again_and_a_scale_change_runs_none(tmp_path):
    """Compose's rule: the hooks run again when their service is replaced (its definition
    changed: here its command, which no hook shares), not when it is only scaled."""
    before = hooks_and_jobs(tmp_path / "before")
    changed_env = hooks_and_jobs(tmp_path / "changed", a="daemon off; error_log stderr;")
    scaled = hooks_and_jobs(tmp_path / "scaled", replicas=3)

    rerun = dynamic_diffs(before, changed_env)
    assert quiet(rerun) == sorted(WEB_HOOKS)
    assert all(rerun[hook].replaces for hook in WEB_HOOKS), "each hook executes again"
    assert quiet(dynamic_diffs(before, scaled)) == []
    assert changed(before, scaled) == {"Service shop-web": "web"}, "web scales; nothing else"


def test_one_changed_variable_of_a_service_reruns_only_its_hooks(tmp_path):
    """Compose merges the service's environment into each hook: a changed variable of web
    changes web and its hooks, which execute again; db's hook, the job of jobs: and its
    schedule stay."""
    before = hooks_and_jobs(tmp_path / "before")
    after = hooks_and_jobs(tmp_path / "after", web_level="debug")

    assert changed(before, after) == {
        "Service shop-web": "web",
        "Job shop-web-pre-start-0": "web-pre-start-0",
        "CloudRunJobExecution shop-web-pre-start-0-run": "web-pre-start-0",
        "Job shop-web-pre-start-1": "web-pre-start-1",
        "CloudRunJobExecution shop-web-pre-start-1-run": "web-pre-start-1",
    }
    diffs = dynamic_diffs(before, after)
    assert quiet(diffs) == sorted(WEB_HOOKS)
    assert all(diffs[hook].replaces for hook in WEB_HOOKS), "each hook executes again"


def test_one_changed_variable_of_a_scheduled_job_changes_only_its_job_and_runs_nothing(tmp_path):
    """The job of jobs: gets the new definition; ``up`` runs it not, and its schedule (which
    names the job, not its definition) stays as it was."""
    before = hooks_and_jobs(tmp_path / "before")
    after = hooks_and_jobs(tmp_path / "after", keep_days=30)

    assert changed(before, after) == {"Job shop-backup": "backup"}
    assert quiet(dynamic_diffs(before, after)) == []
