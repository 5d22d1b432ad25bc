"""The AWS target's IAM policies, Secrets Manager names and ECR repositories and lifecycle
policies, created in moto's emulation of those APIs. moto checks IAM policy grammar as AWS
does (a misspelt Effect is MalformedPolicyDocument); for the others it proves the calls a
deployment makes are well-formed."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from tests.aws_support import JOB, aws_program
from tests.conftest import copy_example
from tests.plans import of_type


@pytest.fixture
def prod_plan(project_dir):
    base = copy_example("migrate", project_dir)
    override = base.replace("compose.yaml", "compose.prod.yaml")
    return aws_program([base, override], secrets={"POSTGRES_PASSWORD": "pw-0a1b2c3d"})


@mock_aws
def test_iam_accepts_every_role_and_policy(prod_plan, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    iam = boto3.client("iam")
    roles = {r.urn: r for r in of_type(prod_plan, "aws:iam/role:Role")}
    assert sorted(r.name for r in roles.values()) == [
        "migrate-db-task",
        "migrate-execution",
        "migrate-migrate-task",
        "migrate-web-task",
    ], "one execution role, and a task role per service and job"
    for urn, role in roles.items():
        iam.create_role(
            RoleName=role.name, AssumeRolePolicyDocument=role.inputs["assumeRolePolicy"]
        )
        roles[urn] = role
    policies = of_type(prod_plan, "aws:iam/rolePolicy:RolePolicy")
    assert policies
    for policy in policies:
        iam.put_role_policy(
            RoleName="migrate-execution",
            PolicyName=policy.name,
            PolicyDocument=policy.inputs["policy"],
        )


@mock_aws
def test_secrets_manager_and_ecr_accept_the_names_and_the_lifecycle_policy(prod_plan, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    secrets = boto3.client("secretsmanager")
    for secret in of_type(prod_plan, "aws:secretsmanager/secret:Secret"):
        secrets.create_secret(Name=secret.inputs["name"], SecretString="x")
    ecr = boto3.client("ecr")
    repositories = of_type(prod_plan, "aws:ecr/repository:Repository")
    assert {r.inputs["name"] for r in repositories} == {
        "migrate-dev/migrate",
        "migrate-dev/web",
        "migrate-dev/buildcache/migrate",
        "migrate-dev/buildcache/web",
    }
    for repository in repositories:
        ecr.create_repository(repositoryName=repository.inputs["name"])
    for lifecycle in of_type(prod_plan, "aws:ecr/lifecyclePolicy:LifecyclePolicy"):
        ecr.put_lifecycle_policy(
            repositoryName=lifecycle.inputs["repository"],
            lifecyclePolicyText=lifecycle.inputs["policy"],
        )


@mock_aws
def test_destroy_deletes_the_repositories_the_pull_through_cache_filled(monkeypatch):
    """ECR makes a repository the first time a task pulls through the cache rule; nothing of
    the stack owns it, so ``pulumi destroy`` would leave it: the cleanup resource deletes those
    under the stack's prefix, with their images, and no other."""
    from berth.providers.aws.cleanup import CachedRepositoriesProvider, delete_cached_repositories
    from berth.providers.aws.images import INIT_REPOSITORY, cache_prefix

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    ecr = boto3.client("ecr")
    prefix = cache_prefix("shop-dev")
    for name in (f"{prefix}/{INIT_REPOSITORY}", f"{prefix}/library/nginx", "shop-dev/web"):
        ecr.create_repository(repositoryName=name)
    ecr.put_image(
        repositoryName=f"{prefix}/{INIT_REPOSITORY}",
        imageManifest=json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            }
        ),
        imageTag="1.37",
    )
    ecr.create_repository(repositoryName=f"{prefix}x/other")

    assert sorted(delete_cached_repositories(ecr, prefix)) == [
        f"{prefix}/{INIT_REPOSITORY}",
        f"{prefix}/library/nginx",
    ]
    left = {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}
    assert left == {"shop-dev/web", f"{prefix}x/other"}

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    ecr.create_repository(repositoryName=f"{prefix}/{INIT_REPOSITORY}")
    CachedRepositoriesProvider().delete(prefix, {"prefix": prefix, "region": "eu-west-1"})
    assert {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]} == left


def test_the_cleanup_is_deleted_before_the_cache_rule(prod_plan):
    from tests.plans import find

    cleanup = find(
        prod_plan, "pulumi-python:dynamic/berth:CachedRepositories", "ecr-public-repositories"
    )
    rule = find(prod_plan, "aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "ecr-public")
    assert rule.urn in cleanup.dependencies
    assert cleanup.inputs["identity"] == "[secret]"
    for waiting in (*of_type(prod_plan, "aws:ecs/service:Service"), *of_type(prod_plan, JOB)):
        assert cleanup.urn in waiting.dependencies, "deleted only once no task can pull"


def test_the_cleanup_unpickles_in_a_fresh_interpreter_in_the_project_root():
    from berth.providers.aws.cleanup import CachedRepositoriesProvider
    from tests.pickling import unpickled_in_project_root

    printed = unpickled_in_project_root(
        CachedRepositoriesProvider(),
        'print(provider.create({"prefix": "berth-0a1b"}).id)',
    )
    assert printed.split() == ["berth-0a1b"]
