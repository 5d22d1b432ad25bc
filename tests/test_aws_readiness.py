"""The ECS service release check, against botocore's Stubber (every request checked against the
ECS model): a rolled-back or failed deployment fails ``pulumi up``, naming why its tasks
stopped, and ``service_healthy`` waits for HEALTHY tasks, not only running ones."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from berth.providers.aws.readiness import (
    EcsServiceReadyProvider,
    NotReady,
    Release,
    wait_until_released,
)
from tests.pickling import unpickled_in_project_root
from tests.test_aws_run_once import Clock

CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
NEW = "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-dev-web:8"
OLD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-dev-web:7"
TASK = "arn:aws:ecs:eu-west-1:123456789012:task/shop/abc"


def release(**changes: Any) -> Release:
    settings: dict[str, Any] = {
        "service": "web",
        "cluster": CLUSTER,
        "ecs_service": "web-1234567",
        "task_definition": NEW,
        "desired_count": 2,
        "healthy": False,
        "timeout": 900.0,
    }
    return Release(**(settings | changes))


class Ecs:
    def __init__(self) -> None:
        self.client = boto3.session.Session(
            region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t"
        ).client("ecs")
        self.stub = Stubber(self.client)

    def service(self, *deployments: dict[str, Any], status: str = "ACTIVE") -> None:
        self.stub.add_response(
            "describe_services",
            {
                "services": [
                    {
                        "serviceName": "web-1234567",
                        "status": status,
                        "deployments": list(deployments),
                    }
                ]
            },
            {"cluster": CLUSTER, "services": ["web-1234567"]},
        )

    def tasks(self, status: str, *tasks: dict[str, Any]) -> None:
        arns = [f"{TASK}{index}" for index in range(len(tasks))]
        self.stub.add_response(
            "list_tasks",
            {"taskArns": arns},
            {"cluster": CLUSTER, "serviceName": "web-1234567", "desiredStatus": status},
        )
        if arns:
            self.stub.add_response(
                "describe_tasks",
                {
                    "tasks": [
                        {"taskArn": arn, **task} for arn, task in zip(arns, tasks, strict=True)
                    ]
                },
                {"cluster": CLUSTER, "tasks": arns},
            )

    def check(self, spec: Release | None = None, clock: Clock | None = None) -> str:
        try:
            with self.stub:
                return wait_until_released(
                    spec or release(), self.client, (clock or Clock()).pace()
                )
        finally:
            self.stub.assert_no_pending_responses()


def deployment(task_definition: str, state: str, running: int = 2, **more: Any) -> dict[str, Any]:
    return {
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "rolloutState": state,
        "runningCount": running,
        **more,
    }


@pytest.fixture
def ecs() -> Ecs:
    return Ecs()


def test_a_completed_release_is_ready(ecs):
    ecs.service(deployment(NEW, "IN_PROGRESS", running=1))
    ecs.service(deployment(NEW, "COMPLETED"))

    assert ecs.check() == "2 running"


def test_a_rolled_back_release_fails_with_why_its_tasks_stopped(ecs):
    """The circuit breaker rolled back: the primary deployment runs the old task definition,
    and Pulumi's steady-state wait reported success (terraform-provider-aws#19519)."""
    ecs.service(
        deployment(OLD, "COMPLETED"),
        {"status": "ACTIVE", "taskDefinition": NEW, "rolloutState": "FAILED"},
    )
    ecs.tasks(
        "STOPPED",
        {
            "taskDefinitionArn": NEW,
            "stoppedReason": "Essential container in task exited",
            "containers": [{"name": "web", "reason": "exit code 1"}],
        },
        {"taskDefinitionArn": OLD, "stoppedReason": "Scaling activity initiated by deployment"},
    )

    with pytest.raises(NotReady) as failure:
        ecs.check()

    assert str(failure.value) == (
        "service 'web' failed to deploy and was rolled back to shop-dev-web:7 (its new release "
        "is shop-dev-web:8). Stopped tasks: Essential container in task exited; exit code 1"
    )


def test_a_failed_rollout_fails(ecs):
    ecs.service(
        deployment(NEW, "FAILED", running=0, rolloutStateReason="circuit breaker triggered")
    )
    ecs.tasks("STOPPED")

    with pytest.raises(NotReady, match="service 'web' failed to deploy: circuit breaker triggered"):
        ecs.check()


def test_a_new_service_whose_first_deployment_fails_names_why(ecs):
    """Issue 18: the ECS service has no steady-state wait (it ended a failed first deployment
    in a bare 20-minute timeout), so the check follows a new service from its creation: its
    one deployment in progress, then failed by the circuit breaker, with its tasks' reasons."""
    ecs.service(deployment(NEW, "IN_PROGRESS", running=0))
    ecs.service(deployment(NEW, "IN_PROGRESS", running=0))
    ecs.service(
        deployment(NEW, "FAILED", running=0, rolloutStateReason="ECS deployment circuit breaker")
    )
    ecs.tasks(
        "STOPPED",
        {
            "taskDefinitionArn": NEW,
            "stoppedReason": "CannotPullContainerError: pull image manifest has been retried",
        },
    )

    with pytest.raises(NotReady) as failure:
        ecs.check()

    assert str(failure.value) == (
        "service 'web' failed to deploy: ECS deployment circuit breaker. Stopped tasks: "
        "CannotPullContainerError: pull image manifest has been retried"
    )


def test_service_healthy_waits_until_enough_tasks_are_healthy(ecs):
    clock = Clock()
    ecs.service(deployment(NEW, "COMPLETED"))
    ecs.tasks(
        "RUNNING",
        {"taskDefinitionArn": NEW, "healthStatus": "UNKNOWN"},
        {"taskDefinitionArn": NEW, "healthStatus": "HEALTHY"},
    )
    ecs.service(deployment(NEW, "COMPLETED"))
    ecs.tasks(
        "RUNNING",
        {"taskDefinitionArn": NEW, "healthStatus": "HEALTHY"},
        {"taskDefinitionArn": NEW, "healthStatus": "HEALTHY"},
        {"taskDefinitionArn": OLD, "healthStatus": "HEALTHY"},
    )

    assert ecs.check(release(healthy=True), clock) == "2 of 2 healthy"
    assert clock.slept == [6.0]


def test_a_service_that_never_gets_healthy_times_out_clearly(ecs):
    ecs.service(deployment(NEW, "COMPLETED"))
    ecs.tasks("RUNNING", {"taskDefinitionArn": NEW, "healthStatus": "UNHEALTHY"})
    ecs.service(deployment(NEW, "COMPLETED"))
    ecs.tasks("RUNNING", {"taskDefinitionArn": NEW, "healthStatus": "UNHEALTHY"})
    ecs.tasks(
        "STOPPED",
        {"taskDefinitionArn": NEW, "stoppedReason": "Task failed container health checks"},
    )

    with pytest.raises(NotReady) as failure:
        ecs.check(release(healthy=True, desired_count=1, timeout=6.0))

    assert str(failure.value) == (
        "service 'web' was not ready within 6s of its deployment (0 of 1 healthy). "
        "Stopped tasks: Task failed container health checks"
    )


def test_a_service_not_yet_visible_is_waited_for(ecs):
    ecs.stub.add_response(
        "describe_services",
        {"services": [], "failures": [{"arn": "web-1234567", "reason": "MISSING"}]},
        {"cluster": CLUSTER, "services": ["web-1234567"]},
    )
    ecs.service(deployment(NEW, "COMPLETED"))

    assert ecs.check() == "2 running"


def test_a_new_task_definition_checks_again_and_new_credentials_do_not():
    provider = EcsServiceReadyProvider()
    olds = {
        "ecsService": "web-1234567",
        "taskDefinition": OLD,
        "desiredCount": 2,
        "healthy": False,
        "rollout": {"targetGroups": ["tg-1"], "subnets": ["subnet-a"], "registry": "r"},
        "identity": {},
        "state": "x",
    }

    assert provider.diff("id", olds, {**olds, "taskDefinition": NEW}).replaces == ["taskDefinition"]
    assert provider.diff("id", olds, {**olds, "desiredCount": 3}).replaces == ["desiredCount"]
    # Issue 18: the service has no steady-state wait of its own, so whatever makes ECS deploy
    # it anew is checked again: a replaced service, new target groups, subnets, registry.
    replaced = {**olds, "ecsService": "web-7654321"}
    assert provider.diff("id", olds, replaced).replaces == ["ecsService"]
    moved = {**olds, "rollout": {**olds["rollout"], "targetGroups": ["tg-2"]}}
    assert provider.diff("id", olds, moved).replaces == ["rollout"]
    credentials = provider.diff("id", olds, {**olds, "identity": {"profile": "p"}})
    assert credentials.changes is True
    assert credentials.replaces == []
    assert provider.diff("id", olds, dict(olds)).changes is False


def test_the_provider_unpickles_in_a_fresh_interpreter_in_the_project_root():
    """The engine runs dynamic providers in a separate process started in the project root."""
    printed = unpickled_in_project_root(
        EcsServiceReadyProvider(),
        """
        old = {"taskDefinition": "a", "desiredCount": 1, "healthy": False}
        new = {**old, "taskDefinition": "b"}
        print(type(provider).__module__, provider.diff("id", old, new).replaces)
        """,
    )
    assert printed.split() == ["berth.providers.aws.readiness", "['taskDefinition']"]
