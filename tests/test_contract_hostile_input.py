"""Hostile compose files through ``python -m berth plan``: one line, exit code 2, in seconds.

Each case once crashed with a traceback, hung, or printed a message that blamed the wrong
thing. The plan runs as a subprocess with a deadline, as a user (or an attacker) runs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

DEADLINE = 30
"""Seconds a refused plan may take: far above the 1-2 s it needs, far below a hang."""


def plan(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "berth", "plan", "-f", "compose.yaml", *args],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )


def refused_line(project: Path, compose: str, *args: str) -> str:
    """The one line a refused plan prints, after checking it is one line and exit code 2."""
    (project / "compose.yaml").write_text(textwrap.dedent(compose))
    done = plan(project, *args)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert done.stderr.startswith("error: "), done.stderr
    assert "berthsecret" not in done.stderr
    return done.stderr.strip()


SERVICE = "services:\n  app:\n    image: alpine\n"


def alias_bomb() -> str:
    """ "Billion laughs": nine levels of nine aliases each, 9**9 strings once expanded."""
    lines = ['x-l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"x-l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n" + SERVICE + "    x-bomb: *l9\n"


@pytest.mark.parametrize(
    ("compose", "args", "expected"),
    [
        pytest.param(
            SERVICE + "    configs: [c]\nconfigs:\n  c:\n    file: /dev/zero\n",
            (),
            "config 'c': cannot read /dev/zero (it is a device, not a file)",
            id="config-file-dev-zero",
        ),
        pytest.param(
            SERVICE + "    secrets: [s]\nsecrets:\n  s:\n    file: ./pipe\n",
            (),
            "secret 's': cannot read pipe (it is a FIFO, not a file)",
            id="secret-file-fifo",
        ),
        pytest.param(
            SERVICE + "    env_file: /dev/zero\n",
            (),
            "field 'env_file': env file /dev/zero cannot be read: it is a device, not a file",
            id="env-file-dev-zero",
        ),
        pytest.param(
            SERVICE + "    env_file: [pipe]\n",
            (),
            "env file pipe cannot be read: it is a FIFO, not a file",
            id="env-file-fifo",
        ),
        pytest.param(
            SERVICE + '    ports: ["8080:0"]\n',
            (),
            "field 'ports'",
            id="container-port-0-short",
        ),
        pytest.param(
            SERVICE + "    ports:\n      - {target: 0, published: 8080}\n",
            (),
            "field 'ports': 0 is not a port number",
            id="container-port-0-long",
        ),
        pytest.param(
            SERVICE + "    restart: on-failure:lots\n",
            (),
            "field 'restart': 'on-failure:lots' is not a restart policy",
            id="restart-retries-not-a-number",
        ),
        pytest.param(
            SERVICE + "    labels:\n      deep: " + "[" * 5000 + "]" * 5000 + "\n",
            (),
            "compose.yaml: the YAML nests deeper than 100 levels",
            id="deeply-nested",
        ),
        pytest.param(
            alias_bomb(),
            (),
            "compose.yaml: the YAML expands its aliases (*name) excessively",
            id="alias-bomb",
        ),
        pytest.param(
            SERVICE + '    ports: ["1-65535:1-65535"]\n',
            (),
            "field 'ports': 65535 ports: a service may have at most 1000",
            id="huge-port-range",
        ),
        pytest.param(
            SERVICE + '    ports: ["${RANGE}:8000-9999"]\n',
            ("--set", "RANGE=8000-9999"),
            "field 'ports': 2000 ports: a service may have at most 1000",
            id="huge-port-range-from-a-variable",
        ),
        pytest.param(
            SERVICE + '    expose: ["1-65535"]\n',
            (),
            "field 'expose': 65535 ports",
            id="huge-expose-range",
        ),
        pytest.param(
            SERVICE + "    command: 42\n",
            (),
            "command must be a string or a list of strings",
            id="command-number",
        ),
        pytest.param(
            SERVICE + "    network_mode: service:ghost\n",
            (),
            "field 'network_mode': refers to service 'ghost', which is not defined",
            id="network-mode-ghost",
        ),
        pytest.param(
            "include:\n  - notes.txt\n" + SERVICE,
            (),
            "error: notes.txt: the file must be a mapping of top-level keys",
            id="include-not-compose",
        ),
        pytest.param(
            SERVICE + "    mem_limit: ${LIMIT}\n",
            ("--secret", "LIMIT=512m"),
            "field 'mem_limit': the secret LIMIT is used where it would be stored in plain text",
            id="secret-in-mem-limit",
        ),
        pytest.param(SERVICE, ("--set", "=value"), "expected KEY=VALUE", id="set-without-key"),
    ],
)
def test_hostile_input_is_refused_in_one_line(tmp_path, compose, args, expected):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "notes.txt").write_text("just some notes\n")
    started = time.monotonic()

    line = refused_line(tmp_path, compose, *args)

    assert expected in line
    assert time.monotonic() - started < DEADLINE


def test_every_missing_stack_value_is_reported_at_once_with_its_command(tmp_path):
    line = refused_line(
        tmp_path,
        """\
        services:
          api:
            image: alpine
            environment: [API_KEY, DB_PASSWORD]
          worker:
            image: alpine
            environment: [QUEUE_TOKEN]
        """,
    )

    assert "API_KEY, DB_PASSWORD, QUEUE_TOKEN have no value" in line
    for key in ("API_KEY", "DB_PASSWORD", "QUEUE_TOKEN"):
        assert f"`--secret {key}=<value>`" in line, "the CLI's hint names its flag"


@pytest.mark.parametrize(
    ("target", "compose", "warning"),
    [
        *(
            pytest.param(target, "services: {}\n", "the project has no services", id=target)
            for target in ("local", "aws", "gcp", "digitalocean")
        ),
        pytest.param(
            "digitalocean", "name: quiet\n", "the project has no services", id="no-services-key"
        ),
        pytest.param(
            "digitalocean",
            SERVICE + "    profiles: [debug]\n",
            "every service is in a profile that is not enabled",
            id="all-in-profiles",
        ),
    ],
)
def test_a_project_with_nothing_to_deploy_plans_nothing_at_once(tmp_path, target, compose, warning):
    """Every target plans its shared resources at most, and says why nothing is deployed."""
    (tmp_path / "compose.yaml").write_text(compose)

    done = plan(tmp_path, "--target", target, "--format", "json")  # a hang fails at DEADLINE

    assert done.returncode == 0, done.stderr[-2000:]
    planned = json.loads(done.stdout)
    assert planned["warnings"] == [f"{warning}: nothing to deploy"]
    assert [r["name"] for r in planned["resources"] if r["service"]] == []


FAKE_COMPOSE = """\
#!/bin/sh
# Answers the version probe like Compose v5, then hangs in `config`, as on an alias bomb.
case "$*" in
  *version*) echo 5.6.1 ;;
  *) echo $$ > "{pids}"; exec sleep 300 ;;
esac
"""


def plan_waiting_on_compose(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    """A ``berth plan`` whose Compose child hangs: the plan, and the child's pid."""
    pids = tmp_path / "compose.pid"
    fake = tmp_path / "docker-compose"
    fake.write_text(FAKE_COMPOSE.format(pids=pids))
    fake.chmod(0o755)
    (tmp_path / "compose.yaml").write_text(SERVICE)
    running = subprocess.Popen(
        [sys.executable, "-m", "berth", "plan", "-f", "compose.yaml"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "BERTH_COMPOSE": str(fake)},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + DEADLINE
    while not pids.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return running, int(pids.read_text())


def test_a_terminated_plan_takes_its_compose_child_with_it(tmp_path):
    running, child = plan_waiting_on_compose(tmp_path)

    running.send_signal(signal.SIGTERM)
    running.wait(timeout=DEADLINE)

    assert running.returncode == 128 + signal.SIGTERM
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # reaped by the plan: no such process any more


def test_a_compose_run_past_its_deadline_says_what_timed_out(tmp_path, monkeypatch):
    from berth import binary
    from berth.errors import BerthError

    fake = tmp_path / "docker-compose"
    fake.write_text(FAKE_COMPOSE.format(pids=tmp_path / "compose.pid"))
    fake.chmod(0o755)
    (tmp_path / "compose.yaml").write_text(SERVICE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(binary, "compose_command", lambda: (str(fake),))
    monkeypatch.setattr(binary, "CONFIG_TIMEOUT", 1)

    with pytest.raises(BerthError) as caught:
        binary.run_config(["compose.yaml"], (), {})

    assert "Docker Compose did not finish reading the compose files within 1 seconds" in str(
        caught.value
    )
    assert "Install Docker" not in str(caught.value)


def test_a_killed_plan_takes_its_compose_child_with_it(tmp_path):
    """SIGKILL cannot be caught: the child dies with its parent all the same (Linux)."""
    running, child = plan_waiting_on_compose(tmp_path)

    running.kill()
    running.wait(timeout=DEADLINE)

    deadline = time.monotonic() + DEADLINE
    status = Path(f"/proc/{child}/status")
    while time.monotonic() < deadline and status.exists() and "\tZ" not in status.read_text():
        time.sleep(0.1)
    assert not status.exists() or "\tZ" in status.read_text(), "the Compose child lives on"
