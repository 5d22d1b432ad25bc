"""Real-world compose files (docker/awesome-compose): each plans, or stops with one clear error.

The corpus is copied without build contexts or secret files. Berth refuses a build whose context
or Dockerfile is not there, so the samples are planned from a copy with a stub for each build
context they name (``stubbed_corpus``); a missing secret file stays missing. Some samples need
variables: a warning or a clean error is fine. A crash, or an error that does not name the
file, is a defect.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from berth.components.offline_images import IMAGE
from berth.components.target import available_targets
from berth.errors import BerthError
from berth.offline.plan import Plan, plan_config, run_plan
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "corpus" / "awesome-compose"
"""A copy of the corpus the project was given (docker/awesome-compose, CC0-1.0), so that a
fresh clone runs these tests too: its compose files only."""

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


_LOCAL_PATH = re.compile(r"[\w.][\w./-]*")
"""A build context or Dockerfile written as a relative path, without variables or a scheme."""


@functools.cache
def stubbed_corpus() -> Path:
    """The corpus copied once per test process, with each build context its samples name and
    that it lacks made a folder with a ``FROM scratch`` Dockerfile (under the name the build
    gives), so that their builds plan; paths in it read as in ``CORPUS``."""
    copy = Path(tempfile.mkdtemp(prefix="berth-corpus-")) / CORPUS.name
    atexit.register(shutil.rmtree, copy.parent, ignore_errors=True)
    shutil.copytree(CORPUS, copy)
    for sample in SAMPLES:
        services = (yaml.safe_load((copy / sample).read_text()) or {}).get("services") or {}
        for service in services.values():
            if (service or {}).get("build") is not None:
                _stub((copy / sample).parent, service["build"])
    return copy


def _stub(folder: Path, build: str | dict[str, Any]) -> None:
    spec = {"context": build} if isinstance(build, str) else build
    context, dockerfile = str(spec.get("context", ".")), str(spec.get("dockerfile", "Dockerfile"))
    if not (_LOCAL_PATH.fullmatch(context) and _LOCAL_PATH.fullmatch(dockerfile)):
        return
    path = folder / context / dockerfile
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("FROM scratch\n")


@functools.cache
def outcome(sample: str, target: str) -> Plan | BerthError:
    """The plan of one sample on ``target``, or its BerthError; other exceptions propagate."""
    here = Path.cwd()
    os.chdir(stubbed_corpus())
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
        assert "'build" not in result.message, "a stubbed build context stopped the plan"
        return
    project = result.compose.name
    components = {(r.type, r.name) for r in result.registrations if not r.custom}
    for service in result.compose.services.values():
        kind = "berth:index:Job" if service.job else "berth:index:Service"
        assert (kind, f"{project}-{service.name}") in components
    images = {r.name for r in result.registrations if r.type == IMAGE}
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


@pytest.mark.parametrize("target", TARGETS)
def test_a_sample_without_its_build_context_is_refused_naming_it(target):
    here = Path.cwd()
    os.chdir(CORPUS)
    try:
        with pytest.raises(BerthError) as refused:
            run_plan(*plan_config(["flask/compose.yaml"], target=target))
    finally:
        os.chdir(here)

    assert refused.value.message == (
        "flask/compose.yaml: service 'web', field 'build': the build context 'flask/app' does not "
        "exist. create that folder with the Dockerfile and the files it copies, or set "
        "build.context to the folder that has them."
    )
