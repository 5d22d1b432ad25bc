"""A Pulumi program of a user's own building on an aws Project: its shared and per-workload
resources, and children named from the Project's name."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from berth.variables import Variables
from components.project import Project, ProjectArgs
from offline.plan import Plan, plan_config, run_plan
from providers.aws import AwsOptions
from providers.aws.readiness import EcsServiceReady
from providers.aws.run_once import EcsJob
from tests.conftest import copy_example

SECRETS = {"POSTGRES_PASSWORD": "pw-1a2b3c4d"}


def plan_of(
    files: list[str],
    program: Callable[[], Project],
    config: dict[str, str] | None = None,
    preview: bool = False,
) -> Plan:
    base, secret_keys = plan_config(files, target="aws", secrets=SECRETS)
    return run_plan({**base, **(config or {})}, secret_keys, preview=preview, program=program)


def user_program(
    files: list[str],
    built: list[Project],
    opts: pulumi.ResourceOptions | None = None,
    options: AwsOptions | None = None,
) -> Callable[[], Project]:
    """A program that deploys ``files`` as the Project ``shop``, keeping it in ``built``."""

    def program() -> Project:
        variables = Variables(SECRETS, frozenset(SECRETS))
        args = ProjectArgs.from_files(files, "aws", options=options, variables=variables)
        built.append(Project("shop", args, opts=opts))
        return built[-1]

    return program


def test_the_shared_resources_and_each_workload_s_main_ones_are_exposed(project_dir):
    files = [copy_example("migrate", project_dir)]
    built: list[Project] = []
    plan_of(files, user_program(files, built))

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
    assert isinstance(web["image"], docker.Image), "Berth builds web"
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
    plan_of(files, user_program(files, built, options=options))

    shop = built[0]
    assert "network" not in shop.shared
    db = shop.services["db"].resources
    assert isinstance(db["workload"], aws.rds.Instance)
    assert isinstance(db["security_group"], aws.ec2.SecurityGroup)
    assert isinstance(db["dns_record"], aws.servicediscovery.Instance)
    assert db["dns_record"] in shop.services["db"].handle.healthy


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
    fresh = plan_of(files, user_program(files, []))

    (group,) = [r for r in own.registrations if r.type == TARGET_GROUP]
    assert len(group.name) == 24 and not group.name.startswith("storefront-production-admin")
    assert f"{TARGET_GROUP}::administration-80" in {a.split("$")[-1] for a in group.aliases}
    (new,) = [r for r in fresh.registrations if r.type == TARGET_GROUP]
    assert not any(a.endswith("::administration-80") for a in new.aliases), "a new stack"
