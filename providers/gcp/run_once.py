"""The GCP run-once resource: one execution of a Cloud Run job, run to completion in ``pulumi up``.

The job itself is a plain ``cloudrunv2.Job`` (its definition); this resource executes it
through the Cloud Run Admin API and succeeds only when the execution succeeded. A failed or
timed-out execution fails ``create``, so nothing is recorded and the next ``pulumi up``
executes the job again: the shared rule of ``components.run_once``.

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

from berth.durations import format_duration
from components.run_once import (
    JobFailed,
    RunOnceProvider,
    RunOnceResource,
    scrub,
    tail,
)
from providers.gcp.api import ApiError, CloudRunApi


class CloudRunJobExecutionProvider(RunOnceProvider):
    """Executes the Cloud Run job named by ``jobName`` and waits for the execution to finish."""

    POLL_SECONDS = 5.0
    START_ALLOWANCE = 300.0
    """Seconds on top of the job's timeout for Cloud Run to schedule the task and pull the
    image; the job's own task timeout is enforced by Cloud Run itself."""

    def api(self) -> CloudRunApi:
        return CloudRunApi()

    def run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        secrets = [str(value) for value in props.get("secretValues") or ()]
        try:
            return self._execute(props, secrets)
        except ApiError as error:
            raise JobFailed(
                f"job '{props['job']}' could not be run: {scrub(str(error), secrets)}"
            ) from None

    def _execute(self, props: Mapping[str, Any], secrets: list[str]) -> dict[str, Any]:
        job = props["job"]
        timeout = float(props["timeout"])
        api = self.api()
        execution = api.run(props["jobName"])
        deadline = time.monotonic() + timeout + self.START_ALLOWANCE
        state = api.execution(execution)
        while not state.get("completionTime"):
            if time.monotonic() >= deadline:
                _cancel(api, execution)
                raise JobFailed(
                    f"job '{job}' did not finish within its timeout of {format_duration(timeout)}"
                    f"; execution {_short(execution)} was cancelled"
                    + _excerpt(api, execution, secrets)
                )
            time.sleep(self.POLL_SECONDS)
            state = api.execution(execution)
        if _succeeded(state):
            return {"exitCode": 0, "logTail": tail("\n".join(_logs(api, execution, secrets)))}
        code = _exit_code(api, execution)
        raise JobFailed(
            f"job '{job}' failed"
            + (f" with exit code {code}" if code is not None else "")
            + f": {scrub(_condition(state), secrets)} (execution {_short(execution)}"
            + (f", logs: {state['logUri']}" if state.get("logUri") else "")
            + ")"
            + _excerpt(api, execution, secrets)
        )


def _succeeded(state: Mapping[str, Any]) -> bool:
    wanted = int(state.get("taskCount") or 1)
    return (
        int(state.get("succeededCount") or 0) >= wanted
        and not state.get("failedCount")
        and not state.get("cancelledCount")
    )


def _condition(state: Mapping[str, Any]) -> str:
    for condition in state.get("conditions") or ():
        if condition.get("type") == "Completed" and condition.get("message"):
            return str(condition["message"])
    if state.get("cancelledCount"):
        return "the execution was cancelled"
    return "the execution did not succeed"


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


def _logs(api: CloudRunApi, execution: str, secrets: list[str]) -> list[str]:
    """The last log lines, secrets scrubbed; none when Cloud Logging cannot be read."""
    try:
        return [scrub(line, secrets) for line in api.logs(execution)]
    except ApiError:
        return []


def _excerpt(api: CloudRunApi, execution: str, secrets: list[str]) -> str:
    lines = _logs(api, execution, secrets)
    return ("\nlast log lines:\n" + tail("\n".join(lines), 20)) if lines else ""


class CloudRunJobExecution(RunOnceResource, module="berth", name="CloudRunJobExecution"):
    """Completes only when the job's execution succeeded."""

    provider_type = CloudRunJobExecutionProvider
