"""``scripts/berth``: ``python -m berth`` in the project's .venv, from any folder, making the
environment on first use (a copy of the script in a fake project, with a fake ``python3``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT

FAKE_PYTHON = """\
#!/bin/sh
echo "python $* @ $PWD PYTHONPATH=$PYTHONPATH" >> {calls}
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
fi
"""


def fake_project(tmp_path: Path) -> tuple[Path, Path]:
    """A project holding the script and a requirements.txt, and a PATH whose python3 records
    each call and makes a venv whose python does the same."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "berth", project / "scripts" / "berth")
    (project / "requirements.txt").write_text("pulumi==1.0\n")
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("sh", "dirname", "cmp", "cp", "mkdir"):
        found = shutil.which(tool)
        assert found, tool
        (tools / tool).symlink_to(found)
    (tools / "python3").write_text(FAKE_PYTHON.format(calls=tmp_path / "calls"))
    (tools / "python3").chmod(0o755)
    return project, tools


def run_berth(project: Path, tools: Path, cwd: Path) -> list[str]:
    """The calls one run of the script made."""
    calls = project.parent / "calls"
    calls.unlink(missing_ok=True)
    done = subprocess.run(
        [str(project / "scripts" / "berth"), "plan", "-f", "compose.yaml"],
        cwd=cwd,
        env={"PATH": str(tools)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return calls.read_text().splitlines()


def test_the_first_run_makes_the_environment_then_plans_in_the_caller_s_folder(tmp_path):
    project, tools = fake_project(tmp_path)
    elsewhere = tmp_path / "app"
    elsewhere.mkdir()

    calls = run_berth(project, tools, elsewhere)

    venv = project / ".venv"
    assert calls[0].startswith(f"python -m venv {venv} @")
    assert calls[1].startswith("python -m pip install --quiet --disable-pip-version-check -r ")
    assert f"-r {project}/requirements.txt @" in calls[1]
    assert calls[2] == f"python -m berth plan -f compose.yaml @ {elsewhere} PYTHONPATH={project}"
    assert len(calls) == 3


def test_later_runs_install_only_when_the_requirements_change(tmp_path):
    project, tools = fake_project(tmp_path)
    run_berth(project, tools, tmp_path)

    again = run_berth(project, tools, tmp_path)
    (project / "requirements.txt").write_text("pulumi==2.0\n")
    changed = run_berth(project, tools, tmp_path)

    assert [call.split(" @ ")[0] for call in again] == ["python -m berth plan -f compose.yaml"]
    assert any("-m pip install" in call for call in changed)
