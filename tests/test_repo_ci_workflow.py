"""The CI workflow gives credentials only where they are needed (read from the YAML itself)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "pulumi.yml"
FORKS_EXCLUDED = "github.event.pull_request.head.repo.full_name == github.repository"
DEPLOY_IDENTITIES = ("vars.AWS_ROLE_ARN", "vars.GCP_SERVICE_ACCOUNT")
PREVIEW_IDENTITIES = ("vars.AWS_PREVIEW_ROLE_ARN", "vars.GCP_PREVIEW_SERVICE_ACCOUNT")
CLOUD_LOGINS = ("aws-actions/configure-aws-credentials", "google-github-actions/auth")


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def jobs() -> dict[str, dict[str, Any]]:
    return workflow()["jobs"]


def text(node: Any) -> str:
    return json.dumps(node)


def condition(job: dict[str, Any]) -> str:
    return " ".join(str(job.get("if", "")).split())


def pulumi_commands(job: dict[str, Any]) -> set[str]:
    return {
        step.get("with", {}).get("command")
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith("pulumi/actions")
    }


def logs_in_to_a_cloud(job: dict[str, Any]) -> bool:
    return any(str(step.get("uses", "")).startswith(CLOUD_LOGINS) for step in job["steps"])


def test_no_secret_and_no_token_for_the_whole_workflow():
    """Whatever a job needs, it asks for itself: a new job starts with nothing."""
    document = workflow()
    assert "secrets." not in text(document.get("env", {}))
    assert document["permissions"] == {"contents": "read"}


def test_pull_requests_run_in_the_repository_context_without_secrets_for_forks():
    triggers = workflow().get("on", workflow().get(True))
    assert "pull_request_target" not in triggers, "it would run a fork's code with secrets"


def test_the_test_job_gets_no_secret_and_no_token():
    test = jobs()["test"]
    assert "secrets." not in text(test)
    assert test.get("permissions", {}).get("id-token") != "write"


@pytest.mark.parametrize("name", list(jobs()))
def test_only_jobs_that_log_in_to_a_cloud_may_ask_for_an_oidc_token(name):
    job = jobs()[name]
    if job.get("permissions", {}).get("id-token") == "write":
        assert logs_in_to_a_cloud(job), f"{name} asks for an OIDC token it does not use"


@pytest.mark.parametrize("name", list(jobs()))
def test_only_jobs_that_run_pulumi_on_a_stack_get_the_passphrase(name):
    job = jobs()[name]
    if "secrets.PULUMI_CONFIG_PASSPHRASE" in text(job):
        assert pulumi_commands(job) & {"preview", "up"}, f"{name} gets a passphrase it never uses"


@pytest.mark.parametrize("name", list(jobs()))
def test_previews_use_read_only_identities_and_never_run_for_forks(name):
    job = jobs()[name]
    if "preview" not in pulumi_commands(job):
        return
    assert FORKS_EXCLUDED in condition(job)
    assert "github.event_name == 'pull_request'" in condition(job)
    assert not any(identity in text(job) for identity in DEPLOY_IDENTITIES)
    assert pulumi_commands(job) == {"preview"}, "a preview job never deploys"


@pytest.mark.parametrize("name", list(jobs()))
def test_only_pushes_to_main_get_the_deploy_identities(name):
    job = jobs()[name]
    if not any(identity in text(job) for identity in DEPLOY_IDENTITIES):
        return
    assert "github.event_name == 'push'" in condition(job)
    assert "github.ref == 'refs/heads/main'" in condition(job)
    assert not any(identity in text(job) for identity in PREVIEW_IDENTITIES)


def test_previews_and_deployments_both_exist():
    commands = set().union(*(pulumi_commands(job) for job in jobs().values()))
    assert {"preview", "up"} <= commands


@pytest.fixture
def fake_pulumi(tmp_path: Path) -> Path:
    """A ``pulumi`` (and ``docker``) on PATH that records the passphrase it was given."""
    for tool in ("pulumi", "docker"):
        script = tmp_path / tool
        script.write_text(
            '#!/bin/sh\necho "$0 $1 passphrase=[${PULUMI_CONFIG_PASSPHRASE-unset}]" '
            f">> {tmp_path}/calls\n"
        )
        script.chmod(0o755)
    return tmp_path


def deploy_local(fake_pulumi: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "deploy-local")],
        env={"PATH": f"{fake_pulumi}:/usr/bin:/bin", "HOME": str(fake_pulumi), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_deploy_local_says_when_the_passphrase_defaults_to_empty(fake_pulumi):
    done = deploy_local(fake_pulumi)

    assert done.returncode == 0, done.stderr
    assert "PULUMI_CONFIG_PASSPHRASE is not set" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "up passphrase=[]" in (fake_pulumi / "calls").read_text()


def test_deploy_local_uses_the_passphrase_given_without_a_word(fake_pulumi):
    done = deploy_local(fake_pulumi, PULUMI_CONFIG_PASSPHRASE="chosen")

    assert done.returncode == 0, done.stderr
    assert "PULUMI_CONFIG_PASSPHRASE" not in done.stderr
    assert "up passphrase=[chosen]" in (fake_pulumi / "calls").read_text()
