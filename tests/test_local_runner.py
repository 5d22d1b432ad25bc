"""The local job runner: how it reaches the engine (no engine needed), and real runs against a
Docker engine (skipped, with the reason, without one)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import docker
import pytest
from docker.transport.sshconn import SSHHTTPAdapter

from berth.components.run_once import JobFailed
from berth.providers.local.engine_client import client_arguments, engine_client
from berth.providers.local.run_once import LocalJobProvider
from berth.providers.local.runner import (
    JobSpec,
    forward_lines,
    run_job,
    without_terminal,
)

API = "1.41"
"""A fixed API version: a client built with one does not ask an engine for its version."""
CA, CERT, KEY = (
    f"-----BEGIN {kind}-----\nMIIB{kind[:3]}test\n-----END {kind}-----\n"
    for kind in ("CERTIFICATE", "CERTIFICATE REQUEST", "PRIVATE KEY")
)


def client(engine: dict, tmp_path: Path, environ: dict | None = None) -> docker.DockerClient:
    """The Docker SDK's client for ``engine``, as the runner builds it, without connecting."""
    return docker.DockerClient(**client_arguments(engine, environ or {}, tmp_path), version=API)


def test_with_no_setting_the_runner_reads_the_environment_as_the_provider_does(tmp_path):
    assert client_arguments({}, {}, tmp_path) == {"base_url": "unix:///var/run/docker.sock"}
    environ = {"DOCKER_HOST": "tcp://from-env:2375"}
    assert client_arguments({}, environ, tmp_path) == {"base_url": "tcp://from-env:2375"}
    engine = {"host": "tcp://from-config:2375"}
    assert client_arguments(engine, environ, tmp_path) == {"base_url": "tcp://from-config:2375"}


def test_a_host_is_used_as_it_is(tmp_path):
    api = client({"host": "tcp://10.0.0.9:2375"}, tmp_path).api
    assert api.base_url == "http://10.0.0.9:2375"
    assert api.cert is None


def test_a_cert_path_means_tls_verified_with_its_ca(tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    for name in ("ca", "cert", "key"):
        (certs / f"{name}.pem").write_text(name)
    api = client({"host": "tcp://engine:2376", "certPath": str(certs)}, tmp_path).api
    assert api.base_url == "https://engine:2376"
    assert api.cert == (str(certs / "cert.pem"), str(certs / "key.pem"))
    assert api.verify == str(certs / "ca.pem")
    (certs / "ca.pem").unlink()
    with (
        pytest.raises(JobFailed, match="Docker engine at the docker provider's settings name: "),
        engine_client({"certPath": str(certs)}, {}),
    ):
        pytest.fail("no CA to verify the engine with")


def test_certificate_material_is_written_for_the_client_and_verified_with_its_ca(tmp_path):
    engine = {
        "host": "tcp://engine:2376",
        "caMaterial": CA,
        "certMaterial": CERT,
        "keyMaterial": KEY,
    }
    api = client(engine, tmp_path).api
    assert api.base_url == "https://engine:2376"
    cert, key = api.cert
    assert (Path(cert).read_text(), Path(key).read_text(), Path(api.verify).read_text()) == (
        CERT,
        KEY,
        CA,
    )
    (tmp_path / "other").mkdir()
    without_ca = client({**engine, "caMaterial": ""}, tmp_path / "other").api
    assert without_ca.verify is False, "as the provider: no CA, the engine is not verified"


def test_material_from_the_environment_and_its_mistakes(tmp_path):
    environ = {"DOCKER_CERT_MATERIAL": CERT, "DOCKER_KEY_MATERIAL": KEY}
    assert Path(client({"host": "tcp://e:2376"}, tmp_path, environ).api.cert[1]).read_text() == KEY
    with pytest.raises(JobFailed, match="certMaterial and docker:keyMaterial must be set together"):
        client_arguments({"certMaterial": CERT}, {}, tmp_path)
    with pytest.raises(JobFailed, match="certPath must not be set with docker:certMaterial"):
        client_arguments({"certMaterial": CERT, "keyMaterial": KEY, "certPath": "/c"}, {}, tmp_path)


def test_an_ssh_host_shells_out_to_ssh(tmp_path):
    api = client({"host": "ssh://deploy@engine.internal:2222"}, tmp_path).api
    adapter = api.get_adapter(api.base_url)
    assert isinstance(adapter, SSHHTTPAdapter)
    assert adapter.ssh_host == "deploy@engine.internal:2222"
    assert adapter.ssh_client is None, "the ssh binary (~/.ssh/config, agent), not paramiko"


def test_ssh_options_the_sdk_cannot_pass_are_refused_with_what_to_do(tmp_path):
    for engine, environ in (
        ({"host": "ssh://engine", "sshOpts": ["-i", "/keys/deploy"]}, {}),
        ({"host": "ssh://engine"}, {"DOCKER_SSH_OPTS": "-o StrictHostKeyChecking=no"}),
    ):
        with pytest.raises(JobFailed, match=r"~/.ssh/config for ssh://engine"):
            client_arguments(engine, environ, tmp_path)


def test_a_context_names_the_host(tmp_path, monkeypatch):
    """As the docker CLI stores a context (``docker context create remote --docker ...``)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    meta = tmp_path / ".docker" / "contexts" / "meta" / "b711"
    meta.mkdir(parents=True)
    endpoint = {"Host": "tcp://from-context:2375", "SkipTLSVerify": False}
    (meta / "meta.json").write_text(
        json.dumps({"Name": "remote", "Metadata": {}, "Endpoints": {"docker": endpoint}})
    )
    engine = {"context": "remote", "host": "tcp://overridden:2375"}
    assert client_arguments(engine, {}, tmp_path) == {"base_url": "tcp://from-context:2375"}
    with pytest.raises(JobFailed, match="Docker context 'gone' not found"):
        client_arguments({"context": "gone"}, {}, tmp_path)


def test_an_unreachable_engine_fails_naming_it():
    engine = {"host": "tcp://127.0.0.1:9", "certMaterial": CERT, "keyMaterial": KEY}
    with (
        pytest.raises(JobFailed, match=r"cannot reach the Docker engine at tcp://127.0.0.1:9"),
        engine_client(engine, {}),
    ):
        pytest.fail("no engine listens there")


def test_the_key_material_is_private_and_removed_after_the_run(tmp_path, monkeypatch):
    seen: list[Path] = []
    build = docker.DockerClient

    def recording(**arguments):
        key = Path(arguments["tls"].cert[1])
        seen.append(key)
        assert oct(key.parent.stat().st_mode & 0o777) == "0o700"
        return build(**arguments, version=API)

    monkeypatch.setattr(docker, "DockerClient", recording)
    with engine_client({"host": "tcp://e:2376", "certMaterial": CERT, "keyMaterial": KEY}, {}):
        assert seen[0].read_text() == KEY
    assert not seen[0].exists()


def test_a_new_engine_updates_the_run_without_running_the_job():
    props = {"job": "migrate", "definition": {"image": "sha256:1"}, "engine": {"host": "a"}}
    moved = {**props, "engine": {"host": "ssh://b"}}
    diff = LocalJobProvider().diff("id", props, moved)
    assert diff.changes and not diff.replaces


def test_a_streamed_log_is_handed_on_by_whole_lines_and_scrubbed():
    """Chunks as the engine sends them (stdout and stderr apart, as the SDK's ``demux`` gives
    them): a secret or a character split between two is still found, each stream's lines go
    to their own place, and each stream's last line is handed on without its newline."""
    secret = "hunter2-very-secret"
    chunks = [
        (b"step 1\nconnecting with hunter2-", None),
        (None, b"warning: hunter2-very"),
        (b"very-secret\ncaf\xc3", None),
        (None, b"-secret is old\nfatal"),
        (b"\xa9 done", None),
    ]
    out: list[str] = []
    err: list[str] = []

    forward_lines(chunks, JobSpec("job", "image", "net", secrets=[secret]), out.append, err.append)

    assert out == ["step 1\n", "connecting with [secret]\n", "caf\u00e9 done"]
    assert err == ["warning: [secret] is old\n", "fatal"]


def test_berth_run_runs_an_interactive_job_without_a_terminal_and_says_so():
    """Nothing is attached to a ``berth run`` job's stdin: with a tty or an open stdin, a shell
    would wait on it forever."""
    interactive = JobSpec("shell", "image", "net", label="job 'shell'", container={
        "tty": True, "stdin_open": True, "init": True,
    })  # fmt: skip
    plain = JobSpec("report", "image", "net", container={"tty": False, "stdin_open": None})

    ran, warning = without_terminal(interactive)

    assert ran.container == {"init": True}
    assert warning == (
        "job 'shell' sets tty: true and stdin_open: true, but berth run attaches no terminal "
        "or input: it runs without a tty and with an empty stdin (its output and errors are "
        "still streamed)"
    )
    assert without_terminal(plain) == (plain, "")


@pytest.fixture
def network(docker_client):
    created = docker_client.networks.create(f"berth-test-{uuid.uuid4().hex[:8]}")
    yield created.name
    for container in docker_client.containers.list(all=True, filters={"network": created.name}):
        container.remove(force=True)
    created.remove()


@pytest.fixture
def label() -> dict[str, str]:
    return {"berth.test": uuid.uuid4().hex}


def leftovers(docker_client, label: dict[str, str]) -> list:
    ((key, value),) = label.items()
    return docker_client.containers.list(all=True, filters={"label": f"{key}={value}"})


def spec(image: str, network: str, label: dict[str, str], script: str, **kwargs) -> JobSpec:
    return JobSpec(
        name="job",
        image=image,
        network=network,
        command=["sh", "-c", script],
        labels=label,
        **kwargs,
    )


@pytest.mark.docker
def test_exit_zero_succeeds_and_removes_the_container(docker_client, busybox_image, network, label):
    result = run_job(spec(busybox_image, network, label, "echo migrated 42 rows"), docker_client)

    assert result == {"exitCode": 0, "logTail": "migrated 42 rows"}
    assert leftovers(docker_client, label) == []


@pytest.mark.docker
def test_exit_one_fails_with_the_exit_code_and_the_log_tail(
    docker_client, busybox_image, network, label
):
    script = "for i in $(seq 1 40); do echo line $i; done; echo 'relation users exists' >&2; exit 3"
    with pytest.raises(JobFailed) as failure:
        run_job(spec(busybox_image, network, label, script), docker_client)

    message = str(failure.value)
    assert "job 'job' failed with exit code 3" in message
    assert "relation users exists" in message
    assert "line 40" in message
    assert "line 5\n" not in message, "only the tail of the log is shown"
    assert leftovers(docker_client, label) == []


@pytest.mark.docker
def test_a_job_past_its_timeout_is_killed_removed_and_fails(
    docker_client, busybox_image, network, label
):
    with pytest.raises(JobFailed) as failure:
        run_job(
            spec(busybox_image, network, label, "echo started; sleep 60", timeout=2), docker_client
        )

    message = str(failure.value)
    assert "job 'job' timed out after 2s" in message
    assert "started" in message
    assert leftovers(docker_client, label) == []


@pytest.mark.docker
def test_environment_entrypoint_and_command_reach_the_container(
    docker_client, busybox_image, network, label
):
    job = JobSpec(
        name="job",
        image=busybox_image,
        network=network,
        entrypoint=["sh", "-c"],
        command=['echo "$GREETING from $0"', "release"],
        environment={"GREETING": "hello"},
        labels=label,
    )
    assert run_job(job, docker_client)["logTail"] == "hello from release"


@pytest.mark.docker
def test_a_job_reaches_a_service_by_its_compose_name(docker_client, busybox_image, network, label):
    docker_client.containers.run(
        busybox_image,
        ["sh", "-c", "mkdir -p /www && echo pong > /www/index.html && httpd -f -p 8080 -h /www"],
        detach=True,
        network=network,
        labels=label,
        name=f"api-{label['berth.test'][:8]}",
    )
    docker_client.api.disconnect_container_from_network(f"api-{label['berth.test'][:8]}", network)
    docker_client.api.connect_container_to_network(
        f"api-{label['berth.test'][:8]}", network, aliases=["api"]
    )
    script = "for i in $(seq 1 10); do wget -qO- http://api:8080/ && exit 0; sleep 1; done; exit 1"

    assert run_job(spec(busybox_image, network, label, script), docker_client)["logTail"] == "pong"


@pytest.mark.docker
def test_secret_values_never_reach_the_failure_message(
    docker_client, busybox_image, network, label
):
    job = spec(
        busybox_image,
        network,
        label,
        'echo "connecting with $DB_PASSWORD"; exit 1',
        environment={"DB_PASSWORD": "hunter2-very-secret"},
        secrets=["hunter2-very-secret"],
    )
    with pytest.raises(JobFailed) as failure:
        run_job(job, docker_client)

    assert "hunter2-very-secret" not in str(failure.value)
    assert "connecting with [secret]" in str(failure.value)


@pytest.mark.docker
def test_secrets_and_configs_are_placed_as_files(docker_client, busybox_image, network, label):
    job = spec(
        busybox_image,
        network,
        label,
        "cat /etc/app.conf; echo; test -s /run/secrets/token && echo token-present",
        files=[
            {"path": "/etc/app.conf", "content": "workers=4", "mode": None},
            {"path": "/run/secrets/token", "content": "t0ken", "mode": 0o400},
        ],
    )
    assert run_job(job, docker_client)["logTail"] == "workers=4\ntoken-present"


@pytest.mark.docker
def test_an_image_that_does_not_exist_fails_clearly(docker_client, network, label):
    job = spec("sha256:" + "0" * 64, network, label, "true")
    with pytest.raises(JobFailed, match="job 'job' could not start"):
        run_job(job, docker_client)


@pytest.mark.docker
def test_the_provider_creates_on_success_and_records_nothing_on_failure(
    docker_client, busybox_image, network, label
):
    provider = LocalJobProvider()
    props = {
        "job": "migrate",
        "definition": {
            "image": busybox_image,
            "network": network,
            "command": ["sh", "-c", "echo ok"],
            "environment": {},
        },
        "runAlways": False,
        "timeout": 30,
        "labels": label,
    }
    created = provider.create(props)
    assert created.outs["exitCode"] == 0
    assert created.outs["logTail"] == "ok"
    assert created.outs["durationSeconds"] >= 0
    assert created.id.startswith("migrate-")

    failing = {**props, "definition": {**props["definition"], "command": ["sh", "-c", "exit 2"]}}
    with pytest.raises(JobFailed, match="exit code 2"):
        provider.create(failing)
    assert leftovers(docker_client, label) == []


@pytest.mark.docker
def test_container_settings_reach_the_job(docker_client, busybox_image, network, label):
    job = spec(
        busybox_image,
        network,
        label,
        "ulimit -n; grep -c ' /scratch ' /proc/mounts; grep db.internal /etc/hosts | cut -f1",
        container={
            "ulimits": [{"name": "nofile", "soft": 512, "hard": 1024}],
            "tmpfs": {"/scratch": ""},
            "extra_hosts": {"db.internal": "10.0.0.5"},
            "cap_drop": ["ALL"],
            "log_config": {"type": "json-file", "config": {"max-size": "1m"}},
        },
    )
    assert run_job(job, docker_client)["logTail"].split() == ["512", "1", "10.0.0.5"]


KILLED_RUN = """
import sys
from berth.providers.local.engine_client import engine_client
from berth.providers.local.runner import JobSpec, run_job
image, network, job = sys.argv[1:4]
owner = {"berth.project": "shop", "berth.stack": "dev", "berth.job": job}
with engine_client(None) as client:
    run_job(JobSpec(job, image, network, command=STOPS_ON_SIGTERM, owner=owner), client)
"""
STOPS_ON_SIGTERM = ["sh", "-c", "trap 'exit 143' TERM; while :; do sleep 0.2; done"]
"""A job that exits on the SIGTERM a leftover run gets, as a well-behaved one does: the test
then waits well under the grace period a process ignoring it would get."""


@pytest.mark.docker
def test_a_run_left_by_a_killed_process_is_removed_before_the_next_run(
    docker_client, busybox_image, network
):
    """SIGKILL the process running a job, as when ``pulumi up`` is killed: its container stays,
    labelled, still running; the next run of the same job stops and removes it first."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    job = f"migrate-{uuid.uuid4().hex[:8]}"
    owner = {"berth.project": "shop", "berth.stack": "dev", "berth.job": job}
    mine = {"label": [f"{k}={v}" for k, v in owner.items()]}
    script = f"STOPS_ON_SIGTERM = {STOPS_ON_SIGTERM!r}\n{KILLED_RUN}"
    running = subprocess.Popen(
        [sys.executable, "-c", script, busybox_image, network, job],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 30
    while not docker_client.containers.list(filters=mine) and time.monotonic() < deadline:
        time.sleep(0.2)
    running.send_signal(signal.SIGKILL)
    running.wait(timeout=10)
    (leftover,) = docker_client.containers.list(all=True, filters=mine)
    assert leftover.status == "running"
    other_stack = {**owner, "berth.stack": "prod"}
    bystander = docker_client.containers.run(
        busybox_image, ["sleep", "300"], detach=True, network=network, labels=other_stack
    )

    result = run_job(
        JobSpec(
            name=job, image=busybox_image, network=network, command=["echo", "ok"], owner=owner
        ),
        docker_client,
    )

    assert result["logTail"] == "ok"
    assert docker_client.containers.list(all=True, filters=mine) == []
    bystander.reload()
    assert bystander.status == "running", "another stack's run of the job is not touched"


@pytest.mark.docker
def test_the_local_provider_hides_the_secrets_it_is_given(
    docker_client, busybox_image, network, label
):
    """The provider's own run (not only the shared create around it) scrubs its log tail and
    failure message of the ``scrubValues`` it receives."""
    provider = LocalJobProvider()
    props = {
        "job": "migrate",
        "definition": {
            "image": busybox_image,
            "network": network,
            "command": ["sh", "-c", 'echo "token=$API_TOKEN"; exit "$CODE"'],
            "environment": {"API_TOKEN": "tok-9f8e7d6c", "CODE": "0"},
        },
        "timeout": 30,
        "labels": label,
        "scrubValues": ["tok-9f8e7d6c"],
    }
    assert provider.run(props)["logTail"] == "token=[secret]"

    props["definition"]["environment"]["CODE"] = "1"
    with pytest.raises(JobFailed) as failure:
        provider.run(props)
    assert "token=[secret]" in str(failure.value)
    assert "tok-9f8e7d6c" not in str(failure.value)


@pytest.mark.docker
def test_the_job_runs_on_the_engine_its_input_names_not_the_environments(
    docker_client, busybox_image, network, label, monkeypatch
):
    """``docker:host`` given explicitly as the local socket, DOCKER_HOST pointing nowhere: the
    job runs where the provider's setting says (it used to follow the environment)."""
    socket = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not socket.startswith("unix://"):
        pytest.skip(f"the test engine is not on a local socket ({socket})")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    props = {
        "job": "migrate",
        "definition": {"image": busybox_image, "network": network, "command": ["echo", "here"]},
        "timeout": 30,
        "labels": label,
        "engine": {"host": socket},
    }
    assert LocalJobProvider().run(props)["logTail"] == "here"
    assert leftovers(docker_client, label) == []


@pytest.mark.docker
def test_a_failing_hook_is_named_as_compose_names_it_with_its_scrubbed_log_tail(
    docker_client, busybox_image, network, label
):
    """A ``pre_start`` hook's run, with the inputs the program gives it (the engine hands a
    number to the provider as a float)."""
    props = {
        "job": "shop-dev-web-pre-start-0",
        "definition": {
            "image": busybox_image,
            "network": network,
            "command": ["sh", "-c", 'echo "migrating with $TOKEN"; exit 4'],
            "environment": {"TOKEN": "tok-5e6f7a8b"},
            "serviceDefinition": "ab" * 32,
        },
        "hook": {"service": "web", "index": 0.0},
        "runAlways": False,
        "timeout": 30,
        "labels": label,
        "scrubValues": ["tok-5e6f7a8b"],
    }
    with pytest.raises(JobFailed) as failure:
        LocalJobProvider().create(props)

    assert str(failure.value) == (
        'service "web" pre_start[0] failed with exit code 4. Last log lines:\n'
        "migrating with [secret]"
    )
    assert leftovers(docker_client, label) == []
