"""`pulumi up` for real, on the local Docker engine, through Pulumi's Automation API.

Needs the Pulumi CLI (with network access to fetch the docker provider plugin once) and a
Docker engine; skipped with the reason when either is missing. What it expects to find in the
stack is derived as the program names resources (``Expected``), and the first test, which needs
neither, holds the offline plan of the same copied program to the same expectations: a rename
of a resource fails there, on every machine, instead of hiding behind the skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from berth import LAYERS
from berth.components.names import Names
from tests.conftest import ROOT, TEST_IMAGE

REQUIRED = "BERTH_E2E_REQUIRED"
"""Set by the CI job that exists to run this test: there a missing tool fails the test."""


@pytest.fixture
def tools() -> None:
    """Skip, saying why, without the Pulumi CLI or a Docker engine; fail instead in CI."""
    import docker
    import docker.errors

    missing = None if shutil.which("pulumi") else "the Pulumi CLI is not installed"
    try:
        docker.from_env(timeout=10).ping()
    except docker.errors.DockerException as error:
        missing = missing or f"no Docker engine reachable ({error.__class__.__name__})"
    if missing and os.environ.get(REQUIRED):
        pytest.fail(f"{missing}, and {REQUIRED} is set: this job must run the test")
    if missing:
        pytest.skip(missing)


COMPOSE = """
services:
  api:
    image: {image}
    command:
      - sh
      - -c
      - mkdir -p /www && echo pong > /www/index.html && httpd -f -p 8080 -h /www
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost:8080/"]
      interval: 1s
      retries: 20
  migrate:
    image: {image}
    command: ["sh", "-c", "{script}"]
    environment:
      TOKEN: ${{TOKEN}}
    restart: "no"
    depends_on:
      api:
        condition: service_healthy
  web:
    image: {image}
    command: ["sh", "-c", "sleep 3600"]
    depends_on: [migrate]
"""
GOOD = "wget -qO- http://api:8080/ && echo migrated"
BAD = "echo cannot migrate; exit 3"
TOKEN = "tok-e2e-secret"
PROJECT = "berth:index:Project"
CONTAINER = "docker:index/container:Container"
RUN = "pulumi-python:dynamic/berth:LocalJob"


@dataclass(frozen=True)
class Expected:
    """The resources the test looks for, each as (type, name): named as the program names a
    Project's children (``Names``), from the name of the Project the resources hold."""

    api: tuple[str, str]
    """api's container."""
    run: tuple[str, str]
    """migrate's run: recorded only once the job exited 0."""
    web: tuple[str, str]
    """web's container: created only after migrate's run."""

    @classmethod
    def of(cls, resources: Iterable[tuple[str, str]]) -> Expected:
        (project,) = [name for type_, name in resources if type_ == PROJECT]
        names = Names(project)
        return cls(
            api=(CONTAINER, names("api")),
            run=(RUN, names("migrate", "run")),
            web=(CONTAINER, names("web")),
        )

    def all(self) -> tuple[tuple[str, str], ...]:
        return (self.api, self.run, self.web)


def copy_program(project: Path, image: str, script: str) -> None:
    """The Berth program as a user runs it (Pulumi.yaml, __main__.py and its packages) with the
    test's compose file, in ``project``: the folder's name is the compose project's name."""
    for name in ("berth", *LAYERS):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("__main__.py", "requirements.txt"):
        shutil.copy(ROOT / name, project / name)
    manifest = (ROOT / "Pulumi.yaml").read_text()
    assert "virtualenv: .venv" in manifest, "the e2e stack runs in this interpreter's venv"
    (project / "Pulumi.yaml").write_text(
        manifest.replace("virtualenv: .venv", f"virtualenv: {sys.prefix}")
    )
    write_compose(project, image, script)


def write_compose(project: Path, image: str, script: str) -> None:
    (project / "compose.yaml").write_text(
        textwrap.dedent(COMPOSE.format(image=image, script=script))
    )


def test_the_offline_plan_of_the_copied_program_has_what_the_e2e_test_expects(tmp_path):
    """Runs everywhere: the copy of the program plans (its packages import from its folder
    alone, as the Pulumi CLI runs it) and holds every resource the e2e test looks for, with
    web's container waiting on migrate's run and the secret printed nowhere."""
    project = tmp_path / "project"
    copy_program(project, TEST_IMAGE, GOOD)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = ["plan", "--target", "local", "--secret", f"TOKEN={TOKEN}", "--format", "json"]
    result = subprocess.run(
        [sys.executable, "-m", "berth", *command],
        cwd=project, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    resources = {(r["type"], r["name"]): r for r in json.loads(result.stdout)["resources"]}
    expected = Expected.of(resources)
    for key in expected.all():
        assert key in resources, f"{key} not in the plan: {sorted(resources)}"
    run_urn = resources[expected.run]["urn"]
    assert run_urn in resources[expected.web]["dependencies"]
    assert run_urn not in resources[expected.api]["dependencies"]
    assert resources[expected.api]["urn"] in resources[expected.run]["dependencies"]


@pytest.fixture
def stack(tools: None, tmp_path: Path, busybox_image: str):
    from pulumi import automation as auto

    project = tmp_path / "project"
    copy_program(project, busybox_image, BAD)
    state = tmp_path / "state"
    state.mkdir()
    workspace = auto.LocalWorkspaceOptions(
        work_dir=str(project),
        env_vars={"PULUMI_BACKEND_URL": f"file://{state}", "PULUMI_CONFIG_PASSPHRASE": "e2e"},
    )
    created = auto.create_or_select_stack("e2e", work_dir=str(project), opts=workspace)
    created.set_config("berth:composeFiles", auto.ConfigValue('["compose.yaml"]'))
    created.set_config("berth:target", auto.ConfigValue("local"))
    created.set_config("berth:TOKEN", auto.ConfigValue(TOKEN, secret=True))
    created.compose = lambda script: write_compose(project, busybox_image, script)  # type: ignore[attr-defined]
    yield created
    created.destroy()
    created.workspace.remove_stack("e2e")


def resources(stack) -> set[tuple[str, str]]:
    """What the stack's state holds, each resource as (type, name)."""
    deployment = stack.export_stack().deployment
    return {(r["type"], r["urn"].split("::")[-1]) for r in deployment.get("resources", [])}


@pytest.mark.docker
def test_up_runs_the_job_once_gates_web_and_retries_after_a_failure(stack, docker_client):
    from pulumi import automation as auto

    stack.compose(BAD)
    with pytest.raises(auto.CommandError) as failure:
        stack.up(on_output=print)
    assert "exit code 3" in str(failure.value)
    assert "cannot migrate" in str(failure.value)
    held = resources(stack)
    expected = Expected.of(held)
    assert expected.api in held
    assert expected.run not in held, "a failed run records nothing"
    assert expected.web not in held, "nothing that depends on a failed job is created"

    stack.compose(GOOD)
    result = stack.up(on_output=print)
    jobs = result.outputs["jobs"].value
    assert jobs["migrate"]["exitCode"] == 0
    held = resources(stack)
    for key in expected.all():
        assert key in held, f"{key} not in the stack: the absences above checked nothing"
    assert TOKEN not in str(stack.export_stack().deployment)

    preview = stack.preview()
    assert set(preview.change_summary) == {"same"}, preview.change_summary
    again = stack.up(on_output=print)
    assert again.outputs["jobs"].value["migrate"]["finishedAt"] == jobs["migrate"]["finishedAt"]
