"""The AWS run-once resource: a job run as an ECS task on Fargate during ``pulumi up``.

A Pulumi dynamic provider: the engine pickles ``EcsJobProvider`` by reference, so this module
must import cleanly, with no side effects, from the project directory. AWS clients are made
inside each call, for the region in the inputs, with the credentials of the environment.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from berth.durations import format_duration
from components.run_once import (
    JobFailed,
    RunOnceProvider,
    RunOnceResource,
    scrub,
    tail,
)

POLL_SECONDS = 6.0
"""How often a running task is described: ECS reports state changes within seconds."""
LOG_LINES = 30


@dataclass(frozen=True)
class JobRun:
    """One run of a job: its task definition, and where and for how long it may run."""

    job: str
    cluster: str
    task_definition: str
    container: str
    """The essential container, whose exit code is the job's."""
    subnets: Sequence[str]
    security_groups: Sequence[str]
    assign_public_ip: bool
    log_group: str
    log_stream_prefix: str
    timeout: float
    secrets: Sequence[str] = field(default=(), repr=False)
    """Values to scrub from the log tail that failure messages and outputs show."""

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> JobRun:
        definition = props["definition"]
        return cls(
            job=props["job"],
            cluster=props["cluster"],
            task_definition=props["taskDefinition"],
            container=props["container"],
            subnets=props["subnets"],
            security_groups=props["securityGroups"],
            assign_public_ip=bool(props["assignPublicIp"]),
            log_group=props["logGroup"],
            log_stream_prefix=props["logStreamPrefix"],
            timeout=float(props["timeout"]),
            secrets=list((definition.get("secrets") or {}).values()),
        )


class _TimedOut(Exception):
    pass


def run_job(
    run: JobRun,
    ecs: Any,
    logs: Any,
    *,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Run the task to completion: ``exitCode`` and ``logTail``, or JobFailed.

    A task still running when this stops waiting (timeout, error, interrupt) is stopped, so
    no task is left behind.
    """
    try:
        arn = _start(run, ecs)
    except (BotoCoreError, ClientError) as error:
        raise JobFailed(f"job '{run.job}' could not start: {error}") from None
    deadline = clock() + run.timeout
    try:
        task = _wait_until_stopped(
            run, ecs, arn, deadline=deadline, poll_seconds=poll_seconds, clock=clock, sleep=sleep
        )
    except BaseException as error:
        timed_out = isinstance(error, _TimedOut)
        reason = f"timed out after {format_duration(run.timeout)}" if timed_out else "interrupted"
        _stop(run, ecs, arn, f"berth: job {reason}")
        if timed_out:
            raise JobFailed(
                f"job '{run.job}' timed out after {format_duration(run.timeout)} and was "
                f"stopped (raise x-berth-timeout to allow more). Last log lines:\n"
                f"{_log_tail(run, logs, arn)}"
            ) from None
        if isinstance(error, BotoCoreError | ClientError):
            raise JobFailed(f"job '{run.job}' could not be followed: {error}") from None
        raise
    container = next((c for c in task.get("containers", []) if c["name"] == run.container), {})
    exit_code = container.get("exitCode")
    log_tail = _log_tail(run, logs, arn)
    if exit_code == 0:
        return {"exitCode": 0, "logTail": log_tail}
    outcome = (
        f"failed with exit code {exit_code}"
        if exit_code is not None
        else "stopped before its container exited"
    )
    stop = f"stop code {task.get('stopCode', 'unknown')}: {task.get('stoppedReason', '')}"
    if container.get("reason"):
        stop += f"; container: {container['reason']}"
    raise JobFailed(f"job '{run.job}' {outcome} ({stop}). Last log lines:\n{log_tail}")


def _start(run: JobRun, ecs: Any) -> str:
    response = ecs.run_task(
        cluster=run.cluster,
        taskDefinition=run.task_definition,
        launchType="FARGATE",
        count=1,
        startedBy="berth",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": list(run.subnets),
                "securityGroups": list(run.security_groups),
                "assignPublicIp": "ENABLED" if run.assign_public_ip else "DISABLED",
            }
        },
    )
    if response.get("failures") or not response.get("tasks"):
        reasons = "; ".join(
            f"{f.get('reason', 'unknown')}" + (f" ({f['detail']})" if f.get("detail") else "")
            for f in response.get("failures", [])
        )
        raise JobFailed(f"job '{run.job}' could not start: {reasons or 'no task was started'}")
    return str(response["tasks"][0]["taskArn"])


def _wait_until_stopped(
    run: JobRun,
    ecs: Any,
    arn: str,
    *,
    deadline: float,
    poll_seconds: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    while True:
        response = ecs.describe_tasks(cluster=run.cluster, tasks=[arn])
        if not response.get("tasks"):
            raise JobFailed(f"job '{run.job}': ECS lost track of its task {arn}")
        task: dict[str, Any] = response["tasks"][0]
        if task.get("lastStatus") == "STOPPED":
            return task
        if clock() >= deadline:
            raise _TimedOut
        sleep(poll_seconds)


def _stop(run: JobRun, ecs: Any, arn: str, reason: str) -> None:
    with contextlib.suppress(BotoCoreError, ClientError):  # it may have stopped meanwhile
        ecs.stop_task(cluster=run.cluster, task=arn, reason=reason)


def _log_tail(run: JobRun, logs: Any, arn: str) -> str:
    """The container's last lines, from its awslogs stream ``<prefix>/<container>/<task id>``."""
    stream = f"{run.log_stream_prefix}/{run.container}/{arn.rsplit('/', 1)[-1]}"
    try:
        response = logs.get_log_events(
            logGroupName=run.log_group,
            logStreamName=stream,
            limit=LOG_LINES,
            startFromHead=False,
        )
    except (BotoCoreError, ClientError) as error:
        return f"(no log: {error})"
    text = "\n".join(event["message"].rstrip("\n") for event in response.get("events", []))
    return scrub(tail(text, LOG_LINES), list(run.secrets)) or "(no output)"


def _clients(region: str) -> tuple[Any, Any]:
    session = boto3.session.Session(region_name=region)
    return session.client("ecs"), session.client("logs")


class EcsJobProvider(RunOnceProvider):
    """Runs the job's task definition once on Fargate, in the project's subnets."""

    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__()
        self.poll_seconds = poll_seconds

    def run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        ecs, logs = _clients(props["region"])
        return run_job(JobRun.from_props(props), ecs, logs, poll_seconds=self.poll_seconds)


class EcsJob(RunOnceResource, module="berth", name="EcsJob"):
    """Completes only when the job's task exited 0."""

    provider_type = EcsJobProvider
