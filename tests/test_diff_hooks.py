"""``berth diff`` on ``pre_start`` hooks and the jobs of ``jobs:`` (issue 23).

A hook runs again, as Compose runs it, when its service would be recreated: its service's
definition as Compose hashes it changed (a hook is in it), or the hook is new. The diff says
which: the service's fields, another hook, or the hook's own definition. Whether it runs is
still its run-once resource's own ``diff``, on each target. A job of ``jobs:`` is deployed by
``up`` and never run by it: the diff lists it apart, as deployed and not run.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from berth.components.target import Sequenced
from berth.offline.diff import diff_files
from berth.offline.diff_report import Diff
from berth.offline.plan import plan_config
from tests.plans import ordered_targets

TARGETS = ordered_targets(Sequenced)
"""The targets with a run-once resource per hook, whose own ``diff`` decides a run."""

COMPOSE = """\
services:
  db:
    image: postgres:16
  web:
    image: app:1
    environment:
      GREETING: hello
    depends_on: [db]
    pre_start:
      - command: ["./migrate"]
      - command: ["./seed"]
"""
SEED = '      - command: ["./seed"]\n'
SCALED = "    depends_on: [db]\n    deploy:\n      replicas: 2\n"
CHANGES = {
    "nothing": ("", ""),
    "web environment": ("GREETING: hello", "GREETING: bonjour"),
    "second hook's command": ('["./seed"]', '["./seed", "--all"]'),
    "a third hook": (SEED, SEED + '      - command: ["./warm"]\n'),
    "replicas": ("    depends_on: [db]\n", SCALED),
}
"""Each change of the new version: the text replaced in its compose file, and by what."""


def _settings(target: str) -> dict[str, str]:
    return {"gcpProject": "plan-project", "gcpRegion": "europe-west1"} if target == "gcp" else {}


def diff_of(root: Path, base: str, head: str, target: str) -> Diff:
    """The diff from ``base`` (deployed) to ``head``, two checkouts of one project in ``root``."""
    folders = (root / "base" / "app", root / "head" / "app")
    for folder, text in zip(folders, (base, head), strict=True):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "compose.yaml").write_text(text)
    config, secret_keys = plan_config(["x"], target=target, variables=_settings(target))
    with contextlib.chdir(root):
        return diff_files(
            [str(folders[0] / "compose.yaml")], [str(folders[1] / "compose.yaml")], config,
            secret_keys,
        )  # fmt: skip


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Diff]:
    """The diff of each change in ``CHANGES`` on each target, made once for the module."""
    made: dict[tuple[str, str], Diff] = {}

    def change_on(target: str, change: str) -> Diff:
        if (target, change) not in made:
            old, new = CHANGES[change]
            assert old in COMPOSE
            root = tmp_path_factory.mktemp(f"{target}-{change.replace(' ', '-')}")
            made[target, change] = diff_of(root, COMPOSE, COMPOSE.replace(old, new), target)
        return made[target, change]

    return change_on


def jobs(diff: Diff) -> dict[str, Any]:
    return {job["name"]: job for job in json.loads(diff.as_json())["jobs"]}


def job_lines(diff: Diff) -> list[str]:
    return diff.as_text().split("Services:")[0].splitlines()[1:]


@pytest.mark.parametrize("target", TARGETS)
def test_diff_runs_no_hook_for_an_unchanged_service(
    changed: Callable[[str, str], Diff], target: str
) -> None:
    assert job_lines(changed(target, "nothing")) == [
        '  service "web" pre_start[0]: does not run',
        '  service "web" pre_start[1]: does not run',
    ]


@pytest.mark.parametrize("target", TARGETS)
def test_diff_runs_every_hook_when_their_service_s_definition_changed(
    changed: Callable[[str, str], Diff], target: str
) -> None:
    diff = changed(target, "web environment")

    assert job_lines(diff) == [
        '  service "web" pre_start[0]: runs: service web\'s definition changed (environment)',
        '  service "web" pre_start[1]: runs: service web\'s definition changed (environment)',
    ]
    assert jobs(diff)["web-pre-start-0"] == {
        "name": "web-pre-start-0",
        "runs": True,
        "because": [],
        "hook": {
            "service": "web",
            "index": 0,
            "service_changed": True,
            "service_fields": ["environment"],
        },
    }


@pytest.mark.parametrize("target", TARGETS)
def test_diff_tells_a_hook_s_own_change_from_its_service_s(
    changed: Callable[[str, str], Diff], target: str
) -> None:
    """The changed hook is in its service's definition: every hook of it runs again."""
    assert job_lines(changed(target, "second hook's command")) == [
        '  service "web" pre_start[0]: runs: service web\'s definition changed (pre_start[1])',
        '  service "web" pre_start[1]: runs: its own definition changed (command)',
    ]


@pytest.mark.parametrize("target", TARGETS)
def test_diff_says_a_new_hook_is_one(changed: Callable[[str, str], Diff], target: str) -> None:
    assert job_lines(changed(target, "a third hook")) == [
        '  service "web" pre_start[0]: runs: service web\'s definition changed (pre_start[2])',
        '  service "web" pre_start[1]: runs: service web\'s definition changed (pre_start[2])',
        '  service "web" pre_start[2]: runs: it is a new hook',
    ]


@pytest.mark.parametrize("target", TARGETS)
def test_diff_runs_no_hook_for_a_replica_count(
    changed: Callable[[str, str], Diff], target: str
) -> None:
    """Compose leaves the replica count out of the hash: a scale change runs no hook."""
    assert not any(job["runs"] for job in jobs(changed(target, "replicas")).values())


def test_diff_names_a_hook_as_compose_does_in_markdown(
    changed: Callable[[str, str], Diff],
) -> None:
    markdown = changed("local", "web environment").as_markdown()

    assert (
        '| `service "web" pre_start[0]` | **yes** | service `web`\'s definition changed '
        "(`environment`) |"
    ) in markdown


TRIGGERED = """\
services:
  db:
    image: postgres:16
jobs:
  backup:
    image: postgres:16
    command: ["pg_dump"]
    depends_on: [db]
    triggers:
      manual: true
"""


def test_diff_lists_the_jobs_of_jobs_as_deployed_never_run(tmp_path: Path) -> None:
    head = TRIGGERED.replace('["pg_dump"]', '["pg_dump", "--clean"]') + (
        "  report:\n    image: busybox\n    triggers:\n      manual: true\n"
    )
    diff = diff_of(tmp_path, TRIGGERED, head, "local")

    assert json.loads(diff.as_json())["jobs"] == []
    assert json.loads(diff.as_json())["triggered"] == [
        {"name": "backup", "change": "update", "because": ["command"], "runs": False},
        {"name": "report", "change": "create", "because": [], "runs": False},
    ]
    assert (
        "Jobs (local):\n  (none)\n"
        "Jobs of jobs: (deployed, not run: berth run and their schedules run them):\n"
        "  backup: update (command)\n"
        "  report: create\n"
    ) in diff.as_text()
    assert "| `backup` | update | `command` |" in diff.as_markdown()
    assert "0 of 0 jobs will run" in diff.as_markdown()


BUILT_JOB = """\
services:
  db:
    image: postgres:16
jobs:
  report:
    build: .
    triggers:
      manual: true
"""


def test_diff_reads_a_built_job_of_jobs_from_its_own_version_s_context(tmp_path: Path) -> None:
    """The job's build context is its version's folder, wherever the diff runs from."""
    for version, script in (("base", "echo one\n"), ("head", "echo two\n")):
        folder = tmp_path / version / "app"
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_text("FROM busybox\nCOPY report.sh /\n")
        (folder / "report.sh").write_text(script)
    diff = diff_of(tmp_path, BUILT_JOB, BUILT_JOB, "local")

    assert json.loads(diff.as_json())["triggered"] == [
        {"name": "report", "change": "update", "because": ["build"], "runs": False}
    ]


BUILT = """\
services:
  web:
    build: .
    pre_start:
      - image: busybox
        command: ["echo", "migrate"]
      - command: ["./seed"]
"""


@pytest.mark.parametrize("target", TARGETS)
def test_diff_runs_every_hook_when_the_services_image_is_rebuilt(
    tmp_path: Path, target: str
) -> None:
    """Compose recreates a service whose image changed, and runs all its hooks: one with an
    image of its own too, and the diff says it is the service's image."""
    for version, text in (("base", "one"), ("head", "two")):
        folder = tmp_path / version / "app"
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_text("FROM busybox\nCOPY app.txt /app.txt\n")
        (folder / "app.txt").write_text(text)
    for version in ("base", "head"):
        (tmp_path / version / "app" / "compose.yaml").write_text(BUILT)
    config, secret_keys = plan_config(["x"], target=target, variables=_settings(target))
    with contextlib.chdir(tmp_path):
        diff = diff_files(
            [str(tmp_path / "base" / "app" / "compose.yaml")],
            [str(tmp_path / "head" / "app" / "compose.yaml")],
            config,
            secret_keys,
        )

    own_image = jobs(diff)["web-pre-start-0"]
    assert own_image["runs"] is True
    assert "image" in own_image["hook"]["service_fields"]
