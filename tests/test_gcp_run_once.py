"""The GCP run-once resource: one Cloud Run job execution per definition, against a scripted
Admin API (no network): success, failure, timeout, and the re-run rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from berth.components.pulumi_internals import UNKNOWN, is_secret
from berth.components.run_once import JobFailed
from berth.providers.gcp.api import ApiError, Backoff, CloudRunApi
from berth.providers.gcp.readiness import VmServiceReadyProvider
from berth.providers.gcp.run_once import CloudRunJobExecutionProvider
from tests.pickling import unpickled_in_project_root
from tests.plans import find, provider_inputs
from tests.test_gcp_program import RUN, gcp

JOB = "projects/p/locations/europe-west1/jobs/shop-dev-migrate"
EXECUTION = f"{JOB}/executions/shop-dev-migrate-x7k2q"
AUTH = "plan-auth-string"
"""The AUTH string the offline plan's Memorystore instances have."""
RUNNING = {"name": EXECUTION, "taskCount": 1, "runningCount": 1}
SUCCEEDED = {
    **RUNNING,
    "runningCount": 0,
    "succeededCount": 1,
    "completionTime": "2026-01-01T00:00:00Z",
    "conditions": [{"type": "Completed", "state": "CONDITION_SUCCEEDED"}],
}
FAILED = {
    **RUNNING,
    "runningCount": 0,
    "failedCount": 1,
    "completionTime": "2026-01-01T00:00:00Z",
    "logUri": "https://console.cloud.google.com/logs/viewer?x",
    "conditions": [
        {"type": "ResourcesAvailable", "state": "CONDITION_SUCCEEDED"},
        {
            "type": "Completed",
            "state": "CONDITION_FAILED",
            "message": "Task shop-dev-migrate-x7k2q-task0 failed with message: The container "
            "exited with an error.",
        },
    ],
}


class FakeApi:
    """Answers like the Admin API would, from a script; records every call."""

    def __init__(
        self,
        states: list[dict[str, Any]],
        *,
        exit_code: int | None = None,
        logs: tuple[str, ...] = (),
        refuse: str | None = None,
    ) -> None:
        self.states = states
        self.code = exit_code
        self.lines = logs
        self.refuse = refuse
        self.calls: list[tuple[str, str]] = []

    backoff = Backoff(retries=0)

    def running(self, job: str) -> list[str]:
        self.calls.append(("running", job))
        return []

    def run(self, job: str) -> str:
        self.calls.append(("run", job))
        if self.refuse:
            raise ApiError(self.refuse)
        return EXECUTION

    def execution(self, name: str, deadline: float | None = None) -> dict[str, Any]:
        self.calls.append(("get", name))
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def cancel(self, name: str) -> None:
        self.calls.append(("cancel", name))

    def exit_code(self, name: str) -> int | None:
        return self.code

    def logs(self, name: str) -> list[str]:
        return list(self.lines)


class Provider(CloudRunJobExecutionProvider):
    """The real provider with the fake API, and no waiting between polls."""

    POLL_SECONDS = 0.0
    START_ALLOWANCE = 0.0

    def __init__(self, api: FakeApi) -> None:
        super().__init__()
        self.fake = api

    def api(self, props: Mapping[str, Any]) -> Any:
        return self.fake


def inputs(**changes: Any) -> dict[str, Any]:
    container = {"image": "europe-west1-docker.pkg.dev/p/r/migrate@sha256:aaa", "args": ["up"]}
    container.update(changes.pop("container", {}))
    return {
        "job": "migrate",
        "jobName": JOB,
        "definition": {"container": container, "volumes": []},
        "runAlways": False,
        "timeout": 600,
        "scrubValues": ["pw-9f8e7d6c"],
        **changes,
    }


def test_a_successful_execution_is_recorded_with_its_log_tail():
    api = FakeApi([RUNNING, RUNNING, SUCCEEDED], logs=("applying schema", "migration applied"))
    outs = Provider(api).create(inputs()).outs

    assert outs["exitCode"] == 0
    assert outs["logTail"] == "applying schema\nmigration applied"
    assert outs["finishedAt"]
    assert api.calls[:2] == [("running", JOB), ("run", JOB)]
    assert ("cancel", EXECUTION) not in api.calls


def test_a_failed_execution_fails_naming_the_job_the_reason_and_the_logs():
    api = FakeApi(
        [RUNNING, FAILED],
        exit_code=3,
        logs=("connecting with password pw-9f8e7d6c", "relation visits does not exist"),
    )
    with pytest.raises(JobFailed) as failure:
        Provider(api).create(inputs())

    message = str(failure.value)
    assert message.startswith("job 'migrate' failed with exit code 3: Task shop-dev-migrate")
    assert "execution shop-dev-migrate-x7k2q" in message
    assert "logs: https://console.cloud.google.com/logs/viewer" in message
    assert "relation visits does not exist" in message
    assert "pw-9f8e7d6c" not in message, "secret values are scrubbed from the excerpt"
    assert "[secret]" in message


def test_a_failed_hook_is_named_as_compose_names_it():
    api = FakeApi([FAILED], exit_code=3, logs=("relation visits does not exist",))
    hook = {"service": "web", "index": 1}
    with pytest.raises(JobFailed) as failure:
        Provider(api).create(inputs(job="web-pre-start-1", hook=hook))

    assert str(failure.value).startswith('service "web" pre_start[1] failed with exit code 3: ')
    assert "relation visits does not exist" in str(failure.value)


def test_an_execution_past_its_timeout_is_cancelled_and_fails():
    api = FakeApi([RUNNING])
    with pytest.raises(JobFailed, match=r"did not finish within its timeout of 0\.01s"):
        Provider(api).create(inputs(timeout=0.01))
    assert ("cancel", EXECUTION) in api.calls


def test_a_job_that_cannot_start_fails_without_an_execution():
    api = FakeApi([RUNNING], refuse="POST .../jobs/x:run: HTTP 403: Permission denied")
    with pytest.raises(JobFailed, match=r"job 'migrate' could not be run: .*HTTP 403"):
        Provider(api).create(inputs())
    assert [call for call, _ in api.calls] == ["running", "run"]


def state(**changes: Any) -> dict[str, Any]:
    """What the engine holds after a successful execution."""
    return Provider(FakeApi([SUCCEEDED])).create(inputs(**changes)).outs or {}


def test_an_unchanged_job_does_not_execute_again():
    diff = Provider(FakeApi([SUCCEEDED])).diff("id", state(), inputs())
    assert diff.changes is False


@pytest.mark.parametrize(
    "container",
    [
        {"image": "europe-west1-docker.pkg.dev/p/r/migrate@sha256:bbb"},
        {"args": ["up", "--seed"]},
        {"envs": [{"name": "DATABASE_URL", "value": "postgres://10.20.0.5/other"}]},
        {"resources": {"limits": {"cpu": "2", "memory": "1024Mi"}}},
        {"image": UNKNOWN},
    ],
)
def test_a_changed_definition_executes_the_job_once_more(container):
    diff = Provider(FakeApi([SUCCEEDED])).diff("id", state(), inputs(container=container))
    assert diff.replaces == ["definition"]


def test_run_always_executes_on_every_deployment():
    diff = Provider(FakeApi([SUCCEEDED])).diff("id", state(runAlways=True), inputs(runAlways=True))
    assert diff.replaces == ["definition"]


def test_a_new_timeout_updates_in_place_without_executing():
    api = FakeApi([SUCCEEDED])
    provider = Provider(api)
    old = state()
    assert not provider.diff("id", old, inputs(timeout=1800)).replaces
    outs = provider.update("id", old, inputs(timeout=1800)).outs
    assert outs["timeout"] == 1800
    assert outs["finishedAt"] == old["finishedAt"]
    assert api.calls == []


def test_a_job_s_log_is_scrubbed_of_the_cache_auth_string_it_receives(write):
    """Issue 10: Memorystore's AUTH string replaces the compose ``REDIS_PASSWORD`` in what the
    job receives, so a job printing its Redis URL (or the password in it) prints the AUTH
    string: it is among the values scrubbed, with the URL as the job has it."""
    write(
        """
        name: shop
        services:
          cache:
            image: redis:7
            x-defang-redis: true
            environment:
              REDIS_PASSWORD: ${REDIS_PASSWORD}
          tick:
            image: acme/worker
            restart: "no"
            environment:
              REDIS_URL: redis://:${REDIS_PASSWORD}@cache:6379/0
            depends_on: [cache]
        """
    )
    plan = gcp(["compose.yaml"], secrets={"REDIS_PASSWORD": "token-0123456789abcdef"})
    raw = find(plan, RUN, "tick-run").raw_inputs["scrubValues"]
    assert is_secret(raw)
    values = provider_inputs(raw)
    assert "token-0123456789abcdef" in values
    assert AUTH in values
    assert any(value.startswith(f"redis://:{AUTH}@") for value in values)

    api = FakeApi([FAILED], logs=(f"connecting to redis://:{AUTH}@10.0.0.3:6379/0", "NOAUTH"))
    with pytest.raises(JobFailed) as failure:
        Provider(api).create(inputs(scrubValues=values))
    assert AUTH not in str(failure.value)
    assert "connecting to redis://:[secret]@10.0.0.3:6379/0" in str(failure.value)


class FakeResponse:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self.body = body
        self.text = str(body)

    def json(self) -> Any:
        return self.body


class FakeSession:
    """An AuthorizedSession stand-in: scripted responses per (method, URL prefix)."""

    def __init__(self, answers: Mapping[tuple[str, str], FakeResponse]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, str, Any]] = []

    def request(self, method: str, url: str, json: Any = None, timeout: float = 0) -> FakeResponse:
        self.requests.append((method, url, json))
        return next(r for (m, u), r in self.answers.items() if m == method and url.startswith(u))


def test_the_admin_api_client_starts_reads_and_cancels_executions():
    run_api = "https://run.googleapis.com/v2"
    session = FakeSession(
        {
            ("POST", f"{run_api}/{JOB}:run"): FakeResponse(200, {"metadata": {"name": EXECUTION}}),
            ("GET", f"{run_api}/{EXECUTION}/tasks"): FakeResponse(
                200, {"tasks": [{"lastAttemptResult": {"exitCode": 3}}]}
            ),
            ("GET", f"{run_api}/{EXECUTION}"): FakeResponse(200, FAILED),
            ("POST", f"{run_api}/{EXECUTION}:cancel"): FakeResponse(200, {}),
            ("POST", "https://logging.googleapis.com/v2/entries:list"): FakeResponse(
                200, {"entries": [{"textPayload": "second"}, {"jsonPayload": {"message": "first"}}]}
            ),
        }
    )
    api = CloudRunApi(session)

    assert api.run(JOB) == EXECUTION
    assert api.execution(EXECUTION)["failedCount"] == 1
    assert api.exit_code(EXECUTION) == 3
    assert api.logs(EXECUTION) == ["first", "second"]
    api.cancel(EXECUTION)
    query = session.requests[3][2]
    assert query["resourceNames"] == ["projects/p"]
    assert 'labels."run.googleapis.com/execution_name"="shop-dev-migrate-x7k2q"' in query["filter"]
    assert session.requests[-1][:2] == ("POST", f"{run_api}/{EXECUTION}:cancel")


def test_an_api_error_carries_the_status_and_google_message():
    session = FakeSession(
        {("POST", "https://run"): FakeResponse(403, {"error": {"message": "Permission denied"}})}
    )
    with pytest.raises(ApiError, match="HTTP 403: Permission denied"):
        CloudRunApi(session).run(JOB)


@pytest.mark.parametrize(
    ("provider", "replaces"),
    [(CloudRunJobExecutionProvider, "definition"), (VmServiceReadyProvider, "instanceId")],
)
def test_the_providers_unpickle_in_a_fresh_interpreter_in_the_project_root(provider, replaces):
    """The engine runs dynamic providers in a separate process started in the project root."""
    printed = unpickled_in_project_root(
        provider(),
        """
        old = {"definition": {"image": "a"}, "instanceId": "1", "want": "running",
               "timeout": 1, "runAlways": False}
        new = {**old, "definition": {"image": "b"}, "instanceId": "2"}
        print(type(provider).__module__, type(provider).__name__,
              provider.diff("id", old, new).replaces, "pulumi_gcp" in sys.modules)
        """,
    )
    assert printed.split() == [
        provider.__module__,
        provider.__name__,
        f"['{replaces}']",
        "False",
    ]
