"""`pulumi up` for real, on the local Docker engine, through Pulumi's Automation API.

Needs the Pulumi CLI (with network access to fetch the docker provider plugin once) and a
Docker engine; skipped with the reason when either is missing.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.docker
REQUIRED = "BERTH_E2E_REQUIRED"
"""Set by the CI job that exists to run this test: there a missing tool fails the test."""


@pytest.fixture(autouse=True)
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


@pytest.fixture
def stack(tmp_path: Path, busybox_image: str):
    from pulumi import automation as auto

    project = tmp_path / "project"
    for name in ("berth", "components", "providers"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("__main__.py", "requirements.txt"):
        shutil.copy(ROOT / name, project / name)
    (project / "Pulumi.yaml").write_text(
        (ROOT / "Pulumi.yaml").read_text().replace("virtualenv: .venv", f"virtualenv: {sys.prefix}")
    )
    state = tmp_path / "state"
    state.mkdir()
    workspace = auto.LocalWorkspaceOptions(
        work_dir=str(project),
        env_vars={"PULUMI_BACKEND_URL": f"file://{state}", "PULUMI_CONFIG_PASSPHRASE": "e2e"},
    )
    created = auto.create_or_select_stack("e2e", work_dir=str(project), opts=workspace)
    created.set_config("berth:composeFiles", auto.ConfigValue('["compose.yaml"]'))
    created.set_config("berth:TOKEN", auto.ConfigValue("tok-e2e-secret", secret=True))

    def compose(script: str) -> None:
        (project / "compose.yaml").write_text(
            textwrap.dedent(COMPOSE.format(image=busybox_image, script=script))
        )

    created.compose = compose  # type: ignore[attr-defined]
    yield created
    created.destroy()
    created.workspace.remove_stack("e2e")


def resource_names(stack) -> set[str]:
    return {r.urn.split("::")[-1] for r in stack.export_stack().deployment.get("resources", [])}


def test_up_runs_the_job_once_gates_web_and_retries_after_a_failure(stack, docker_client):
    from pulumi import automation as auto

    stack.compose(BAD)
    with pytest.raises(auto.CommandError) as failure:
        stack.up(on_output=print)
    assert "exit code 3" in str(failure.value)
    assert "cannot migrate" in str(failure.value)
    names = resource_names(stack)
    assert "api" in names
    assert "migrate-run" not in names, "a failed run records nothing"
    assert "web" not in names, "nothing that depends on a failed job is created"

    stack.compose(GOOD)
    result = stack.up(on_output=print)
    jobs = result.outputs["jobs"].value
    assert jobs["migrate"]["exitCode"] == 0
    assert "web" in resource_names(stack)
    assert "tok-e2e-secret" not in str(stack.export_stack().deployment)

    preview = stack.preview()
    assert set(preview.change_summary) == {"same"}, preview.change_summary
    again = stack.up(on_output=print)
    assert again.outputs["jobs"].value["migrate"]["finishedAt"] == jobs["migrate"]["finishedAt"]
