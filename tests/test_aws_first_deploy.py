"""What a first real ``pulumi up`` on AWS needs, read off the program under mocks: waits on the
routes to the internet, IAM within its size limits, images from the account's own registry,
images and secrets pinned so that a change rolls out exactly when it should."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from unittest import mock

import pytest

import berth.providers.aws
from berth.components.offline_images import tag_digest
from berth.errors import BerthError
from berth.providers.aws import plan_call, plan_outputs
from berth.providers.aws.images import cache_prefix
from tests.aws_support import ECS_SERVICE, JOB, READY, TASK_DEFINITION, aws_program, containers
from tests.conftest import copy_example
from tests.plans import find, of_type

ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
INLINE_POLICIES_LIMIT = 10_240
"""IAM: the aggregate size of a role's inline policies, whitespace not counted."""


@pytest.fixture
def migrate(project_dir):
    return aws_program([copy_example("migrate", project_dir)])


def test_the_load_balancer_services_and_jobs_wait_for_the_routes_to_the_internet(migrate):
    associations = {r.urn for r in of_type(migrate, ASSOCIATION)}
    assert len(associations) == 2
    balancer = find(migrate, "aws:lb/loadBalancer:LoadBalancer", "migrate-lb")
    for registration in (
        balancer,
        find(migrate, ECS_SERVICE, "db"),
        find(migrate, ECS_SERVICE, "web"),
        find(migrate, JOB, "migrate-run"),
    ):
        assert associations <= set(registration.dependencies), registration.name


def test_a_given_vpc_adds_no_waits(project_dir):
    plan = aws_program(
        [copy_example("migrate", project_dir)],
        variables={"awsVpcId": "vpc-1", "awsSubnetIds": '["subnet-a", "subnet-b"]'},
    )

    assert not of_type(plan, ASSOCIATION)


def _inline_policy_sizes(write, count: int) -> dict[str, int]:
    """The size of each role's inline policies (as IAM counts it) for ``count`` services with
    two stack secrets each."""
    services = "\n".join(
        f"""
      svc{index}:
        image: app
        environment:
          A: ${{A{index}}}
          B: ${{B{index}}}"""
        for index in range(count)
    )
    write(f"name: big\nservices:{services}\n")
    secrets = {f"{key}{index}": f"value-{key}-{index}" for index in range(count) for key in "AB"}

    plan = aws_program(["compose.yaml"], secrets=secrets)

    sizes: dict[str, int] = defaultdict(int)
    for policy in of_type(plan, ROLE_POLICY):
        sizes[policy.inputs["role"]] += len(re.sub(r"\s", "", policy.inputs["policy"]))
    return dict(sizes)


def test_iam_policies_stay_the_same_size_however_many_services_and_secrets(project_dir, write):
    """IAM limits a role's inline policies to 10,240 characters together: each role's are as
    large for 2 services with 2 secrets each as for 8 (a statement per service or per secret
    would pass the limit at about 20), so no number of services reaches it."""
    few, more = _inline_policy_sizes(write, 2), _inline_policy_sizes(write, 8)

    assert few
    assert more == few
    assert max(more.values()) <= INLINE_POLICIES_LIMIT, more


def test_the_init_image_comes_from_the_accounts_registry_through_a_pull_through_cache(migrate):
    rule = find(migrate, "aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "migrate-ecr-public")
    prefix = cache_prefix("migrate-dev")
    assert rule.inputs == {"ecrRepositoryPrefix": prefix, "upstreamRegistryUrl": "public.ecr.aws"}
    assert 2 <= len(prefix) <= 30
    for definition in of_type(migrate, TASK_DEFINITION):
        init = containers(definition)[0]
        assert init["image"] == (
            f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{prefix}/docker/library/busybox:1.37"
        )
        assert rule.urn in definition.dependencies or any(
            rule.urn in r.dependencies
            for r in migrate.registrations
            if r.name in ("migrate-db", "migrate-web")
        )
    assert rule.urn in find(migrate, JOB, "migrate-run").dependencies


def test_every_service_is_checked_after_its_deployment(migrate):
    for name in ("db", "web"):
        ready = find(migrate, READY, f"{name}-ready")
        service = find(migrate, ECS_SERVICE, name)
        assert service.urn in ready.dependencies
        assert ready.inputs["taskDefinition"] == service.inputs["taskDefinition"]
        assert ready.inputs["desiredCount"] == 1
        assert ready.inputs["healthy"] is False, "the example's services have no health check"


def test_a_service_with_a_health_check_is_checked_healthy_before_dependents_start(
    project_dir, write
):
    write(
        """
        name: shop
        services:
          db:
            image: postgres:16
            healthcheck:
              test: ["CMD-SHELL", "pg_isready"]
          migrate:
            image: migrate/migrate
            restart: "no"
            depends_on:
              db:
                condition: service_healthy
        """
    )
    plan = aws_program(["compose.yaml"])

    ready = find(plan, READY, "db-ready")
    assert ready.inputs["healthy"] is True
    assert ready.urn in find(plan, JOB, "migrate-run").dependencies


IMAGE_JOB = """
    name: shop
    services:
      seed:
        image: ghcr.io/acme/seed:{tag}
        restart: "no"
    """


def job_definition(project_dir, write, tag: str, digests: dict[str, str]) -> dict:
    """The seed job's definition when the registry says each tag points at ``digests[tag]``."""
    write(IMAGE_JOB.format(tag=tag))

    def answer(function, args):
        if function == "docker:index/getRegistryImage:getRegistryImage":
            name = args["name"]
            return {"id": name, "name": name, "sha256Digest": digests[name.rsplit(":", 1)[1]]}
        return plan_call(function, args)

    with mock.patch.object(berth.providers.aws, "plan_call", answer):
        return find(aws_program(["compose.yaml"]), JOB, "seed-run").inputs["definition"]


def test_an_image_job_runs_again_when_its_tag_points_at_a_new_image(project_dir, write):
    before = job_definition(project_dir, write, "v1", {"v1": "sha256:" + "1" * 64})
    after = job_definition(project_dir, write, "v1", {"v1": "sha256:" + "2" * 64})

    assert before != after
    assert before["containers"][-1]["image"] == "ghcr.io/acme/seed@sha256:" + "1" * 64


def test_an_image_job_does_not_run_again_for_a_new_tag_of_the_same_image(project_dir, write):
    same = "sha256:" + "3" * 64
    before = job_definition(project_dir, write, "v1", {"v1": same})
    after = job_definition(project_dir, write, "v1.0.0", {"v1.0.0": same})

    assert before == after


def test_images_already_pinned_and_ecr_images_resolve_without_docker_hub(project_dir, write):
    pinned = "quay.io/acme/api@sha256:" + "4" * 64
    ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:prod"
    write(
        f"""
        name: shop
        services:
          a:
            image: {pinned}
          b:
            image: {ecr}
        """
    )
    plan = aws_program(["compose.yaml"])

    assert containers(find(plan, TASK_DEFINITION, "a"))[-1]["image"] == pinned
    assert containers(find(plan, TASK_DEFINITION, "b"))[-1]["image"] == (
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api@"
        + tag_digest("123456789012/team/api:prod")
    )


def test_ecr_images_outside_the_stack_are_pulled_with_a_grant_and_looked_up_in_their_region(
    project_dir, write
):
    """The execution role may pull only what it is granted: a same-account repository of
    another team, or another region's, fails with CannotPullContainer unless named; and an
    image in another region is looked up there, not in the stack's."""
    write(
        """
        name: shop
        services:
          api:
            image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:1.0
          worker:
            image: 210987654321.dkr.ecr.us-east-1.amazonaws.com/shared/base:2
          job:
            image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:1.1
            restart: "no"
        """
    )
    lookups: list[dict] = []

    def recording(function, args):
        if function == "aws:ecr/getImage:getImage":
            lookups.append(dict(args))
        return plan_call(function, args)

    with mock.patch.object(berth.providers.aws, "plan_call", recording):
        plan = aws_program(["compose.yaml"])

    policy = json.loads(find(plan, ROLE_POLICY, "shop-execution").inputs["policy"])
    (pull,) = [s for s in policy["Statement"] if "ecr:BatchGetImage" in s["Action"]]
    assert pull["Resource"][2:] == [
        "arn:aws:ecr:eu-west-1:123456789012:repository/team/api",
        "arn:aws:ecr:us-east-1:210987654321:repository/shared/base",
    ], "each referenced repository once, after the stack's own and its cache"
    regions = {(a["repositoryName"], a["region"]) for a in lookups}
    assert regions == {("team/api", "eu-west-1"), ("shared/base", "us-east-1")}


def test_reordered_volumes_do_not_change_a_jobs_definition(project_dir, write):
    compose = """
        name: shop
        services:
          backup:
            image: busybox
            restart: "no"
            volumes:
              - {first}
              - {second}
        volumes:
          data: {{}}
        """
    write(compose.format(first="data:/data", second="/scratch/one"))
    before = find(aws_program(["compose.yaml"]), JOB, "backup-run").inputs["definition"]
    write(compose.format(first="/scratch/one", second="data:/data"))
    after = find(aws_program(["compose.yaml"]), JOB, "backup-run").inputs["definition"]

    assert json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True)


def test_more_published_ports_than_a_load_balancer_takes_are_refused_at_plan_time(
    project_dir, write
):
    ports = "\n".join(f'          - "{8000 + index}:80"' for index in range(51))
    write(
        f"name: shop\nservices:\n  web:\n    image: nginx\n    ports:\n{ports}\n".replace(
            "          -", "      -"
        )
    )

    with pytest.raises(BerthError) as refused:
        aws_program(["compose.yaml"])

    assert refused.value.field == "ports"
    assert "51 load balancer listeners" in refused.value.message
    assert "at most 50" in refused.value.message


def test_each_volume_is_mounted_only_by_the_task_roles_of_its_services(project_dir, write):
    """Issue 9: reaching the NFS port is not enough; IAM decides which task mounts what."""
    write(
        """
        name: shop
        services:
          db:
            image: postgres:16
            volumes: [pgdata:/var/lib/postgresql/data]
          backup:
            image: busybox
            restart: "no"
            volumes: ["pgdata:/data:ro", "reports:/reports"]
          web:
            image: nginx
        volumes:
          pgdata: {}
          reports: {}
        """
    )
    plan = aws_program(["compose.yaml"])

    roles = {r.name: r for r in of_type(plan, "aws:iam/role:Role")}
    assert sorted(roles) == ["shop-backup-task", "shop-db-task", "shop-execution", "shop-web-task"]
    for role in roles.values():
        (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert trust["Condition"] == {
            "StringEquals": {"aws:SourceAccount": "123456789012"},
            "ArnLike": {"aws:SourceArn": "arn:aws:ecs:eu-west-1:123456789012:*"},
        }

    def role_arn(name: str) -> str:
        return plan_outputs("aws:iam/role:Role", roles[f"shop-{name}-task"].inputs)["arn"]

    assert len({role_arn(name) for name in ("db", "backup", "web")}) == 3
    for name in ("db", "backup", "web"):
        assert find(plan, TASK_DEFINITION, name).inputs["taskRoleArn"] == role_arn(name)

    def access_point(volume: str) -> str:
        registration = find(plan, "aws:efs/accessPoint:AccessPoint", f"shop-{volume}")
        return plan_outputs(registration.type, registration.inputs)["arn"]

    def grants(name: str) -> dict[str, list[str]]:
        """Each access point the role may mount, to what it may do there."""
        policy = json.loads(find(plan, ROLE_POLICY, f"shop-{name}-volumes").inputs["policy"])
        return {
            arn: statement["Action"]
            for statement in policy["Statement"]
            for arn in statement["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"]
        }

    mount, root, write = (f"elasticfilesystem:Client{a}" for a in ("Mount", "RootAccess", "Write"))
    assert grants("db") == {access_point("pgdata"): [mount, root, write]}, "db writes it"
    assert grants("backup") == {
        access_point("pgdata"): [mount, root],
        access_point("reports"): [mount, root, write],
    }, "backup reads pgdata and writes reports, nothing else"
    assert not [r for r in of_type(plan, ROLE_POLICY) if r.name == "shop-web-volumes"]
    for name in ("db", "backup"):
        role_policy = find(plan, ROLE_POLICY, f"shop-{name}-volumes")
        assert role_policy.inputs["role"] == f"shop-{name}-task-id"
    file_system_policy = find(plan, "aws:efs/fileSystemPolicy:FileSystemPolicy", "shop-efs")
    (deny,) = json.loads(file_system_policy.inputs["policy"])["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    definition = find(plan, TASK_DEFINITION, "db")
    (volume,) = definition.inputs["volumes"]
    assert volume["efsVolumeConfiguration"]["authorizationConfig"]["iam"] == "ENABLED"
    for name, waiting in (
        ("db", find(plan, ECS_SERVICE, "db")),
        ("backup", find(plan, JOB, "backup-run")),
    ):
        assert file_system_policy.urn in waiting.dependencies
        assert find(plan, ROLE_POLICY, f"shop-{name}-volumes").urn in waiting.dependencies


def _volumes_compose(count: int) -> str:
    mounts = "".join(f"\n      - v{i}:/data/{i}" for i in range(count))
    named = "".join(f"\n  v{i}: {{}}" for i in range(count))
    service = f"  app:\n    image: busybox\n    volumes:{mounts}"
    return f"name: shop\nservices:\n{service}\nvolumes:{named}\n"


def test_volume_grants_stay_within_iam_limits_however_many_volumes(project_dir, write):
    """Issue 18: in the file system policy, each volume's grant took about 460 characters,
    past EFS's 20,000 near 43 volumes. In the task role, with the longest real ARNs (partition
    aws-us-gov, a 14-character region, fsap- and 17 hex digits), 80 volumes fit IAM's limit,
    and the file system policy no longer grows."""
    from berth.providers.aws.volumes import MAX_VOLUMES_PER_ROLE

    write(_volumes_compose(MAX_VOLUMES_PER_ROLE))
    plan = aws_program(["compose.yaml"])

    longest = "arn:aws-us-gov:elasticfilesystem:ap-southeast-4:123456789012:access-point/fsap-"
    policy = find(plan, ROLE_POLICY, "shop-app-volumes").inputs["policy"]
    realistic = re.sub(
        r"arn:aws:elasticfilesystem:[^\"]*access-point/[^\"]*", longest + "0" * 17, policy
    )
    assert realistic.count(longest) == MAX_VOLUMES_PER_ROLE
    assert len(re.sub(r"\s", "", realistic)) <= INLINE_POLICIES_LIMIT
    file_system = find(plan, "aws:efs/fileSystemPolicy:FileSystemPolicy", "shop-efs")
    assert len(file_system.inputs["policy"]) < 400

    write(_volumes_compose(MAX_VOLUMES_PER_ROLE + 1))
    with pytest.raises(BerthError, match=r"service 'app', field 'volumes'.*81 named volumes"):
        aws_program(["compose.yaml"])
