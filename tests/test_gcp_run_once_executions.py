"""Cloud Run job executions against a scripted HTTP session: the exact requests the real
Admin API client sends, with transient errors, leftover executions, timeouts and interrupts.

The clock is fake (sleeping advances it), so the deadlines are the real ones and nothing waits.
"""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from berth.components.run_once import JobFailed
from berth.errors import BerthError
from berth.offline.run import EXIT_INTERRUPTED, run
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
    """Answers exactly the requests of ``script``, in order; any other request fails the test.
    A body that is a function is called while the request is in flight, and answers what it
    returns (an exception instance is raised)."""

    def __init__(self, script: list[Step]) -> None:
        self.script: Iterator[Step] = iter(script)
        self.sent: list[tuple[str, str]] = []
        self.bodies: list[Any] = []

    def request(self, method: str, url: str, json: Any = None, timeout: float = 0) -> Response:
        self.sent.append((method, url))
        self.bodies.append(json)
        expected, status, body = next(self.script, (("nothing more", ""), 0, None))
        assert (method, url) == expected, f"request {len(self.sent)}: {method} {url}"
        if callable(body):
            body = body()
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


# -- berth run --------------------------------------------------------------------------------

RUN_WITH = {
    "target": "gcp",
    "manual": True,
    "name": "migrate",
    "project": "p",
    "region": "europe-west1",
    "job": JOB,
    "timeout": 600,
    "maxRetries": 0,
    "identity": {"accessToken": "ya29.token"},
}
"""The stack output ``triggered`` holds for a job, as ``berth run`` reads it."""
LOG = ("POST", LOGS)


def entry(key: str, at: str, text: str) -> dict[str, Any]:
    return {"insertId": key, "timestamp": at, "textPayload": text}


class Terminal(io.StringIO):
    """``berth run``'s output: each line with the number of requests sent when it came."""

    def __init__(self, session: ScriptedSession) -> None:
        super().__init__()
        self.session = session
        self.when: dict[str, int] = {}

    def write(self, text: str) -> int:
        if text.strip():
            self.when[text.strip()] = len(self.session.sent)
        return super().write(text)


def berth_run(
    session: ScriptedSession, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...] = ()
) -> tuple[int, Terminal, list[Any]]:
    """``run_job`` against ``session``: its exit code, what it printed, and the identities it
    acted as."""
    identities: list[Any] = []

    def authorized(identity: Any) -> ScriptedSession:
        identities.append(identity)
        return session

    monkeypatch.setattr(run_once_module, "authorized_session", authorized)
    out = Terminal(session)
    return run_once_module.run_job(RUN_WITH, list(args), out), out, identities


def test_berth_run_streams_the_log_while_the_job_runs(clock, monkeypatch):
    session = ScriptedSession(
        [
            (START, 200, STARTED),
            (GET, 200, RUNNING),
            (LOG, 200, {"entries": [entry("a", "t1", "starting")]}),
            (GET, 200, RUNNING),
            (
                LOG,
                200,
                {
                    "entries": [entry("a", "t1", "starting"), entry("b", "t2", "halfway")],
                    "nextPageToken": "p2",
                },
            ),
            (LOG, 200, {"entries": [{"insertId": "c", "jsonPayload": {"message": "structured"}}]}),
            (GET, 200, SUCCEEDED),
            (LOG, 200, {"entries": [entry("d", "t3", "done")]}),
        ]
    )
    code, out, identities = berth_run(session, monkeypatch)

    assert code == 0
    assert out.getvalue() == "starting\nhalfway\nstructured\ndone\n", "each line once, in order"
    assert out.when["starting"] == 3, "printed while the execution still ran"
    assert session.done()
    assert session.bodies[0] == {}, "no arguments: the job's own command"
    queries = [body for sent, body in zip(session.sent, session.bodies, strict=True) if sent == LOG]
    assert "timestamp" not in queries[0]["filter"]
    assert queries[1]["filter"].endswith(' AND timestamp>="t1"'), "from the newest line printed"
    assert queries[2]["pageToken"] == "p2"
    assert {q["orderBy"] for q in queries} == {"timestamp asc"}
    assert identities == [RUN_WITH["identity"]], "as the identity the stack deploys with"


def test_berth_run_exits_with_the_job_s_exit_code_and_passes_its_arguments(clock, monkeypatch):
    failed = ended(
        {**RUNNING, "runningCount": 0, "failedCount": 1},
        "CONDITION_FAILED",
        executionReason="NON_ZERO_EXIT_CODE",
    )
    session = ScriptedSession(
        [
            (START, 200, STARTED),
            (GET, 200, failed),
            (LOG, 200, {"entries": [entry("a", "t1", "relation visits does not exist")]}),
            (
                ("GET", f"{RUN_API}/{EXECUTION}/tasks"),
                200,
                {"tasks": [{"lastAttemptResult": {"exitCode": 3}}]},
            ),
        ]
    )
    code, out, _ = berth_run(session, monkeypatch, ("--dry-run", "visits"))

    assert code == 3
    assert out.getvalue() == "relation visits does not exist\n"
    assert session.bodies[0] == {
        "overrides": {"containerOverrides": [{"args": ["--dry-run", "visits"]}]}
    }, "ARGS replace the job's command, as docker compose run's do"
    assert session.done()


def test_berth_run_says_why_a_run_with_no_exit_code_failed(clock, monkeypatch):
    cancelled = ended(RUNNING, "CONDITION_FAILED", executionReason="CANCELLED")
    session = ScriptedSession(
        [
            (START, 200, STARTED),
            (GET, 200, cancelled),
            (LOG, 200, {}),
            (("GET", f"{RUN_API}/{EXECUTION}/tasks"), 200, {"tasks": [{}]}),
        ]
    )
    code, out, _ = berth_run(session, monkeypatch)

    assert code == 1
    assert out.getvalue() == "berth run: job 'migrate' failed: the execution was cancelled\n"


def test_ctrl_c_during_berth_run_cancels_the_execution(clock, monkeypatch):
    session = ScriptedSession(
        [
            (START, 200, STARTED),
            (GET, 200, RUNNING),
            (LOG, 200, {"entries": [entry("a", "t1", "starting")]}),
            (GET, 0, KeyboardInterrupt()),
            (CANCEL, 200, {}),
        ]
    )
    with pytest.raises(KeyboardInterrupt):
        berth_run(session, monkeypatch)

    assert session.done(), "the execution was cancelled before Ctrl-C went on"


def ctrl_c(answer: Any, times: int = 1) -> Callable[[], Any]:
    """A request body: Ctrl-C pressed ``times`` while the request is in flight, then ``answer``."""

    def pressed() -> Any:
        for _ in range(times):
            os.kill(os.getpid(), signal.SIGINT)
        return answer

    return pressed


def test_ctrl_c_while_berth_run_starts_the_job_cancels_the_execution_it_started(clock, monkeypatch):
    """Interrupted mid-request, the execution would start with no name to cancel it by: the
    interrupt waits for the answer that names it."""
    session = ScriptedSession([(START, 200, ctrl_c(STARTED)), (CANCEL, 200, {})])
    with pytest.raises(KeyboardInterrupt):
        berth_run(session, monkeypatch)

    assert session.done(), "the execution was cancelled before Ctrl-C went on"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "Ctrl-C is as before"


def test_a_second_ctrl_c_while_berth_run_starts_the_job_stops_at_once(clock, monkeypatch):
    session = ScriptedSession([(START, 200, ctrl_c(STARTED, times=2))])
    with pytest.raises(KeyboardInterrupt):
        berth_run(session, monkeypatch)

    assert session.done()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_berth_run_refused_is_one_line_naming_the_job(clock, monkeypatch):
    denied = {"error": {"message": "Permission 'run.jobs.runWithOverrides' denied"}}
    session = ScriptedSession([(START, 403, denied)])
    with pytest.raises(BerthError) as refused:
        berth_run(session, monkeypatch, ("x",))

    assert refused.value.message.startswith("job 'migrate' could not be run: ")
    assert "run.jobs.runWithOverrides" in refused.value.message
    assert "\n" not in refused.value.message
    assert session.done(), "nothing to cancel: nothing started"


def test_berth_run_goes_on_when_the_log_cannot_be_read(clock, monkeypatch):
    denied = {"error": {"message": "Permission 'logging.logEntries.list' denied"}}
    session = ScriptedSession(
        [
            (START, 200, STARTED),
            (GET, 200, RUNNING),
            (LOG, 403, denied),
            (GET, 200, SUCCEEDED),
        ]
    )
    code, out, _ = berth_run(session, monkeypatch)

    assert code == 0
    assert out.getvalue().startswith("berth run: the job's log cannot be read: ")
    assert session.done(), "said once, not asked again"


def test_ctrl_c_stops_berth_run_of_a_gcp_job_with_130(clock, monkeypatch):
    """Through ``berth run`` itself: the stack output names the gcp target, whose ``run_job``
    cancels the execution before the command exits as a shell reports Ctrl-C."""
    session = ScriptedSession(
        [(START, 200, STARTED), (GET, 0, KeyboardInterrupt()), (CANCEL, 200, {})]
    )
    monkeypatch.setattr(run_once_module, "authorized_session", lambda _identity: session)

    code = run("migrate", [], {"triggered": {"migrate": RUN_WITH}}, io.StringIO())

    assert code == EXIT_INTERRUPTED
    assert session.done()
