"""offline/run.py: what ``berth run JOB`` reads, and how it refuses, before any target runs."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from berth.errors import BerthError
from berth.offline import run as run_module
from berth.offline.run import EXIT_INTERRUPTED, run, run_with, stack_outputs
from tests.conftest import ROOT

OUTPUTS = {
    "services": {},
    "triggered": {
        "backup": {"target": "local", "manual": True},
        "never": {"target": "local", "manual": False},
    },
}


def test_run_finds_the_job_the_stack_deployed():
    assert run_with(OUTPUTS, "backup") == {"target": "local", "manual": True}


@pytest.mark.parametrize(
    ("outputs", "job", "words"),
    [
        (
            OUTPUTS,
            "nope",
            "the stack has no job 'nope' (a job of the top-level jobs: section)",
        ),
        ({"services": {}}, "backup", "declare it under jobs:"),
        (OUTPUTS, "never", "declared with manual: false, it cannot be run manually"),
    ],
)
def test_run_refuses_a_job_it_cannot_run_in_one_line(outputs, job, words):
    with pytest.raises(BerthError) as refused:
        run_with(outputs, job)
    assert words in refused.value.message
    assert "\n" not in refused.value.message


def test_run_reads_the_outputs_from_a_file_or_stdin(tmp_path, monkeypatch):
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps(OUTPUTS))
    assert stack_outputs(None, str(saved)) == OUTPUTS

    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(OUTPUTS)))
    assert stack_outputs(None, "-") == OUTPUTS

    saved.write_text("[1]")
    with pytest.raises(BerthError, match="not the JSON object"):
        stack_outputs(None, str(saved))


def test_run_without_the_pulumi_cli_says_how_to_do_without_it(monkeypatch):
    monkeypatch.setattr(run_module.shutil, "which", lambda _name: None)

    with pytest.raises(BerthError) as refused:
        stack_outputs("dev", None)
    assert "--outputs FILE" in refused.value.message


def test_run_returns_the_jobs_exit_code_and_130_for_ctrl_c(monkeypatch):
    class Target:
        def __init__(self, outcome):
            self.outcome = outcome

        def run_job(self, spec, args, log):
            if self.outcome is KeyboardInterrupt:
                raise KeyboardInterrupt
            log.write(f"{spec['target']} {args}\n")
            return self.outcome

    log = io.StringIO()
    monkeypatch.setattr(run_module, "load_target", lambda _name: Target(3))
    assert run("backup", ["sh", "-c", "exit 3"], OUTPUTS, log) == 3
    assert log.getvalue() == "local ['sh', '-c', 'exit 3']\n"

    monkeypatch.setattr(run_module, "load_target", lambda _name: Target(KeyboardInterrupt))
    assert run("backup", [], OUTPUTS, log) == EXIT_INTERRUPTED


def test_run_on_the_command_line_refuses_in_one_line(tmp_path):
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps(OUTPUTS))

    done = subprocess.run(
        [sys.executable, "-m", "berth", "run", "nope", "--outputs", str(saved)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: the stack has no job 'nope' (a job of the top-level jobs: section). "
        "run one of: backup, never."
    ]
