"""``python -m berth`` as a user runs it: a subprocess from the project root.

Each call starts Python and the Pulumi mock engine (about a second), so the cases are few.
"""

from __future__ import annotations

import json
import subprocess
import sys

from berth.fields import ALL_FIELDS
from tests.conftest import ROOT
from tests.test_graph import MIGRATE_DIAGRAM

MIGRATE = "examples/migrate/compose.yaml"


def berth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "berth", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plan_as_json_describes_the_workflow_and_every_resource():
    done = berth("plan", "-f", MIGRATE, "--format", "json")

    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert {"project", "target", "workflow", "resources"} <= plan.keys()
    assert (plan["project"], plan["target"]) == ("migrate", "local")
    assert plan["workflow"] == {
        "services": ["db", "web"],
        "jobs": ["migrate"],
        "edges": [["db", "migrate"], ["migrate", "web"]],
    }
    assert plan["resources"]
    for resource in plan["resources"]:
        assert {"urn", "type", "name", "service", "dependencies", "inputs"} <= resource.keys()
    by_name = {(r["type"], r["name"]): r for r in plan["resources"]}
    run = by_name[("pulumi-python:dynamic/berth:LocalJob", "migrate-migrate-run")]
    assert run["service"] == "migrate"
    assert by_name[("docker:index/container:Container", "migrate-db")]["urn"] in run["dependencies"]


def test_plan_as_mermaid_is_the_seed_diagram():
    done = berth("plan", "-f", MIGRATE, "--format", "mermaid")

    assert done.returncode == 0, done.stderr
    assert done.stdout == MIGRATE_DIAGRAM


def test_plan_as_text_shows_the_workflow_and_keeps_secrets_secret(tmp_path):
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  web:\n    image: nginx\n    environment:\n"
        "      DATABASE_URL: postgres://${DB_USER}:${DB_PASSWORD}@db/app\n"
    )

    done = berth(
        "plan",
        "-f",
        str(compose),
        "--set",
        "DB_USER=app",
        "--secret",
        "DB_PASSWORD=hunter2-value",
        "--format",
        "text",
    )

    assert done.returncode == 0, done.stderr
    assert "Deployment workflow:" in done.stdout
    assert "  deployment_start -> web (service)" in done.stdout
    assert "  web -> deployment_complete" in done.stdout
    assert "hunter2-value" not in done.stdout + done.stderr


def test_a_secret_appears_only_as_secret_in_the_json_plan(tmp_path):
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  web:\n    image: nginx\n    command: [serve, '--token', '${TOKEN}']\n"
    )

    done = berth("plan", "-f", str(compose), "--secret", "TOKEN=tok-123-secret", "--format", "json")

    assert done.returncode == 0, done.stderr
    assert "tok-123-secret" not in done.stdout + done.stderr
    container = next(
        r for r in json.loads(done.stdout)["resources"] if r["type"].endswith("container:Container")
    )
    assert "[secret]" in json.dumps(container["inputs"])


def test_a_bad_compose_file_exits_2_with_one_error_line(tmp_path):
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: nginx\n    ports: 80\n")

    done = berth("plan", "-f", str(compose))

    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {compose}: service 'web', field 'ports': ")
    assert "Traceback" not in done.stderr


def test_compatibility_prints_a_markdown_table_of_every_field():
    done = berth("compatibility")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "# Compose compatibility"
    header = next(i for i, line in enumerate(lines) if line.startswith("| field |"))
    assert "local" in lines[header]
    assert lines[header + 1].startswith("|---|")
    rows = [line for line in lines[header + 2 :] if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(ALL_FIELDS)
