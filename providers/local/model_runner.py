"""Docker Model Runner (DMR) of a Docker engine, through its REST API: what ``docker compose
up`` has the ``docker model`` CLI plugin do for a project's ``models`` (Compose's
``pkg/compose/model.go``), without the plugin.

Where the runner answers is the plugin's rule (docker/model-runner, ``cmd/cli/desktop/
context.go`` ``DetectContext``, and ``docker model status --json``, whose ``endpoint`` Compose
gives the containers):

- Docker Desktop serves it on the engine's own API under ``/exp/vDD4.40``; containers reach it
  at ``http://model-runner.docker.internal/``.
- On Docker Engine it is a container (``docker-model-runner``, labelled
  ``com.docker.model-runner.role=controller``) publishing port 12434 on the loopback address,
  where the plugin calls it, and on the default bridge's gateway, where containers reach it;
  when it publishes on no gateway address, at ``host.docker.internal`` (mapped to the
  engine's ``host-gateway``).

The endpoint containers get is ``/engines/v1/`` under that address: the OpenAI-compatible path
every runner serves (newer ones also alias it as ``/v1/``, which the plugin now reports).
Kept free of Pulumi, so it is tested against a fake runner and a real engine directly;
``requests`` only where the runner is called: a plan never imports it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    import requests

EXPERIMENTAL_PREFIX = "/exp/vDD4.40"
"""Docker Desktop's prefix of the runner's routes on the engine's socket
(``inference.ExperimentalEndpointsPrefix``)."""
CONTROLLER_LABELS = ("com.docker.desktop.service", "com.docker.model-runner.role=controller")
"""The label filters that find the runner's container (``standalone.FindControllerContainer``)."""
MOBY_PORT = 12434
"""The port the runner's container listens on (``standalone.DefaultControllerPortMoby``)."""
OPENAI_PATH = "/engines/v1/"
DESKTOP_ENDPOINT = f"http://model-runner.docker.internal{OPENAI_PATH}"
HOST_GATEWAY = ("host.docker.internal", "host-gateway")
"""The extra host that maps ``host.docker.internal`` to the engine's host in a container."""
CLOUD_INSTEAD = "or deploy to a cloud target"
TIMEOUT = 10.0
"""Seconds a status call may take; a pull reads its progress for as long as it flows."""
PULL_READ_TIMEOUT = 600.0


class RunnerError(Exception):
    """The runner refused a call, or is not there: the message says which, in one line."""


class Session(Protocol):
    """What calls the runner: a ``requests.Session``, or the Docker SDK's API client (one too)
    for Docker Desktop's runner on the engine's socket."""

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response: ...


@dataclass(frozen=True)
class ModelSettings:
    """How the runner is to serve a model: ``docker model configure``'s arguments."""

    context_size: int | None = None
    runtime_flags: tuple[str, ...] = ()

    def request(self, model: str) -> dict[str, Any]:
        """The body of ``POST /engines/_configure`` (``scheduling.ConfigureRequest``)."""
        body: dict[str, Any] = {"model": model}
        if self.context_size:
            body["context-size"] = self.context_size
        if self.runtime_flags:
            body["runtime-flags"] = list(self.runtime_flags)
        return body

    def held_by(self, config: Mapping[str, Any]) -> bool:
        """Whether a configuration the runner reports (``inference.BackendConfiguration``)
        is this one."""
        return (config.get("context-size") or None) == self.context_size and tuple(
            config.get("runtime-flags") or ()
        ) == self.runtime_flags


class RunnerApi:
    """The runner's REST API at ``base`` (``http://127.0.0.1:12434``, or the engine's API
    and Desktop's prefix), as ``docker model`` calls it (``cmd/cli/desktop/desktop.go``)."""

    def __init__(self, session: Session, base: str) -> None:
        self.session = session
        self.base = base.rstrip("/")

    def running(self) -> bool:
        """Whether it answers (``Client.Status``: ``GET /models``)."""
        try:
            return self._call("GET", "/models").status_code == 200
        except RunnerError:
            return False

    def has(self, model: str) -> bool:
        """Whether ``model`` is pulled (``docker model inspect``)."""
        answer = self._call("GET", f"/models/{quote(model, safe='/:@')}")
        if answer.status_code in (200, 404):
            return answer.status_code == 200
        raise RunnerError(f"Docker Model Runner could not look {model} up: {_said(answer)}")

    def pull(self, model: str) -> None:
        """``docker model pull``: ``POST /models/create``, whose answer streams progress, one
        JSON object a line, until ``success`` or ``error``."""
        answer = self._call(
            "POST", "/models/create", json={"from": model}, stream=True, read=PULL_READ_TIMEOUT
        )
        with contextlib.closing(answer):
            if answer.status_code != 200:
                raise RunnerError(f"Docker Model Runner could not pull {model}: {_said(answer)}")
            for message in _messages(answer.iter_lines()):
                if message.get("type") == "error":
                    raise RunnerError(
                        f"Docker Model Runner could not pull {model}: {message.get('message')}"
                    )

    def configure(self, model: str, settings: ModelSettings) -> None:
        """``docker model configure [--context-size N] MODEL [-- FLAGS]``, which Compose runs
        for every model at each ``up``: ``POST /engines/_configure``, accepted with 202 (the
        runner then loads the model)."""
        answer = self._call("POST", "/engines/_configure", json=settings.request(model))
        if answer.status_code != 202:
            raise RunnerError(f"Docker Model Runner refused to configure {model}: {_said(answer)}")

    def configured(self, model: str, settings: ModelSettings) -> bool | None:
        """Whether the runner holds ``settings`` for ``model`` (it forgets them when it
        restarts); None when it cannot tell (a runner older than ``GET /engines/_configure``)."""
        answer = self._call("GET", "/engines/_configure", params={"model": model})
        if answer.status_code != 200:
            return None
        try:
            entries = answer.json()
        except ValueError:
            return None
        if not isinstance(entries, list):
            return None
        return any(
            settings.held_by(entry.get("Config") or {})
            for entry in entries
            if isinstance(entry, dict)
        )

    def _call(
        self, method: str, path: str, *, read: float = TIMEOUT, **kwargs: Any
    ) -> requests.Response:
        """``read``: seconds to wait for each part of the answer."""
        import requests  # noqa: PLC0415

        try:
            return self.session.request(
                method, f"{self.base}{path}", timeout=(TIMEOUT, read), **kwargs
            )
        except requests.RequestException as error:
            raise RunnerError(
                f"Docker Model Runner at {self.base} does not answer: {type(error).__name__}"
            ) from None


@dataclass(frozen=True)
class Runner:
    """An engine's runner: how to call it, and how the project's containers reach it."""

    kind: str
    """``Docker Desktop`` or ``Docker Engine`` (``docker model status``'s names)."""
    api: RunnerApi
    endpoint: str
    """The OpenAI-compatible base URL containers are given (``<NAME>_URL``)."""
    extra_hosts: dict[str, str]
    """Host entries the containers need for ``endpoint`` to resolve."""


class NoRunner(Exception):
    """The engine has no runner this machine can use: the message says what to do, one line."""


class Engine(Protocol):
    """What ``locate`` asks of a ``docker.DockerClient``."""

    api: Any
    containers: Any

    def info(self) -> dict[str, Any]: ...


def locate(client: Engine, host: str) -> Runner:
    """The runner of the engine ``client`` talks to, at ``host`` (its address): Docker
    Desktop's own when it answers, else the runner's container; NoRunner otherwise."""
    info = client.info()
    desktop = info.get("OperatingSystem") == "Docker Desktop"
    if desktop:
        api = RunnerApi(client.api, f"{client.api.base_url}{EXPERIMENTAL_PREFIX}")
        if api.running():
            return Runner("Docker Desktop", api, DESKTOP_ENDPOINT, {})
    found = client.containers.list(filters={"label": list(CONTROLLER_LABELS)})
    if not found:
        if desktop:
            raise NoRunner(
                f"Docker Desktop at {host} has Docker Model Runner turned off: turn it on "
                f"(Settings > AI, or `docker desktop enable model-runner`), {CLOUD_INSTEAD}"
            )
        raise NoRunner(
            f"the Docker engine at {host} (Docker Engine {info.get('ServerVersion', '?')}) "
            "runs no Docker Model Runner: install it there with `docker model install-runner` "
            f"(on Docker Desktop, turn Docker Model Runner on), {CLOUD_INSTEAD}"
        )
    import requests  # noqa: PLC0415

    bindings = published(found[0].ports)
    api = RunnerApi(requests.Session(), host_url(bindings, host))
    if not api.running():
        where = ", ".join(f"{ip}:{port}" for ip, port in bindings) or "no published port"
        hint = (
            "reinstall it listening on the network there (`docker model reinstall-runner "
            "--host 0.0.0.0`)"
            if not is_this_machine(host)
            else "check that it runs (`docker model status`)"
        )
        raise NoRunner(
            f"Docker Model Runner of the Docker engine at {host} listens on {where} there, "
            f"which this machine cannot reach at {api.base}: {hint}, {CLOUD_INSTEAD}"
        )
    endpoint, extra_hosts = container_endpoint(bindings)
    return Runner("Docker Engine", api, endpoint, extra_hosts)


def published(ports: Mapping[str, Sequence[Mapping[str, str]] | None]) -> list[tuple[str, int]]:
    """The runner container's published addresses of its port (``container.ports``)."""
    return [
        (binding.get("HostIp") or "0.0.0.0", int(binding["HostPort"]))  # noqa: S104 - a reading
        for bindings in ports.values()
        for binding in bindings or ()
        if binding.get("HostPort")
    ]


def container_endpoint(bindings: Sequence[tuple[str, int]]) -> tuple[str, dict[str, str]]:
    """How containers reach the runner's container, as ``docker model status`` tells Compose:
    the address it publishes on other than loopback (the bridge's gateway), else
    ``host.docker.internal``, with the host entry that makes it resolve on Docker Engine."""
    outside = [(ip, port) for ip, port in bindings if not _address(ip).is_loopback]
    loopback = [(ip, port) for ip, port in bindings if _address(ip).is_loopback]
    ip, port = (outside or loopback or [("0.0.0.0", MOBY_PORT)])[0]  # noqa: S104 - a reading
    address = _address(ip)
    if outside and not address.is_unspecified:
        return f"http://{_url_host(str(address))}:{port}{OPENAI_PATH}", {}
    return f"http://{HOST_GATEWAY[0]}:{port}{OPENAI_PATH}", dict([HOST_GATEWAY])


def host_url(bindings: Sequence[tuple[str, int]], host: str) -> str:
    """Where this machine calls the runner's container: on the engine's machine, at its
    loopback address (the plugin's ``http://localhost:12434``); on another machine (``ssh://``,
    ``tcp://``), at that machine's name, which only a runner published on every address
    answers."""
    nearest = sorted(bindings, key=lambda b: (not _address(b[0]).is_loopback, b))
    every = [port for ip, port in bindings if _address(ip).is_unspecified]
    if is_this_machine(host):
        ip, port = (nearest or [("127.0.0.1", MOBY_PORT)])[0]
        address = _address(ip)
        if address.is_loopback or address.is_unspecified:
            return f"http://127.0.0.1:{port}"
        return f"http://{_url_host(str(address))}:{port}"
    port = (every or [port for _, port in nearest] or [MOBY_PORT])[0]
    return f"http://{_url_host(urlsplit(host).hostname or host)}:{port}"


def is_this_machine(host: str) -> bool:
    """Whether the engine at ``host`` runs on this machine: a socket, or a loopback name."""
    parts = urlsplit(host)
    if parts.scheme in ("unix", "npipe", "fd", ""):
        return True
    name = parts.hostname or ""
    return name == "localhost" or (_is_ip(name) and _address(name).is_loopback)


def _url_host(name: str) -> str:
    """``name`` as a URL's host: an IPv6 address in brackets."""
    return f"[{name}]" if ":" in name else name


def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(ip.strip("[]"))


def _is_ip(name: str) -> bool:
    try:
        _address(name)
    except ValueError:
        return False
    return True


def _messages(lines: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    """The JSON objects of a progress stream (other lines skipped, as the plugin does)."""
    for line in lines:
        with contextlib.suppress(ValueError):
            message = json.loads(line)
            if isinstance(message, dict):
                yield message


def _said(answer: requests.Response) -> str:
    """The runner's answer in one line: its status and what it said."""
    text = " ".join(answer.text.split())[:300]
    return f"{answer.status_code} {answer.reason or ''}".strip() + (f": {text}" if text else "")
