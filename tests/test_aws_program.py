"""The real program on the aws target, under Pulumi's mock engine."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from berth.components.offline_images import tag_digest
from berth.components.pulumi_internals import is_secret
from berth.errors import BerthError
from berth.providers.aws import plan_outputs
from berth.providers.aws.images import cache_prefix
from berth.providers.aws.run_once import EcsJobProvider
from tests.aws_support import (
    ECS_SERVICE,
    IMAGE,
    JOB,
    READY,
    TASK_DEFINITION,
    aws_program,
    component_outputs,
    containers,
    ecs_validation_errors,
)
from tests.conftest import ROOT, copy_example
from tests.plans import find, of_type, recorded, resource_options, waits_on_services
from tests.secrets_check import assert_never_plain, count_wrapped, plain_occurrences

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"


def main_container(plan, name: str) -> dict:
    return containers(find(plan, TASK_DEFINITION, name))[-1]


# -- the seed's examples ---------------------------------------------------------------------


def test_migrate_example_runs_db_then_the_job_then_web(project_dir):
    plan = aws_program([copy_example("migrate", project_dir)])

    db = find(plan, ECS_SERVICE, "db")
    db_ready = find(plan, READY, "db-ready")
    run = find(plan, JOB, "migrate-run")
    web = find(plan, ECS_SERVICE, "web")
    assert run.urn in web.dependencies
    assert db_ready.urn in run.dependencies, "the job waits until db runs its new release"
    assert db.urn in db_ready.dependencies
    assert waits_on_services(plan, web) == {"migrate"}
    assert waits_on_services(plan, run) == {"db"}
    assert waits_on_services(plan, db) == set()
    for service in (db, web):
        assert "waitForSteadyState" not in service.inputs, "the release check waits instead"
        assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert service.inputs["launchType"] == "FARGATE"


def test_migrate_example_builds_pushes_and_runs_by_digest(project_dir):
    with recorded() as created:
        plan = aws_program([copy_example("migrate", project_dir)])

    for name in ("migrate", "web"):
        image = find(plan, IMAGE, f"{name}-image")
        [tag] = image.inputs["tags"]
        assert tag.endswith(f"/migrate-dev/{name}:latest")
        assert image.inputs["platforms"] == ["linux/amd64"]
        assert image.inputs["push"] is True
        repository = tag.removesuffix(":latest")
        assert image.inputs["registries"][0]["address"] == repository
        digest = created[image.urn].outputs["digest"]
        assert digest.startswith("sha256:")
        assert main_container(plan, name)["image"] == f"{repository}@{digest}"
    assert main_container(plan, "db")["image"] == f"postgres@{tag_digest('postgres:latest')}"
    run = find(plan, JOB, "migrate-run")
    assert run.inputs["definition"]["containers"][-1]["command"] == ["./migrate.sh"]
    assert run.inputs["job"] == "migrate"
    assert run.inputs["timeout"] == 600
    assert run.inputs["runAlways"] is False
    assert run.inputs["assignPublicIp"] is True
    assert run.inputs["taskDefinition"].endswith(":task-definition/migrate-dev-migrate:1")
    assert find(plan, TASK_DEFINITION, "migrate").urn in run.dependencies


@pytest.mark.parametrize("example", ["migrate", "release"])
def test_every_task_definition_is_a_valid_ecs_request(project_dir, example):
    plan = aws_program([copy_example(example, project_dir)])

    definitions = of_type(plan, TASK_DEFINITION)
    assert definitions
    for definition in definitions:
        assert ecs_validation_errors(definition) == "", definition.name


def test_the_offline_plan_of_the_production_override_keeps_the_password_secret():
    """``python -m berth plan`` as a user runs it, on the migrate example with its production
    override: replicas, resources and a required password."""
    done = subprocess.run(
        [
            sys.executable, "-m", "berth", "plan", "--target", "aws", "--format", "json",
            "-f", "examples/migrate/compose.yaml", "-f", "examples/migrate/compose.prod.yaml",
            "--secret", "POSTGRES_PASSWORD=pw-0c1d2e3f",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "pw-0c1d2e3f" not in done.stdout + done.stderr
    resources = {(r["type"], r["name"]): r for r in json.loads(done.stdout)["resources"]}
    web = resources[(ECS_SERVICE, "migrate-web")]
    run = resources[(JOB, "migrate-migrate-run")]
    assert web["inputs"]["desiredCount"] == 2
    assert run["inputs"]["timeout"] == 1200
    assert resources[(READY, "migrate-db-ready")]["urn"] in run["dependencies"]
    assert run["urn"] in web["dependencies"]
    size = resources[(TASK_DEFINITION, "migrate-web")]["inputs"]
    assert (size["cpu"], size["memory"]) == ("512", "1024")


# -- secrets ----------------------------------------------------------------------------------

SECRETS_COMPOSE = """
    name: shop
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: ${DB_PASSWORD}
        healthcheck:
          test: ["CMD-SHELL", "PGPASSWORD=${DB_PASSWORD} pg_isready -h localhost"]
      migrate:
        image: migrate/migrate
        environment:
          DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app
          API_TOKEN: ${API_TOKEN}
        secrets: [token]
        restart: "no"
        depends_on: [db]
    secrets:
      token:
        environment: API_TOKEN
    """
PASSWORD, TOKEN = "pw-9f8e7d6c", "tok-1a2b3c4d"


def test_secrets_never_appear_in_plain_text(project_dir, write):
    write(SECRETS_COMPOSE)
    plan = aws_program(["compose.yaml"], secrets={"DB_PASSWORD": PASSWORD, "API_TOKEN": TOKEN})

    assert_never_plain(plan, PASSWORD, TOKEN)
    assert count_wrapped(plan, PASSWORD) >= 3, "the secret reached Secrets Manager and the job"
    assert count_wrapped(plan, TOKEN) >= 2
    for definition in of_type(plan, TASK_DEFINITION):
        assert PASSWORD not in json.dumps(definition.raw_inputs)
        assert TOKEN not in json.dumps(definition.raw_inputs)


def test_secrets_reach_tasks_through_secrets_manager(project_dir, write):
    write(SECRETS_COMPOSE)
    plan = aws_program(["compose.yaml"], secrets={"DB_PASSWORD": PASSWORD, "API_TOKEN": TOKEN})

    names = sorted(r.inputs["name"] for r in of_type(plan, SECRET))
    assert names == [
        "berth/shop-dev/migrate-env-DATABASE_URL",
        "berth/shop-dev/stack-API_TOKEN",
        "berth/shop-dev/stack-DB_PASSWORD",
    ], "one secret per stack key, and one for the value that interpolates a key"
    assert all(r.inputs["recoveryWindowInDays"] == 0 for r in of_type(plan, SECRET))
    assert all(r.inputs["secretString"] == "[secret]" for r in of_type(plan, SECRET_VERSION))

    db = main_container(plan, "db")
    assert "environment" not in db
    assert [s["name"] for s in db["secrets"]] == ["BERTH_SECRET_DB_PASSWORD", "POSTGRES_PASSWORD"]
    version = find(plan, SECRET_VERSION, "stack-DB_PASSWORD")
    assert {s["valueFrom"] for s in db["secrets"]} == {
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:berth/shop-dev/stack-DB_PASSWORD"
        f":::{plan_outputs(SECRET_VERSION, version.inputs)['versionId']}"
    }, "a task reads the version deployed with it, not whatever is current when it starts"
    assert db["healthCheck"]["command"] == [
        "CMD-SHELL",
        "PGPASSWORD=${BERTH_SECRET_DB_PASSWORD} pg_isready -h localhost",
    ]
    migrate = containers(find(plan, TASK_DEFINITION, "migrate"))
    init, job = migrate
    assert [s["name"] for s in job["secrets"]] == ["API_TOKEN", "DATABASE_URL"]
    assert job["mountPoints"] == [
        {"containerPath": "/run/secrets", "readOnly": True, "sourceVolume": "berth-files"}
    ]
    assert [s["name"] for s in init["secrets"]] == ["BERTH_FILE_0"]
    assert "/run/secrets/token" in init["command"][0]
    run = find(plan, JOB, "migrate-run")
    assert run.inputs["definition"]["secrets"] == {
        "API_TOKEN": "[secret]",
        "BERTH_FILE_0": "[secret]",
        "DATABASE_URL": "[secret]",
    }


def test_the_execution_role_reads_only_the_stacks_own_secrets_and_images(project_dir, write):
    write(SECRETS_COMPOSE)
    plan = aws_program(["compose.yaml"], secrets={"DB_PASSWORD": PASSWORD, "API_TOKEN": TOKEN})

    policy = json.loads(
        find(plan, "aws:iam/rolePolicy:RolePolicy", "shop-execution").inputs["policy"]
    )
    allowed = {
        action: statement["Resource"]
        for statement in policy["Statement"]
        for action in statement["Action"]
    }
    account = "eu-west-1:123456789012"
    assert allowed["secretsmanager:GetSecretValue"] == [
        f"arn:aws:secretsmanager:{account}:secret:berth/shop-dev/*"
    ]
    assert allowed["ecr:BatchGetImage"] == [
        f"arn:aws:ecr:{account}:repository/shop-dev/*",
        f"arn:aws:ecr:{account}:repository/{cache_prefix('shop-dev')}/*",
    ]
    assert allowed["ecr:BatchImportUpstreamImage"] == [
        f"arn:aws:ecr:{account}:repository/{cache_prefix('shop-dev')}/*"
    ]
    db = find(plan, ECS_SERVICE, "db")
    version = find(plan, SECRET_VERSION, "stack-DB_PASSWORD")
    assert version.urn in db.dependencies, "the task starts once the secret has its value"


def test_a_secret_in_a_command_is_refused(project_dir, write):
    write(
        """
        name: shop
        services:
          migrate:
            image: migrate/migrate
            command: ["-database", "postgres://app:${DB_PASSWORD}@db/app", "up"]
            restart: "no"
        """
    )
    with pytest.raises(BerthError, match="service 'migrate', field 'command'") as error:
        aws_program(["compose.yaml"], secrets={"DB_PASSWORD": PASSWORD})
    assert error.value.file == "compose.yaml"
    assert "$$DATABASE_URL" in str(error.value.hint)
    assert PASSWORD not in error.value.message


# -- ingress and security groups ---------------------------------------------------------------


def test_published_ports_go_behind_one_load_balancer(project_dir, write):
    write(
        """
        name: shop
        services:
          web:
            image: nginx
            ports: ["80:80"]
            healthcheck:
              test: ["CMD", "curl", "-f", "http://localhost/healthz"]
              interval: 10s
          admin:
            image: admin
            ports: ["8080:3000"]
          db:
            image: postgres
            ports: ["5432:5432"]
          cache:
            image: redis
            ports:
              - target: 6379
                mode: host
          dns:
            image: dns
            ports: ["53:53/udp"]
        """
    )
    plan = aws_program(["compose.yaml"])

    assert len(of_type(plan, "aws:lb/loadBalancer:LoadBalancer")) == 1
    assert sorted(r.inputs["port"] for r in of_type(plan, LISTENER)) == [80, 8080]
    web_group = find(plan, TARGET_GROUP, "web-80")
    assert web_group.inputs["targetType"] == "ip"
    assert web_group.inputs["healthCheck"]["path"] == "/healthz"
    assert web_group.inputs["healthCheck"]["matcher"] == "200-399"
    assert web_group.inputs["healthCheck"]["interval"] == 10
    admin_group = find(plan, TARGET_GROUP, "admin-3000")
    assert admin_group.inputs["healthCheck"]["path"] == "/"
    assert admin_group.inputs["healthCheck"]["matcher"] == "200-499"
    rule = find(plan, "aws:lb/listenerRule:ListenerRule", "admin-8080")
    assert [a["type"] for a in rule.inputs["actions"]] == ["forward"]
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/*"]}}]
    assert admin_group.urn in rule.dependencies
    assert find(plan, LISTENER, "shop-8080").urn in rule.dependencies
    admin = find(plan, ECS_SERVICE, "admin")
    (balancer,) = admin.inputs["loadBalancers"]
    assert (balancer["containerName"], balancer["containerPort"]) == ("admin", 3000)
    assert rule.urn in admin.dependencies, "the target group has a load balancer before ECS uses it"
    assert "loadBalancers" not in find(plan, ECS_SERVICE, "db").inputs
    assert any("port 5432/tcp is reachable only inside the project" in w for w in plan.warnings)
    assert any("port 53/udp is reachable only inside the project" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("published", "certificate", "url"),
    [
        ("80:80", None, "http://{host}"),
        ("8080:80", None, "http://{host}:8080"),
        ("80:80", "arn:aws:acm:eu-west-1:123456789012:certificate/abc", "https://{host}"),
    ],
)
def test_the_stack_outputs_each_services_url(project_dir, write, published, certificate, url):
    write(f"name: shop\nservices:\n  web:\n    image: nginx\n    ports: ['{published}']\n")
    settings = {"awsCertificateArn": certificate} if certificate else {}
    with component_outputs() as outputs:
        plan = aws_program(["compose.yaml"], variables=settings)

    web = find(plan, "berth:index:Service", "web")
    (endpoint,) = outputs[web.urn]["endpoints"]
    host = endpoint.split("://", 1)[1].split(":")[0]
    assert host.endswith(".eu-west-1.elb.amazonaws.com")
    assert endpoint == url.format(host=host)


def test_security_groups_fence_the_project(project_dir, write):
    write(
        """
        name: shop
        services:
          web:
            image: nginx
            ports: ["80:8000"]
          db:
            image: postgres
        """
    )
    plan = aws_program(["compose.yaml"])

    balancer = find(plan, SECURITY_GROUP, "shop-lb")
    assert [(r["fromPort"], r["toPort"], r["cidrBlocks"]) for r in balancer.inputs["ingress"]] == [
        (80, 80, ["0.0.0.0/0"])
    ]
    tasks = find(plan, SECURITY_GROUP, "shop-tasks")
    itself, from_balancer = tasks.inputs["ingress"]
    assert itself == {"fromPort": 0, "protocol": "-1", "self": True, "toPort": 0}
    assert (from_balancer["fromPort"], from_balancer["toPort"]) == (8000, 8000)
    assert from_balancer["securityGroups"] == ["shop-lb-id"]
    assert "cidrBlocks" not in from_balancer
    for name in ("web", "db"):
        configuration = find(plan, ECS_SERVICE, name).inputs["networkConfiguration"]
        assert configuration["securityGroups"] == ["shop-tasks-id"]


def test_a_certificate_serves_https_and_redirects_http(project_dir, write):
    write(
        """
        name: shop
        services:
          web:
            image: nginx
            ports: ["80:80"]
        """
    )
    certificate = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
    plan = aws_program(["compose.yaml"], variables={"awsCertificateArn": certificate})

    listeners = {r.inputs["port"]: r.inputs for r in of_type(plan, LISTENER)}
    assert listeners[443]["protocol"] == "HTTPS"
    assert listeners[443]["certificateArn"] == certificate
    assert listeners[80]["defaultActions"][0]["redirect"]["protocol"] == "HTTPS"
    balancer = find(plan, SECURITY_GROUP, "shop-lb")
    assert sorted(r["fromPort"] for r in balancer.inputs["ingress"]) == [80, 443]
    assert find(plan, "aws:lb/listenerRule:ListenerRule", "web-443")


def test_two_services_on_one_published_port_are_refused(project_dir, write):
    write(
        """
        name: shop
        services:
          a:
            image: nginx
            ports: ["80:80"]
          b:
            image: nginx
            ports: ["80:8080"]
        """
    )
    with pytest.raises(BerthError, match=r"service 'b', field 'ports'.*already taken by 'a'"):
        aws_program(["compose.yaml"])


def test_two_published_ports_of_one_container_port_are_both_served(project_dir, write):
    """``5173:5173`` and ``5174:5173`` (an override with ``extends`` often gives both): one
    target group per container port, one listener and rule per published port."""
    write(
        """
        name: shop
        services:
          web:
            image: nginx
            ports: ["5173:5173", "5174:5173", "8080:80"]
        """
    )
    plan = aws_program(["compose.yaml"])

    groups = {r.name: r for r in of_type(plan, "aws:lb/targetGroup:TargetGroup")}
    assert sorted(groups) == ["shop-web-5173", "shop-web-80"]
    listeners = {r.urn: r.name for r in of_type(plan, "aws:lb/listener:Listener")}
    rules = of_type(plan, "aws:lb/listenerRule:ListenerRule")
    waits = {r.name: {u.rsplit("::", 1)[-1] for u in r.dependencies} for r in rules}
    assert {name: sorted(on & {*listeners.values()}) for name, on in waits.items()} == {
        "shop-web-5173": ["shop-5173"],
        "shop-web-5174": ["shop-5174"],
        "shop-web-8080": ["shop-8080"],
    }
    assert "shop-web-5173" in waits["shop-web-5174"], "forwards to the 5173 target group"
    service = find(plan, ECS_SERVICE, "web").inputs
    assert sorted(b["containerPort"] for b in service["loadBalancers"]) == [80, 5173]


def test_more_container_ports_than_ecs_attaches_target_groups_are_refused(project_dir, write):
    ports = ", ".join(f'"{8000 + i}:{8000 + i}"' for i in range(6))
    write(f"name: shop\nservices:\n  web:\n    image: nginx\n    ports: [{ports}]\n")
    with pytest.raises(BerthError, match=r"service 'web', field 'ports'.*at most 5 target"):
        aws_program(["compose.yaml"])


def test_no_load_balancer_without_a_published_port(project_dir, write):
    write("name: shop\nservices:\n  worker:\n    image: worker\n    expose: [9000]\n")
    plan = aws_program(["compose.yaml"])

    assert not of_type(plan, "aws:lb/loadBalancer:LoadBalancer")
    assert [r.name for r in of_type(plan, SECURITY_GROUP)] == ["shop-tasks"]
    assert "loadBalancers" not in find(plan, ECS_SERVICE, "worker").inputs


# -- volumes ---------------------------------------------------------------------------------


def test_named_volumes_are_protected_efs_access_points(project_dir, write):
    write(
        """
        name: shop
        services:
          db:
            image: postgres
            volumes:
              - pg.data:/var/lib/postgresql/data
              - ./init:/docker-entrypoint-initdb.d
              - type: tmpfs
                target: /run/cache
        volumes:
          pg.data: {}
        """
    )
    with resource_options() as options:
        plan = aws_program(["compose.yaml"])

    file_system = find(plan, "aws:efs/fileSystem:FileSystem", "shop-efs")
    access_point = find(plan, "aws:efs/accessPoint:AccessPoint", "shop-pg.data")
    assert options[file_system.urn].protect is True
    assert options[access_point.urn].protect is True
    assert file_system.inputs["encrypted"] is True
    assert access_point.inputs["rootDirectory"]["path"] == "/pg.data"
    mount_targets = of_type(plan, "aws:efs/mountTarget:MountTarget")
    assert len(mount_targets) == 2
    nfs = find(plan, SECURITY_GROUP, "shop-efs")
    assert nfs.inputs["ingress"][0]["fromPort"] == 2049
    assert nfs.inputs["ingress"][0]["securityGroups"] == ["shop-tasks-id"]

    definition = find(plan, TASK_DEFINITION, "db")
    (efs,) = [v for v in definition.inputs["volumes"] if "efsVolumeConfiguration" in v]
    assert efs["name"] == "pg-data", "ECS names allow no dots"
    assert efs["efsVolumeConfiguration"]["transitEncryption"] == "ENABLED"
    assert (
        efs["efsVolumeConfiguration"]["authorizationConfig"]["accessPointId"] == "shop-pg.data-id"
    )
    assert main_container(plan, "db")["mountPoints"] == [
        {"containerPath": "/run/cache", "readOnly": False, "sourceVolume": "scratch-0"},
        {"containerPath": "/var/lib/postgresql/data", "readOnly": False, "sourceVolume": "pg-data"},
    ], "sorted: the order of compose's volumes changes no definition"
    assert ecs_validation_errors(definition) == ""
    service = find(plan, ECS_SERVICE, "db")
    assert service.inputs["deploymentMinimumHealthyPercent"] == 0, "never two databases at once"
    assert service.inputs["deploymentMaximumPercent"] == 100
    assert {m.urn for m in mount_targets} <= set(service.dependencies)
    (warning,) = [w for w in plan.warnings if "bind mount" in w]
    assert "service 'db': bind mount init:/docker-entrypoint-initdb.d is ignored" in warning
    assert "Fargate task cannot reach files on the machine running pulumi up" in warning


def test_an_external_volume_is_refused(project_dir, write):
    write(
        """
        name: shop
        services:
          db:
            image: postgres
            volumes: [data:/data]
        volumes:
          data:
            external: true
        """
    )
    with pytest.raises(
        BerthError, match=r"compose\.yaml: field 'volumes': volume 'data' is external"
    ):
        aws_program(["compose.yaml"])


# -- sizing, settings, fields ------------------------------------------------------------------


def test_resources_pick_the_nearest_fargate_size(project_dir, write):
    write(
        """
        name: shop
        services:
          api:
            image: api
            deploy:
              replicas: 3
              resources:
                limits: {cpus: "0.6", memory: 3g}
          small:
            image: small
        """
    )
    plan = aws_program(["compose.yaml"])
    api = find(plan, TASK_DEFINITION, "api")
    assert (api.inputs["cpu"], api.inputs["memory"]) == ("1024", "3072")
    small = find(plan, TASK_DEFINITION, "small")
    assert (small.inputs["cpu"], small.inputs["memory"]) == ("256", "512")
    assert find(plan, ECS_SERVICE, "api").inputs["desiredCount"] == 3


def test_a_task_larger_than_fargate_is_refused(project_dir, write):
    write(
        """
        name: shop
        services:
          big:
            image: big
            deploy:
              resources:
                limits: {memory: 200g}
        """
    )
    with pytest.raises(BerthError) as error:
        aws_program(["compose.yaml"])
    assert error.value.file == "compose.yaml"
    assert error.value.service == "big"
    assert error.value.field == "deploy.resources"
    assert "more than a Fargate task has (16 vCPU, 120 GiB)" in error.value.message


def test_an_existing_vpc_is_used_as_given(project_dir):
    plan = aws_program(
        [copy_example("migrate", project_dir)],
        variables={"awsVpcId": "vpc-123", "awsSubnetIds": '["subnet-a", "subnet-b"]'},
    )
    assert not of_type(plan, "aws:ec2/vpc:Vpc")
    assert not of_type(plan, "aws:ec2/subnet:Subnet")
    assert find(plan, ECS_SERVICE, "web").inputs["networkConfiguration"]["subnets"] == [
        "subnet-a",
        "subnet-b",
    ]
    assert find(plan, SECURITY_GROUP, "migrate-tasks").inputs["vpcId"] == "vpc-123"


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"awsVpcId": "vpc-123"}, "awsVpcId and berth:awsSubnetIds go together"),
        ({"awsAssignPublicIp": "no"}, "awsAssignPublicIp must be true or false"),
        ({"awsAssignPublicIp": "false"}, "no NAT gateway"),
        ({"awsLogRetentionDays": "8"}, "not a CloudWatch period"),
        ({"awsEcrKeepImages": "ten"}, "awsEcrKeepImages must be a whole number"),
        ({"awsCertificateArn": "my-cert"}, "is not an ARN"),
    ],
)
def test_bad_settings_are_clear_errors(project_dir, settings, problem):
    with pytest.raises(BerthError, match=problem) as error:
        aws_program([copy_example("release", project_dir)], variables=settings)
    assert error.value.hint


def test_settings_reach_the_resources(project_dir):
    plan = aws_program(
        [copy_example("migrate", project_dir)],
        variables={"awsLogRetentionDays": "90", "awsEcrKeepImages": "3"},
    )
    assert find(plan, "aws:cloudwatch/logGroup:LogGroup", "migrate-logs").inputs == {
        "name": "/berth/migrate-dev",
        "retentionInDays": 90,
    }
    policy = json.loads(
        find(plan, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "web-repo").inputs["policy"]
    )
    assert policy["rules"][0]["selection"]["countNumber"] == 3


def test_privileged_is_refused_and_fargate_limits_are_warned_about(project_dir, write):
    write(
        """
        name: shop
        services:
          vpn:
            image: vpn
            cap_add: [NET_ADMIN, SYS_PTRACE]
            ulimits:
              nofile: {soft: 1024, hard: 4096}
              nproc: 512
            stop_grace_period: 5m
            init: true
            extra_hosts: ["db.internal:10.0.0.5"]
        """
    )
    plan = aws_program(["compose.yaml"])
    vpn = main_container(plan, "vpn")
    assert vpn["linuxParameters"] == {
        "capabilities": {"add": ["SYS_PTRACE"]},
        "initProcessEnabled": True,
    }
    assert vpn["ulimits"] == [{"hardLimit": 4096, "name": "nofile", "softLimit": 1024}]
    assert vpn["stopTimeout"] == 120
    assert "extraHosts" not in vpn
    warnings = "\n".join(plan.warnings)
    assert "cap_add NET_ADMIN dropped" in warnings
    assert "ulimit nproc dropped" in warnings
    assert "stop_grace_period 300s shortened" in warnings
    assert "field 'extra_hosts' is ignored on aws" in warnings

    write("services:\n  root:\n    image: x\n    privileged: true\n")
    with pytest.raises(BerthError, match="field 'privileged': not supported on the aws target"):
        aws_program(["compose.yaml"])


def test_every_task_searches_the_projects_namespace(project_dir):
    plan = aws_program([copy_example("migrate", project_dir)])

    namespace = find(
        plan, "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", "migrate-dns"
    )
    assert namespace.inputs["name"] == "migrate-dev.internal"
    for name in ("db", "migrate", "web"):
        init, main = containers(find(plan, TASK_DEFINITION, name))
        assert init["essential"] is False
        assert "search migrate-dev.internal $search" in init["command"][0]
        assert main["dependsOn"] == [{"condition": "SUCCESS", "containerName": init["name"]}]
    registries = of_type(plan, "aws:servicediscovery/service:Service")
    assert sorted(r.inputs["name"] for r in registries) == ["db", "web"], "jobs register nothing"
    for registry in registries:
        assert registry.inputs["dnsConfig"]["dnsRecords"] == [{"ttl": 10, "type": "A"}]
        assert namespace.urn in registry.dependencies
        assert registry.urn in find(plan, ECS_SERVICE, registry.inputs["name"]).dependencies


def test_a_sub_second_grace_period_is_rounded_up_not_to_an_instant_kill(project_dir, write):
    """ECS takes whole seconds; 0.5s rounded to 0 would stop the container without a grace."""
    write("services:\n  web:\n    image: nginx\n    stop_grace_period: 500ms\n")
    assert main_container(aws_program(["compose.yaml"]), "web")["stopTimeout"] == 1


# -- pre_start hooks and the top-level jobs: ----------------------------------------------------

HOOKED = """
    name: shop
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: pw
      web:
        image: nginx
        environment:
          MODE: {mode}
        deploy:
          replicas: {replicas}
        depends_on: [db]
        pre_start:
          - command: ["./migrate"]
          - image: busybox
            command: echo ready
    """


def hooked(write, mode: str = "a", replicas: int = 1):
    write(HOOKED.format(mode=mode, replicas=replicas))
    return aws_program(["compose.yaml"])


def test_hooks_run_once_in_order_and_the_service_waits_for_the_last(project_dir, write):
    plan = hooked(write)

    first = find(plan, JOB, "web-pre-start-0-run")
    second = find(plan, JOB, "web-pre-start-1-run")
    assert find(plan, READY, "db-ready").urn in first.dependencies, "after web's depends_on"
    assert first.urn in second.dependencies
    assert second.urn in find(plan, ECS_SERVICE, "web").dependencies
    assert first.inputs["hook"] == {"service": "web", "index": 0}
    assert second.inputs["hook"] == {"service": "web", "index": 1}
    assert first.inputs["definition"]["containers"][-1]["command"] == ["./migrate"]
    assert second.inputs["definition"]["containers"][-1]["command"] == ["echo", "ready"]


def test_a_hook_runs_again_when_its_services_environment_changes_not_its_replicas(
    project_dir, write
):
    """Compose's rule: hooks run when their service is recreated, and a scale change
    recreates nothing."""
    provider = EcsJobProvider()

    def hook(plan):
        return find(plan, JOB, "web-pre-start-1-run").inputs

    base = hook(hooked(write))
    scaled = hook(hooked(write, replicas=3))
    changed = hook(hooked(write, mode="b"))

    assert scaled["definition"]["serviceDefinition"] == base["definition"]["serviceDefinition"]
    assert provider.diff("id", base, scaled).replaces == []
    assert changed["definition"]["serviceDefinition"] != base["definition"]["serviceDefinition"]
    assert provider.diff("id", base, changed).replaces == ["definition"]


def test_a_job_that_is_no_hook_keeps_exactly_its_inputs(project_dir):
    """No new key for the jobs deployed before hooks: a new key in ``definition`` would run
    every job again on the first ``pulumi up`` after an upgrade."""
    run = find(aws_program([copy_example("migrate", project_dir)]), JOB, "migrate-run")

    assert sorted(run.inputs) == sorted(
        [
            "job", "definition", "runAlways", "timeout", "region", "identity", "startedBy",
            "tags", "cluster", "taskDefinition", "container", "subnets", "securityGroups",
            "assignPublicIp", "logGroup", "logStreamPrefix", "imageBuilder",
        ]
    )  # fmt: skip
    assert run.inputs["imageBuilder"] == "buildkit"
    assert sorted(run.inputs["definition"]) == ["containers", "cpu", "memory", "secrets", "volumes"]


SCHEDULED = """
    name: shop
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: pw
    jobs:
      backup:
        image: postgres:16
        command: ["pg_dump", "-h", "db"]
        depends_on: [db]
        triggers:
          manual: false
          schedule: ["0 3 * * *"]
    """


def test_a_job_of_jobs_leaves_berth_run_what_it_needs_its_identity_secret(project_dir, write):
    write(SCHEDULED)
    config = {"aws:accessKey": "AKIASTACK", "aws:secretKey": "stack-secret-key-0a1b"}
    with component_outputs() as outputs:
        plan = aws_program(["compose.yaml"], config=config, secret_config=["aws:secretKey"])

    recorded = outputs[find(plan, "berth:index:TriggeredJob", "backup").urn]["runWith"]
    assert plain_occurrences(recorded, "stack-secret-key-0a1b") == []
    run_with = recorded["value"] if is_secret(recorded) else recorded
    definition = find(plan, TASK_DEFINITION, "backup")
    db = find(plan, ECS_SERVICE, "db").inputs
    assert run_with["identity"]["secretKey"] == "stack-secret-key-0a1b"
    assert {k: v for k, v in run_with.items() if k != "identity"} == {
        "target": "aws",
        "manual": False,
        "job": "backup",
        "region": "eu-west-1",
        "startedBy": "berth/shop-dev/backup",
        "tags": {"berth:stack": "shop-dev", "berth:job": "backup"},
        "cluster": db["cluster"],
        "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-dev-backup:1",
        "container": "backup",
        "subnets": db["networkConfiguration"]["subnets"],
        "securityGroups": db["networkConfiguration"]["securityGroups"],
        "assignPublicIp": True,
        "logGroup": "/berth/shop-dev",
        "logStreamPrefix": "backup",
    }
    assert containers(definition)[-1]["command"] == ["pg_dump", "-h", "db"]
    assert not of_type(plan, JOB), "nothing runs the job during pulumi up"
