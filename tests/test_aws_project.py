"""A Pulumi program of a user's own building on an aws Project: its shared and per-workload
resources, and an explicit aws provider used for every resource, every provider function
and the run-once resources' identity."""

from __future__ import annotations

import re
from collections.abc import Callable

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build
import pytest
from moto import mock_aws

from berth.components.project import Project, ProjectArgs
from berth.offline.plan import Plan, plan_config, run_plan
from berth.providers.aws import PLAN_ACCOUNT, PLAN_REGION, AwsOptions
from berth.providers.aws.identity import terraform_identity
from berth.providers.aws.readiness import EcsServiceReady
from berth.providers.aws.run_once import EcsJob
from berth.providers.aws.session import aws_clients, aws_session
from berth.variables import Variables
from tests.aws_support import JOB, READY
from tests.conftest import copy_example
from tests.plans import find, user_program

SECRETS = {"POSTGRES_PASSWORD": "pw-1a2b3c4d"}
VARIABLES = Variables(SECRETS, frozenset(SECRETS))


def plan_of(
    files: list[str],
    program: Callable[[], Project],
    config: dict[str, str] | None = None,
    preview: bool = False,
) -> Plan:
    base, secret_keys = plan_config(files, target="aws", secrets=SECRETS)
    return run_plan({**base, **(config or {})}, secret_keys, preview=preview, program=program)


def test_the_shared_resources_and_each_workload_s_main_ones_are_exposed(project_dir):
    files = [copy_example("migrate", project_dir)]
    built: list[Project] = []
    plan_of(files, user_program(files, "aws", built, variables=VARIABLES))

    shop = built[0]
    expected = {
        "cluster": aws.ecs.Cluster,
        "network": aws.ec2.Vpc,
        "tasks_security_group": aws.ec2.SecurityGroup,
        "load_balancer": aws.lb.LoadBalancer,
        "load_balancer_security_group": aws.ec2.SecurityGroup,
        "log_group": aws.cloudwatch.LogGroup,
        "execution_role": aws.iam.Role,
        "dns_namespace": aws.servicediscovery.PrivateDnsNamespace,
        "pull_through_cache": aws.ecr.PullThroughCacheRule,
    }
    assert {key: type(value) for key, value in shop.shared.items()} == expected
    web = shop.services["web"].resources
    assert isinstance(web["workload"], aws.ecs.Service)
    assert isinstance(web["task_definition"], aws.ecs.TaskDefinition)
    assert isinstance(web["task_role"], aws.iam.Role)
    assert isinstance(web["repository"], aws.ecr.Repository)
    assert isinstance(web["image"], docker_build.Image), "Berth builds web"
    assert isinstance(web["target_group"], aws.lb.TargetGroup)
    assert web["target_group_80"] is web["target_group"]
    assert isinstance(web["dns_service"], aws.servicediscovery.Service)
    assert isinstance(web["readiness"], EcsServiceReady)
    db = shop.services["db"].resources
    assert "image" not in db and "target_group" not in db, "postgres is pulled, not published"
    migrate = shop.jobs["migrate"].resources
    assert migrate["run"] is shop.jobs["migrate"].run
    assert isinstance(migrate["run"], EcsJob)
    assert isinstance(migrate["task_definition"], aws.ecs.TaskDefinition)
    assert isinstance(migrate["task_role"], aws.iam.Role)
    assert migrate["task_role"] is not web["task_role"]


def test_a_managed_store_and_a_given_vpc(project_dir):
    """A store's workload is its RDS instance; a VPC the stack names is not Berth's to share."""
    files = [copy_example("migrate", project_dir), "examples/migrate/compose.managed.yaml"]
    options = AwsOptions.parse({"awsVpcId": "vpc-123", "awsSubnetIds": '["subnet-1", "subnet-2"]'})
    built: list[Project] = []
    plan_of(files, user_program(files, "aws", built, options=options, variables=VARIABLES))

    shop = built[0]
    assert "network" not in shop.shared
    db = shop.services["db"].resources
    assert isinstance(db["workload"], aws.rds.Instance)
    assert isinstance(db["security_group"], aws.ec2.SecurityGroup)
    assert isinstance(db["dns_record"], aws.servicediscovery.Instance)
    assert db["dns_record"] in shop.services["db"].handle.healthy


# -- an explicit aws provider ------------------------------------------------------------------

PLAN_IDENTITY = {
    "region": PLAN_REGION,
    "profile": "plan",
    "insecure": False,
    "maxRetries": 25,
    "assumeRoles": [{"roleArn": f"arn:aws:iam::{PLAN_ACCOUNT}:role/plan", "sessionName": "plan"}],
}
"""The identity of the offline plan's explicit provider (its fixed ``terraformConfig``)."""


def explicit_program(files: list[str]) -> Callable[[], Project]:
    def program() -> Project:
        provider = aws.Provider("explicit", region="us-west-2")
        args = ProjectArgs.from_files(files, "aws")
        return Project("shop", args, opts=pulumi.ResourceOptions(providers=[provider]))

    return program


@pytest.mark.parametrize("preview", [False, True])
def test_an_explicit_provider_is_used_for_every_resource_and_function(project_dir, preview):
    files = [copy_example("migrate", project_dir)]
    stack = {"aws:region": "us-east-2", "aws:profile": "stack"}
    plan = plan_of(files, explicit_program(files), config=stack, preview=preview)

    provider = find(plan, "pulumi:providers:aws", "explicit").urn
    resources = [r for r in plan.registrations if r.custom and r.type.startswith("aws:")]
    assert resources and [r.urn for r in resources if not r.provider.startswith(provider)] == []
    invoked = [i for i in plan.invocations if i.token.startswith("aws:")]
    tokens = {re.split("[:/]", i.token)[-1] for i in invoked}
    assert {"getCallerIdentity", "getPartition", "getRegion", "getAvailabilityZones"} <= tokens
    assert [i.token for i in invoked if not i.provider.startswith(provider)] == []
    # A method is the provider's own: its request names no provider, its ``__self__`` does.
    assert "pulumi:providers:aws/terraformConfig" in {i.token for i in plan.invocations}
    if preview:
        return
    for registration in (find(plan, JOB, "migrate-run"), find(plan, READY, "db-ready")):
        assert registration.inputs["region"] == PLAN_REGION, "the provider's, not aws:region"
        assert registration.raw_inputs["identity"]["value"] == PLAN_IDENTITY


# -- the explicit provider's Terraform config, mapped to the identity ---------------------------

TERRAFORM_CONFIG = {
    "access_key": "AKIAEXPLICIT",
    "secret_key": "explicit-secret",
    "token": None,
    "profile": "",
    "region": "us-east-2",
    "sts_region": "us-east-1",
    "custom_ca_bundle": None,
    "insecure": False,
    "max_retries": 3.0,
    "retry_mode": "adaptive",
    "shared_credentials_files": ["/ci/credentials"],
    "shared_config_files": None,
    "assume_role": [
        {
            "role_arn": f"arn:aws:iam::{PLAN_ACCOUNT}:role/jump",
            "session_name": "ci",
            "external_id": None,
            "duration": "15m",
            "policy_arns": [],
            "tags": {"cost_center": "ops"},
            "transitive_tag_keys": ["cost_center"],
        },
        {"role_arn": f"arn:aws:iam::{PLAN_ACCOUNT}:role/deploy", "external_id": "ext-1"},
    ],
    "assume_role_with_web_identity": [],
    "endpoints": [{"ecs": "http://localhost:4566", "sts": None, "logs": ""}],
    "default_tags": [{"tags": {"team": "web"}}],
    "skip_region_validation": True,
}


def test_terraform_names_map_to_the_identity_the_session_reads():
    assert terraform_identity(TERRAFORM_CONFIG) == {
        "accessKey": "AKIAEXPLICIT",
        "secretKey": "explicit-secret",
        "region": "us-east-2",
        "stsRegion": "us-east-1",
        "insecure": False,
        "maxRetries": 3.0,
        "retryMode": "adaptive",
        "sharedCredentialsFiles": ["/ci/credentials"],
        "assumeRoles": [
            {
                "roleArn": f"arn:aws:iam::{PLAN_ACCOUNT}:role/jump",
                "sessionName": "ci",
                "duration": "15m",
                "tags": {"cost_center": "ops"},
                "transitiveTagKeys": ["cost_center"],
            },
            {"roleArn": f"arn:aws:iam::{PLAN_ACCOUNT}:role/deploy", "externalId": "ext-1"},
        ],
        "endpoints": [{"ecs": "http://localhost:4566"}],
    }


def test_web_identity_is_one_block_and_empty_settings_are_left_out():
    web = {"role_arn": f"arn:aws:iam::{PLAN_ACCOUNT}:role/gha", "web_identity_token_file": "/t"}

    assert terraform_identity(
        {"assume_role_with_web_identity": [web], "assume_role": None, "endpoints": [{"ecs": None}]}
    ) == {
        "assumeRoleWithWebIdentity": {
            "roleArn": f"arn:aws:iam::{PLAN_ACCOUNT}:role/gha",
            "webIdentityTokenFile": "/t",
        }
    }


def test_the_session_authenticates_as_the_explicit_provider(monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    identity = terraform_identity({**TERRAFORM_CONFIG, "shared_credentials_files": None})

    with mock_aws():
        arn = aws_session(identity, "us-east-2").client("sts").get_caller_identity()["Arn"]
    (ecs,) = aws_clients(identity, "us-east-2", ("ecs",))

    assert arn == f"arn:aws:sts::{PLAN_ACCOUNT}:assumed-role/deploy/berth", "the last role"
    assert ecs.meta.endpoint_url == "http://localhost:4566"
    assert ecs.meta.config.retries == {"total_max_attempts": 4, "mode": "adaptive"}


# -- names -----------------------------------------------------------------------------------

LONG = """
name: storefront-production
services:
  administration:
    image: nginx
    ports: ["8080:80"]
"""
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"


def test_a_target_group_name_cut_to_fit_is_aliased_to_its_old_one(write):
    """An autonamed target group's name is cut to 24 characters: then it no longer begins
    with its component's, the engine derives no alias, and Berth's own stacks need one."""
    files = [write(LONG)]
    config, _ = plan_config(files, target="aws")
    own = run_plan(config, preview=False)
    fresh = plan_of(files, user_program(files, "aws", [], variables=VARIABLES))

    (group,) = [r for r in own.registrations if r.type == TARGET_GROUP]
    assert len(group.name) == 24 and not group.name.startswith("storefront-production-admin")
    assert f"{TARGET_GROUP}::administration-80" in {a.split("$")[-1] for a in group.aliases}
    (new,) = [r for r in fresh.registrations if r.type == TARGET_GROUP]
    assert not any(a.endswith("::administration-80") for a in new.aliases), "a new stack"
