"""``python -m berth`` as a user runs it: a subprocess from the project root.

Each call starts Python and the Pulumi mock engine (about a second), so the cases are few.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from berth.ai_models import CATALOGUE
from berth.fields import ALL_FIELDS
from berth.offline.cli import parse_arguments
from berth.offline.render import FORMATS
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


def test_plan_as_json_gives_the_urns_pulumi_up_creates():
    """The engine puts every ancestor's type below the stack before a resource's own."""
    done = berth("plan", "-f", MIGRATE, "--format", "json", "--stack", "prod")

    assert done.returncode == 0, done.stderr
    resources = json.loads(done.stdout)["resources"]
    urns = {(r["type"], r["name"]): r["urn"] for r in resources}
    assert urns[("docker:index/container:Container", "migrate-db")] == (
        "urn:pulumi:prod::berth::berth:index:Project$berth:index:Service"
        "$docker:index/container:Container::migrate-db"
    )
    assert urns[("berth:index:Project", "migrate")] == (
        "urn:pulumi:prod::berth::berth:index:Project::migrate"
    )
    for resource in resources:
        assert resource["urn"].endswith(f"{resource['type']}::{resource['name']}")
        assert set(resource["dependencies"]) <= set(urns.values())


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
    assert "  deployment_start -> web" in done.stdout
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


def test_the_text_plan_marks_a_job_wherever_it_names_it():
    done = berth("plan", "-f", MIGRATE)

    assert done.returncode == 0, done.stderr
    workflow = done.stdout.split("Deployment workflow:\n")[1].split("\n\n")[0].splitlines()
    assert workflow == [
        "  deployment_start -> db",
        "  db -> migrate (job)",
        "  migrate (job) -> web",
        "  web -> deployment_complete",
    ]


def test_each_warning_is_shown_once(tmp_path):
    """In the output when it lists warnings (text, json), on stderr when it cannot (mermaid)."""
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: nginx\n    scale: 2\n")
    shown = {form: berth("plan", "-f", str(compose), "--format", form) for form in FORMATS}

    warning = json.loads(shown["json"].stdout)["warnings"][0]
    assert "scale" in warning
    assert shown["json"].stderr == ""
    assert shown["text"].stdout.endswith(f"Warnings:\n  {warning}\n")
    assert shown["text"].stderr == ""
    assert shown["mermaid"].stderr == f"warning: {warning}\n"


def test_help_is_plain_text():
    for command in ([], ["plan"], ["diff"], ["compatibility"]):
        done = berth(*command, "--help")

        assert done.returncode == 0, done.stderr
        assert "``" not in done.stdout


def test_hints_speak_of_the_flags_typed(tmp_path):
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: nginx\n    environment: [API_KEY]\n")

    missing_file = berth("plan", "-f", "missing.yaml").stderr
    missing_value = berth("plan", "-f", str(compose), "--set", "OTHER=1").stderr

    assert missing_file == (
        "error: missing.yaml: the compose file does not exist. "
        "check the -f paths (relative to the current directory).\n"
    )
    assert "set it with `--secret API_KEY=<value>` (or `--set API_KEY=<value>`" in missing_value
    assert "pulumi config" not in missing_value


def test_a_python_without_berth_s_requirements_says_what_to_run_instead():
    """``-S``: no site-packages, as with a system Python that has none of the requirements."""
    done = subprocess.run(
        [sys.executable, "-S", "-m", "berth", "plan", "-f", MIGRATE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 1
    assert done.stderr == (
        f"error: pulumi is not installed in {sys.executable}: run Berth in the project's "
        "environment, with scripts/berth (it makes .venv on first use).\n"
    )


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
    end = lines.index("## Language models")
    rows = [line for line in lines[header + 2 : end] if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(ALL_FIELDS)
    models = [line.split("`")[1] for line in lines[end:] if line.startswith("| `")]
    assert models == list(CATALOGUE)


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "backup", "--", "pg_dump", "--schema-only"],
        ["run", "backup", "--stack", "prod", "--", "pg_dump", "--schema-only"],
        ["run", "--stack", "prod", "backup", "--", "pg_dump", "--schema-only"],
    ],
)
def test_run_takes_the_arguments_after_the_double_dash_wherever_the_options_are(argv):
    """``berth run JOB [--stack S] -- ARGS``, as the docs write it: ARGS replace the command."""
    args = parse_arguments(argv)

    assert (args.job, args.args) == ("backup", ["pg_dump", "--schema-only"])
