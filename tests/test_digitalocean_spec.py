"""Every app spec the digitalocean target renders, for the seed's examples and the compose
corpus, checked against the provider's own types and App Platform's known values.

DigitalOcean publishes no App spec schema in a Python package (pydo documents the API in
docstrings only), so the spec is checked against pulumi-digitalocean's input types: every key
must be a property of its ``AppSpec*Args`` class, every required one present, and the enum
values those of DigitalOcean's API reference (as pydo 0.44.0 documents them).
"""

from __future__ import annotations

import inspect
import os
import typing
from pathlib import Path
from typing import Any

import pulumi_digitalocean as do
import pytest
from pulumi import _types

from berth.errors import BerthError
from berth.offline.plan import Plan, plan_config, run_plan
from tests.conftest import copy_example, program
from tests.plans import of_type
from tests.test_contract_corpus import SAMPLES, stubbed_corpus

APP = "digitalocean:index/app:App"
KNOWN_VALUES = {
    "kind": {"UNSPECIFIED", "PRE_DEPLOY", "POST_DEPLOY", "FAILED_DEPLOY"},
    "registryType": {"DOCKER_HUB", "DOCR", "GHCR"},
    "engine": {"MYSQL", "PG", "REDIS", "MONGODB", "KAFKA", "OPENSEARCH", "VALKEY"},
    "scope": {"RUN_TIME", "BUILD_TIME", "RUN_AND_BUILD_TIME"},
    "type": {"GENERAL", "SECRET"},
}
"""App Platform's enums (DigitalOcean API reference; pulumi-digitalocean 4.84.1 leaves VALKEY
and GHCR out of its docstrings, the API accepts them)."""


def _args_class(annotation: Any) -> type | None:
    """The ``*Args`` class inside an annotation such as ``Sequence[Input[AppSpecJobArgs]]``."""
    if isinstance(annotation, type) and _types.is_input_type(annotation):
        return annotation
    for argument in typing.get_args(annotation):
        if found := _args_class(argument):
            return found
    return None


def problems(value: Any, cls: type, path: str = "spec") -> list[str]:
    """Where ``value`` (inputs as recorded, camelCase) does not fit the provider's ``cls``."""
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in problems(item, cls, f"{path}[{i}]")]
    names_of = _types.input_type_py_to_pulumi_names(cls)
    names = set(names_of.values())
    types = _types.input_type_types(cls)
    found = [f"{path}.{key}: not a property of {cls.__name__}" for key in value if key not in names]
    required = [
        name
        for name, parameter in inspect.signature(cls.__init__).parameters.items()
        if name not in ("self", "__self__") and parameter.default is inspect.Parameter.empty
    ]
    found += [
        f"{path}: {cls.__name__} needs {name}" for name in required if names_of[name] not in value
    ]
    for key, item in value.items():
        if key not in names:
            continue
        nested = _args_class(types[key])
        if nested is not None and isinstance(item, (dict, list)):
            found += problems(item, nested, f"{path}.{key}")
        elif key in KNOWN_VALUES and isinstance(item, str) and item not in KNOWN_VALUES[key]:
            found.append(f"{path}.{key}: {item!r} is not one of {sorted(KNOWN_VALUES[key])}")
    return found


def app_spec(plan: Plan) -> dict[str, Any]:
    (app,) = of_type(plan, APP)
    return app.inputs["spec"]


def test_the_checker_finds_a_wrong_key_a_missing_one_and_a_wrong_value():
    bad = {"name": "x", "jobs": [{"kind": "SOMETIME", "nmae": "j"}]}

    assert problems(bad, do.AppSpecArgs) == [
        "spec.jobs[0].nmae: not a property of AppSpecJobArgs",
        "spec.jobs[0]: AppSpecJobArgs needs name",
        "spec.jobs[0].kind: 'SOMETIME' is not one of "
        "['FAILED_DEPLOY', 'POST_DEPLOY', 'PRE_DEPLOY', 'UNSPECIFIED']",
    ]


@pytest.mark.parametrize("example", ["migrate", "release"])
def test_the_examples_specs_fit_the_provider_types(project_dir, example):
    plan = program([copy_example(example, project_dir)], target="digitalocean")

    assert problems(app_spec(plan), do.AppSpecArgs) == []


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_corpus_spec_fits_the_provider_types(sample):
    here = Path.cwd()
    os.chdir(stubbed_corpus())
    try:
        config, secret_keys = plan_config([sample], target="digitalocean")
        plan = run_plan(config, secret_keys, preview=False)
    except BerthError as error:
        pytest.skip(f"refused, as tests/test_contract_corpus.py checks: {error.message}")
    finally:
        os.chdir(here)

    spec = app_spec(plan)
    assert problems(spec, do.AppSpecArgs) == [], sample
    sections = ("services", "workers", "jobs", "databases")
    names = [part["name"] for section in sections for part in spec.get(section, [])]
    assert len(names) == len(set(names)) == len(plan.compose.services), sample
