"""The local target's language models: the Docker Model Runner client against a fake runner
(a small HTTP server in a thread that answers as docker/model-runner's routes do), where the
runner is and how containers reach it, the refusal of an engine without one (the real engine
here, when there is one), and the program's plan of the three forms under the mock engine."""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from berth.errors import BerthError
from berth.offline.plan import Plan, plan_config, run_plan
from berth.providers.local import models as local_models
from berth.providers.local import plan_outputs
from berth.providers.local.model_runner import (
    DESKTOP_ENDPOINT,
    ModelSettings,
    NoRunner,
    Runner,
    RunnerApi,
    RunnerError,
    container_endpoint,
    host_url,
    is_this_machine,
    locate,
)
from berth.providers.local.models import SERVED, LocalModelProvider
from berth.providers.local.run_once import LocalJobProvider
from tests.conftest import program
from tests.plans import find, provider_inputs
from tests.secrets_check import assert_never_plain, count_wrapped

MODEL = "pulumi-python:dynamic/berth:LocalModel"
EVERY = "0.0.0.0"  # noqa: S104 - an address a runner is published on, read, never bound
CONTAINER = "docker:index/container:Container"
JOB = "pulumi-python:dynamic/berth:LocalJob"

# -- a fake runner ---------------------------------------------------------------------------


@dataclass
class FakeRunner:
    """What the fake runner holds and was asked: pulled models, each model's configuration,
    and every request (method, path, JSON body)."""

    prefix: str = ""
    pulled: set[str] = field(default_factory=set)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    lists_configs: bool = True
    """False: a runner older than ``GET /engines/_configure``."""
    url: str = ""

    def restart(self) -> None:
        """A restarted runner: its models stay pulled, their configurations are gone."""
        self.configs.clear()

    def asked(self, method: str) -> list[tuple[str, Any]]:
        return [(path, body) for m, path, body in self.requests if m == method]


def _handler(runner: FakeRunner) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any = None, *, lines: list[Any] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            if lines is not None:
                self.wfile.write(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
            elif body is not None:
                self.wfile.write(
                    body.encode() if isinstance(body, str) else json.dumps(body).encode()
                )

        def _route(self, method: str) -> None:  # noqa: PLR0911 - one answer per route
            parts = urlsplit(self.path)
            if not parts.path.startswith(runner.prefix):
                return self._answer(404, "404 page not found")
            path = parts.path.removeprefix(runner.prefix)
            size = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(size)) if size else None
            runner.requests.append((method, path, body))
            if (method, path) == ("GET", "/models"):
                return self._answer(200, [{"tags": [name]} for name in sorted(runner.pulled)])
            if method == "GET" and path.startswith("/models/"):
                name = path.removeprefix("/models/")
                return self._answer(200 if name in runner.pulled else 404, {"id": name})
            if (method, path) == ("POST", "/models/create"):
                name = body["from"]
                if name == "ai/unknown":
                    return self._answer(404, "Model not found")
                progress = {"type": "progress", "message": "Downloaded 1 MB", "total": 2}
                if name == "ai/broken":
                    return self._answer(
                        200, lines=[progress, {"type": "error", "message": "disk full"}]
                    )
                runner.pulled.add(name)
                return self._answer(200, lines=[progress, {"type": "success", "message": "ok"}])
            if (method, path) == ("POST", "/engines/_configure"):
                if body["model"] not in runner.pulled:
                    return self._answer(500, "model not found")
                runner.configs[body["model"]] = {k: v for k, v in body.items() if k != "model"}
                return self._answer(202)
            if (method, path) == ("GET", "/engines/_configure") and runner.lists_configs:
                model = parse_qs(parts.query)["model"][0]
                entries = [
                    {"Backend": "llama.cpp", "Model": name, "Mode": "completion", "Config": config}
                    for name, config in runner.configs.items()
                    if name == model
                ]
                return self._answer(200, entries)
            return self._answer(405 if path.startswith("/engines") else 404, "not here")

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler


@pytest.fixture
def fake() -> Iterator[FakeRunner]:
    """A fake runner on a free loopback port, answering at its root (Docker Engine's form)."""
    yield from _serving(FakeRunner())


@pytest.fixture
def desktop() -> Iterator[FakeRunner]:
    """A fake Docker Desktop engine API: the runner under ``/exp/vDD4.40``."""
    yield from _serving(FakeRunner(prefix="/exp/vDD4.40"))


def _serving(runner: FakeRunner) -> Iterator[FakeRunner]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(runner))
    runner.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield runner
    finally:
        server.shutdown()
        server.server_close()


def _api(runner: FakeRunner) -> RunnerApi:
    return RunnerApi(requests.Session(), runner.url)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the client ------------------------------------------------------------------------------


def test_a_missing_model_is_pulled_then_configured_with_its_context_size_and_flags(fake):
    api = _api(fake)
    settings = ModelSettings(context_size=8192, runtime_flags=("--temp", "0.2"))

    assert api.running()
    assert not api.has("ai/smollm2")
    api.pull("ai/smollm2")
    api.configure("ai/smollm2", settings)

    assert api.has("ai/smollm2")
    assert fake.asked("POST") == [
        ("/models/create", {"from": "ai/smollm2"}),
        (
            "/engines/_configure",
            {"model": "ai/smollm2", "context-size": 8192, "runtime-flags": ["--temp", "0.2"]},
        ),
    ]
    assert api.configured("ai/smollm2", settings) is True
    assert api.configured("ai/smollm2", ModelSettings(context_size=4096)) is False


def test_a_model_with_no_settings_is_configured_with_its_name_alone(fake):
    """As ``docker model configure MODEL``: Compose configures every model (which loads it)."""
    api = _api(fake)
    api.pull("ai/smollm2")
    api.configure("ai/smollm2", ModelSettings())

    assert fake.asked("POST")[-1] == ("/engines/_configure", {"model": "ai/smollm2"})
    assert api.configured("ai/smollm2", ModelSettings()) is True
    fake.restart()
    assert api.configured("ai/smollm2", ModelSettings()) is False


def test_a_runner_that_cannot_list_configurations_is_taken_to_hold_them(fake):
    fake.lists_configs = False
    assert _api(fake).configured("ai/smollm2", ModelSettings()) is None


def test_a_failed_pull_says_what_the_runner_said(fake):
    api = _api(fake)
    with pytest.raises(RunnerError, match=r"could not pull ai/broken: disk full$"):
        api.pull("ai/broken")
    with pytest.raises(RunnerError, match=r"could not pull ai/unknown: 404 Not Found"):
        api.pull("ai/unknown")
    with pytest.raises(RunnerError, match=r"refused to configure ai/broken: 500"):
        api.configure("ai/broken", ModelSettings())


def test_a_runner_that_does_not_answer_is_not_running():
    api = RunnerApi(requests.Session(), f"http://127.0.0.1:{_closed_port()}")
    assert not api.running()
    with pytest.raises(RunnerError, match="does not answer: ConnectionError"):
        api.has("ai/smollm2")


# -- where the runner is, and how containers reach it ----------------------------------------


@dataclass
class FakeContainer:
    ports: dict[str, Any]


@dataclass
class FakeContainers:
    found: list[FakeContainer]
    filters: list[Any] = field(default_factory=list)

    def list(self, filters: Any) -> list[FakeContainer]:
        self.filters.append(filters)
        return self.found


class FakeEngine:
    """What ``locate`` asks of a Docker SDK client: ``info``, the runner's container, and the
    engine's API session (Docker Desktop's runner answers on it)."""

    def __init__(self, system: str, api_url: str, containers: list[FakeContainer]) -> None:
        self.system = system
        self.api = requests.Session()
        self.api.base_url = api_url  # type: ignore[attr-defined]
        self.containers = FakeContainers(containers)

    def info(self) -> dict[str, Any]:
        return {"OperatingSystem": self.system, "ServerVersion": "28.3.0"}


def _runner_container(*bindings: tuple[str, int]) -> FakeContainer:
    return FakeContainer(
        {"12434/tcp": [{"HostIp": ip, "HostPort": str(port)} for ip, port in bindings]}
    )


def test_docker_desktop_serves_the_runner_on_its_engine_api(desktop):
    engine = FakeEngine("Docker Desktop", desktop.url, [])
    runner = locate(engine, "unix:///var/run/docker.sock")

    assert (runner.kind, runner.endpoint, runner.extra_hosts) == (
        "Docker Desktop",
        "http://model-runner.docker.internal/engines/v1/",
        {},
    )
    runner.api.pull("ai/smollm2")
    assert desktop.asked("POST") == [("/models/create", {"from": "ai/smollm2"})]


def test_docker_desktop_with_the_runner_off_is_refused_saying_how_to_turn_it_on(fake):
    engine = FakeEngine("Docker Desktop", fake.url, [])  # nothing under /exp/vDD4.40
    with pytest.raises(NoRunner) as refused:
        locate(engine, "unix:///Users/me/.docker/run/docker.sock")
    assert str(refused.value) == (
        "Docker Desktop at unix:///Users/me/.docker/run/docker.sock has Docker Model Runner "
        "turned off: turn it on (Settings > AI, or `docker desktop enable model-runner`), or "
        "deploy to a cloud target"
    )


def test_docker_engine_runs_the_runner_as_a_container_reached_at_the_bridge_gateway(fake):
    port = int(fake.url.rsplit(":", 1)[1])
    engine = FakeEngine("Ubuntu 24.04 LTS", "http://unused", [
        _runner_container(("127.0.0.1", port), ("172.17.0.1", port)),
    ])  # fmt: skip
    runner = locate(engine, "unix:///var/run/docker.sock")

    assert engine.containers.filters == [
        {"label": ["com.docker.desktop.service", "com.docker.model-runner.role=controller"]}
    ]
    assert (runner.kind, runner.api.base) == ("Docker Engine", fake.url)
    assert runner.endpoint == f"http://172.17.0.1:{port}/engines/v1/"
    assert runner.extra_hosts == {}


@pytest.mark.parametrize(
    ("bindings", "endpoint", "extra_hosts"),
    [
        # the standard install: loopback for the CLI, the bridge's gateway for containers
        ([("127.0.0.1", 12434), ("172.17.0.1", 12434)], "http://172.17.0.1:12434", {}),
        # rootless: loopback only; installed with --host 0.0.0.0: every address
        ([("127.0.0.1", 12434)], "http://host.docker.internal:12434", {
            "host.docker.internal": "host-gateway"
        }),
        ([(EVERY, 12500)], "http://host.docker.internal:12500", {
            "host.docker.internal": "host-gateway"
        }),
        ([("::1", 12434), ("fd00::1", 12434)], "http://[fd00::1]:12434", {}),
    ],
)  # fmt: skip
def test_the_endpoint_containers_get_is_the_one_docker_model_status_reports(
    bindings, endpoint, extra_hosts
):
    assert container_endpoint(bindings) == (f"{endpoint}/engines/v1/", extra_hosts)


@pytest.mark.parametrize(
    ("bindings", "host", "url"),
    [
        ([("127.0.0.1", 12434), ("172.17.0.1", 12434)], "unix:///var/run/docker.sock",
         "http://127.0.0.1:12434"),
        ([(EVERY, 12500)], "tcp://localhost:2375", "http://127.0.0.1:12500"),
        ([("172.17.0.1", 12434)], "unix:///var/run/docker.sock", "http://172.17.0.1:12434"),
        ([("127.0.0.1", 12434), ("172.17.0.1", 12434)], "ssh://me@box", "http://box:12434"),
        ([(EVERY, 12500)], "tcp://10.0.0.9:2376", "http://10.0.0.9:12500"),
    ],
)  # fmt: skip
def test_this_machine_calls_the_runner_where_the_docker_model_cli_does(bindings, host, url):
    assert host_url(bindings, host) == url


def test_an_engine_is_this_machines_when_reached_on_a_socket_or_loopback():
    local = [
        "unix:///var/run/docker.sock",
        "npipe:////./pipe/docker_engine",
        "tcp://127.0.0.1:2375",
    ]
    remote = ["ssh://me@box", "tcp://10.0.0.9:2376", "tcp://engine.example:2376"]
    assert all(is_this_machine(host) for host in [*local, "tcp://localhost:2375"])
    assert not any(is_this_machine(host) for host in remote)


def test_a_remote_engines_runner_that_listens_only_there_is_refused_saying_what_to_do():
    engine = FakeEngine("Ubuntu 24.04 LTS", "http://unused", [
        _runner_container(("127.0.0.1", 12434), ("172.17.0.1", 12434)),
    ])  # fmt: skip
    with pytest.raises(NoRunner) as refused:
        locate(engine, "ssh://me@box.invalid")
    assert str(refused.value) == (
        "Docker Model Runner of the Docker engine at ssh://me@box.invalid listens on "
        "127.0.0.1:12434, 172.17.0.1:12434 there, which this machine cannot reach at "
        "http://box.invalid:12434: reinstall it listening on the network there "
        "(`docker model reinstall-runner --host 0.0.0.0`), or deploy to a cloud target"
    )


# -- the resource ----------------------------------------------------------------------------

PROPS: dict[str, Any] = {
    "label": "model 'llm'",
    "model": "ai/smollm2",
    "contextSize": 4096.0,
    "runtimeFlags": ["--temp", "0.2"],
}


@pytest.fixture
def served_by(fake, monkeypatch) -> FakeRunner:
    """The provider's runner is the fake one, as a Docker Engine runner reached from
    containers at the bridge gateway."""
    runner = Runner("Docker Engine", _api(fake), "http://172.17.0.1:12434/engines/v1/", {})

    def runner_of(_props: Any) -> Any:
        class Found:
            def __enter__(self) -> Runner:
                return runner

            def __exit__(self, *_exc: object) -> None:
                return None

        return Found()

    monkeypatch.setattr(local_models, "runner_of", runner_of)
    return fake


def test_up_pulls_and_configures_the_model_and_a_second_up_changes_nothing(served_by):
    provider = LocalModelProvider()
    checked = provider.check({}, dict(PROPS)).inputs
    assert checked["onRunner"] == {"pulled": False, "configured": False}
    assert checked["endpoint"] == "http://172.17.0.1:12434/engines/v1/"

    outputs = provider.create(checked).outs
    assert outputs["onRunner"] == SERVED
    assert served_by.configs == {
        "ai/smollm2": {"context-size": 4096, "runtime-flags": ["--temp", "0.2"]}
    }

    again = provider.check(checked, dict(PROPS)).inputs
    assert not provider.diff("ai/smollm2", outputs, again).changes
    asked = len(served_by.asked("POST"))
    provider.delete("ai/smollm2", outputs)
    assert served_by.pulled == {"ai/smollm2"}, "the pulled model stays, as images do"
    assert len(served_by.asked("POST")) == asked


def test_a_restarted_runner_has_the_model_configured_again_without_a_pull(served_by):
    provider = LocalModelProvider()
    outputs = provider.create(provider.check({}, dict(PROPS)).inputs).outs
    served_by.restart()

    again = provider.check({}, dict(PROPS)).inputs
    diff = provider.diff("ai/smollm2", outputs, again)
    assert diff.changes and not diff.replaces
    provider.update("ai/smollm2", outputs, again)
    assert [path for path, _ in served_by.asked("POST")] == [
        "/models/create", "/engines/_configure", "/engines/_configure",
    ]  # fmt: skip


def test_a_runner_that_cannot_tell_its_configurations_is_not_configured_at_every_up(served_by):
    served_by.lists_configs = False
    provider = LocalModelProvider()
    outputs = provider.create(provider.check({}, dict(PROPS)).inputs).outs

    again = provider.check({}, dict(PROPS)).inputs
    assert not provider.diff("ai/smollm2", outputs, again).changes


def test_a_new_context_size_configures_the_model_again_in_place(served_by):
    provider = LocalModelProvider()
    outputs = provider.create(provider.check({}, dict(PROPS)).inputs).outs
    bigger = provider.check({}, {**PROPS, "contextSize": 8192.0}).inputs

    diff = provider.diff("ai/smollm2", outputs, bigger)
    assert diff.changes and not diff.replaces
    provider.update("ai/smollm2", outputs, bigger)
    assert served_by.configs["ai/smollm2"]["context-size"] == 8192


# -- the real engine -------------------------------------------------------------------------


def test_an_engine_without_a_model_runner_is_refused_at_preview_in_one_line(docker_client):
    """The engine here (a Docker Engine with no runner installed) is a real case of it."""
    if docker_client.containers.list(filters={"label": "com.docker.model-runner.role"}):
        pytest.skip("this engine runs Docker Model Runner: no refusal to see")
    version = docker_client.version()["Version"]
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

    result = LocalModelProvider().check({}, dict(PROPS))

    assert [(failure.property, failure.reason) for failure in result.failures] == [(
        "model",
        f"model 'llm': the Docker engine at {host} (Docker Engine "
        f"{version}) runs no Docker Model Runner: install it there with `docker model "
        "install-runner` (on Docker Desktop, turn Docker Model Runner on), or deploy to a "
        "cloud target",
    )]  # fmt: skip


def test_an_engine_that_cannot_be_reached_is_refused_naming_it():
    engine = {"host": f"tcp://127.0.0.1:{_closed_port()}"}
    result = LocalModelProvider().check({}, {**PROPS, "engine": engine})
    (failure,) = result.failures
    assert failure.reason.startswith(
        f"model 'llm': cannot reach the Docker engine at {engine['host']}"
    )


@pytest.fixture
def runner_container(docker_client, busybox_image) -> Iterator[int]:
    """A container labelled as the runner's, published on loopback and on the default
    bridge's gateway as ``docker model install-runner`` publishes it, serving static answers
    to the runner's status calls (busybox httpd): its port."""
    gateway = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]["Gateway"]
    port = _closed_port()
    script = (
        "mkdir -p /www/models/ai /www/engines/v1 && echo '[]' > /www/models/index.html && "
        "echo '{}' > /www/models/ai/smollm2 && echo '{\"data\": []}' > /www/engines/v1/models && "
        'echo \'[{"Config": {"context-size": 4096, "runtime-flags": ["--temp", "0.2"]}}]\' '
        "> /www/engines/_configure && exec httpd -f -p 12434 -h /www"
    )
    container = docker_client.containers.run(
        busybox_image,
        ["sh", "-c", script],
        name=f"berth-test-model-runner-{uuid.uuid4().hex[:8]}",
        labels={"com.docker.desktop.service": "model-runner",
                "com.docker.model-runner.role": "controller"},
        ports={"12434/tcp": [("127.0.0.1", port), (gateway, port)]},
        detach=True,
    )  # fmt: skip
    try:
        yield port
    finally:
        container.remove(force=True)


def test_a_runner_container_on_the_engine_is_found_and_reached_by_containers_at_its_endpoint(
    docker_client, busybox_image, runner_container
):
    """The Docker Engine rule end to end on the real engine: the check finds the runner's
    container, calls it on loopback, and gives the endpoint at the bridge gateway, which a
    container on another network (a project's) reaches."""
    import time

    for _ in range(50):  # httpd starting
        if RunnerApi(requests.Session(), f"http://127.0.0.1:{runner_container}").running():
            break
        time.sleep(0.1)
    checked = LocalModelProvider().check({}, dict(PROPS))
    assert not checked.failures, checked.failures
    gateway = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]["Gateway"]
    endpoint = f"http://{gateway}:{runner_container}/engines/v1/"
    assert checked.inputs["endpoint"] == endpoint
    assert checked.inputs["onRunner"] == SERVED

    network = docker_client.networks.create(f"berth-test-models-{uuid.uuid4().hex[:8]}")
    try:
        request = f"GET /engines/v1/models HTTP/1.0\r\nHost: {gateway}\r\n\r\n"
        output = docker_client.containers.run(
            busybox_image,
            ["sh", "-c", f'printf "{request}" | nc -w 5 {gateway} {runner_container}'],
            network=network.name,
            remove=True,
        )
    finally:
        network.remove()
    assert b'{"data": []}' in output


# -- the plan --------------------------------------------------------------------------------

THREE_FORMS = """
name: shop
services:
  chat:
    image: ghcr.io/open-webui/open-webui:0.6.18
    environment:
      OPENAI_API_KEY: ${{OPENAI_API_KEY}}
      OPENAI_API_BASE_URL: http://overridden
    models:
      llm:
        endpoint_var: OPENAI_API_BASE_URL
        model_var: DEFAULT_MODELS
  worker:
    image: python:3.12-alpine
    models: [llm, embedding]
  index:
    image: python:3.12-alpine
    restart: "no"
    environment: {{BATCH: "{batch}"}}
    models: [embedding]
  summary:
    image: python:3.12-alpine
    depends_on: [assistant]
  gateway:
    image: litellm/litellm:v1.92.0
    x-defang-llm: true
  assistant:
    provider:
      type: model
      options:
        model: chat-default
models:
  llm:
    model: ai/llama3.3
    context_size: {context_size}
    runtime_flags: ["--temp", "0.2"]
  embedding:
    model: ai/mxbai-embed-large
"""
SECRET = "sk-test-0a1b2c3d4e5f"


def _plan(write: Any, context_size: int = 8192, batch: str = "1") -> Plan:
    write(THREE_FORMS.format(context_size=context_size, batch=batch))
    return program(["compose.yaml"], secrets={"OPENAI_API_KEY": SECRET})


def _env(plan: Plan, service: str) -> list[str]:
    """A container's environment entries, sorted (``[secret]`` for one that holds a secret)."""
    return sorted(find(plan, CONTAINER, service).inputs["envs"])


def test_each_form_gives_its_users_the_variables_and_they_wait_on_the_model(project_dir, write):
    plan = _plan(write)
    endpoint = DESKTOP_ENDPOINT
    llm, embedding, assistant = (
        find(plan, MODEL, f"{m}-model") for m in ("llm", "embedding", "assistant")
    )

    assert provider_inputs(llm.raw_inputs) == {
        "label": "model 'llm'", "model": "ai/llama3.3", "contextSize": 8192,
        "runtimeFlags": ["--temp", "0.2"],
    }, "what check finds on the runner is no input of the program"  # fmt: skip
    assert assistant.inputs["model"] == "ai/llama3.2", "chat-default, as the runner serves it"
    assert _env(plan, "chat") == [
        "DEFAULT_MODELS=ai/llama3.3", f"OPENAI_API_BASE_URL={endpoint}", "[secret]",
    ], "the endpoint replaces the service's own OPENAI_API_BASE_URL, as Compose's does"  # fmt: skip
    assert _env(plan, "worker") == [
        "EMBEDDING_MODEL=ai/mxbai-embed-large", f"EMBEDDING_URL={endpoint}",
        "LLM_MODEL=ai/llama3.3", f"LLM_URL={endpoint}",
    ]  # fmt: skip
    assert _env(plan, "summary") == ["ASSISTANT_MODEL=ai/llama3.2", f"ASSISTANT_URL={endpoint}"]
    job = find(plan, JOB, "index-run")
    assert job.inputs["definition"]["environment"] == {
        "BATCH": "1", "EMBEDDING_URL": endpoint, "EMBEDDING_MODEL": "ai/mxbai-embed-large",
    }  # fmt: skip

    waits = {name: set(find(plan, kind, name).dependencies) for kind, name in (
        (CONTAINER, "chat"), (CONTAINER, "worker"), (CONTAINER, "summary"), (JOB, "index-run"),
    )}  # fmt: skip
    assert llm.urn in waits["chat"] and assistant.urn not in waits["chat"]
    assert {llm.urn, embedding.urn} <= waits["worker"]
    assert assistant.urn in waits["summary"]
    assert embedding.urn in waits["index-run"]
    assert not any(model.urn in find(plan, CONTAINER, "gateway").dependencies
                   for model in (llm, embedding, assistant))  # fmt: skip
    assert not [r for r in plan.registrations if r.name.endswith("-assistant") and r.custom], (
        "a provider service deploys no container"
    )


def test_x_defang_llm_is_warned_about_and_the_container_runs_as_written(project_dir, write):
    plan = _plan(write)
    assert any("field 'x-defang-llm' is ignored on local" in w for w in plan.warnings)
    assert "hosts" not in find(plan, CONTAINER, "gateway").inputs


def test_an_api_key_set_as_a_secret_is_never_plain_text(project_dir, write):
    plan = _plan(write)
    assert_never_plain(plan, SECRET)
    assert count_wrapped(plan, SECRET) == 1


def test_the_endpoints_host_entry_reaches_services_and_jobs(project_dir, write):
    """A Docker Engine runner reached at ``host.docker.internal`` needs the entry that maps
    it; a user's own ``extra_hosts`` stay."""
    write(
        """
        services:
          web:
            image: nginx
            extra_hosts: ["db.internal=10.0.0.5"]
            models: [llm]
          once:
            image: busybox
            restart: "no"
            models: [llm]
        models:
          llm:
            model: ai/smollm2
        """
    )

    def outputs(type_: str, inputs: Any) -> dict[str, Any]:
        if type_ == MODEL:
            return {"endpoint": "http://host.docker.internal:12434/engines/v1/",
                    "extraHosts": {"host.docker.internal": "host-gateway"}}  # fmt: skip
        return plan_outputs(type_, inputs)

    config, secret_keys = plan_config(["compose.yaml"], target="local")
    plan = run_plan(config, secret_keys, preview=False, outputs=outputs)

    assert find(plan, CONTAINER, "web").inputs["hosts"] == [
        {"host": "db.internal", "ip": "10.0.0.5"},
        {"host": "host.docker.internal", "ip": "host-gateway"},
    ]
    definition = find(plan, JOB, "once-run").inputs["definition"]
    assert definition["container"]["extra_hosts"] == {"host.docker.internal": "host-gateway"}


def test_a_second_up_changes_no_input(project_dir, write):
    first, second = _plan(write), _plan(write)
    assert {r.urn: r.raw_inputs for r in first.registrations} == {
        r.urn: r.raw_inputs for r in second.registrations
    }
    job = LocalJobProvider()
    before, after = (provider_inputs(find(p, JOB, "index-run").raw_inputs) for p in (first, second))
    assert not job.diff("id", before, after).changes


def test_a_new_context_size_changes_only_the_model(project_dir, write):
    before = {r.urn: r.raw_inputs for r in _plan(write).registrations}
    after = {r.urn: r.raw_inputs for r in _plan(write, context_size=16384).registrations}

    changed = [urn for urn in after if after[urn] != before[urn]]
    assert [urn.rsplit("::", 1)[1] for urn in changed] == ["shop-llm-model"]
    diff = LocalModelProvider().diff(
        "ai/llama3.3", provider_inputs(before[changed[0]]), provider_inputs(after[changed[0]])
    )
    assert diff.changes and not diff.replaces


def test_a_changed_variable_of_a_job_that_uses_a_model_runs_only_that_job(project_dir, write):
    before = {r.urn: r for r in _plan(write).registrations}
    after = {r.urn: r for r in _plan(write, batch="2").registrations}

    changed = [urn for urn in after if after[urn].raw_inputs != before[urn].raw_inputs]
    assert [urn.rsplit("::", 1)[1] for urn in changed] == ["shop-index-run"]
    old, new = (provider_inputs(plan[changed[0]].raw_inputs) for plan in (before, after))
    assert LocalJobProvider().diff("id", old, new).replaces == ["definition"]


def test_two_models_the_runner_serves_as_one_with_other_settings_are_refused(project_dir, write):
    """Docker Model Runner holds one configuration per model: the two would undo each other
    on every ``up``. The same settings share it."""
    text = """
        name: twins
        services:
          a: {image: app, models: [small, tuned]}
        models:
          small: {model: ai/smollm2}
          tuned: {model: ai/smollm2%s}
        """
    write(text % ", context_size: 4096")

    with pytest.raises(BerthError) as refused:
        program(["compose.yaml"])

    assert refused.value.message == (
        "compose.yaml: model 'tuned', field 'model': it serves 'ai/smollm2' as model 'small' "
        "does, with other context_size or runtime_flags, and Docker Model Runner holds one "
        "configuration per model. give both the same settings, or use model 'small' for both."
    )
    write(text % "")
    names = {r.name for r in program(["compose.yaml"]).registrations}
    assert {"twins-small-model", "twins-tuned-model"} <= names
