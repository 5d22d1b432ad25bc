"""The few Google Cloud REST calls Berth's own resources make, over an authorized session.

Used by the dynamic providers (``run_once``, ``readiness``) in the engine's provider process,
as the identity the gcp provider of ``pulumi up`` uses (``berth.providers.gcp.identity``).
Nothing is imported from Google's SDK until a call is made.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from berth.providers.gcp.identity import IdentityError, credentials

RUN_API = "https://run.googleapis.com/v2"
LOGGING_API = "https://logging.googleapis.com/v2/entries:list"
COMPUTE_API = "https://compute.googleapis.com/compute/v1"
LOG_LINES = 30
LOG_PAGE = 1000
"""Entries a page of ``entries:list`` holds while a log is followed (the API's most)."""
NOT_FOUND = 404
TRANSIENT = frozenset({408, 429, 500, 502, 503, 504})
COMPLETED = "Completed"
"""The type of the condition that says how an execution ended (``Execution.conditions``)."""
SUCCEEDED, FAILED = "CONDITION_SUCCEEDED", "CONDITION_FAILED"
"""The terminal states of a condition; ``CONDITION_PENDING`` and ``CONDITION_RECONCILING`` are
not."""
"""Statuses worth another try: Google's APIs answer them for overload and passing outages."""


class ApiError(Exception):
    """A request that did not succeed; ``status`` is its HTTP status, 0 when none came back;
    ``transient`` when trying again later may succeed (an overload, a lost connection)."""

    def __init__(self, message: str, status: int = 0, *, transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient or status in TRANSIENT


@dataclass(frozen=True)
class Backoff:
    """Exponential waits between tries of a request: 1, 2, 4, 8, 16 s by default."""

    retries: int = 5
    first: float = 1.0
    cap: float = 30.0

    def delays(self, deadline: float | None = None) -> Iterator[float]:
        """``retries`` waits; with ``deadline`` (a ``time.monotonic()`` value), as many as end
        by then instead, the last one cut short to end at it."""
        delay = self.first
        for attempt in itertools.count():
            if deadline is None and attempt >= self.retries:
                return
            if deadline is not None:
                delay = min(delay, deadline - time.monotonic())
                if delay <= 0:
                    return
            yield delay
            delay = min(delay * 2, self.cap)


def authorized_session(identity: Mapping[str, Any] | None = None) -> Any:
    """A ``requests`` session acting as the gcp provider's identity
    (``berth.providers.gcp.identity``)."""
    from google.auth.transport.requests import AuthorizedSession  # noqa: PLC0415

    try:
        return AuthorizedSession(credentials(identity))
    except IdentityError as error:
        raise ApiError(f"no usable Google Cloud credentials: {error}") from None


class GoogleApi:
    """JSON over an authorized ``requests`` session; errors as ApiError with Google's message.

    Transient failures are tried again with ``backoff``, per call rather than with urllib3's
    ``Retry`` on the session: starting an execution is not idempotent, so its caller retries
    it only after checking that the failed try started nothing (``retry=False``).
    """

    def __init__(self, session: Any, backoff: Backoff | None = None) -> None:
        self.session = session
        self.backoff = backoff or Backoff()

    def call(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        retry: bool = True,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """``retry``: transient failures are tried again, ``backoff.retries`` times, or until
        ``deadline`` (a ``time.monotonic()`` value) when given."""
        delays = self.backoff.delays(deadline) if retry else iter(())
        while True:
            try:
                return self._once(method, url, body)
            except ApiError as error:
                delay = next(delays, None) if error.transient else None
                if delay is None:
                    raise
            time.sleep(delay)

    def _once(self, method: str, url: str, body: Any) -> dict[str, Any]:
        try:
            response = self.session.request(method, url, json=body, timeout=60)
        except requests.RequestException as error:
            raise ApiError(f"{method} {url}: {error}", transient=True) from None
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:300]
            raise ApiError(
                f"{method} {url}: HTTP {response.status_code}: {message}", response.status_code
            )
        return response.json() or {}


class CloudRunApi(GoogleApi):
    """What one job execution needs from the Cloud Run Admin API and Cloud Logging."""

    def run(self, job: str, overrides: Mapping[str, Any] | None = None) -> str:
        """Start an execution of ``job`` (``projects/P/locations/L/jobs/J``), with
        ``overrides`` (``RunJobRequest.overrides``: ``berth run``'s arguments) if any; its
        name. Tried once: a failure may still have started one (see ``running``)."""
        body = {"overrides": dict(overrides)} if overrides else {}
        operation = self.call("POST", f"{RUN_API}/{job}:run", body, retry=False)
        return str(operation["metadata"]["name"])

    def running(self, job: str) -> list[str]:
        """The executions of ``job`` that have not finished yet, whoever started them."""
        names: list[str] = []
        token = ""
        while True:
            page = self.call("GET", f"{RUN_API}/{job}/executions?pageSize=100{token}")
            names += [
                str(e["name"])
                for e in page.get("executions") or ()
                if not completed(e) and not e.get("deleteTime")
            ]
            if not page.get("nextPageToken"):
                return names
            token = f"&pageToken={quote(str(page['nextPageToken']), safe='')}"

    def execution(self, name: str, deadline: float | None = None) -> dict[str, Any]:
        """The execution ``name``; reading it is idempotent, so with ``deadline`` a transient
        failure is tried again until then (an outage of the API is not one of the job)."""
        return self.call("GET", f"{RUN_API}/{name}", deadline=deadline)

    def cancel(self, name: str) -> None:
        self.call("POST", f"{RUN_API}/{name}:cancel", {})

    def exit_code(self, name: str) -> int | None:
        """The exit code of the execution's (only) task's last attempt, when it has one."""
        tasks = self.call("GET", f"{RUN_API}/{name}/tasks").get("tasks") or []
        code = ((tasks[0].get("lastAttemptResult") or {}) if tasks else {}).get("exitCode")
        return int(code) if code is not None else None

    def logs(self, execution: str) -> list[str]:
        """The execution's last log lines, oldest first (Cloud Logging may lag a little)."""
        page = self._entries(execution, orderBy="timestamp desc", pageSize=LOG_LINES)
        lines = [log_line(entry) for entry in page.get("entries") or ()]
        return [line for line in reversed(lines) if line]

    def log_page(self, execution: str, since: str | None, token: str | None) -> dict[str, Any]:
        """One page of the execution's log entries, oldest first, from the timestamp ``since``
        on (inclusive), the next page after ``token``: the page holds ``nextPageToken``
        while more entries follow."""
        paging = {"pageToken": token} if token else {}
        return self._entries(execution, since, orderBy="timestamp asc", pageSize=LOG_PAGE, **paging)

    def _entries(self, execution: str, since: str | None = None, **paging: Any) -> dict[str, Any]:
        """Cloud Logging's ``entries:list`` of what the execution's task wrote."""
        project = execution.split("/")[1]
        query = {
            "resourceNames": [f"projects/{project}"],
            "filter": 'resource.type="cloud_run_job" AND '
            f'labels."run.googleapis.com/execution_name"="{execution.rsplit("/", 1)[-1]}"'
            + (f' AND timestamp>="{since}"' if since else ""),
            **paging,
        }
        return self.call("POST", LOGGING_API, query)


def log_line(entry: Mapping[str, Any]) -> str:
    """What a log entry says: its text, or a structured entry's ``message``."""
    return str(entry.get("textPayload") or (entry.get("jsonPayload") or {}).get("message") or "")


class ComputeApi(GoogleApi):
    """The guest attribute a VM's boot script writes about its container."""

    def container_state(self, instance: str) -> str | None:
        """``berth/state`` of ``instance`` (``projects/P/zones/Z/instances/N``); None before the
        VM wrote it."""
        url = f"{COMPUTE_API}/{instance}/getGuestAttributes?variableKey=berth/state"
        try:
            answer = self.call("GET", url)
        except ApiError as error:
            if error.status == NOT_FOUND:  # the VM has not written it yet
                return None
            raise
        return answer.get("variableValue") or None


def completed(state: Mapping[str, Any]) -> Mapping[str, Any]:
    """The execution's ``Completed`` condition once terminal (succeeded or failed); empty
    while it is pending or reconciling, whatever ``completionTime`` says."""
    return next(
        (
            condition
            for condition in state.get("conditions") or ()
            if condition.get("type") == COMPLETED and condition.get("state") in (SUCCEEDED, FAILED)
        ),
        {},
    )
