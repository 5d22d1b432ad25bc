"""`berth diff` and the real `pulumi preview` agree on which jobs run (local target, real engine).

Needs the Pulumi CLI and a Docker engine, like tests/test_repo_e2e_local.py (whose fixtures it
uses): skipped with the reason here, run by the e2e-local CI job.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from berth.offline.diff import diff_files
from berth.offline.plan import plan_config
from tests.test_repo_e2e_local import GOOD, stack, tools  # noqa: F401 - fixtures

pytestmark = pytest.mark.docker
REPLACED = {"replace", "create-replacement", "delete-replaced"}
EDITS = {
    "web command": ("sleep 3600", "sleep 3601"),
    "migrate command": ("echo migrated", "echo migrated again"),
    "nothing": ("", ""),
}


def test_preview_replaces_exactly_the_jobs_berth_diff_runs(stack, tmp_path: Path) -> None:  # noqa: F811
    stack.compose(GOOD)
    stack.up(on_output=print)
    project = Path(stack.workspace.work_dir)
    deployed = (project / "compose.yaml").read_text()
    base = tmp_path / "base" / project.name
    base.mkdir(parents=True)
    (base / "compose.yaml").write_text(deployed)
    config, secret_keys = plan_config(["x"], secrets={"TOKEN": "tok-e2e-secret"})
    for edit, (old, new) in EDITS.items():
        (project / "compose.yaml").write_text(deployed.replace(old, new) if old else deployed)
        ops: dict[str, str] = {}

        def record(event, ops=ops) -> None:
            if event.resource_pre_event:
                meta = event.resource_pre_event.metadata
                ops[meta.urn.split("::")[-1]] = str(getattr(meta.op, "value", meta.op))

        stack.preview(diff=True, on_event=record, on_output=print)
        diff = diff_files(
            [str(base / "compose.yaml")], [str(project / "compose.yaml")], config, secret_keys
        )
        runs = {job["name"]: job["runs"] for job in json.loads(diff.as_json())["jobs"]}
        assert runs["migrate"] is (ops.get("migrate-run") in REPLACED), (edit, ops, runs)
