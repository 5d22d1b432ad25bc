"""The README's first screen stays true: its commands are the project's scripts, the plan it
shows runs, and the Docker tests' prerequisite is the one they use."""

from __future__ import annotations

import os
import re

from tests.conftest import BUSYBOX, ROOT
from tests.test_cli import berth

README = (ROOT / "README.md").read_text()
FIRST_SCREEN = README.split("\n---\n")[0]
COMMANDS = [
    line.split("#")[0].split()
    for line in re.search(r"```sh\n(.*?)```", FIRST_SCREEN, re.DOTALL)[1].splitlines()
]


def test_the_first_screen_runs_the_project_s_scripts():
    assert [command[0] for command in COMMANDS] == [
        "scripts/deploy-local",
        "scripts/test",
        "scripts/berth",
    ]
    for command in COMMANDS:
        assert os.access(ROOT / command[0], os.X_OK), command[0]


def test_the_first_screen_s_plan_plans():
    """``scripts/berth`` is ``python -m berth`` in the project's environment: this one."""
    arguments = next(command[1:] for command in COMMANDS if command[0] == "scripts/berth")

    done = berth(*arguments)

    assert done.returncode == 0, done.stderr
    assert "migrate (job)" in done.stdout


def test_the_docker_tests_prerequisite_is_named_as_they_use_it():
    assert f"`{BUSYBOX}`" in FIRST_SCREEN
    assert "busybox-static" in FIRST_SCREEN
    assert "busybox-static" in (ROOT / ".ci" / "run").read_text()
