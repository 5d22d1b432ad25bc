"""Managed stores on GCP (issue 12): Cloud SQL for ``x-defang-postgres``, Memorystore for
``x-defang-redis``, on private IPs only, protected, reachable by their compose names from every
workload, and gating the migration exactly as the container database did."""

from __future__ import annotations

import copy
import json
from typing import Any

import pulumi_gcp
import pytest
from pulumi._types import input_type_py_to_pulumi_names as pulumi_names

from berth.components.names import AUTONAME_SUFFIX
from berth.errors import BerthError
from berth.providers.gcp import _private_ip as private_ip
from berth.providers.gcp.names import SQL_INSTANCE_ID, cloud_name
from berth.providers.gcp.sizing import TooLarge, redis_size_gb, sql_tier
from berth.sizing import Request
from tests.aws_support import component_outputs
from tests.conftest import copy_example
from tests.plans import find, of_type, resource_options, waits_on_services
from tests.secrets_check import assert_never_plain, count_wrapped
from tests.test_gcp_program import INSTANCE, JOB, RUN, SERVICE, env, gcp

SQL = "gcp:sql/databaseInstance:DatabaseInstance"
SQL_USER = "gcp:sql/user:User"
SQL_DATABASE = "gcp:sql/database:Database"
REDIS = "gcp:redis/instance:Instance"
RANGE = "gcp:compute/globalAddress:GlobalAddress"
PEERING = "gcp:servicenetworking/connection:Connection"
API = "gcp:projects/service:Service"
IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
PROJECT_ROLE = "gcp:projects/iAMMember:IAMMember"
SECRET_VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
PASSWORD = "pw-managed-0a1b2c3d"
MB = 1024 * 1024


def managed_seed(project_dir, **kwargs):
    base = copy_example("migrate", project_dir)
    override = base.replace("compose.yaml", "compose.managed.yaml")
    return gcp([base, override], secrets={"POSTGRES_PASSWORD": PASSWORD}, **kwargs)


def secret_data(plan, owner: str, key: str) -> dict:
    """The raw (still wrapped) data of a workload's secret environment value."""
    return find(plan, SECRET_VERSION, f"{owner}-{key}").raw_inputs["secretData"]


def test_the_seeds_database_is_cloud_sql_on_a_private_ip_only_and_protected(project_dir):
    with resource_options() as options:
        plan = managed_seed(project_dir)

    assert not [r for r in of_type(plan, INSTANCE) if r.name == "db"], "no VM for db"
    db = find(plan, SQL, "db-dev")
    inputs = db.inputs
    settings = inputs["settings"]
    assert inputs["databaseVersion"] == "POSTGRES_16"
    assert (settings["tier"], settings["edition"]) == ("db-f1-micro", "ENTERPRISE")
    network = settings["ipConfiguration"]
    assert network["ipv4Enabled"] is False, "no public IP"
    assert network["privateNetwork"], "on the project's network"
    assert "authorizedNetworks" not in network
    assert network["sslMode"] == "ENCRYPTED_ONLY"
    assert inputs["deletionProtection"] is True
    assert settings["deletionProtectionEnabled"] is True
    assert settings["finalBackupConfig"] == {"enabled": True, "retentionDays": 30}
    assert settings["backupConfiguration"]["enabled"] is True
    assert settings["backupConfiguration"]["pointInTimeRecoveryEnabled"] is True
    assert inputs["rootPassword"] == "[secret]", "the postgres user's password, as a secret"
    assert "name" not in inputs, "autonamed: Cloud SQL reserves a deleted instance's name"
    assert options[db.urn].protect is True
    assert not of_type(plan, SQL_USER), "postgres is Cloud SQL's own user"
    assert not of_type(plan, SQL_DATABASE), "postgres is Cloud SQL's own database"

    addresses = find(plan, RANGE, "services-range").inputs
    assert (addresses["purpose"], addresses["addressType"]) == ("VPC_PEERING", "INTERNAL")
    peering = find(plan, PEERING, "services-peering")
    assert peering.inputs["service"] == "servicenetworking.googleapis.com"
    assert peering.inputs["deletionPolicy"] == "REMOVE_PEERING"
    assert peering.urn in db.dependencies, "Cloud SQL fails without the peering"
    apis = {r.inputs["service"] for r in of_type(plan, API)}
    assert {"servicenetworking.googleapis.com", "sqladmin.googleapis.com"} <= apis
    assert "redis.googleapis.com" not in apis


def ignoring(inputs: dict[str, Any], olds: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """The inputs the engine diffs: at each ``ignore_changes`` path, the old input's value, or
    none when the old inputs have none (``processIgnoreChanges`` in pulumi/pulumi's step
    generator). A path that names no input the program sends is this test's error."""
    ignored = copy.deepcopy(inputs)
    for path in paths:
        *parents, leaf = path.split(".")
        old, new = olds, ignored
        for key in parents:
            old, new = old.get(key, {}), new[key]
        assert leaf in new, f"{path!r} names no input the program sends"
        if leaf in old:
            new[leaf] = old[leaf]
        else:
            del new[leaf]
    return ignored


def test_a_disk_cloud_sql_grew_is_not_a_diff(project_dir):
    with resource_options() as requests:
        plan = managed_seed(project_dir)

    db = find(plan, SQL, "db-dev")
    paths = list(requests[db.urn].ignoreChanges)
    settings = pulumi_names(pulumi_gcp.sql.DatabaseInstanceArgs)["settings"]
    disk_size = pulumi_names(pulumi_gcp.sql.DatabaseInstanceSettingsArgs)["disk_size"]
    assert f"{settings}.{disk_size}" in paths, "Pulumi's own path to the field"
    assert "ignore_changes" in pulumi_gcp.sql.DatabaseInstanceSettingsArgs.disk_size.__doc__
    assert db.inputs["settings"]["diskSize"] == 10, "created at 10 GB"
    grown = copy.deepcopy(db.inputs)
    grown["settings"]["diskSize"] = 25
    assert ignoring(db.inputs, grown, paths) == grown, "no shrink back to 10 GB, no replacement"


def test_the_peering_waits_for_the_service_networking_agent_and_its_role(project_dir):
    agent = "serviceAccount:service-123456789012@service-networking.iam.gserviceaccount.com"
    with resource_options() as requests:
        plan = managed_seed(project_dir)

    identity = find(plan, IDENTITY, "services-agent")
    role = find(plan, PROJECT_ROLE, "services-agent-role")
    peering = find(plan, PEERING, "services-peering")
    assert identity.inputs["service"] == "servicenetworking.googleapis.com"
    assert find(plan, API, "servicenetworking-api").urn in identity.dependencies
    assert role.inputs["role"] == "roles/servicenetworking.serviceAgent"
    assert (role.inputs["member"], identity.urn in role.dependencies) == (agent, True)
    assert role.urn in peering.dependencies, "terraform-provider-google#14720's error 7"
    assert requests[role.urn].retainOnDelete, "Google's own grant: other peerings need it"


def test_the_migration_runs_after_the_database_and_web_after_the_migration(project_dir):
    plan = managed_seed(project_dir)

    db = find(plan, SQL, "db-dev")
    run = find(plan, RUN, "migrate-run")
    web = find(plan, SERVICE, "web")
    assert db.urn in run.dependencies, "the migration waits on the database"
    assert waits_on_services(plan, run) == {"db"}
    assert run.urn in web.dependencies
    assert waits_on_services(plan, web) == {"migrate"}


def test_db_resolves_to_the_private_ip_for_the_job_and_the_password_stays_secret(
    project_dir,
):
    plan = managed_seed(project_dir)

    ip = private_ip(find(plan, SQL, "db-dev").inputs["settings"]["userLabels"])
    for owner in ("migrate", "web"):
        data = secret_data(plan, owner, "DATABASE_URL")
        assert data["value"] == f"postgres://postgres:{PASSWORD}@{ip}:5432/postgres"
    job = find(plan, JOB, "migrate").inputs["template"]["template"]["containers"][0]
    assert "secretKeyRef" in str(env(job)["DATABASE_URL"]), "read from Secret Manager"
    assert_never_plain(plan, PASSWORD)
    assert count_wrapped(plan, PASSWORD) >= 3, "the root password and two connection strings"


def test_a_throwaway_stack_drops_the_protections(project_dir):
    with resource_options() as options:
        plan = managed_seed(project_dir, variables={"gcpThrowawayStores": "true"})

    db = find(plan, SQL, "db-dev")
    assert db.inputs["deletionProtection"] is False
    assert db.inputs["settings"]["deletionProtectionEnabled"] is False
    assert db.inputs["settings"]["finalBackupConfig"] == {"enabled": False}
    assert options[db.urn].protect is False
    assert options[find(plan, PEERING, "services-peering").urn].protect is False


def test_another_user_and_database_are_created_with_the_password_as_a_secret(project_dir, write):
    write(
        """
        name: shop
        services:
          db:
            image: pgvector/pgvector:pg17
            x-defang-postgres: true
            deploy:
              resources:
                limits: {cpus: "2", memory: 8G}
            environment:
              POSTGRES_USER: shop
              POSTGRES_DB: orders
              POSTGRES_PASSWORD: ${PW}
          api:
            image: acme/api
            ports: ["8080:8080"]
            environment:
              DB_HOST: db
            depends_on:
              db: {condition: service_healthy}
        """
    )
    with resource_options() as options:
        plan = gcp(["compose.yaml"], secrets={"PW": PASSWORD})

    db = find(plan, SQL, "db-dev")
    assert db.inputs["databaseVersion"] == "POSTGRES_17"
    assert db.inputs["settings"]["tier"] == "db-custom-2-8192"
    assert "rootPassword" not in db.inputs
    user = find(plan, SQL_USER, "db-user")
    database = find(plan, SQL_DATABASE, "db-database")
    assert (user.inputs["name"], user.inputs["password"]) == ("shop", "[secret]")
    assert database.inputs["name"] == "orders"
    assert options[database.urn].protect is True, "the data lives in it: protected as the instance"
    api = find(plan, SERVICE, "api")
    assert {db.urn, user.urn, database.urn} <= set(api.dependencies)
    ip = private_ip(db.inputs["settings"]["userLabels"])
    assert env(api.inputs["template"]["containers"][0])["DB_HOST"] == ip
    assert_never_plain(plan, PASSWORD)


def test_a_managed_cache_is_memorystore_and_its_auth_string_replaces_redis_password(
    project_dir, write
):
    write(
        """
        name: shop
        services:
          cache:
            image: redis:7
            x-defang-redis: true
            environment:
              REDIS_PASSWORD: ${REDIS_PASSWORD}
          worker:
            image: acme/worker
            environment:
              REDIS_URL: redis://:${REDIS_PASSWORD}@cache:6379/0
            depends_on: [cache]
          tick:
            image: acme/worker
            restart: "no"
            environment:
              REDIS_URL: redis://:${REDIS_PASSWORD}@cache:6379/0
            depends_on: [cache]
        """
    )
    token = "token-0123456789abcdef"
    with resource_options() as options:
        plan = gcp(["compose.yaml"], secrets={"REDIS_PASSWORD": token})

    cache = find(plan, REDIS, "cache-cache")
    inputs = cache.inputs
    assert (inputs["tier"], inputs["memorySizeGb"]) == ("BASIC", 1)
    assert inputs["redisVersion"] == "REDIS_7_2"
    assert inputs["connectMode"] == "PRIVATE_SERVICE_ACCESS"
    assert inputs["authEnabled"] is True
    assert inputs["transitEncryptionMode"] == "DISABLED", "plain redis://cache:6379 keeps working"
    assert inputs["deletionProtection"] is True
    assert options[cache.urn].protect is True
    assert find(plan, PEERING, "services-peering").urn in cache.dependencies
    host = private_ip(inputs["labels"])
    for owner in ("worker", "tick"):
        data = secret_data(plan, owner, "REDIS_URL")
        assert data["value"] == f"redis://:plan-auth-string@{host}:6379/0"
    assert cache.urn in find(plan, "gcp:cloudrunv2/workerPool:WorkerPool", "worker").dependencies
    assert cache.urn in find(plan, RUN, "tick-run").dependencies
    assert_never_plain(plan, token, "plan-auth-string")


def test_a_valkey_cache_runs_on_memorystore_for_redis_with_a_warning(project_dir, write):
    write(
        """
        services:
          cache:
            image: valkey/valkey:8
            x-defang-redis: true
            deploy:
              resources:
                limits: {memory: 1500M}
        """
    )
    plan = gcp(["compose.yaml"])

    cache = find(plan, REDIS, "cache-cache").inputs
    assert (cache["redisVersion"], cache["memorySizeGb"], cache["authEnabled"]) == (
        "REDIS_7_2",
        2,
        False,
    )
    assert any("Memorystore for Valkey is not supported" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("service", "secrets", "problem"),
    [
        ("image: postgres:16", {}, "POSTGRES_PASSWORD is not set"),
        (
            "image: postgres:16\n    environment: {POSTGRES_PASSWORD: short}",
            {},
            "not a password the managed store accepts",
        ),
        (
            "image: postgres:16\n    environment: {POSTGRES_PASSWORD: '${PW}'}",
            {"PW": "short"},
            "not a password the managed store accepts",
        ),
        (
            "image: postgres:9.6\n    environment: {POSTGRES_PASSWORD: '${PW}'}",
            {"PW": PASSWORD},
            "Cloud SQL does not run PostgreSQL 9",
        ),
        (
            "image: postgres:16\n    environment: {POSTGRES_PASSWORD: '${PW}'}\n"
            "    deploy: {resources: {limits: {cpus: '200'}}}",
            {"PW": PASSWORD},
            "the largest Cloud SQL custom tier",
        ),
    ],
)
def test_what_cloud_sql_cannot_take_is_refused_before_anything_is_created(
    project_dir, write, service, secrets, problem
):
    write(f"services:\n  db:\n    x-defang-postgres: true\n    {service}\n")

    with pytest.raises(BerthError) as refused:
        gcp(["compose.yaml"], secrets=secrets)

    assert problem in refused.value.message
    assert refused.value.service == "db"
    assert "short" not in refused.value.message, "a secret's value is never shown"


def test_a_written_redis_password_is_swapped_for_the_auth_string_as_a_stack_secret_is(
    project_dir, write
):
    written = "written-here-long"
    write(
        "services:\n  cache:\n    image: redis:7\n    x-defang-redis: true\n"
        f"    environment: {{REDIS_PASSWORD: {written}}}\n"
        "  worker:\n    image: acme/worker\n"
        f"    environment: {{REDIS_URL: 'redis://:{written}@cache:6379/0'}}\n"
    )
    plan = gcp(["compose.yaml"])

    cache = find(plan, REDIS, "cache-cache").inputs
    assert cache["authEnabled"] is True
    host = private_ip(cache["labels"])
    data = secret_data(plan, "worker", "REDIS_URL")
    assert data["value"] == f"redis://:plan-auth-string@{host}:6379/0"
    assert any("REDIS_PASSWORD is in plain text" in w for w in plan.warnings)
    assert_never_plain(plan, written, "plan-auth-string")


@pytest.mark.parametrize(
    ("cpus", "memory_mb", "tier"),
    [
        (None, None, "db-f1-micro"),
        (0.5, 1024, "db-g1-small"),
        (1, None, "db-custom-1-3840"),
        (3, 4096, "db-custom-4-4096"),
        (1, 16 * 1024, "db-custom-4-16384"),
        (16, None, "db-custom-16-14848"),
    ],
)
def test_cloud_sql_tiers_cover_what_is_asked(cpus, memory_mb, tier):
    request = Request(cpus=cpus, memory=memory_mb * MB if memory_mb else None)
    assert sql_tier(request) == tier


def test_memorystore_capacity_is_whole_gigabytes():
    assert redis_size_gb(Request(cpus=None, memory=None)) == 1
    assert redis_size_gb(Request(cpus=None, memory=3 * 1024 * MB + 1)) == 4
    with pytest.raises(TooLarge):
        redis_size_gb(Request(cpus=None, memory=301 * 1024 * MB))


def test_two_runs_give_identical_store_inputs(project_dir):
    base = copy_example("migrate", project_dir)
    files = [base, base.replace("compose.yaml", "compose.managed.yaml")]
    first, second = (gcp(files, secrets={"POSTGRES_PASSWORD": PASSWORD}) for _ in range(2))

    def snapshot(plan):
        kinds = (SQL, RANGE, PEERING)
        return json.dumps(
            [(r.urn, r.inputs) for r in plan.registrations if r.type in kinds], sort_keys=True
        )

    assert snapshot(first) == snapshot(second)


def test_a_vm_reaches_the_database_by_its_compose_name_too(project_dir, write):
    write(
        """
        name: crm
        services:
          db:
            image: postgres:16
            x-defang-postgres: true
            environment:
              POSTGRES_PASSWORD: ${PW}
          broker:
            image: acme/broker
            expose: ["4222"]
            environment:
              DB_ADDR: db:5432
            depends_on: [db]
        """
    )
    plan = gcp(["compose.yaml"], secrets={"PW": PASSWORD})

    db = find(plan, SQL, "db-dev")
    vm = find(plan, INSTANCE, "broker")
    ip = private_ip(db.inputs["settings"]["userLabels"])
    assert f"DB_ADDR={ip}:5432" in vm.inputs["metadata"]["user-data"]
    assert db.urn in vm.dependencies


def test_the_stores_private_address_is_its_endpoint(project_dir):
    with component_outputs() as outputs:
        plan = managed_seed(project_dir)

    ip = private_ip(find(plan, SQL, "db-dev").inputs["settings"]["userLabels"])
    db = find(plan, "berth:index:Service", "db")
    assert outputs[db.urn]["endpoints"] == [f"{ip}:5432"]


def test_a_refusal_names_the_file_that_set_the_field(project_dir, write):
    write(
        """
        services:
          db:
            image: postgres:16
            environment:
              POSTGRES_PASSWORD: ${PW}
        """
    )
    (project_dir / "compose.managed.yaml").write_text(
        "services:\n  db:\n    image: postgres:11\n    x-defang-postgres: true\n"
    )
    with pytest.raises(BerthError) as refused:
        gcp(["compose.yaml", "compose.managed.yaml"], secrets={"PW": PASSWORD})

    assert "PostgreSQL 11" in refused.value.message
    assert refused.value.file.endswith("compose.managed.yaml")
    assert refused.value.field == "image"


def test_a_long_named_instance_fits_any_project_and_keeps_its_former_name(project_dir, write):
    """Cloud SQL: "The total length of project-ID:instance-ID must be 98 characters or less",
    and a project ID has up to 30 characters, so the ID Pulumi generates (the logical name,
    ``-`` and 7 hex characters) is at most 67 (tests/test_gcp_schema.py found 71). A stack
    that created the instance under its former, longer logical name keeps it: an alias."""
    service = "customer-notifications-database-with-a-long-name"
    write(
        f"""
        name: acme-platform
        services:
          {service}:
            image: postgres:16
            x-defang-postgres: true
            environment:
              POSTGRES_PASSWORD: ${{POSTGRES_PASSWORD}}
        """
    )
    plan = gcp(["compose.yaml"], secrets={"POSTGRES_PASSWORD": PASSWORD})

    (db,) = of_type(plan, SQL)
    former = cloud_name(f"acme-platform-{service}", "dev")
    assert len(former) + AUTONAME_SUFFIX > SQL_INSTANCE_ID, "the former name did not fit"
    assert len(db.name) + AUTONAME_SUFFIX <= SQL_INSTANCE_ID
    assert [alias for alias in db.aliases if alias.endswith(f"::{former}")], db.aliases


def test_a_short_named_instance_keeps_its_name(project_dir):
    plan = managed_seed(project_dir)

    (db,) = of_type(plan, SQL)
    assert db.name == "migrate-db-dev", "as before: fits in any project"
    assert [alias.rsplit("::", 1)[-1] for alias in db.aliases] == ["migrate-dev-db"], (
        "only the alias to the name of stacks deployed before names carried the Project's"
    )
