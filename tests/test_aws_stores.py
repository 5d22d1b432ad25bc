"""Managed stores on AWS (issue 12): RDS for ``x-defang-postgres``, ElastiCache for
``x-defang-redis``, private, encrypted, protected, reachable by their compose names, and gating
the migration exactly as the container database did."""

from __future__ import annotations

import json

import pytest

from berth.errors import BerthError
from tests.aws_support import ECS_SERVICE, JOB, TASK_DEFINITION, aws_program, resource_options
from tests.conftest import copy_example
from tests.plans import find, of_type
from tests.secrets_check import assert_never_plain, count_wrapped

RDS = "aws:rds/instance:Instance"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
DNS_INSTANCE = "aws:servicediscovery/instance:Instance"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
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
    assert inputs["finalSnapshotIdentifier"] == "b-migrate-dev-db-final"
    assert inputs["password"] == "[secret]"
    assert (inputs["username"], inputs["dbName"]) == ("postgres", "postgres")
    assert inputs["applyImmediately"] is False
    assert options[db.urn]["protect"] is True

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
    assert options[db.urn]["protect"] is False


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
    assert (inputs["engine"], inputs["engineVersion"]) == ("valkey", "8.0")
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
        ({"POSTGRES_PASSWORD": "written-here"}, {}, "written in the compose file"),
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
