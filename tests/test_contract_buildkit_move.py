"""A stack deployed before Berth built with BuildKit moves over without running a job and
without replacing a service (issue 24; docs/builds.md, "Moving a stack from pulumi-docker's
builds"), on every target.

``fixtures/before_buildkit.json`` holds the examples' offline plans as the last Berth that built
with pulumi-docker made them (commit c20ee25), each resource by URN: a run-once resource with its
inputs (the state its provider diffs against), any other with a digest of its inputs in which
every image digest is one placeholder. Recorded with ``record()`` below, run from a checkout of
c20ee25 (``PYTHONPATH=<checkout> python -c "from tests.test_contract_buildkit_move import
record; record()"`` with this file copied there). The mock's digests of the new images differ
from the recorded ones, as a real rebuild's do.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from berth.components.offline_images import IMAGE
from berth.components.run_once import OFFLINE_RESULT, RunOnceResource
from berth.components.target import available_targets
from berth.offline.plan import Plan, plan_config, run_plan
from tests.conftest import FIXTURES, ROOT

EXAMPLES = ("release", "migrate", "pre-start")
BEFORE = json.loads((FIXTURES / "before_buildkit.json").read_text())
OLD_IMAGE = "docker:index/image:Image"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def run_once() -> dict[str, Any]:
    """Each target's run-once resource by its type name's end (``EcsJob``), with its provider
    (a target's classes exist once a plan of it ran)."""
    return {cls.__name__: cls.provider_type for cls in RunOnceResource.__subclasses__()}


REDEPLOYED = ("digitalocean:index/app:App", "pulumi-python:dynamic/berth:AppDeployed")
"""App Platform's app holds a digest of its whole spec, images included: it is deployed again
(and App Platform runs its jobs on every deployment, docs/digitalocean.md)."""


def plan_of(example: str, target: str) -> Plan:
    """The offline plan of ``example`` on ``target``, as a stack's ``up`` records it."""
    config, keys = plan_config([f"examples/{example}/compose.yaml"], target=target)
    return run_plan(config, keys, preview=False)


def recorded(plan: Plan) -> dict[str, Any]:
    """Each custom resource of ``plan`` as the fixture holds it."""
    resources = {}
    for registration in plan.registrations:
        if not registration.custom:
            continue
        inputs = {k: v for k, v in registration.inputs.items() if k != "__provider"}
        kind = registration.type.rpartition(":")[2]
        if kind in run_once():
            resources[registration.urn] = {"type": registration.type, "inputs": inputs}
        else:
            masked = _DIGEST.sub("<digest>", json.dumps(inputs, sort_keys=True, default=str))
            digest = hashlib.sha256(masked.encode()).hexdigest()
            resources[registration.urn] = {"type": registration.type, "masked": digest}
    return resources


def record() -> None:
    """Print the fixture: every example on every target, planned in a copy of the examples."""
    work = Path(tempfile.mkdtemp())
    shutil.copytree(ROOT / "examples", work / "examples")
    os.chdir(work)
    plans = {
        f"{example}/{target}": recorded(plan_of(example, target))
        for example in EXAMPLES
        for target in available_targets()
    }
    json.dump(plans, sys.stdout, sort_keys=True, indent=1, default=str)


@pytest.fixture
def examples(tmp_path, monkeypatch) -> None:
    """The examples, copied: planned from a folder of their own, as recorded."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)


def test_the_fixture_holds_every_example_on_every_target_and_jobs_to_diff():
    assert set(BEFORE) == {f"{e}/{t}" for e in EXAMPLES for t in available_targets()}
    runs = [r for plan in BEFORE.values() for r in plan.values() if "inputs" in r]
    assert len(runs) >= 9, "the jobs and hooks of three examples on three targets"


@pytest.mark.parametrize("target", available_targets())
@pytest.mark.parametrize("example", EXAMPLES)
def test_the_first_up_after_the_move_runs_no_job_and_replaces_no_service(examples, example, target):
    before = BEFORE[f"{example}/{target}"]
    now = recorded(plan_of(example, target))

    # Only the images change type. New: local reads each built image's ID from a RemoteImage
    # and builds with a provider of its own; aws keeps each layer cache in a repository.
    gone, added = before.keys() - now.keys(), now.keys() - before.keys()
    assert gone and all(before[urn]["type"] == OLD_IMAGE for urn in gone)
    assert {urn.replace(OLD_IMAGE, IMAGE) for urn in gone} <= added
    rest = added - {urn.replace(OLD_IMAGE, IMAGE) for urn in gone}
    new_on = {"local": ("-image-id", "-builder"), "aws": ("-buildcache",)}.get(target, ())
    assert all(urn.endswith(new_on) for urn in rest), rest

    for urn in before.keys() & now.keys():
        old, new = before[urn], now[urn]
        kind = old["type"].rpartition(":")[2]
        if kind in run_once():
            provider = run_once()[kind]()
            diff = provider.diff("id", {**old["inputs"], **OFFLINE_RESULT}, new["inputs"])
            assert diff.replaces == [], f"{urn} would run again"
            assert old["inputs"] != new["inputs"], "the image digest did move (the rebuild)"
        elif old["type"] not in REDEPLOYED:
            assert old["masked"] == new["masked"], f"{urn} changes beyond its image digest"


def test_a_job_recorded_after_the_move_runs_again_when_its_digest_moves(examples):
    """The adoption happens once: the state it writes holds ``imageBuilder``."""
    now = recorded(plan_of("migrate", "aws"))
    (urn,) = [u for u, r in now.items() if "inputs" in r]
    state = {**now[urn]["inputs"], **OFFLINE_RESULT}
    moved = json.loads(_DIGEST.sub("sha256:" + "f" * 64, json.dumps(now[urn]["inputs"])))

    assert run_once()["EcsJob"]().diff("id", state, moved).replaces == ["definition"]
