"""``scripts/deploy-local`` on a machine that lacks what it needs: one line saying what is
missing and how to install it, before anything is created (no state folder use, no stack)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

BASICS = ("sh", "dirname", "mkdir", "python3")
"""What the script itself runs, besides the tools it checks for."""


def bin_with(folder: Path, *fakes: str, docker_running: bool = True) -> Path:
    """A PATH folder with the basics, and fake tools that record each call to ``calls``."""
    folder.mkdir()
    for tool in BASICS:
        found = shutil.which(tool)
        assert found, tool
        (folder / tool).symlink_to(found)
    for tool in fakes:
        failing = tool == "docker" and not docker_running
        record = f'echo "{tool} $* @ $PWD $PULUMI_BACKEND_URL" >> {folder}/calls'
        (folder / tool).write_text(f"#!/bin/sh\n{record}\nexit {1 if failing else 0}\n")
        (folder / tool).chmod(0o755)
    return folder


def deploy_local(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "deploy-local"), *args],
        env={"PATH": str(folder), "HOME": str(folder)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("fakes", "docker_running", "says"),
    [
        ((), True, "the Pulumi CLI is not installed: install it with `curl -fsSL"),
        (("pulumi",), True, "Docker is not installed: install Docker Engine or Docker Desktop"),
        (("pulumi", "docker"), False, "the Docker engine is not running (`docker info` failed)"),
    ],
    ids=["no-pulumi", "no-docker", "docker-not-running"],
)
def test_a_missing_tool_is_named_with_how_to_install_it(tmp_path, fakes, docker_running, says):
    folder = bin_with(tmp_path / "bin", *fakes, docker_running=docker_running)

    done = deploy_local(folder)

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"deploy-local: {says}")
    assert done.stderr.rstrip().endswith("then run scripts/deploy-local again")
    calls = (folder / "calls").read_text() if (folder / "calls").exists() else ""
    assert "pulumi" not in calls, "nothing is created before the check"


def test_with_every_tool_the_deployment_goes_ahead(tmp_path):
    folder = bin_with(tmp_path / "bin", "pulumi", "docker")

    done = deploy_local(folder)

    assert done.returncode == 0, done.stderr
    assert "pulumi up --stack dev --yes" in (folder / "calls").read_text()


def test_a_program_folder_deploys_that_program_with_the_same_state(tmp_path):
    folder = bin_with(tmp_path / "bin", "pulumi", "docker")

    done = deploy_local(folder, "examples/extend", "--skip-preview")

    assert done.returncode == 0, done.stderr
    calls = (folder / "calls").read_text()
    where = f"@ {ROOT / 'examples' / 'extend'} file://{ROOT / '.pulumi-state'}"
    assert f"pulumi install {where}" in calls
    assert f"pulumi up --stack dev --yes --skip-preview {where}" in calls


@pytest.mark.parametrize("given", ["examples/typo", "examples/release", "compose.yaml"])
def test_a_first_argument_that_names_no_program_is_refused(tmp_path, given):
    """A typo, a compose example or a file: one line, before anything is created."""
    folder = bin_with(tmp_path / "bin", "pulumi", "docker")

    done = deploy_local(folder, given, "--skip-preview")

    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"deploy-local: no Pulumi program in '{given}' (a folder with")
    assert not (folder / "calls").exists(), "pulumi never runs"


def test_flags_alone_go_to_pulumi_up(tmp_path):
    folder = bin_with(tmp_path / "bin", "pulumi", "docker")

    done = deploy_local(folder, "--skip-preview")

    assert done.returncode == 0, done.stderr
    assert f"pulumi up --stack dev --yes --skip-preview @ {ROOT} " in (folder / "calls").read_text()
