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

import time
from collections.abc import Mapping
from typing import Any

import pulumi

from berth.components.run_once import (
    JobFailed,
    RunOnceProvider,
    RunOnceResource,
    tail,
)
from berth.durations import format_duration
from berth.providers.gcp.api import SUCCEEDED, ApiError, CloudRunApi, authorized_session, completed
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
            raise JobFailed(f"job '{props['job']}' could not be run: {error}") from None

    def allowed(self, props: Mapping[str, Any]) -> float:
        """Seconds an execution may take: every try of the task (``maxRetries`` + 1) for its
        full timeout, plus time to start the task and each retry."""
        retries = int(props.get("maxRetries") or 0)
        timeout = float(props["timeout"])
        return (retries + 1) * timeout + self.START_ALLOWANCE + retries * self.RETRY_ALLOWANCE

    def _execute(self, props: Mapping[str, Any]) -> dict[str, Any]:
        job = props["job"]
        api = self.api(props)
        self._settle(api, props)
        execution = self._start(api, props["jobName"])
        finished = False
        try:
            state = self._wait(api, execution, time.monotonic() + self.allowed(props))
            if state is None:
                raise JobFailed(
                    f"job '{job}' did not finish within {_budget(props)}; execution "
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
            f"job '{job}' failed"
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
                f"job '{props['job']}': execution {_short(execution)} is still running (an "
                "earlier deployment was interrupted, or it was started outside Pulumi); "
                "waiting for it to finish before running the job again"
            )
            if self._wait(api, execution, time.monotonic() + self.allowed(props)) is not None:
                continue
            _cancel(api, execution)
            if self._wait(api, execution, time.monotonic() + self.CANCEL_GRACE) is None:
                raise JobFailed(
                    f"job '{props['job']}': execution {_short(execution)} is still running "
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

    def _wait(self, api: CloudRunApi, execution: str, deadline: float) -> dict[str, Any] | None:
        """The execution's state once its ``Completed`` condition is terminal; None if it is
        not at ``deadline``. The API orders neither ``completionTime`` nor the task counts
        with that condition, so neither decides. Reading is tried again through an outage of
        the API until ``deadline``: only the job's own deadline, or a real error, ends it."""
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
