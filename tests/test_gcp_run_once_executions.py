"""Cloud Run job executions against a scripted HTTP session: the exact requests the real
Admin API client sends, with transient errors, leftover executions, timeouts and interrupts.

The clock is fake (sleeping advances it), so the deadlines are the real ones and nothing waits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from berth.components.run_once import JobFailed
from berth.providers.gcp import api as api_module
from berth.providers.gcp import run_once as run_once_module
from berth.providers.gcp.api import ApiError, CloudRunApi
from berth.providers.gcp.run_once import CloudRunJobExecutionProvider

RUN_API = "https://run.googleapis.com/v2"
JOB = "projects/p/locations/europe-west1/jobs/shop-dev-migrate"
EXECUTION = f"{JOB}/executions/shop-dev-migrate-x7k2q"
LEFTOVER = f"{JOB}/executions/shop-dev-migrate-old11"
RUNNING = {"name": EXECUTION, "taskCount": 1, "runningCount": 1}


def ended(state: dict[str, Any], outcome: str = "CONDITION_SUCCEEDED", **why: str) -> dict:
    """``state`` as the API answers once the execution ended: its ``Completed`` condition in
    ``outcome``, with ``why`` (``message``, ``executionReason``)."""
    completed = {"type": "Completed", "state": outcome, **why}
    return {**state, "completionTime": "2026-01-01T0Z", "conditions": [completed]}


SUCCEEDED = ended({**RUNNING, "runningCount": 0, "succeededCount": 1})
LOGS = "https://logging.googleapis.com/v2/entries:list"
LIST = ("GET", f"{RUN_API}/{JOB}/executions?pageSize=100")
START = ("POST", f"{RUN_API}/{JOB}:run")
GET = ("GET", f"{RUN_API}/{EXECUTION}")
CANCEL = ("POST", f"{RUN_API}/{EXECUTION}:cancel")
STARTED = {"metadata": {"name": EXECUTION}}
TASK_EXIT_1 = {"lastAttemptResult": {"exitCode": 1}}
NONE_RUNNING = {"executions": [ended({"name": f"{JOB}/executions/a"})]}

Step = tuple[tuple[str, str], int, Any]
"""A request the client must send next (method, URL), and the status and body answered."""


class Clock:
    """``time`` for the provider and the client: sleeping advances it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Response:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self.body = body
        self.text = str(body)

    def json(self) -> Any:
        return self.body


class ScriptedSession:
    """Answers exactly the requests of ``script``, in order; any other request fails the test."""

    def __init__(self, script: list[Step]) -> None:
        self.script: Iterator[Step] = iter(script)
        self.sent: list[tuple[str, str]] = []

    def request(self, method: str, url: str, json: Any = None, timeout: float = 0) -> Response:
        self.sent.append((method, url))
        expected, status, body = next(self.script, (("nothing more", ""), 0, None))
        assert (method, url) == expected, f"request {len(self.sent)}: {method} {url}"
        if isinstance(body, BaseException):
            raise body
        return Response(status, body)

    def done(self) -> bool:
        return next(self.script, None) is None


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    fake_time = SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep)
    monkeypatch.setattr(run_once_module, "time", fake_time)
    monkeypatch.setattr(api_module, "time", fake_time)
    return fake


def execute(session: ScriptedSession, **changes: Any) -> dict[str, Any]:
    class Provider(CloudRunJobExecutionProvider):
        def api(self, props: Mapping[str, Any]) -> CloudRunApi:
            return CloudRunApi(session)

    props = {
        "job": "migrate",
        "jobName": JOB,
        "definition": {"container": {"image": "i@sha256:a"}},
        "runAlways": False,
        "timeout": 600,
        "maxRetries": 0,
        "scrubValues": [],
        **changes,
    }
    return Provider().create(props).outs or {}


def test_a_503_while_polling_is_tried_again_and_the_run_succeeds(clock):
    session = ScriptedSession(
        [
            (LIST, 200, NONE_RUNNING),
            (START, 200, STARTED),
            (GET, 503, {"error": {"message": "The service is currently unavailable."}}),
            (GET, 200, SUCCEEDED),
            (("POST", LOGS), 200, {"entries": [{"textPayload": "migrated"}]}),
        ]
    )
    assert execute(session)["logTail"] == "migrated"
    assert session.done()
    assert clock.slept == [1.0], "one backoff before the second try"


def test_transient_errors_back_off_exponentially_then_give_up(clock):
    unavailable = (LIST, 503, {"error": {"message": "unavailable"}})
    session = ScriptedSession([unavailable] * 6)
    with pytest.raises(JobFailed, match=r"could not be run: .*HTTP 503: unavailable"):
        execute(session)
    assert session.done(), "nothing was started"
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_an_outage_while_polling_is_waited_out_and_the_run_succeeds(clock):
    """Issue 7: reading an execution is idempotent, so an outage longer than the backoff of
    other requests (31 s) cancels nothing while the job has time left."""
    unavailable = (GET, 503, {"error": {"message": "unavailable"}})
    session = ScriptedSession(
        [
            (LIST, 200, {}),
            (START, 200, STARTED),
            *[unavailable] * 8,
            (GET, 0, requests.ConnectionError("reset")),
            (GET, 200, SUCCEEDED),
            (("POST", LOGS), 200, {}),
        ]
    )
    assert execute(session)["exitCode"] == 0
    assert session.done(), "never cancelled"
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


def test_an_outage_until_the_job_s_deadline_cancels_the_execution(clock):
    unavailable = (GET, 503, {"error": {"message": "unavailable"}})
    session = ScriptedSession(
        [
            (LIST, 200, {}),
            (START, 200, STARTED),
            *[unavailable] * 17,
            (("POST", LOGS), 200, {}),
            (CANCEL, 200, {}),
        ]
    )
    with pytest.raises(JobFailed, match=r"did not finish within its timeout of 1m"):
        execute(session, timeout=60)
    assert session.done(), "the execution it could not follow was cancelled"
    allowed = 60 + CloudRunJobExecutionProvider.START_ALLOWANCE
    assert sum(clock.slept) == allowed, "tried until the job's own deadline, not past it"
    assert max(clock.slept) == 30.0


def test_a_refusal_while_polling_cancels_at_once(clock):
    session = ScriptedSession(
        [
            (LIST, 200, {}),
            (START, 200, STARTED),
            (GET, 403, {"error": {"message": "Permission 'run.executions.get' denied"}}),
            (CANCEL, 200, {}),
        ]
    )
    with pytest.raises(JobFailed, match=r"HTTP 403: Permission 'run\.executions\.get' denied"):
        execute(session)
    assert session.done()
    assert clock.slept == []


def test_a_completion_time_is_no_success_until_the_completed_condition_ends(clock):
    """Issue 8: the API does not order ``completionTime`` and the counts with the execution's
    ``Completed`` condition; only that condition, once terminal, says how the run ended."""
    settling = {
        **ended({**RUNNING, "runningCount": 0, "succeededCount": 1}),
        "conditions": [{"type": "Completed", "state": "CONDITION_RECONCILING"}],
    }
    failed = ended(
        {**RUNNING, "runningCount": 0, "failedCount": 1},
        "CONDITION_FAILED",
        message="Task shop-dev-migrate-x7k2q-task0 failed: the container exited with an error.",
        executionReason="NON_ZERO_EXIT_CODE",
    )
    session = ScriptedSession(
        [
            (LIST, 200, {}),
            (START, 200, STARTED),
            (GET, 200, settling),
            (GET, 200, failed),
            (("GET", f"{RUN_API}/{EXECUTION}/tasks"), 200, {"tasks": [TASK_EXIT_1]}),
            (("POST", LOGS), 200, {}),
        ]
    )
    with pytest.raises(JobFailed, match=r"failed with exit code 1: Task .* exited with an error"):
        execute(session)
    assert session.done()


def test_the_completed_condition_decides_success_whatever_the_counts_say(clock):
    session = ScriptedSession(
        [
            (LIST, 200, {}),
            (START, 200, STARTED),
            (GET, 200, ended(RUNNING)),
            (("POST", LOGS), 200, {}),
        ]
    )
    assert execute(session)["exitCode"] == 0
    assert session.done()


def test_a_cancelled_execution_is_named_so():
    cancelled = ended(RUNNING, "CONDITION_FAILED", executionReason="CANCELLED")
    assert run_once_module._condition(cancelled) == "the execution was cancelled"
    unexplained = ended(RUNNING, "CONDITION_FAILED", reason="INTERNAL")
    assert run_once_module._condition(unexplained) == "the execution did not succeed (INTERNAL)"


def test_a_lost_connection_is_transient():
    session = ScriptedSession([(GET, 0, requests.ConnectionError("reset")), (GET, 200, RUNNING)])
    api = CloudRunApi(session, api_module.Backoff(first=0.0))
    assert api.execution(EXECUTION) == RUNNING


def test_a_refused_request_is_not_tried_again(clock):
    session = ScriptedSession(
        [(LIST, 200, {}), (START, 403, {"error": {"message": "Permission 'run.jobs.run' denied"}})]
    )
    with pytest.raises(JobFailed, match=r"Permission 'run\.jobs\.run' denied"):
        execute(session)
    assert session.done()
    assert clock.slept == []


def test_a_leftover_running_execution_is_waited_for_before_the_job_runs(clock):
    leftover = {"name": LEFTOVER, "taskCount": 1, "runningCount": 1}
    session = ScriptedSession(
        [
            (LIST, 200, {"executions": [leftover, NONE_RUNNING["executions"][0]]}),
            (("GET", f"{RUN_API}/{LEFTOVER}"), 200, leftover),
            (("GET", f"{RUN_API}/{LEFTOVER}"), 200, ended(leftover)),
            (START, 200, STARTED),
            (GET, 200, SUCCEEDED),
            (("POST", LOGS), 200, {}),
        ]
    )
    assert execute(session)["exitCode"] == 0
    assert session.done(), "the job ran only after the earlier execution had finished"


def test_a_leftover_with_a_completion_time_but_no_outcome_yet_is_still_running(clock):
    """The listing too reads the ``Completed`` condition, not ``completionTime`` (issue 8)."""
    reconciling = {"type": "Completed", "state": "CONDITION_RECONCILING"}
    leftover = {"name": LEFTOVER, "completionTime": "2026", "conditions": [reconciling]}
    session = ScriptedSession(
        [
            (LIST, 200, {"executions": [leftover]}),
            (("GET", f"{RUN_API}/{LEFTOVER}"), 200, ended(leftover)),
            (START, 200, STARTED),
            (GET, 200, SUCCEEDED),
            (("POST", LOGS), 200, {}),
        ]
    )
    assert execute(session)["exitCode"] == 0
    assert session.done(), "two migrations never overlap"


def test_a_leftover_past_the_allowance_is_cancelled_before_the_job_runs(clock):
    leftover = {"name": LEFTOVER, "taskCount": 1, "runningCount": 1}
    poll = (("GET", f"{RUN_API}/{LEFTOVER}"), 200, leftover)
    allowed = 60 + CloudRunJobExecutionProvider.START_ALLOWANCE
    polls = int(allowed // CloudRunJobExecutionProvider.POLL_SECONDS) + 1
    cancelled = ended(leftover, "CONDITION_FAILED", executionReason="CANCELLED")
    session = ScriptedSession(
        [
            (LIST, 200, {"executions": [leftover], "nextPageToken": "n/2"}),
            (("GET", f"{LIST[1]}&pageToken=n%2F2"), 200, {}),
            *[poll] * polls,
            (("POST", f"{RUN_API}/{LEFTOVER}:cancel"), 200, {}),
            (("GET", f"{RUN_API}/{LEFTOVER}"), 200, cancelled),
            (START, 200, STARTED),
            (GET, 200, SUCCEEDED),
            (("POST", LOGS), 200, {}),
        ]
    )
    assert execute(session, timeout=60)["exitCode"] == 0
    assert session.done()


def test_a_leftover_that_cannot_be_stopped_fails_rather_than_overlap(clock):
    leftover = {"name": LEFTOVER, "taskCount": 1, "runningCount": 1}
    poll = (("GET", f"{RUN_API}/{LEFTOVER}"), 200, leftover)
    session = ScriptedSession(
        [
            (LIST, 200, {"executions": [leftover]}),
            *[poll] * 61,
            (("POST", f"{RUN_API}/{LEFTOVER}:cancel"), 200, {}),
            *[poll] * 25,
        ]
    )
    with pytest.raises(JobFailed, match="old11 is still running and could not be stopped"):
        execute(session, timeout=0)
    assert session.done(), "the job itself was never started"


def test_a_run_that_failed_but_started_an_execution_adopts_it(clock):
    session = ScriptedSession(
        [
            (LIST, 200, NONE_RUNNING),
            (START, 502, {"error": {"message": "Bad Gateway"}}),
            (LIST, 200, {"executions": [RUNNING]}),
            (GET, 200, SUCCEEDED),
            (("POST", LOGS), 200, {}),
        ]
    )
    assert execute(session)["exitCode"] == 0
    assert session.done(), "one execution: the failed try's, not a second one"


def test_a_rate_limited_run_is_tried_again(clock):
    session = ScriptedSession(
        [
            (LIST, 200, {}),
            (START, 429, {"error": {"message": "Quota exceeded"}}),
            (LIST, 200, {}),
            (START, 200, STARTED),
            (GET, 200, SUCCEEDED),
            (("POST", LOGS), 200, {}),
        ]
    )
    assert execute(session)["exitCode"] == 0
    assert session.done()


def test_an_interrupt_while_waiting_cancels_the_execution(clock):
    session = ScriptedSession(
        [(LIST, 200, {}), (START, 200, STARTED), (GET, 0, KeyboardInterrupt()), (CANCEL, 200, {})]
    )
    with pytest.raises(KeyboardInterrupt):
        execute(session)
    assert session.done()


def test_the_deadline_allows_every_retry_of_the_task(clock):
    """on-failure:2 is three tries of 10 minutes: a run of 32 minutes is not cut short."""
    polls = 32 * 60 // 5
    session = ScriptedSession(
        [
            (LIST, 200, {}),
            (START, 200, STARTED),
            *[(GET, 200, RUNNING)] * polls,
            (GET, 200, SUCCEEDED),
            (("POST", LOGS), 200, {}),
        ]
    )
    assert execute(session, maxRetries=2)["exitCode"] == 0
    assert session.done()
    provider = CloudRunJobExecutionProvider()
    assert provider.allowed({"timeout": 600, "maxRetries": 2}) == 3 * 600 + 300 + 2 * 60


def test_a_timeout_with_retries_names_every_try(clock):
    polls = (3 * 60 + 300 + 2 * 60) // 5 + 1
    session = ScriptedSession(
        [
            (LIST, 200, {}),
            (START, 200, STARTED),
            *[(GET, 200, RUNNING)] * polls,
            (("POST", LOGS), 200, {}),
            (CANCEL, 200, {}),
        ]
    )
    with pytest.raises(JobFailed, match=r"did not finish within 3 tries of its timeout of 1m"):
        execute(session, timeout=60, maxRetries=2)
    assert session.done()


def test_an_api_error_is_transient_only_for_overload_and_lost_connections():
    assert ApiError("x", 503).transient
    assert ApiError("x", 429).transient
    assert ApiError("x", transient=True).transient
    assert not ApiError("x", 404).transient
    assert not ApiError("no credentials").transient
