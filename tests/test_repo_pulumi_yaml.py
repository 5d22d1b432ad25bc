"""Pulumi.yaml declares every Berth setting, typed and with a default, and nothing else."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from berth.components.program import pulumi_config, pulumi_config_yaml
from berth.offline.plan import PULUMI_PROJECT
from tests.conftest import ROOT


def test_every_setting_is_declared_with_a_default_and_a_description():
    config = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]

    assert set(config) == set(pulumi_config())
    for key, declaration in config.items():
        assert declaration["type"] in ("string", "boolean", "integer", "array"), key
        assert "default" in declaration, f"{key}: without a default every stack must set it"
        assert declaration["description"], key


def test_the_config_section_is_the_one_the_settings_classes_make():
    """Pulumi.yaml cannot drift from the classes whose fields are the settings: a setting
    added, renamed or given another default or description shows here. To update it, replace
    its config section with the output of ``python -m berth pulumi-config``."""
    text = (ROOT / "Pulumi.yaml").read_text()

    assert text[text.index("\nconfig:\n") + 1 :] == pulumi_config_yaml()
    assert yaml.safe_load(text)["config"] == pulumi_config()


def test_the_generated_config_section_follows_the_classes(monkeypatch: pytest.MonkeyPatch):
    """The check above cannot pass by accident: a default changed in code changes the text."""
    from berth.providers.aws.options import AwsOptions

    before = pulumi_config_yaml()
    field = AwsOptions.__dataclass_fields__["ecr_keep_images"]
    monkeypatch.setattr(field, "default", 3)

    assert pulumi_config()["awsEcrKeepImages"]["default"] == 3
    assert pulumi_config_yaml() != before


PROVIDER_NAMESPACES = ("aws", "gcp", "docker")
"""Config of the Pulumi providers themselves (``aws:region``), not Berth's to declare."""


def stack_config(stack: str) -> dict[str, Any]:
    """The stack file's config; for an example kept commented out, the commented block."""
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    document = yaml.safe_load(text) or {}
    if "config" not in document:
        lines = text.splitlines()
        start = lines.index("# config:")
        document = yaml.safe_load("\n".join(line[2:] for line in lines[start:]))
    return document["config"]


def undeclared(config: Mapping[str, Any]) -> list[str]:
    """Keys that are neither a Berth setting nor a variable the stack's compose files use
    (as ``${KEY}``, ``$KEY`` or a bare environment key): a typo, or a leftover."""
    files = config.get("berth:composeFiles") or ["compose.yaml"]
    text = "\n".join((ROOT / file).read_text() for file in files)
    settings = set(pulumi_config())
    unknown = []
    for key in config:
        namespace, _, name = key.partition(":")
        used = re.search(rf"\$\{{?{name}\b|^\s*-\s*{name}\s*$", text, re.MULTILINE)
        if namespace not in PROVIDER_NAMESPACES and not (
            namespace == "berth" and (name in settings or used)
        ):
            unknown.append(key)
    return unknown


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_example_stacks_only_set_declared_settings_or_variables(stack):
    config = stack_config(stack)

    assert config["berth:composeFiles"][0] == "examples/migrate/compose.yaml"
    assert undeclared(config) == []


def test_a_key_that_is_neither_a_setting_nor_a_used_variable_is_caught():
    config = {
        "berth:composeFiles": ["examples/migrate/compose.yaml"],
        "berth:composeFile": "typo.yaml",
        "berth:POSTGRES_PASSWORD": "used as ${POSTGRES_PASSWORD}",
        "berth:IMAGE_TAG": "used nowhere",
        "aws:region": "eu-west-1",
        "other:key": "an unknown namespace",
    }

    assert undeclared(config) == ["berth:composeFile", "berth:IMAGE_TAG", "other:key"]


def test_the_offline_plan_names_the_project_as_pulumi_yaml_does():
    """URNs hold the project's name; an installed Berth has no Pulumi.yaml to read it from."""
    assert yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"] == PULUMI_PROJECT
