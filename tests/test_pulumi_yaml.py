"""Pulumi.yaml declares every Berth setting, typed and with a default, and nothing else."""

from __future__ import annotations

import yaml

from berth.settings import SETTING_KEYS
from components.target import all_option_keys
from tests.conftest import ROOT


def test_every_setting_is_declared_with_a_default_and_a_description():
    config = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]

    assert set(config) == SETTING_KEYS | all_option_keys()
    for key, declaration in config.items():
        assert declaration["type"] in ("string", "boolean", "integer", "array"), key
        assert "default" in declaration, f"{key}: without a default every stack must set it"
        assert declaration["description"], key


def test_the_example_stacks_only_set_declared_settings_or_variables():
    for stack in ("dev",):
        config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert config["berth:composeFiles"] == ["examples/migrate/compose.yaml"]
        assert config["berth:target"] == "local"
