"""The local job runner against a real Docker engine (skipped, with the reason, without one)."""

from __future__ import annotations

import uuid

import pytest

from components.run_once import JobFailed
from providers.local.run_once import LocalJobProvider
from providers.local.runner import JobSpec, run_job

pytestmark = pytest.mark.docker


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


def test_exit_zero_succeeds_and_removes_the_container(docker_client, busybox_image, network, label):
    result = run_job(spec(busybox_image, network, label, "echo migrated 42 rows"), docker_client)

    assert result == {"exitCode": 0, "logTail": "migrated 42 rows"}
    assert leftovers(docker_client, label) == []


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


def test_an_image_that_does_not_exist_fails_clearly(docker_client, network, label):
    job = spec("sha256:" + "0" * 64, network, label, "true")
    with pytest.raises(JobFailed, match="job 'job' could not start"):
        run_job(job, docker_client)


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
from providers.local.runner import JobSpec, run_job
image, network, job = sys.argv[1:4]
owner = {"berth.project": "shop", "berth.stack": "dev", "berth.job": job}
run_job(JobSpec(name=job, image=image, network=network, command=["sleep", "300"], owner=owner))
"""


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
    running = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, busybox_image, network, job],
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
