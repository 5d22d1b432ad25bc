"""``berth run`` on aws: a job's task started once on Fargate as its run-once resource starts
one (``run_once``), its container's CloudWatch log written out as it comes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from berth.components.run_once import JobFailed
from berth.providers.aws.run_once import (
    JobRun,
    Pace,
    essential_container,
    follow_task,
    log_stream_name,
    start_task,
    stopped_because,
)

ATTACHED_POLL_SECONDS = 2.0
"""How often ``berth run`` reads the task's state and its new log lines: someone watches."""
LATE_LOG_SECONDS = 3.0
"""How long after the task stopped its log is read once more: CloudWatch Logs receives a
container's last lines (usually the error) seconds after they were written."""
DRAIN_PAGES = 50
"""At most this many GetLogEvents pages per read: a busy log cannot hold up the task's state."""
INTERRUPTED = "berth: job interrupted"


def run_attached(run: JobRun, ecs: Any, logs: Any, log: TextIO, pace: Pace | None = None) -> int:
    """``berth run``: start the task once, write its container's log to ``log`` as it comes,
    and return the container's exit code (JobFailed when it never exited). Interrupted
    (Ctrl-C), the task is stopped and the interrupt raised again, even when the interrupt
    lands inside the RunTask call once ECS has answered. Nothing waits for other runs of the
    job: a manual run may overlap them, as ``docker compose run`` may."""
    pace = pace or Pace(poll_seconds=ATTACHED_POLL_SECONDS)
    started = _StartedTasks(ecs)
    deadline = pace.clock() + run.timeout
    try:
        arn = start_task(run, ecs, pace, settled=pace.clock())  # its roles are not new
        stream = _LogStream(run, logs, arn, log)
        task = follow_task(run, ecs, logs, arn, deadline=deadline, pace=pace, on_poll=stream.drain)
    except BaseException:
        started.stop(run, ecs)  # follow_task stops what it follows: only a task it never got
        raise
    stream.drain()
    pace.sleep(LATE_LOG_SECONDS)
    stream.drain()
    container = essential_container(run, task)
    if container.get("exitCode") is None:
        raise JobFailed(
            f"job '{run.job}' stopped before its container exited "
            f"({stopped_because(task, container)})"
        )
    return int(container["exitCode"])


class _StartedTasks:
    """The tasks ``ecs`` started and was not asked to stop, as botocore parses its answers:
    an interrupt landing after ECS answered RunTask but before Berth held the task's ARN
    would otherwise leave it running unseen. (One landing before the answer was read still
    does: docs/aws.md says how to find it.)"""

    def __init__(self, ecs: Any) -> None:
        self.running: list[str] = []
        ecs.meta.events.register_first("after-call.ecs.RunTask", self._started)
        ecs.meta.events.register("before-parameter-build.ecs.StopTask", self._stopping)

    def _started(self, parsed: Mapping[str, Any], **_: Any) -> None:
        self.running += [str(t["taskArn"]) for t in parsed.get("tasks") or () if "taskArn" in t]

    def _stopping(self, params: Mapping[str, Any], **_: Any) -> None:
        if params.get("task") in self.running:
            self.running.remove(params["task"])

    def stop(self, run: JobRun, ecs: Any) -> None:
        for arn in list(self.running):
            with contextlib.suppress(BotoCoreError, ClientError):  # it may have stopped
                ecs.stop_task(cluster=run.cluster, task=arn, reason=INTERRUPTED)


class _LogStream:
    """The container's log, written to ``log`` as CloudWatch Logs receives it."""

    def __init__(self, run: JobRun, logs: Any, arn: str, log: TextIO) -> None:
        self.run, self.logs, self.log = run, logs, log
        self.stream = log_stream_name(run, arn)
        self.token: str | None = None
        self.unreadable = False

    def drain(self) -> None:
        """Write every event received since the last call. A page may be empty with more to
        come: the reading ends only when GetLogEvents hands back the token it was sent (its
        API reference), and every token it returns is kept. A stream not made yet (the
        container has not started) has none; a log that cannot be read is said once, and the
        run goes on."""
        for _ in range(DRAIN_PAGES):
            if self.unreadable:
                return
            sent = self.token
            try:
                response = self.logs.get_log_events(
                    logGroupName=self.run.log_group,
                    logStreamName=self.stream,
                    startFromHead=True,
                    **({"nextToken": sent} if sent else {}),
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    self._unreadable(error)
                return
            except BotoCoreError as error:
                self._unreadable(error)
                return
            for event in response.get("events", []):
                self.log.write(event["message"].rstrip("\n") + "\n")
            self.log.flush()
            self.token = response.get("nextForwardToken") or sent
            if self.token == sent:
                return

    def _unreadable(self, error: Exception) -> None:
        self.unreadable = True
        self.log.write(f"(berth: the job's log cannot be read, it runs on: {error})\n")
        self.log.flush()
