"""The AWS run-once resource: a job run as an ECS task on Fargate during ``pulumi up``.

A Pulumi dynamic provider: the engine pickles ``EcsJobProvider`` by reference, so this module
must import cleanly, with no side effects, from the project directory. AWS clients are made
inside each call, with the identity of the program's aws provider (``berth.providers.aws.session``).

The engine cannot interrupt a running ``create`` (its Cancel does nothing), so a run that
``pulumi up`` was killed during may still be running. Every run is started with the job's own
``startedBy`` tag; before a run starts, a still-running task of the same job is waited for (to
its timeout, then stopped), so two runs of one job never overlap.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from berth.components.run_once import JobFailed, RunOnceProvider, RunOnceResource, tail
from berth.durations import format_duration

POLL_SECONDS = 6.0
"""How often a running task is described: ECS reports state changes within seconds."""
LOG_LINES = 30
MISSING_GRACE = 60.0
"""How long a task just started may be unknown to DescribeTasks (ECS is eventually
consistent: right after RunTask it can answer MISSING, or nothing) before it counts as lost."""
MISSING_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0)
IAM_SETTLING = 120.0
"""How long after its first attempt a start IAM refused is tried again: a role or policy made
moments before (on a first deployment) reaches ECS within seconds, rarely a minute."""
IAM_BACKOFF = (2.0, 4.0, 8.0, 16.0, 30.0)
_IAM_REFUSAL = re.compile(
    r"unable to assume the role|access ?denied|is not authorized to perform", re.IGNORECASE
)
"""What ECS says when IAM refused it, in RunTask's error or a stopped task's reason (an EFS
mount refused by the file system's IAM authorization: "access denied by server")."""
_ROLE_REFUSALS = frozenset({"ClientException", "InvalidParameterException"})
STOP_ALLOWANCE = 300.0
"""How long a stopped task may take to reach STOPPED (its stop timeout is at most 120 s)."""


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
    started_by: str
    """The job's own tag on every task it starts: how a leftover run of it is found."""
    tags: Mapping[str, str] = field(default_factory=dict)
    command: Sequence[str] | None = None
    """A command that replaces the container's own (``berth run JOB ARGS...``)."""

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> JobRun:
        """The run a run-once resource's inputs describe, or a job's ``run_with`` (the stack
        output ``berth run`` reads), which has no definition to tag runs with, and no timeout:
        ``docker compose run`` waits as long as the job runs."""
        tags = dict(props.get("tags", {}))
        if "definition" in props:
            text = json.dumps(props["definition"], sort_keys=True)
            tags["berth:definition"] = hashlib.sha256(text.encode()).hexdigest()[:16]
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
            timeout=float(props.get("timeout", math.inf)),
            started_by=props["startedBy"],
            tags=tags,
        )


@dataclass(frozen=True)
class Pace:
    """How the provider waits: injectable, so tests run without sleeping."""

    poll_seconds: float = POLL_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.time
    """Wall-clock seconds, to compare with the start time ECS reports."""


class _TimedOut(Exception):
    pass


def run_job(run: JobRun, ecs: Any, logs: Any, pace: Pace | None = None) -> dict[str, Any]:
    """Run the task to completion: ``exitCode`` and ``logTail``, or JobFailed.

    A task still running when this stops waiting (timeout, error, interrupt) is stopped, so
    no task is left behind. A start that IAM refused because a role or policy created moments
    before has not reached ECS yet is tried again, for ``IAM_SETTLING`` seconds.
    """
    pace = pace or Pace()
    try:
        _wait_for_leftovers(run, ecs, pace)
    except (BotoCoreError, ClientError) as error:
        raise JobFailed(f"job '{run.job}' could not start: {error}") from None
    settled = pace.clock() + IAM_SETTLING
    deadline = pace.clock() + run.timeout
    for attempt in itertools.count():
        arn = start_task(run, ecs, pace, settled)
        task = follow_task(run, ecs, logs, arn, deadline=deadline, pace=pace)
        if not (_refused_by_iam(task) and pace.clock() < settled):
            break
        _back_off(pace, attempt)
    container = essential_container(run, task)
    exit_code = container.get("exitCode")
    log_tail = _log_tail(run, logs, arn)
    if exit_code == 0:
        return {"exitCode": 0, "logTail": log_tail}
    outcome = (
        f"failed with exit code {exit_code}"
        if exit_code is not None
        else "stopped before its container exited"
    )
    stop = stopped_because(task, container)
    raise JobFailed(f"job '{run.job}' {outcome} ({stop}). Last log lines:\n{log_tail}")


def essential_container(run: JobRun, task: Mapping[str, Any]) -> dict[str, Any]:
    """The job's essential container in a stopped task (empty if ECS reports none)."""
    return next((c for c in task.get("containers", []) if c["name"] == run.container), {})


def stopped_because(task: Mapping[str, Any], container: Mapping[str, Any]) -> str:
    stop = f"stop code {task.get('stopCode', 'unknown')}: {task.get('stoppedReason', '')}"
    if container.get("reason"):
        stop += f"; container: {container['reason']}"
    return stop


def follow_task(
    run: JobRun,
    ecs: Any,
    logs: Any,
    arn: str,
    *,
    deadline: float,
    pace: Pace,
    on_poll: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The task once stopped; stopped by this if it runs past ``deadline`` or this is
    interrupted (``on_poll`` too, which runs while it is followed)."""
    try:
        return _wait_until_stopped(run, ecs, arn, deadline=deadline, pace=pace, on_poll=on_poll)
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


def _back_off(pace: Pace, attempt: int) -> None:
    pace.sleep(IAM_BACKOFF[min(attempt, len(IAM_BACKOFF) - 1)])


def _role_not_assumable(error: ClientError) -> bool:
    """RunTask's refusal of a role IAM has not yet shown ECS ("ECS was unable to assume the
    role ...", a ClientException, or InvalidParameterException), as opposed to the deployer's
    own lack of a right (AccessDeniedException), which waiting does not mend."""
    code = error.response.get("Error", {}).get("Code")
    return code in _ROLE_REFUSALS and bool(_IAM_REFUSAL.search(str(error)))


def _refused_by_iam(task: Mapping[str, Any]) -> bool:
    """The task never ran because IAM refused ECS what it needed to start it (a role or a
    policy too new to have propagated, pulumi/pulumi-awsx#927): running it again is safe."""
    return task.get("stopCode") == "TaskFailedToStart" and bool(
        _IAM_REFUSAL.search(task.get("stoppedReason", ""))
    )


def _wait_for_leftovers(
    run: JobRun,
    ecs: Any,
    pace: Pace,
    allowed: float | None = None,
    reason: str = "berth: a leftover run passed its timeout",
) -> None:
    """Wait for the runs of this job that are still going (an earlier ``pulumi up`` was killed
    while one ran): each to its own timeout (or until it is ``allowed`` seconds old), then stop
    it, saying ``reason``, and wait until it has stopped."""
    # startedBy must be ListTasks' only filter (ECS API reference); RUNNING is its default.
    listed = ecs.list_tasks(cluster=run.cluster, startedBy=run.started_by)
    if listed["taskArns"]:
        for task in ecs.describe_tasks(cluster=run.cluster, tasks=listed["taskArns"])["tasks"]:
            patience = run.timeout if allowed is None else allowed
            _wait_out(run, ecs, task, pace, allowed=patience, reason=reason)


def stop_runs(run: JobRun, ecs: Any, pace: Pace) -> None:
    """Stop every run of the job still going and wait until each has stopped: its resource is
    deleted (``pulumi destroy``), and a task left running would keep the cluster from being
    deleted (ClusterContainsTasksException)."""
    try:
        _wait_for_leftovers(run, ecs, pace, allowed=0.0, reason="berth: the job was deleted")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ClusterNotFoundException":
            raise JobFailed(f"job '{run.job}': its runs could not be stopped: {error}") from None


def _wait_out(
    run: JobRun, ecs: Any, task: Mapping[str, Any], pace: Pace, *, allowed: float, reason: str
) -> None:
    arn = task["taskArn"]
    began = task.get("startedAt") or task.get("createdAt")
    age = pace.now() - began.timestamp() if isinstance(began, datetime) else 0.0
    deadline = pace.clock() + max(0.0, allowed - age)
    stopping = False
    while task.get("lastStatus") != "STOPPED":
        if pace.clock() >= deadline and not stopping:
            _stop(run, ecs, arn, reason)
            stopping = True
        if pace.clock() >= deadline + STOP_ALLOWANCE:
            raise JobFailed(
                f"job '{run.job}': an earlier run ({arn}) is still running and would not "
                "stop; stop it in the ECS console, then run pulumi again"
            )
        pace.sleep(pace.poll_seconds)
        found = ecs.describe_tasks(cluster=run.cluster, tasks=[arn]).get("tasks", [])
        task = found[0] if found else {"lastStatus": "STOPPED"}


def start_task(run: JobRun, ecs: Any, pace: Pace, settled: float) -> str:
    """Start the task; ECS refusing to assume a role it was just given ("ECS was unable to
    assume the role") is tried again until ``settled``."""
    attempt = 0
    while True:
        try:
            return _run_task(run, ecs)
        except ClientError as error:
            if not (_role_not_assumable(error) and pace.clock() < settled):
                raise JobFailed(f"job '{run.job}' could not start: {error}") from None
        except BotoCoreError as error:
            raise JobFailed(f"job '{run.job}' could not start: {error}") from None
        _back_off(pace, attempt)
        attempt += 1


def _run_task(run: JobRun, ecs: Any) -> str:
    overrides = (
        {"overrides": {"containerOverrides": [{"name": run.container, "command": [*run.command]}]}}
        if run.command is not None
        else {}
    )
    response = ecs.run_task(
        **overrides,
        cluster=run.cluster,
        taskDefinition=run.task_definition,
        launchType="FARGATE",
        count=1,
        startedBy=run.started_by,
        tags=[{"key": key, "value": value} for key, value in sorted(run.tags.items())],
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
    pace: Pace,
    on_poll: Callable[[], None] | None = None,
) -> dict[str, Any]:
    missing_since: float | None = None
    attempt = 0
    while True:
        response = ecs.describe_tasks(cluster=run.cluster, tasks=[arn])
        if not response.get("tasks"):
            missing_since = pace.clock() if missing_since is None else missing_since
            if pace.clock() - missing_since >= MISSING_GRACE:
                raise JobFailed(
                    f"job '{run.job}': ECS does not know its task {arn} "
                    f"{format_duration(MISSING_GRACE)} after starting it"
                )
            pace.sleep(MISSING_BACKOFF[min(attempt, len(MISSING_BACKOFF) - 1)])
            attempt += 1
            continue
        missing_since, attempt = None, 0
        task: dict[str, Any] = response["tasks"][0]
        if task.get("lastStatus") == "STOPPED":
            return task
        if on_poll:
            on_poll()
        if pace.clock() >= deadline:
            raise _TimedOut
        pace.sleep(pace.poll_seconds)


def _stop(run: JobRun, ecs: Any, arn: str, reason: str) -> None:
    with contextlib.suppress(BotoCoreError, ClientError):  # it may have stopped meanwhile
        ecs.stop_task(cluster=run.cluster, task=arn, reason=reason)


def log_stream_name(run: JobRun, arn: str) -> str:
    """The container's awslogs stream: ``<prefix>/<container>/<task id>``."""
    return f"{run.log_stream_prefix}/{run.container}/{arn.rsplit('/', 1)[-1]}"


def _log_tail(run: JobRun, logs: Any, arn: str) -> str:
    """The container's last lines, from its awslogs stream."""
    try:
        response = logs.get_log_events(
            logGroupName=run.log_group,
            logStreamName=log_stream_name(run, arn),
            limit=LOG_LINES,
            startFromHead=False,
        )
    except (BotoCoreError, ClientError) as error:
        return f"(no log: {error})"
    text = "\n".join(event["message"].rstrip("\n") for event in response.get("events", []))
    return tail(text, LOG_LINES) or "(no output)"


def job_clients(props: Mapping[str, Any]) -> tuple[Any, Any]:
    """The ECS and CloudWatch Logs clients a run uses, as ``props``' identity, in its region
    (a run-once resource's inputs, or a job's ``run_with``)."""
    # boto3 only where a job runs: a plan or a preview never loads it.
    from berth.providers.aws.session import aws_clients  # noqa: PLC0415

    ecs, logs = aws_clients(props.get("identity") or {}, props["region"], ("ecs", "logs"))
    return ecs, logs


class EcsJobProvider(RunOnceProvider):
    """Runs the job's task definition once on Fargate, in the project's subnets."""

    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__()
        self.poll_seconds = poll_seconds

    def run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        ecs, logs = job_clients(props)
        return run_job(JobRun.from_props(props), ecs, logs, Pace(poll_seconds=self.poll_seconds))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """The job leaves the stack (or the stack is destroyed): no run of it may go on."""
        ecs, _ = job_clients(props)
        stop_runs(JobRun.from_props(props), ecs, Pace(poll_seconds=self.poll_seconds))


class EcsJob(RunOnceResource, module="berth", name="EcsJob"):
    """Completes only when the job's task exited 0."""

    provider_type = EcsJobProvider
