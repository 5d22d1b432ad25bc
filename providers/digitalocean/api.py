"""The few DigitalOcean API calls Berth's own resources make: App Platform's apps and deployments.

Used in the engine's dynamic provider process (``deployed``, ``secrets``), as the account of the
program's digitalocean provider. Its settings reach them as one secret input, ``access``: an
explicit provider's ``token`` and ``api_endpoint``, else the stack's ``digitalocean:token`` and
``digitalocean:apiEndpoint``; what neither sets is read here, from the environment the engine
starts the provider process with, as terraform-provider-digitalocean reads it
(``digitalocean/provider.go``: ``token`` from DIGITALOCEAN_TOKEN, then
DIGITALOCEAN_ACCESS_TOKEN; ``api_endpoint`` from DIGITALOCEAN_API_URL), so a token held in an
environment variable never reaches the state.

Field names are godo's (``apps.gen.go``: ``App``, ``Deployment``, ``DeploymentProgressStep``),
the Go client generated from DigitalOcean's OpenAPI description of the API.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

ACCESS = "access"
"""The dynamic providers' input holding the provider's token and endpoint (a secret). A new
token alone changes none of their resources: they act as the newest, and ``delete`` calls
nothing."""
DEFAULT_ENDPOINT = "https://api.digitalocean.com"
TOKEN_VARIABLES = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")
ENDPOINT_VARIABLE = "DIGITALOCEAN_API_URL"
TRANSIENT = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses worth another try: rate limits (429), overload and passing outages."""
NOT_FOUND = 404
PAGE = 100


class ApiError(Exception):
    """A request that did not succeed; ``status`` is its HTTP status, 0 when none came back;
    ``transient`` when trying again later may succeed. The message never quotes the token."""

    def __init__(self, message: str, status: int = 0, *, transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient or status in TRANSIENT


def settings(
    given: Mapping[str, Any] | None, environ: Mapping[str, str] = os.environ
) -> tuple[str, str]:
    """The token and API endpoint: ``given`` (the ``access`` input), else the environment."""
    found = given or {}
    token = found.get("token") or next((environ[n] for n in TOKEN_VARIABLES if environ.get(n)), "")
    endpoint = found.get("apiEndpoint") or environ.get(ENDPOINT_VARIABLE) or DEFAULT_ENDPOINT
    return str(token), str(endpoint).rstrip("/")


def session(token: str) -> requests.Session:
    """A ``requests`` session that authenticates as ``token``."""
    made = requests.Session()
    made.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return made


class AppsApi:
    """JSON over a ``requests`` session; errors as ApiError with DigitalOcean's message.

    Reads are tried again on transient failures (``retries`` times, or until a deadline);
    creating a deployment is tried once, as a failed try may still have made one.
    """

    RETRIES = 5
    FIRST_DELAY = 1.0
    MAX_DELAY = 30.0

    def __init__(self, http: Any, endpoint: str = DEFAULT_ENDPOINT) -> None:
        self.http = http
        self.endpoint = endpoint.rstrip("/")

    @classmethod
    def acting_as(cls, given: Mapping[str, Any] | None) -> AppsApi:
        """The API as the provider's account (``given``: the ``access`` input)."""
        token, endpoint = settings(given)
        if not token:
            raise ApiError(
                "no DigitalOcean token: set it with `pulumi config set --secret "
                "digitalocean:token ...`, or DIGITALOCEAN_TOKEN where `pulumi` runs"
            )
        return cls(session(token), endpoint)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        retry: bool = True,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        delays = self._delays(deadline) if retry else iter(())
        while True:
            try:
                return self._once(method, path, body)
            except ApiError as error:
                delay = next(delays, None) if error.transient else None
                if delay is None:
                    raise
            time.sleep(delay)

    def _delays(self, deadline: float | None) -> Iterator[float]:
        """1, 2, 4, 8, 16 s; with ``deadline`` (a ``time.monotonic()`` value), as many as end by
        then, the last one cut short."""
        delay, tries = self.FIRST_DELAY, 0
        while deadline is not None or tries < self.RETRIES:
            if deadline is not None:
                delay = min(delay, deadline - time.monotonic())
                if delay <= 0:
                    return
            yield delay
            tries += 1
            delay = min(delay * 2, self.MAX_DELAY)

    def _once(self, method: str, path: str, body: Any) -> dict[str, Any]:
        url = path if path.startswith("https://") else f"{self.endpoint}{path}"
        try:
            response = self.http.request(method, url, json=body, timeout=60)
        except requests.RequestException as error:
            raise ApiError(f"{method} {url}: {type(error).__name__}", transient=True) from None
        if response.status_code >= 400:
            try:
                message = response.json()["message"]
            except (ValueError, KeyError, TypeError):
                message = str(response.text)[:300]
            raise ApiError(
                f"{method} {url}: HTTP {response.status_code}: {message}", response.status_code
            )
        return response.json() or {}

    def find_app(self, name: str) -> dict[str, Any] | None:
        """The account's app whose spec is named ``name`` (unique in an account: godo
        ``AppSpec.Name``), or None."""
        page = 1
        while True:
            answer = self.call("GET", f"/v2/apps?page={page}&per_page={PAGE}")
            apps = answer.get("apps") or []
            for app in apps:
                if (app.get("spec") or {}).get("name") == name:
                    return dict(app)
            if not ((answer.get("links") or {}).get("pages") or {}).get("next"):
                return None
            page += 1

    def app(self, app_id: str, deadline: float | None = None) -> dict[str, Any]:
        return dict(self.call("GET", f"/v2/apps/{quote(app_id)}", deadline=deadline)["app"])

    def deployment(
        self, app_id: str, deployment_id: str, deadline: float | None = None
    ) -> dict[str, Any]:
        path = f"/v2/apps/{quote(app_id)}/deployments/{quote(deployment_id)}"
        return dict(self.call("GET", path, deadline=deadline)["deployment"])

    def deploy(self, app_id: str) -> dict[str, Any]:
        """A new deployment of the app's current spec (its images are not built again)."""
        path = f"/v2/apps/{quote(app_id)}/deployments"
        answer = self.call("POST", path, {"force_build": False}, retry=False)
        return dict(answer["deployment"])
