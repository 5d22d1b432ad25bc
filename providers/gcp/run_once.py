"""The GCP run-once resource: one execution of a Cloud Run job, run to completion in ``pulumi up``.

The job itself is a plain ``cloudrunv2.Job`` (its definition); this resource executes it
through the Cloud Run Admin API and succeeds only when the execution succeeded. A failed or
timed-out execution fails ``create``, so nothing is recorded and the next ``pulumi up``
executes the job again: the shared rule of ``berth.components.run_once``.

Why not the Job's own ``run_execution_token`` (see docs/gcp.md for the evidence): the provider
stores a Job whose execution failed as created-with-errors, and Pulumi's next ``up`` retries it
with an empty update that, with the token unchanged, neither executes the job again nor fails,
so the services that wait on it would be deployed after a migration that never succeeded.

A Pulumi dynamic provider: the engine pickles ``CloudRunJobExecutionProvider`` by reference,
so this module imports cleanly, with no side effects and no cloud SDK at import time.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import Any, TextIO

import pulumi

from berth.components.run_once import (
    JobFailed,
    RunOnceProvider,
    RunOnceResource,
    job_label,
    tail,
)
from berth.durations import format_duration
from berth.errors import BerthError
from berth.providers.gcp.api import (
    SUCCEEDED,
    ApiError,
    CloudRunApi,
    authorized_session,
    completed,
    log_line,
)
from berth.providers.gcp.identity import IDENTITY


class CloudRunJobExecutionProvider(RunOnceProvider):
    """Executes the Cloud Run job named by ``jobName`` and waits for the execution to finish.

    Two executions of one job never overlap: one still running when ``create`` starts (left by
    an interrupted ``pulumi up``, whose provider process cannot be cancelled, or started from
    the console) is waited for, and cancelled past the deadline, before the job runs; the
    execution started here is cancelled on any failure before it finished.
    """

    credentials = frozenset({IDENTITY})
    """A token renewed for each CI run changes nothing: ``delete`` calls no API, so the
    identity recorded (that of the last run or update) is never used once stale."""
    POLL_SECONDS = 5.0
    START_ALLOWANCE = 300.0
    """Seconds on top of the job's timeout for Cloud Run to schedule the task and pull the
    image; the job's own task timeout is enforced by Cloud Run itself."""
    RETRY_ALLOWANCE = 60.0
    """Seconds for Cloud Run to schedule each retry of a failed task."""
    CANCEL_GRACE = 120.0
    """Seconds a cancelled execution has to stop (Cloud Run sends SIGTERM, then SIGKILL)."""

    def api(self, props: Mapping[str, Any]) -> CloudRunApi:
        """The Admin API as the gcp provider's identity (the ``identity`` input)."""
        return CloudRunApi(authorized_session(props.get(IDENTITY)))

    def run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """Secret values are scrubbed from what this returns and raises by ``create``."""
        try:
            return self._execute(props)
        except ApiError as error:
            raise JobFailed(f"{job_label(props)} could not be run: {error}") from None

    def allowed(self, props: Mapping[str, Any]) -> float:
        """Seconds an execution may take: every try of the task (``maxRetries`` + 1) for its
        full timeout, plus time to start the task and each retry."""
        retries = int(props.get("maxRetries") or 0)
        timeout = float(props["timeout"])
        return (retries + 1) * timeout + self.START_ALLOWANCE + retries * self.RETRY_ALLOWANCE

    def _execute(self, props: Mapping[str, Any]) -> dict[str, Any]:
        job = job_label(props)
        api = self.api(props)
        self._settle(api, props)
        execution = self._start(api, props["jobName"])
        finished = False
        try:
            state = self._wait(api, execution, time.monotonic() + self.allowed(props))
            if state is None:
                raise JobFailed(
                    f"{job} did not finish within {_budget(props)}; execution "
                    f"{_short(execution)} was cancelled" + _excerpt(api, execution)
                )
            finished = True
        finally:
            if not finished:  # a timeout, an API error, an interrupt: leave nothing running
                _cancel(api, execution)
        if completed(state).get("state") == SUCCEEDED:
            return {"exitCode": 0, "logTail": tail("\n".join(_logs(api, execution)))}
        code = _exit_code(api, execution)
        raise JobFailed(
            f"{job} failed"
            + (f" with exit code {code}" if code is not None else "")
            + f": {_condition(state)} (execution {_short(execution)}"
            + (f", logs: {state['logUri']}" if state.get("logUri") else "")
            + ")"
            + _excerpt(api, execution)
        )

    def _settle(self, api: CloudRunApi, props: Mapping[str, Any]) -> None:
        """Wait for the job's executions still running to finish; cancel those that outlive
        the job's own allowance, and fail rather than overlap one that does not stop."""
        for execution in api.running(props["jobName"]):
            pulumi.log.warn(
                f"{job_label(props)}: execution {_short(execution)} is still running (an "
                "earlier deployment was interrupted, or it was started outside Pulumi); "
                "waiting for it to finish before running the job again"
            )
            if self._wait(api, execution, time.monotonic() + self.allowed(props)) is not None:
                continue
            _cancel(api, execution)
            if self._wait(api, execution, time.monotonic() + self.CANCEL_GRACE) is None:
                raise JobFailed(
                    f"{job_label(props)}: execution {_short(execution)} is still running "
                    "and could not be stopped; cancel it (`gcloud run jobs executions cancel`) "
                    "and deploy again"
                )

    def _start(self, api: CloudRunApi, job_name: str) -> str:
        """Start an execution; after a transient failure, adopt the execution that failed try
        started anyway (nothing else was running), else try again with the API's backoff."""
        delays = api.backoff.delays()
        while True:
            try:
                return api.run(job_name)
            except ApiError as error:
                delay = next(delays, None) if error.transient else None
                if delay is None:
                    raise
            time.sleep(delay)
            if started := api.running(job_name):
                return started[0]

    def _wait(
        self,
        api: CloudRunApi,
        execution: str,
        deadline: float,
        each: Callable[[], None] | None = None,
    ) -> dict[str, Any] | None:
        """The execution's state once its ``Completed`` condition is terminal; None if it is
        not at ``deadline``. The API orders neither ``completionTime`` nor the task counts
        with that condition, so neither decides. Reading is tried again through an outage of
        the API until ``deadline``: only the job's own deadline, or a real error, ends it.
        ``each`` is called while it runs, before every wait (``berth run`` prints the log
        there)."""
        while True:
            try:
                state = api.execution(execution, deadline)
            except ApiError as error:
                if error.transient and time.monotonic() >= deadline:
                    return None  # an outage outlasted the job's time: a timeout
                raise
            if completed(state):
                return state
            if time.monotonic() >= deadline:
                return None
            if each:
                each()
            time.sleep(self.POLL_SECONDS)


def _budget(props: Mapping[str, Any]) -> str:
    timeout = f"its timeout of {format_duration(float(props['timeout']))}"
    retries = int(props.get("maxRetries") or 0)
    return f"{retries + 1} tries of {timeout}" if retries else timeout


def _condition(state: Mapping[str, Any]) -> str:
    """Why the execution failed, in its ``Completed`` condition's words."""
    condition = completed(state)
    if condition.get("message"):
        return str(condition["message"])
    reason = condition.get("executionReason") or condition.get("reason")
    if reason == "CANCELLED":
        return "the execution was cancelled"
    return "the execution did not succeed" + (f" ({reason})" if reason else "")


def _short(execution: str) -> str:
    return execution.rsplit("/", 1)[-1]


def _cancel(api: CloudRunApi, execution: str) -> None:
    try:
        api.cancel(execution)
    except ApiError as error:
        pulumi.log.warn(f"could not cancel {execution}: {error}")


def _exit_code(api: CloudRunApi, execution: str) -> int | None:
    try:
        return api.exit_code(execution)
    except ApiError:
        return None


def _logs(api: CloudRunApi, execution: str) -> list[str]:
    """The last log lines; none when Cloud Logging cannot be read."""
    try:
        return api.logs(execution)
    except ApiError:
        return []


def _excerpt(api: CloudRunApi, execution: str) -> str:
    lines = _logs(api, execution)
    return ("\nlast log lines:\n" + tail("\n".join(lines), 20)) if lines else ""


class CloudRunJobExecution(RunOnceResource, module="berth", name="CloudRunJobExecution"):
    """Completes only when the job's execution succeeded."""

    provider_type = CloudRunJobExecutionProvider


def run_job(run_with: Mapping[str, Any], args: Sequence[str], log: TextIO) -> int:
    """``berth run``: execute a job of ``jobs:`` once (``run_with``: the stack output
    ``triggered`` holds for it), ``args`` replacing its command (its container's args), as
    the identity the stack deploys with (``identity``; else the environment's, as the gcp
    provider's). Its log is printed to ``log`` as Cloud Logging receives it; the result is its
    exit code, as the run-once resource reads it. Ctrl-C, an API error or a run past the job's
    allowance cancels the execution first. Executions of schedules are not waited for, as
    ``docker compose run`` waits for no other container."""
    name = str(run_with.get("name") or run_with["job"])
    runner = CloudRunJobExecutionProvider()
    overrides = run_overrides(args)
    try:
        api = CloudRunApi(authorized_session(run_with.get(IDENTITY)))
        execution = _start_holding_ctrl_c(api, str(run_with["job"]), overrides)
    except ApiError as error:
        raise BerthError(
            f"job '{name}' could not be run: {error}",
            hint="deploy the stack (`pulumi up`), and run as an identity that may execute its "
            "Cloud Run job (roles/run.developer; with ARGS, run.jobs.runWithOverrides)",
        ) from None
    stream = LogStream(api, execution, log)
    finished = False
    try:
        state = runner._wait(
            api, execution, time.monotonic() + runner.allowed(run_with), stream.poll
        )
        if state is None:
            raise BerthError(
                f"job '{name}' did not finish within {_budget(run_with)}; execution "
                f"{_short(execution)} was cancelled"
            )
        finished = True
    except ApiError as error:
        raise BerthError(f"job '{name}': execution {_short(execution)}: {error}") from None
    finally:
        if not finished:  # Ctrl-C, a timeout, an API error: leave nothing running
            _cancel(api, execution)
    time.sleep(runner.POLL_SECONDS)  # Cloud Logging receives the last lines a little late
    stream.poll()
    if completed(state).get("state") == SUCCEEDED:
        return 0
    code = _exit_code(api, execution)
    if not code:  # cancelled elsewhere, out of memory, ...: no exit code says it failed
        print(f"berth run: job '{name}' failed: {_condition(state)}", file=log)
        return 1
    return code


def _start_holding_ctrl_c(api: CloudRunApi, job: str, overrides: Mapping[str, Any] | None) -> str:
    """``api.run``, a Ctrl-C during the request held until it answers: interrupted mid-request,
    the execution may start with no name to cancel it by. Once the answer names it, it is
    cancelled and the interrupt goes on; a second Ctrl-C interrupts at once. Off the main
    thread, where no signal handler can be set, the request is not shielded."""
    held: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        if held:
            raise KeyboardInterrupt
        held.append(signum)

    try:
        previous = signal.signal(signal.SIGINT, hold)
    except ValueError:
        return api.run(job, overrides)
    try:
        execution = api.run(job, overrides)
    except ApiError:
        if held:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        _cancel(api, execution)
        raise KeyboardInterrupt
    return execution


def run_overrides(args: Sequence[str]) -> dict[str, Any] | None:
    """``RunJobRequest.overrides`` for ``berth run``'s arguments: they replace the container's
    args, which hold its compose ``command``, as ``docker compose run JOB ARGS`` replaces it."""
    return {"containerOverrides": [{"args": list(args)}]} if args else None


class LogStream:
    """Prints an execution's log lines to ``out``, oldest first, each once, as Cloud Logging
    receives them: every ``poll`` reads what came since the newest entry printed (entries
    of that same timestamp are told apart by their ``insertId``)."""

    def __init__(self, api: CloudRunApi, execution: str, out: TextIO) -> None:
        self.api = api
        self.execution = execution
        self.out = out
        self.since: str | None = None
        self.seen: set[str] = set()
        self.unreadable = False

    def poll(self) -> None:
        """Print the new lines; a log that cannot be read is said once, and the run goes on."""
        if self.unreadable:
            return
        token: str | None = None
        try:
            while True:
                page = self.api.log_page(self.execution, self.since, token)
                for entry in page.get("entries") or ():
                    self._print(entry)
                token = page.get("nextPageToken")
                if not token:
                    return
        except ApiError as error:
            self.unreadable = True
            print(f"berth run: the job's log cannot be read: {error}", file=self.out)

    def _print(self, entry: Mapping[str, Any]) -> None:
        key = str(entry.get("insertId"))
        if key in self.seen:
            return
        self.seen.add(key)
        self.since = entry.get("timestamp") or self.since
        if line := log_line(entry):
            print(line, file=self.out, flush=True)
