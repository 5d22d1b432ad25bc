"""``python -m berth run`` on the local target, end to end against a real Docker engine
(skipped, with the reason, without one): the job's ``run_with`` is the one the program
deploys for a compose file's ``jobs:`` entry (planned under the mock engine), read from an
``--outputs`` file as ``pulumi stack output --json --show-secrets`` writes it."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, program
from tests.plans import project_outputs, provider_inputs

TOKEN = "tok-0a1b2c3d"
JOBS = """
name: {name}
jobs:
  report:
    image: busybox
    command: ["sh", "-c", "echo started; sleep 60"]
    environment:
      TOKEN: ${{TOKEN}}
    stop_grace_period: 1s
    triggers:
      manual: true
  never:
    image: busybox
    triggers:
      manual: false
  shell:
    image: busybox
    command: ["sh"]
    tty: true
    stdin_open: true
    triggers:
      manual: true
"""


def deployed_jobs(write: Any, name: str) -> dict[str, Any]:
    """The stack output ``triggered`` the program makes for ``JOBS``, as `pulumi stack output
    --show-secrets` shows it."""
    write(JOBS.format(name=name))
    with project_outputs(name) as registered:
        program(["compose.yaml"], secrets={"TOKEN": TOKEN})
    return provider_inputs(registered["triggered"])


@pytest.fixture
def berth_run() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Starts ``python -m berth run JOB --outputs FILE [-- ARGS]`` from the project root, as a
    user runs it: Ctrl-C reaches it as at a terminal (a SIGINT the test runner ignores is not
    ignored), and its output is buffered as Python buffers a pipe's (``berth run JOB | tee
    log``), so only flushing streams it. Whatever still runs at the end is killed."""
    started: list[subprocess.Popen[str]] = []
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}

    def start(outputs: Path, job: str, *args: str) -> subprocess.Popen[str]:
        started.append(
            subprocess.Popen(
                [sys.executable, "-m", "berth", "run", job, "--outputs", str(outputs), *args],
                cwd=ROOT,
                env=environ,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
            )
        )
        return started[-1]

    yield start
    for running in started:
        if running.poll() is None:
            running.kill()
            running.wait()


@pytest.fixture
def name() -> str:
    return f"berth-run-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def outputs(write, name, project_dir) -> Path:
    """The outputs file, of a stack deployed without an engine: jobs as the program makes them."""
    file = project_dir / "outputs.json"
    file.write_text(json.dumps({"triggered": deployed_jobs(write, name)}))
    return file


@pytest.fixture
def deployed(docker_client, busybox_image, outputs) -> Iterator[Path]:
    """``outputs`` made real on the engine: the network the stack would have, and the job's
    image the test's busybox (the plan's image id is a fingerprint)."""
    stack = json.loads(outputs.read_text())
    for run_with in stack["triggered"].values():
        run_with["definition"]["image"] = docker_client.images.get(busybox_image).id
    outputs.write_text(json.dumps(stack))
    network = docker_client.networks.create(stack["triggered"]["report"]["definition"]["network"])
    yield outputs
    for leftover in runs_of(docker_client, stack["triggered"]["report"]["owner"]["berth.project"]):
        leftover.remove(force=True)  # a failed test's: the test itself says there is none
    network.remove()


def runs_of(docker_client, name: str) -> list:
    return docker_client.containers.list(all=True, filters={"label": f"berth.project={name}"})


@pytest.mark.docker
def test_local_berth_run_streams_the_log_and_exits_with_the_jobs_code(
    docker_client, deployed, name, berth_run
):
    script = 'echo hi; echo "token $TOKEN"; exit 3'
    running = berth_run(deployed, "report", "--", "sh", "-c", script)
    stdout, stderr = running.communicate(timeout=30)

    assert running.returncode == 3, stderr
    assert stdout == "hi\ntoken [secret]\n", "ARGS replaced the command; the secret is scrubbed"
    assert runs_of(docker_client, name) == []


@pytest.mark.docker
def test_local_berth_run_streams_the_jobs_stderr_to_its_own_stderr(
    docker_client, deployed, berth_run
):
    running = berth_run(deployed, "report", "--", "sh", "-c", "echo out; echo err $TOKEN >&2")
    stdout, stderr = running.communicate(timeout=30)

    assert running.returncode == 0, stderr
    assert (stdout, stderr) == ("out\n", "err [secret]\n")


@pytest.mark.docker
def test_local_berth_run_of_a_tty_job_ends_without_a_terminal_and_warns_once(
    docker_client, deployed, name, berth_run
):
    """``sh`` with a tty and an open stdin waited forever for input no one sends: it now
    reads an empty stdin and ends (the review's hang: tty: true, stdin_open: true)."""
    running = berth_run(deployed, "shell")
    try:
        stdout, stderr = running.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("berth run of a tty job did not end: it waits on a stdin no one writes to")

    assert running.returncode == 0, stderr
    (warning,) = stderr.splitlines()
    assert warning.startswith("warning: job 'shell' sets tty: true and stdin_open: true, "), warning
    assert stdout == ""
    assert runs_of(docker_client, name) == []


def first_line(running: subprocess.Popen[str], within: float = 30) -> str:
    """The first line ``running`` prints, or a failure once ``within`` seconds passed (it is
    then killed: a log that is not streamed must not hang the test)."""
    assert running.stdout is not None
    with concurrent.futures.ThreadPoolExecutor(1) as reader:
        line = reader.submit(running.stdout.readline)
        try:
            return line.result(timeout=within)
        except TimeoutError:
            running.kill()
            pytest.fail(f"no line within {within}s: the log is not streamed")


def interrupted(running: subprocess.Popen[str]) -> float:
    """Ctrl-C to ``running``; the seconds it took to exit."""
    started = time.monotonic()
    running.send_signal(signal.SIGINT)
    running.wait(timeout=30)
    return time.monotonic() - started


@pytest.mark.docker
def test_local_berth_run_ctrl_c_stops_the_job_and_leaves_no_container(
    docker_client, deployed, name, berth_run
):
    running = berth_run(deployed, "report")  # sleep 60, in a shell that ignores SIGTERM
    assert first_line(running) == "started\n", "the log streams while the job runs"
    (container,) = runs_of(docker_client, name)
    assert container.status == "running"

    took = interrupted(running)

    assert running.returncode == 130
    assert took < 8, "killed once its stop_grace_period (1s) ran out, not Docker's 10s"
    assert "job 'report' stopped" in running.stderr.read()
    assert runs_of(docker_client, name) == []


@pytest.mark.docker
def test_local_berth_run_ctrl_c_gives_the_job_its_stop_signal_first(
    docker_client, deployed, name, tmp_path, berth_run
):
    """Stopped, not killed: a job that cleans up on SIGTERM gets to (here, it writes a file
    to a folder mounted for the test)."""
    stack = json.loads(deployed.read_text())
    shared = tmp_path / "shared"
    shared.mkdir()
    stack["triggered"]["report"]["definition"]["mounts"] = [
        {"type": "bind", "source": str(shared), "target": "/out", "readOnly": False}
    ]
    deployed.write_text(json.dumps(stack))
    script = (
        "trap 'echo cleaned up > /out/stopped; exit 0' TERM; echo started; "
        "while :; do sleep 0.2; done"
    )
    running = berth_run(deployed, "report", "--", "sh", "-c", script)
    assert first_line(running) == "started\n"

    interrupted(running)

    assert running.returncode == 130
    assert (shared / "stopped").read_text() == "cleaned up\n"
    assert runs_of(docker_client, name) == []


@pytest.mark.docker
def test_local_berth_run_of_a_job_this_engine_lacks_says_so_in_one_line(
    docker_client, outputs, berth_run
):
    """The stack's outputs, but not its image nor its network, on this engine."""
    running = berth_run(outputs, "report")
    _, stderr = running.communicate(timeout=30)

    assert running.returncode == 2
    (line,) = stderr.splitlines()
    assert line.startswith("error: job 'report' could not start: "), line
    assert line.endswith("is deployed (`pulumi up`), then run it again."), line


def test_local_berth_run_refuses_a_job_declared_manual_false_in_one_line(outputs, berth_run):
    running = berth_run(outputs, "never")
    _, stderr = running.communicate(timeout=60)

    assert running.returncode == 2
    (line,) = stderr.splitlines()
    assert line.startswith("error: job 'never' is declared with manual: false"), line


def test_local_berth_run_of_an_unknown_job_lists_the_jobs(outputs, berth_run):
    running = berth_run(outputs, "nightly")
    _, stderr = running.communicate(timeout=60)

    assert running.returncode == 2
    (line,) = stderr.splitlines()
    assert "no job 'nightly'" in line
    assert line.endswith("run one of: never, report, shell."), line
