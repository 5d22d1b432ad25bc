"""The no-op rule across processes: each ``pulumi up`` runs the program in a new interpreter,
whose string hashing (so the order of any set) differs from the last one's. The no-op tests of
each target plan both versions in one process, where a set iterated into a resource's inputs
keeps its order; here each target plans one project in this interpreter and in another with
another hash seed, and the plans must be the same, byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import berth.providers.gcp
from berth.components.target import available_targets
from berth.offline.plan import plan_config, run_plan
from tests.conftest import ROOT

SECRETS = {f"S{index}": f"secret-value-{index}-0a1b2c" for index in range(1, 6)}
COMPOSE = """\
name: shop
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${S1}
  cache:
    image: redis:7
  migrate:
    image: migrate/migrate
    command: ["migrate", "up"]
    environment:
      A: ${S2}
      B: ${S3}
      C: ${S4}
      D: ${S5}
      E: plain-e
      F: plain-f
      URL: postgres://app:${S1}@db:5432/app
    labels: {c.label: "3", a.label: "1", b.label: "2"}
    restart: "no"
    depends_on: [db, cache]
  web:
    image: nginx:1.27
    ports: ["80:80", "8080:8080", "8443:8443"]
    environment:
      A: ${S2}
      B: ${S3}
      C: ${S4}
      G: plain-g
    volumes: [data:/data, logs:/logs, files:/files]
    cap_add: [NET_ADMIN, SYS_TIME, CHOWN]
    depends_on: [migrate, cache, db]
volumes:
  data: {}
  logs: {}
  files: {}
"""
VERSIONS_KEY = bytes(16)
"""The offline gcp mock numbers secret versions with a key of its process (state, in a real
stack): the same key in both interpreters, so that only the program's own inputs can differ."""


def planned(folder: str, targets: list[str]) -> str:
    """Each target's plan of ``folder``'s compose.yaml as ``pulumi up`` runs it (every output
    known): each resource's inputs as the engine receives them, what it waits on, its service;
    as JSON."""
    plans: dict[str, dict[str, Any]] = {}
    for target in targets:
        files = [str(Path(folder) / "compose.yaml")]
        config, secret_keys = plan_config(files, target=target, secrets=SECRETS)
        plan = run_plan(config, secret_keys, preview=False)
        plans[target] = {
            r.urn: [r.raw_inputs, sorted(r.dependencies), plan.service_of(r)]
            for r in plan.registrations
        }
    return json.dumps(plans)


ELSEWHERE = f"""
import sys
import berth.providers.gcp
from tests.test_contract_noop_across_processes import planned
berth.providers.gcp._VERSIONS_KEY = {VERSIONS_KEY!r}
print(planned(sys.argv[1], sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    (folder / "compose.yaml").write_text(COMPOSE)
    return folder


@pytest.fixture(scope="module")
def elsewhere(project: Path) -> dict[str, Any]:
    """Every target's plan, made once in another interpreter with another hash seed."""
    ours = os.environ.get("PYTHONHASHSEED", "")
    seed = str(int(ours) + 1) if ours.isdigit() else "1"  # random here: another one at once
    done = subprocess.run(
        [sys.executable, "-c", ELSEWHERE, str(project), *available_targets()],
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("target", available_targets())
def test_a_target_plans_the_same_in_another_interpreter(
    target: str, project: Path, elsewhere: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(berth.providers.gcp, "_VERSIONS_KEY", VERSIONS_KEY)
    resources = json.loads(planned(str(project), [target]))[target]
    there = elsewhere[target]
    assert "migrate" in {service for _, _, service in resources.values()}, target
    assert there.keys() == resources.keys(), target
    differ = [urn for urn in resources if there[urn] != resources[urn]]
    assert not differ, f"{target} plans these differently in another process: {differ}"
