"""Waiting until an ECS service really runs its new release, so that its dependents start then.

``wait_for_steady_state`` is not enough: with the deployment circuit breaker's rollback, a
failed deployment rolls back to the previous task definition and the wait then reports success
(hashicorp/terraform-provider-aws#19519), so jobs and dependents would go ahead on a failed
release. And steady state counts running tasks, not healthy ones, so ``service_healthy`` would
mean "running". This resource does the waiting instead (the ECS service has no steady-state
wait, so a failed first deployment too reaches it): it checks that the primary deployment runs
the new task definition and completed, and, when a dependent needs it, that enough of its tasks
report HEALTHY; otherwise ``pulumi up`` fails, naming the service and why its tasks stopped.

A Pulumi dynamic provider, pickled by reference: this module imports cleanly with no side
effects. It checks again whenever ECS deploys the service anew (``RECHECK_KEYS``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from berth.components.readiness import ReadinessCheck, ReadinessProvider, poll
from berth.durations import format_duration
from berth.providers.aws.run_once import Pace

READY_TIMEOUT = 900.0
"""Seconds a deployed service has to complete its rollout and, if asked, report healthy."""
STOPPED_REASONS = 5
"""How many stopped tasks' reasons a failure names."""
RECHECK_KEYS = ("ecsService", "taskDefinition", "desiredCount", "healthy", "rollout")
"""Inputs whose change means a new release to check: a new (replaced) service, task
definition or size, and the service's other settings whose change makes ECS deploy anew
(its target groups, subnets and security groups, Cloud Map registry)."""


class NotReady(Exception):
    """The service's release failed, was rolled back, or did not become healthy in time."""


@dataclass(frozen=True)
class Release:
    """The release of one ECS service to check."""

    service: str
    """The compose name, for messages."""
    cluster: str
    ecs_service: str
    task_definition: str
    desired_count: int
    healthy: bool
    """Wait for the tasks' container health checks too (a dependent asked for service_healthy)."""
    timeout: float

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> Release:
        return cls(
            service=props["service"],
            cluster=props["cluster"],
            ecs_service=props["ecsService"],
            task_definition=props["taskDefinition"],
            desired_count=int(props["desiredCount"]),
            healthy=bool(props["healthy"]),
            timeout=float(props["timeout"]),
        )


def wait_until_released(release: Release, ecs: Any, pace: Pace | None = None) -> str:
    """Poll until the release is complete (and healthy when asked); its state, or NotReady."""
    pace = pace or Pace()

    def check() -> tuple[bool, str]:
        try:
            return _check(release, ecs)
        except (BotoCoreError, ClientError) as error:
            raise NotReady(f"service '{release.service}' could not be checked: {error}") from None

    def late(last: str) -> NotReady:
        return NotReady(
            f"service '{release.service}' was not ready within "
            f"{format_duration(release.timeout)} of its deployment ({last})"
            f"{_stopped_reasons(release, ecs)}"
        )

    return poll(
        check,
        release.timeout,
        late,
        poll_seconds=pace.poll_seconds,
        clock=pace.clock,
        sleep=pace.sleep,
    )


def _check(release: Release, ecs: Any) -> tuple[bool, str]:
    found = ecs.describe_services(cluster=release.cluster, services=[release.ecs_service])
    services = [s for s in found.get("services", []) if s.get("status") == "ACTIVE"]
    if not services:  # just created: ECS may not list it yet
        return False, "the service is not visible to DescribeServices yet"
    primary = next(d for d in services[0]["deployments"] if d["status"] == "PRIMARY")
    if primary["taskDefinition"] != release.task_definition:
        raise NotReady(
            f"service '{release.service}' failed to deploy and was rolled back to "
            f"{_revision(primary['taskDefinition'])} (its new release is "
            f"{_revision(release.task_definition)}){_stopped_reasons(release, ecs)}"
        )
    state = primary.get("rolloutState", "COMPLETED")
    if state == "FAILED":
        raise NotReady(
            f"service '{release.service}' failed to deploy: "
            f"{primary.get('rolloutStateReason', 'rollout failed')}"
            f"{_stopped_reasons(release, ecs)}"
        )
    running = primary.get("runningCount", 0)
    if state != "COMPLETED" or running < release.desired_count:
        return False, f"rollout {state.lower()}, {running} of {release.desired_count} running"
    if not release.healthy or release.desired_count == 0:
        return True, f"{running} running"
    healthy = sum(
        1 for task in _tasks(release, ecs, "RUNNING") if task.get("healthStatus") == "HEALTHY"
    )
    return healthy >= release.desired_count, f"{healthy} of {release.desired_count} healthy"


def _tasks(release: Release, ecs: Any, status: str) -> list[dict[str, Any]]:
    """The service's tasks of the new task definition with the given desired status."""
    arns = ecs.list_tasks(
        cluster=release.cluster, serviceName=release.ecs_service, desiredStatus=status
    )["taskArns"]
    if not arns:
        return []
    tasks = ecs.describe_tasks(cluster=release.cluster, tasks=arns[:100])["tasks"]
    return [t for t in tasks if t.get("taskDefinitionArn") == release.task_definition]


def _stopped_reasons(release: Release, ecs: Any) -> str:
    """Why the new release's tasks stopped, as ECS says: what an operator looks for first."""
    try:
        stopped = _tasks(release, ecs, "STOPPED")[:STOPPED_REASONS]
    except (BotoCoreError, ClientError):
        return ""
    reasons = sorted(
        {
            "; ".join(
                filter(
                    None,
                    [
                        task.get("stoppedReason"),
                        *(c.get("reason") for c in task.get("containers", [])),
                    ],
                )
            )
            for task in stopped
        }
        - {""}
    )
    return (". Stopped tasks: " + " | ".join(reasons)) if reasons else ""


def _revision(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


class EcsServiceReadyProvider(ReadinessProvider):
    """Checks the release once per new task definition (or size, or health wait)."""

    RECHECK = RECHECK_KEYS

    def __init__(self, poll_seconds: float = 6.0) -> None:
        super().__init__()
        self.poll_seconds = poll_seconds

    def ready(self, props: dict[str, Any]) -> tuple[str, str]:
        from berth.providers.aws.session import aws_clients  # noqa: PLC0415 - boto3 only here

        (ecs,) = aws_clients(props.get("identity") or {}, props["region"], ("ecs",))
        state = wait_until_released(
            Release.from_props(props), ecs, Pace(poll_seconds=self.poll_seconds)
        )
        return f"{props['service']}-{uuid.uuid4().hex[:12]}", state


class EcsServiceReady(ReadinessCheck, module="berth", name="EcsServiceReady"):
    """Exists once the service runs its new release (healthy, when a dependent needs it)."""

    PROVIDER = EcsServiceReadyProvider
