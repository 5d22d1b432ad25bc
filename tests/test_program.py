"""The program (components/program.py): ``deploy(settings)`` is a function of the settings
alone, and only ``main()`` reads the stack config into them."""

from __future__ import annotations

import json
from collections.abc import Callable

import pulumi
import pytest
from pulumi.runtime import config as runtime_config

from berth.components.program import deploy, main
from berth.components.project import Project
from berth.offline import cli
from berth.offline.plan import Plan, plan_settings, run_plan
from berth.providers.aws.options import AwsOptions
from berth.settings import StackSettings
from berth.variables import Variables

COMPOSE = """\
services:
  app:
    image: nginx:1.27
    environment:
      DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app
      TAG: ${TAG}
"""
PASSWORD = "hunter2-secret"


def _recording(program: Callable[[], Project], seen: list[set[str]]) -> Callable[[], Project]:
    """``program``, noting the keys of Pulumi's runtime config while it runs."""

    def run() -> Project:
        seen.append(set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env()))
        return program()

    return run


def _container(plan: Plan) -> dict[str, object]:
    (container,) = [r for r in plan.registrations if r.type == "docker:index/container:Container"]
    return container.inputs


def test_deploy_takes_settings_made_in_code_with_nothing_in_the_stack_config(write) -> None:
    """No JSON through Pulumi's config: the settings reach ``deploy`` as they are, and a
    variable of a secret key is still a secret in every input that holds it."""
    settings = StackSettings(
        compose_files=(write(COMPOSE),),
        project_name="shop",
        variables=Variables(
            {"DB_PASSWORD": PASSWORD, "TAG": "1.4"}, secret_keys=frozenset({"DB_PASSWORD"})
        ),
    )
    seen: list[set[str]] = []

    plan = run_plan({}, settings=settings, program=_recording(lambda: deploy(settings), seen))

    assert seen == [set()], "nothing of Berth's went through the runtime config"
    assert plan.compose.name == "shop"
    inputs = json.dumps(_container(plan))
    assert PASSWORD not in inputs
    assert "[secret]" in inputs


def test_the_plan_command_builds_the_settings_and_keeps_berth_out_of_the_config(
    write, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m berth plan``: its flags become settings, given to ``deploy`` directly."""
    file = write(COMPOSE)
    given: list[StackSettings] = []
    seen: list[set[str]] = []

    def deploy_noting(settings: StackSettings) -> Project:
        given.append(settings)
        return _recording(lambda: deploy(settings), seen)()

    monkeypatch.setattr("berth.offline.plan.deploy", deploy_noting)
    flags = ["-f", file, "--set", "TAG=1.4", "--secret", f"DB_PASSWORD={PASSWORD}"]

    assert cli.main(["plan", *flags, "--format", "json"]) == 0
    assert seen == [set()], "nothing of Berth's went through the runtime config"
    (settings,) = given
    assert settings.compose_files == (file,)
    assert dict(settings.variables.values) == {"TAG": "1.4", "DB_PASSWORD": PASSWORD}
    assert settings.variables.secret_keys == frozenset({"DB_PASSWORD"})
    assert PASSWORD not in capsys.readouterr().out


def test_the_plan_command_s_target_settings_are_typed_options(write) -> None:
    settings = plan_settings([write(COMPOSE)], "aws", values={"awsEcrKeepImages": "3"})

    assert settings.options == AwsOptions(ecr_keep_images=3)
    assert dict(settings.variables.values) == {}


def test_main_reads_the_stack_config(write) -> None:
    """``pulumi up``: the engine's config, Berth's keys and secrets among them, read by main."""
    config = {
        "berth:composeFiles": json.dumps([write(COMPOSE)]),
        "berth:projectName": "from-config",
        "berth:TAG": "1.4",
        "berth:DB_PASSWORD": PASSWORD,
    }

    def program() -> Project:
        pulumi.runtime.set_all_config(config, ["berth:DB_PASSWORD"])
        return main()

    plan = run_plan({}, program=program)

    assert plan.compose.name == "from-config"
    inputs = json.dumps(_container(plan))
    assert PASSWORD not in inputs
    assert "[secret]" in inputs
