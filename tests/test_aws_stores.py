"""Managed stores on AWS (issue 12): RDS for ``x-defang-postgres``, ElastiCache for
``x-defang-redis``, private, encrypted, protected, reachable by their compose names, and gating
the migration exactly as the container database did."""

from __future__ import annotations

import json
import re

import pytest

from berth.errors import BerthError
from tests.aws_support import ECS_SERVICE, JOB, TASK_DEFINITION, aws_program
from tests.conftest import copy_example
from tests.plans import find, of_type, resource_options
from tests.secrets_check import assert_never_plain, count_wrapped

RDS = "aws:rds/instance:Instance"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
DNS_INSTANCE = "aws:servicediscovery/instance:Instance"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
RANDOM_ID = "random:index/randomId:RandomId"
STORE_VERSION = "pulumi-python:dynamic/berth:StoreVersion"
PASSWORD = "pw-managed-0a1b2c3d"


def managed_seed(project_dir, **kwargs):
    base = copy_example("migrate", project_dir)
    override = base.replace("compose.yaml", "compose.managed.yaml")
    return aws_program([base, override], secrets={"POSTGRES_PASSWORD": PASSWORD}, **kwargs)


def test_the_seeds_database_is_rds_and_the_migration_waits_for_it(project_dir):
    with resource_options() as options:
        plan = managed_seed(project_dir)

    db = find(plan, RDS, "db-db")
    assert not [r for r in of_type(plan, ECS_SERVICE) if r.name == "db"], "no container db"
    assert not [r for r in of_type(plan, TASK_DEFINITION) if r.name == "db"]
    inputs = db.inputs
    assert inputs["engine"] == "postgres"
    assert inputs["engineVersion"] == "16"
    assert inputs["instanceClass"] == "db.t4g.micro"
    assert inputs["storageEncrypted"] is True
    assert inputs["publiclyAccessible"] is False
    assert inputs["deletionProtection"] is True
    assert inputs["skipFinalSnapshot"] is False
    assert re.fullmatch(r"b-migrate-dev-db-final-[0-9a-f]{8}", inputs["finalSnapshotIdentifier"])
    assert find(plan, RANDOM_ID, "db-snapshot").urn in db.dependencies, "drawn once per store"
    assert inputs["password"] == "[secret]"
    assert (inputs["username"], inputs["dbName"]) == ("postgres", "postgres")
    assert inputs["applyImmediately"] is False
    assert options[db.urn].protect is True

    run = find(plan, JOB, "migrate-run")
    name = find(plan, DNS_INSTANCE, "db-dns")
    assert {db.urn, name.urn} <= set(run.dependencies), "the migration waits on the database"
    assert run.urn in find(plan, ECS_SERVICE, "web").dependencies
    assert name.inputs["attributes"]["AWS_INSTANCE_CNAME"].endswith(".rds.eu-west-1.aws")


def test_the_database_is_private_and_open_only_to_the_projects_tasks(project_dir):
    plan = managed_seed(project_dir)

    group = find(plan, "aws:rds/subnetGroup:SubnetGroup", "db-db")
    private = sorted(
        (r for r in of_type(plan, "aws:ec2/subnet:Subnet") if "-private-" in r.name),
        key=lambda subnet: subnet.name,
    )
    assert len(private) == 2
    assert all(not s.inputs.get("mapPublicIpOnLaunch") for s in private)
    assert group.inputs["subnetIds"] == [f"{s.name}-id" for s in private]
    routes = find(plan, "aws:ec2/routeTable:RouteTable", "migrate-private")
    assert not routes.inputs.get("routes"), "no route to the internet"
    store = find(plan, SECURITY_GROUP, "db-store")
    (rule,) = store.inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"]) == (5432, 5432)
    assert rule["securityGroups"] == ["migrate-tasks-id"]
    assert "cidrBlocks" not in rule


def test_the_password_never_appears_in_plain_text(project_dir):
    plan = managed_seed(project_dir)

    assert_never_plain(plan, PASSWORD)
    assert count_wrapped(plan, PASSWORD) >= 2, "the RDS password and the job's secrets"


def test_a_throwaway_stack_drops_the_protections(project_dir):
    with resource_options() as options:
        plan = managed_seed(project_dir, variables={"awsThrowawayStores": "true"})

    db = find(plan, RDS, "db-db")
    assert db.inputs["deletionProtection"] is False
    assert db.inputs["skipFinalSnapshot"] is True
    assert options[db.urn].protect is False


def test_a_managed_cache_is_elasticache_with_encryption_and_its_password_as_auth_token(
    project_dir, write
):
    write(
        """
        name: shop
        services:
          cache:
            image: valkey/valkey:8
            x-defang-redis:
              allow-downtime: true
            environment:
              REDIS_PASSWORD: ${REDIS_PASSWORD}
          worker:
            image: acme/worker
            depends_on: [cache]
        """
    )
    token = "token-0123456789abcdef"
    plan = aws_program(["compose.yaml"], secrets={"REDIS_PASSWORD": token})

    cache = find(plan, CACHE, "cache-cache")
    inputs = cache.inputs
    assert (inputs["engine"], inputs["engineVersion"]) == ("valkey", "8.2")
    assert inputs["atRestEncryptionEnabled"] is True
    assert inputs["transitEncryptionEnabled"] is True
    assert inputs["authToken"] == "[secret]"
    assert inputs["applyImmediately"] is True
    assert inputs["replicationGroupId"] == "b-shop-dev-cache"
    assert cache.urn in find(plan, ECS_SERVICE, "worker").dependencies
    assert_never_plain(plan, token)


@pytest.mark.parametrize(
    ("environment", "secrets", "problem"),
    [
        ({}, {}, "POSTGRES_PASSWORD is not set"),
        ({"POSTGRES_PASSWORD": "short"}, {}, "not a password the managed store"),
        ({"POSTGRES_PASSWORD": "${PW}"}, {"PW": "short"}, "not a password the managed store"),
        (
            {"POSTGRES_PASSWORD": "${PW}", "POSTGRES_DB": "my-app"},
            {"PW": "long-enough-pw"},
            "POSTGRES_DB 'my-app' is not a name RDS accepts",
        ),
    ],
)
def test_credentials_rds_cannot_take_are_refused_at_plan_time(
    project_dir, write, environment, secrets, problem
):
    lines = "".join(f"\n      {k}: {json.dumps(v)}" for k, v in environment.items())
    write(
        "services:\n  db:\n    image: postgres:16\n    x-defang-postgres: true\n"
        + ("    environment:" + lines + "\n" if environment else "")
    )

    with pytest.raises(BerthError) as refused:
        aws_program(["compose.yaml"], secrets=secrets)

    assert problem in refused.value.message
    assert refused.value.service == "db"
    assert "short" not in refused.value.message, "a secret's value is never shown"


def test_allow_downtime_written_as_the_string_false_applies_nothing_at_once(project_dir, write):
    write(
        """
        services:
          db:
            image: postgres:16
            x-defang-postgres: {allow-downtime: "false"}
            environment:
              POSTGRES_PASSWORD: ${PW}
        """
    )
    plan = aws_program(["compose.yaml"], secrets={"PW": "long-enough-pw"})

    db = find(plan, RDS, "db-db").inputs
    assert (db["applyImmediately"], db["allowMajorVersionUpgrade"]) == (False, False)


def test_store_warnings_reach_the_plan(project_dir, write):
    write(
        """
        services:
          db:
            image: postgres:16
            x-defang-postgres: true
            volumes: [pgdata:/var/lib/postgresql/data]
            environment:
              POSTGRES_PASSWORD: ${PW}
        volumes:
          pgdata: {}
        """
    )
    plan = aws_program(["compose.yaml"], secrets={"PW": "long-enough-pw"})

    assert any("its volumes are not used" in w for w in plan.warnings)
    assert not of_type(plan, "aws:efs/fileSystem:FileSystem"), "no EFS for a managed store"


# -- what ElastiCache and RDS accept (issue 18) ------------------------------------------------

CACHE_FILE = """
services:
  cache:
    image: {image}
    x-defang-redis: true
    environment: {environment}
  worker:
    image: acme/worker
    environment:
      CACHE_URL: "{url}"
"""
TOKEN = "token-0123456789abcdef"


def cache_plan(write, image="valkey/valkey:8", token=TOKEN, url="rediss://cache:6379"):
    environment = '{REDIS_PASSWORD: "${REDIS_PASSWORD}"}' if token else "{}"
    write(CACHE_FILE.format(image=image, environment=environment, url=url))
    return aws_program(["compose.yaml"], secrets={"REDIS_PASSWORD": token} if token else {})


@pytest.mark.parametrize("image", ["valkey/valkey:8", "redis:7", "redis:latest"])
def test_an_auth_token_requires_tls_as_elasticache_demands(project_dir, write, image):
    """ElastiCache refuses AUTH with transit_encryption_mode "preferred" ("Transit encryption
    preferred is not supported with redis access control")."""
    inputs = find(cache_plan(write, image), CACHE, "cache-cache").inputs
    assert inputs["transitEncryptionEnabled"] is True
    assert inputs["transitEncryptionMode"] == "required"
    assert inputs["authToken"] == "[secret]"


def test_redis_6_gets_tls_without_a_mode(project_dir, write):
    """For Redis OSS 6.2 ElastiCache refuses any transit encryption mode ("not supported for
    engine version 6.2.6"): only 7.0.5 and later take one."""
    inputs = find(cache_plan(write, "redis:6.2-alpine"), CACHE, "cache-cache").inputs
    assert inputs["engineVersion"] == "6.2"
    assert inputs["transitEncryptionEnabled"] is True
    assert "transitEncryptionMode" not in inputs


@pytest.mark.parametrize("image", ["valkey/valkey:8", "redis:6"])
def test_a_cache_without_a_token_stays_plain(project_dir, write, image):
    inputs = find(cache_plan(write, image, token=None), CACHE, "cache-cache").inputs
    assert inputs["transitEncryptionEnabled"] is False
    assert "transitEncryptionMode" not in inputs
    assert "authToken" not in inputs
    assert inputs["atRestEncryptionEnabled"] is True


def test_a_plain_client_of_a_cache_with_a_token_is_warned(project_dir, write):
    plan = cache_plan(write, url="redis://:${REDIS_PASSWORD}@cache:6379/0")
    (warning,) = [w for w in plan.warnings if "rediss://" in w]
    assert "service 'worker': CACHE_URL connects to 'cache' with redis://" in warning
    assert TOKEN not in " ".join(plan.warnings)
    assert not [w for w in cache_plan(write).warnings if "rediss://" in w]


def test_a_cache_version_elasticache_does_not_run_is_warned(project_dir, write):
    plan = cache_plan(write, "redis:3")
    assert find(plan, CACHE, "cache-cache").inputs["engineVersion"] == "7.1"
    assert "service 'cache': ElastiCache runs no redis 3 that Berth maps; it runs 7.1" in (
        plan.warnings
    )


@pytest.mark.parametrize(
    "token",
    ["my.redis_token+2024%x", "short-but-valid", "with space 0123456789", "x" * 129],
)
def test_an_auth_token_elasticache_refuses_is_refused_at_plan_time(project_dir, write, token):
    with pytest.raises(BerthError) as refused:
        cache_plan(write, token=token)
    assert "REDIS_PASSWORD is not a password the managed store accepts" in refused.value.message
    assert "! & # $ ^ < > -" in refused.value.hint
    assert refused.value.service == "cache"
    assert token not in str(refused.value)


def test_every_character_elasticache_allows_is_accepted(project_dir, write):
    token = "Aa0!&#$^<>-Zz9" + "x" * 4
    assert find(cache_plan(write, token=token), CACHE, "cache-cache").inputs["authToken"]


# -- identifiers: RDS and ElastiCache refuse "--", a trailing "-" and more than their length -----

PROJECTS = ("billing", "a", "shop-front", "x" * 40, "my_app", "data-platform-reporting")
STACKS = ("dev", "production", "pr-1234", "staging-eu-west-1", "s" * 30, "feature_x--y")
SERVICES = ("db", "Orders_DB", "cache", "a" * 50, "pg-", "redis.primary")
_AWS_IDENTIFIER = re.compile(r"[a-z](?:[a-z0-9]|-(?!-))*(?<!-)")
"""RDS DBInstanceIdentifier / ElastiCache ReplicationGroupId: a letter first, letters, digits
and single hyphens, no hyphen last."""


@pytest.mark.parametrize("project", PROJECTS)
def test_identifiers_are_valid_for_every_project_stack_and_service(project):
    from berth.providers.aws.stores import _identifier

    seen: dict[str, tuple[str, str]] = {}
    for stack in STACKS:
        for service in SERVICES:
            prefix = f"{project}-{stack}"
            identifier = _identifier(prefix, service)
            assert _AWS_IDENTIFIER.fullmatch(identifier), (prefix, service, identifier)
            assert len(identifier) <= 30, "ElastiCache: 40; RDS: 63 with Terraform's 26 + '-'"
            assert len(identifier + "-") + 26 <= 63
            assert _AWS_IDENTIFIER.fullmatch(f"{identifier}-final-0a1b2c3d")
            assert seen.setdefault(identifier, (stack, service)) == (stack, service)


def test_the_identifier_of_the_issue_has_no_double_hyphen():
    from berth.providers.aws.stores import _identifier

    assert "--" not in _identifier("billing-production", "db")
    assert _identifier("billing-production", "db") == "b-billing-production-db"


# -- a major version move is refused at preview unless downtime is allowed ---------------------


def test_rds_gets_major_upgrades_exactly_when_downtime_is_allowed(project_dir, write):
    for allowed in (False, True):
        marking = "{allow-downtime: true}" if allowed else "true"
        write(
            "services:\n  db:\n    image: postgres:17\n"
            f"    x-defang-postgres: {marking}\n"
            "    environment: {POSTGRES_PASSWORD: '${PW}'}\n"
        )
        plan = aws_program(["compose.yaml"], secrets={"PW": "long-enough-pw"})
        db = find(plan, RDS, "db-db")
        assert db.inputs["allowMajorVersionUpgrade"] is allowed
        assert db.inputs["applyImmediately"] is allowed
        guard = find(plan, STORE_VERSION, "db-version")
        assert guard.urn in db.dependencies, "RDS is asked only after the guard's check"
        assert guard.inputs == {
            "store": "db",
            "marking": "x-defang-postgres",
            "engine": "postgres",
            "version": "17",
            "allowDowntime": allowed,
            "upgradeRestarts": True,
        }


def test_a_cache_waits_on_its_version_guard(project_dir, write):
    plan = cache_plan(write, "redis:7")
    cache = find(plan, CACHE, "cache-cache")
    guard = find(plan, STORE_VERSION, "cache-version")
    assert guard.urn in cache.dependencies
    assert (guard.inputs["engine"], guard.inputs["version"]) == ("redis", "7.1")
    assert guard.inputs["upgradeRestarts"] is False, "ElastiCache upgrades in place"
    assert guard.inputs["tls"] is True, "with a password; turning it off later is refused"


def test_postgres_latest_is_pinned_so_rds_defaults_never_move_a_stack(project_dir, write):
    write(
        "services:\n  db:\n    image: postgres:latest\n    x-defang-postgres: true\n"
        "    environment: {POSTGRES_PASSWORD: '${PW}'}\n"
    )
    plan = aws_program(["compose.yaml"], secrets={"PW": "long-enough-pw"})
    assert find(plan, RDS, "db-db").inputs["engineVersion"] == "17"


def _db(version: str, allow: bool = False) -> dict:
    return {
        "store": "db",
        "marking": "x-defang-postgres",
        "engine": "postgres",
        "version": version,
        "allowDowntime": allow,
        "upgradeRestarts": True,
    }


def _cache(engine: str, version: str, tls: bool = True) -> dict:
    return {
        "store": "cache",
        "marking": "x-defang-redis",
        "engine": engine,
        "version": version,
        "allowDowntime": False,
        "upgradeRestarts": False,
        "tls": tls,
    }


@pytest.mark.parametrize(
    ("old", "new", "refused"),
    [
        (None, _db("16"), None),
        (_db("16"), _db("16"), None),
        (_db("16"), _db("16", allow=True), None),
        (_db("16"), _db("17"), "write x-defang-postgres: {allow-downtime: true}"),
        (_db("16"), _db("17", allow=True), None),
        (_db("17", allow=True), _db("16", allow=True), "cannot move back to 16"),
        (_db("9.6"), _db("16"), "restarts it"),
        (_cache("redis", "6.2"), _cache("redis", "7.1"), None),
        (_cache("redis", "7.1"), _cache("valkey", "8.0"), None),
        (_cache("valkey", "8.0"), _cache("redis", "7.1"), "running valkey cannot move to redis"),
        (_cache("valkey", "8.0"), _cache("valkey", "7.2"), "cannot move back to 7.2"),
        (_cache("valkey", "8.0", tls=False), _cache("valkey", "8.0"), "would turn TLS on"),
        (_cache("redis", "6.2"), _cache("redis", "6.2", tls=False), "would turn TLS off"),
    ],
)
def test_the_guard_refuses_a_move_the_cloud_would_refuse(old, new, refused):
    from berth.providers.aws.upgrades import StoreVersionProvider

    result = StoreVersionProvider().check(old or {}, new)
    assert result.inputs == new
    if refused is None:
        assert result.failures == []
    else:
        (failure,) = result.failures
        assert failure.property == "version"
        assert refused in failure.reason
        assert failure.reason.startswith(f"service '{new['store']}': ")


def test_the_guard_unpickles_in_a_fresh_interpreter_in_the_project_root():
    from berth.providers.aws.upgrades import StoreVersionProvider
    from tests.pickling import unpickled_in_project_root

    printed = unpickled_in_project_root(
        StoreVersionProvider(),
        """
        old = {"store": "db", "marking": "x-defang-postgres", "engine": "postgres",
               "version": "16", "allowDowntime": False, "upgradeRestarts": True}
        print(len(provider.check(old, {**old, "version": "17"}).failures))
        """,
    )
    assert printed.split() == ["1"]


def test_cache_versions_are_the_newest_elasticache_runs_of_each_major():
    """AWS's own list of ElastiCache engine versions (DescribeCacheEngineVersions, as cfn-lint
    ships it): every version Berth picks is one, the newest of its major; a newer major in the
    list fails this until Berth maps it."""
    import json
    from pathlib import Path

    import cfnlint

    from berth.providers.aws.stores import CACHE_VERSIONS, NEWEST_CACHE

    data = Path(cfnlint.__file__).parent / "data/schemas/extensions/aws_elasticache_cachecluster"
    offered: dict[str, list[str]] = {}
    for rule in json.loads((data / "engine_version.json").read_text())["allOf"]:
        engine = rule["if"]["properties"]["Engine"].get("const")
        if engine in ("redis", "valkey"):
            offered[engine] = rule["then"]["properties"]["EngineVersion"]["enum"]

    def key(version: str) -> tuple[int, ...]:
        return tuple(int(part) for part in version.split("."))

    newest: dict[tuple[str, str], str] = {}
    for engine, versions in offered.items():
        for version in sorted(versions, key=key):
            newest[(engine, version.split(".")[0])] = version
    assert newest == CACHE_VERSIONS
    assert {e: max(v, key=key) for e, v in offered.items()} == NEWEST_CACHE


@pytest.mark.parametrize(
    ("project", "db_subnets", "cache_subnets"),
    [
        ("shop", "shop-orders-db-db", "shop-my-cache-cache"),
        ("my_shop", "my_shop-orders-db-db", "my-shop-my-cache-cache"),
    ],
)
def test_a_cache_subnet_group_name_has_no_underscore_of_the_projects_name(
    project_dir, write, project, db_subnets, cache_subnets
):
    """ElastiCache takes letters, digits and hyphens only; RDS takes ``_``, so its name, like
    every name that was valid, stays as it was."""
    write(f"""
        name: {project}
        services:
          Orders_DB:
            image: postgres:16
            x-defang-postgres: true
            environment: {{POSTGRES_PASSWORD: "${{POSTGRES_PASSWORD}}"}}
          my_cache: {{image: "redis:7", x-defang-redis: true}}
    """)
    plan = aws_program(["compose.yaml"], secrets={"POSTGRES_PASSWORD": PASSWORD})

    names = {r.type: r.name for r in plan.registrations if r.type.endswith("SubnetGroup")}
    assert names == {
        "aws:rds/subnetGroup:SubnetGroup": db_subnets,
        "aws:elasticache/subnetGroup:SubnetGroup": cache_subnets,
    }
