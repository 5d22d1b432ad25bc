"""The AWS target's IAM policies, Secrets Manager names and ECR repositories and lifecycle
policies, created in moto's emulation of those APIs. moto checks IAM policy grammar as AWS
does (a misspelt Effect is MalformedPolicyDocument); for the others it proves the calls a
deployment makes are well-formed."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tests.aws_support import aws_program
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
    assert {r.inputs["name"] for r in repositories} == {"migrate-dev/migrate", "migrate-dev/web"}
    for repository in repositories:
        ecr.create_repository(repositoryName=repository.inputs["name"])
    for lifecycle in of_type(prod_plan, "aws:ecr/lifecyclePolicy:LifecyclePolicy"):
        ecr.put_lifecycle_policy(
            repositoryName=lifecycle.inputs["repository"],
            lifecyclePolicyText=lifecycle.inputs["policy"],
        )
