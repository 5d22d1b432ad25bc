"""Real-world compose files (docker/awesome-compose): each plans, or stops with one clear error.

The corpus is copied without build contexts or secret files; a missing build context must not
stop a plan (it only stops a real build). Some samples need variables: a warning or a clean
error is fine. A crash, or an error that does not name the file, is a defect.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from berth.errors import BerthError
from components.target import available_targets
from offline.plan import Plan, plan_config, run_plan
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "corpus" / "awesome-compose"
"""A copy of the corpus the project was given (docker/awesome-compose, CC0-1.0), so that a
fresh clone runs these tests too."""

SAMPLES = sorted(
    f"{folder.name}/{file.name}"
    for folder in CORPUS.iterdir()
    if folder.is_dir()
    for file in folder.iterdir()
    if file.suffix in (".yaml", ".yml") and file.stem in ("compose", "docker-compose")
)
TARGETS = available_targets()
MIN_PLANNED = {"local": 29, "digitalocean": 26}
"""Samples that plan, per target. On local the others are refused on purpose: a job that
publishes ports (fastapi), a secret file the corpus does not ship (eight db/password.txt
samples) and a volume whose source is an unset variable (plex); digitalocean also refuses
the images App Platform cannot pull (mcr.microsoft.com, docker.redpanda.com) and environment
names App Platform does not take (elasticsearch-logstash-kibana's discovery.type). Raise it
when a fix makes another sample plan."""


@functools.cache
def outcome(sample: str, target: str) -> Plan | BerthError:
    """The plan of one sample on ``target``, or its BerthError; other exceptions propagate."""
    here = Path.cwd()
    os.chdir(CORPUS)
    try:
        config, secret_keys = plan_config([sample], target=target)
        return run_plan(config, secret_keys, preview=True)
    except BerthError as error:
        return error
    finally:
        os.chdir(here)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("sample", SAMPLES)
def test_sample_plans_or_fails_with_an_error_naming_the_file(sample, target):
    result = outcome(sample, target)

    if isinstance(result, BerthError):
        assert result.file == sample, result.message
        assert result.message.startswith(f"{sample}: ")
        assert result.hint, f"no advice in: {result.message}"
        assert "context" not in result.message, "a missing build context stopped the plan"
        return
    project = result.compose.name
    components = {(r.type, r.name) for r in result.registrations if not r.custom}
    for service in result.compose.services.values():
        kind = "berth:index:Job" if service.job else "berth:index:Service"
        assert (kind, f"{project}-{service.name}") in components
    images = {r.name for r in result.registrations if r.type == "docker:index/image:Image"}
    for service in result.compose.services.values():
        if service.build:
            assert f"{project}-{service.name}-image" in images


@pytest.mark.parametrize("target", TARGETS)
def test_most_samples_plan_and_every_refusal_is_listed(target):
    results = {sample: outcome(sample, target) for sample in SAMPLES}
    refused = {s: r.message for s, r in results.items() if isinstance(r, BerthError)}
    summary = "\n".join(f"  {sample}: {message}" for sample, message in sorted(refused.items()))
    planned = len(results) - len(refused)
    print(f"\n{target}: {planned} of {len(results)} samples plan; refused:\n{summary}")

    assert len(results) >= 30, f"the corpus shrank: {len(results)} samples"
    assert planned >= MIN_PLANNED.get(target, MIN_PLANNED["local"]), summary
    absent_contexts = [
        service.build.context
        for plan in results.values()
        if isinstance(plan, Plan)
        for service in plan.compose.services.values()
        if service.build and not (CORPUS / service.build.context).exists()
    ]
    assert absent_contexts, "no planned sample proved that a missing build context is fine"
