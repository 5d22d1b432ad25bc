"""What AWS and the provider store for the fields Berth sets, so that a second ``pulumi up`` of
an unchanged stack changes nothing (issue 18). Each case is a value the provider's read gives
back otherwise than it was sent, found in terraform-provider-aws's read/flatten code or its
issues: sent that way, every ``pulumi up`` would show a change, or a replacement."""

from __future__ import annotations

import pytest

from tests.aws_support import TASK_DEFINITION, aws_program, containers
from tests.plans import find, of_type
from tests.test_cli import berth

CLOUD_MAP = "aws:servicediscovery/service:Service"


def test_cloud_map_services_send_the_health_config_cloud_map_stores(project_dir, write):
    """``expandHealthCheckCustomConfig`` sends nothing for an empty block, so Cloud Map stores
    none and the ForceNew block is added back on every plan: a replacement of every service's
    DNS name, and a redeployment of every ECS service (terraform-provider-aws#44285). Cloud
    Map stores a failure threshold of 1 whatever it is sent."""
    write("name: shop\nservices:\n  web:\n    image: nginx\n    expose: [80]\n")
    registry = find(aws_program(["compose.yaml"]), CLOUD_MAP, "web-dns")
    assert registry.inputs["healthCheckCustomConfig"] == {"failureThreshold": 1}


def main(plan, service: str) -> dict:
    return containers(find(plan, TASK_DEFINITION, service))[-1]


def test_an_empty_variable_is_left_out_with_a_warning(project_dir, write):
    """ECS drops ``{"value": ""}`` and the provider's comparison does not: a new task
    definition revision, a rollout and a job re-run on every ``pulumi up``
    (terraform-provider-aws#39533); and Secrets Manager refuses an empty secret."""
    write(
        """
        name: shop
        services:
          web:
            image: nginx
            environment:
              EMPTY: ""
              FROM_SECRET: ${BLANK}
              KEPT: "0"
        """
    )
    plan = aws_program(["compose.yaml"], secrets={"BLANK": ""})

    assert main(plan, "web")["environment"] == [{"name": "KEPT", "value": "0"}]
    assert "secrets" not in main(plan, "web")
    assert not of_type(plan, "aws:secretsmanager/secretVersion:SecretVersion")
    assert (
        "service 'web': environment EMPTY, FROM_SECRET left out: ECS does not pass an empty "
        "variable to a container; give it a value, or read its absence as empty"
    ) in plan.warnings


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("cap_drop: [NET_RAW]", {"capabilities": {"drop": ["NET_RAW"]}}),
        ("cap_add: [SYS_PTRACE]", {"capabilities": {"add": ["SYS_PTRACE"]}}),
        ("init: true", {"initProcessEnabled": True}),
    ],
)
def test_no_empty_capability_list_is_sent(project_dir, write, settings, expected):
    """The provider's comparison leaves nested lists alone: an ``add: []`` ECS does not store
    would differ from the stored definition forever."""
    write(f"name: shop\nservices:\n  web:\n    image: nginx\n    {settings}\n")
    assert main(aws_program(["compose.yaml"]), "web")["linuxParameters"] == expected


def test_a_health_check_without_a_start_period_sends_none(project_dir, write):
    """ECS's default is no start period; the 0 Docker's default would send is not stored."""
    write(
        """
        name: shop
        services:
          web:
            image: nginx
            healthcheck:
              test: ["CMD", "true"]
          api:
            image: nginx
            healthcheck:
              test: ["CMD", "true"]
              start_period: 20s
        """
    )
    plan = aws_program(["compose.yaml"])
    assert "startPeriod" not in main(plan, "web")["healthCheck"]
    assert main(plan, "api")["healthCheck"]["startPeriod"] == 20


@pytest.mark.parametrize(
    ("project", "name"), [("shop", "shop-lb"), ("internal-tools", "lb-internal-tools")]
)
def test_the_load_balancer_name_never_begins_with_internal(project, name):
    """CreateLoadBalancer: "A load balancer name ... must not begin with internal-"."""
    from berth.components.names import Names
    from berth.providers.aws.ingress import balancer_name

    assert balancer_name(Names(project)) == name


def test_names_made_of_several_separators_keep_one_hyphen(project_dir, write):
    """ECR refuses two hyphens in a row in a repository name (``a-_b`` once gave ``a--b``)."""
    write("name: shop\nservices:\n  a-_b:\n    build: .\n")
    (project_dir / "Dockerfile").write_text("FROM busybox\n")
    repositories = of_type(aws_program(["compose.yaml"]), "aws:ecr/repository:Repository")
    assert {r.inputs["name"] for r in repositories} == {"shop-dev/a-b", "shop-dev/buildcache/a-b"}


TOKEN_FILE = """
name: shop
services:
  web:
    image: nginx
    secrets: [token]
secrets:
  token:
    file: ./token.txt
"""


def test_an_empty_compose_secret_is_refused_at_plan_time(project_dir, write):
    """Secrets Manager refuses an empty SecretString (its model: at least 1 character)."""
    import botocore.session

    from berth.errors import BerthError

    shape = botocore.session.get_session().get_service_model("secretsmanager")
    assert (
        shape.operation_model("CreateSecret").input_shape.members["SecretString"].metadata["min"]
        == 1
    )
    write(TOKEN_FILE)
    (project_dir / "token.txt").write_text("")
    with pytest.raises(BerthError) as refused:
        aws_program(["compose.yaml"])
    assert "service 'web', field 'secrets'" in str(refused.value)
    assert "the secret 'token' is empty" in refused.value.message


@pytest.mark.parametrize(("text", "refused"), [("x" * 65536, False), ("é" * 32769, True)])
def test_a_compose_secret_over_secrets_managers_limit_is_refused(project_dir, write, text, refused):
    """SecretString holds 65,536 at most (the service model; the quota says 64 KB): counted in
    bytes, the UTF-8 a task reads (32,769 two-byte characters are 65,538)."""
    import botocore.session

    from berth.errors import BerthError

    shape = botocore.session.get_session().get_service_model("secretsmanager")
    members = shape.operation_model("CreateSecret").input_shape.members
    assert members["SecretString"].metadata["max"] == 65536
    write(TOKEN_FILE)
    (project_dir / "token.txt").write_text(text, encoding="utf-8")
    if not refused:
        aws_program(["compose.yaml"])
        return
    with pytest.raises(BerthError) as error:
        aws_program(["compose.yaml"])
    assert (error.value.service, error.value.field) == ("web", "secrets")
    assert "secret 'token' has 65538 bytes" in error.value.message
    assert "at most 65536" in error.value.message


@pytest.mark.parametrize(
    ("text", "refused"), [("x" * 65536, False), ("é" * 32769, True)], ids=["64KiB", "over"]
)
def test_a_secret_variable_over_secrets_managers_limit_is_refused(
    project_dir, write, text, refused
):
    """A stack secret in ``environment`` is a Secrets Manager value too, with the same 65,536
    bytes: refused at plan time naming the service and the variable, never showing the value
    (or it would fail half-way through ``pulumi up``)."""
    from berth.errors import BerthError

    write("name: shop\nservices:\n  web:\n    image: nginx\n    environment:\n      CERT: ${BIG}\n")
    if not refused:
        plan = aws_program(["compose.yaml"], secrets={"BIG": text})
        assert [s["name"] for s in main(plan, "web")["secrets"]] == ["CERT"]
        return
    with pytest.raises(BerthError) as error:
        aws_program(["compose.yaml"], secrets={"BIG": text})
    assert (error.value.service, error.value.field) == ("web", "environment")
    assert "the secret value of CERT has 65538 bytes" in error.value.message
    assert "at most 65536" in error.value.message
    assert "éé" not in str(error.value)


def test_a_plain_environment_over_the_task_definitions_limit_is_refused(project_dir, write):
    """ECS refuses a task definition over 65,536 bytes ("Max allowed length is '65536'
    bytes"): a plain environment that alone passes it is refused at plan time, in one line
    naming the service, the largest variable and the limit; one that fits is planned."""
    write("name: shop\nservices:\n  web:\n    image: nginx\n    environment:\n      BIG: ${BIG}\n")
    aws_program(["compose.yaml"], variables={"BIG": "x" * 60000})

    compose = project_dir / "compose.yaml"
    done = berth("plan", "-f", str(compose), "--target", "aws", "--set", f"BIG={'x' * 66000}")

    assert (done.returncode, done.stdout) == (2, "")
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {compose}: service 'web', field 'environment': ")
    assert "environment takes 66027 bytes of the ECS task definition" in line
    assert "at most 65536 (64 KiB)" in line and "BIG (66000 bytes)" in line
    assert "xxxx" not in line


def test_a_schedule_sends_what_the_scheduler_gives_back(project_dir, write):
    """terraform-provider-aws's ``resourceScheduleRead`` (internal/service/scheduler/
    schedule.go) stores the time zone (default ``UTC``), the retry policy's event age (default
    86400) and attempts (default 185), the task count (default 1) and the launch type as the
    API answers them: each is sent, so an unchanged schedule stays unchanged. The platform
    version is left out: it is flattened only when the API holds one, and only one sent would
    be held; nothing else that flattening fills in is sent."""
    write(
        """
        name: shop
        jobs:
          backup:
            image: busybox
            triggers:
              schedule: ["0 3 * * *"]
        """
    )
    (schedule,) = of_type(aws_program(["compose.yaml"]), "aws:scheduler/schedule:Schedule")

    assert schedule.inputs["scheduleExpressionTimezone"] == "UTC"
    assert schedule.inputs["state"] == "ENABLED"
    assert schedule.inputs["flexibleTimeWindow"] == {"mode": "OFF"}
    target = schedule.inputs["target"]
    assert target["retryPolicy"] == {"maximumEventAgeInSeconds": 86400, "maximumRetryAttempts": 0}
    assert target["ecsParameters"]["taskCount"] == 1
    assert target["ecsParameters"]["launchType"] == "FARGATE"
    assert "platformVersion" not in target["ecsParameters"]
    assert "groupName" not in schedule.inputs, "computed: the default group, read back"
