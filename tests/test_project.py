"""The Project as a program of one's own uses it: its name, its typed options, its outputs."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pulumi
import pulumi_aws
import pytest

from berth.components.project import Project, ProjectArgs
from berth.components.target import TargetModule, available_targets, load_target
from berth.errors import BerthError
from berth.offline.plan import Plan, plan_config, run_plan
from berth.providers import aws
from tests.conftest import ROOT

RELEASE = [str(ROOT / "examples/release/compose.yaml")]


def _run(target: str, program: Callable[[], Project]) -> Plan:
    config, secret_keys = plan_config([], target)
    return run_plan(config, secret_keys, preview=False, program=program)


def test_typed_options_reach_the_target() -> None:
    options = aws.Options.parse({"awsCertificateArn": "arn:aws:acm:eu-west-1:123:certificate/x"})

    def program() -> Project:
        return Project("shop", ProjectArgs.from_files(RELEASE, "aws", options=options))

    listeners = [
        r.inputs for r in _run("aws", program).registrations if r.type == "aws:lb/listener:Listener"
    ]
    assert {listener["protocol"] for listener in listeners} == {"HTTP", "HTTPS"}


def test_options_left_out_are_pulumi_yamls_defaults() -> None:
    def program() -> Project:
        return Project("shop", ProjectArgs.from_files(RELEASE, "aws"))

    listeners = [
        r.inputs for r in _run("aws", program).registrations if r.type == "aws:lb/listener:Listener"
    ]
    assert {listener["protocol"] for listener in listeners} == {"HTTP"}


@pytest.mark.parametrize("name", ["Shop", "-shop", "shop.web", ""])
def test_a_name_that_cannot_name_cloud_objects_is_refused(name: str) -> None:
    def program() -> Project:
        return Project(name, ProjectArgs.from_files(RELEASE, "local"))

    with pytest.raises(BerthError) as caught:
        _run("local", program)
    assert "cannot name a Berth Project" in str(caught.value)


def test_the_outputs_a_program_builds_on() -> None:
    seen: dict[str, set[str]] = {}

    def program() -> Project:
        project = Project("shop", ProjectArgs.from_files(RELEASE, "local"))
        seen.update(
            shared=set(project.shared),
            service=set(project.services["app"].resources),
            job=set(project.jobs["release"].resources),
        )
        return project

    _run("local", program)
    assert "network" in seen["shared"]
    assert "workload" in seen["service"]
    assert "run" in seen["job"]


def test_a_provider_methods_call_is_recorded_with_its_receiver() -> None:
    def program() -> Project:
        provider = pulumi_aws.Provider("explicit", region="us-west-2")
        opts = pulumi.ResourceOptions(providers=[provider])
        return Project("shop", ProjectArgs.from_files(RELEASE, "aws"), opts=opts)

    calls = [i for i in _run("aws", program).invocations if i.token.endswith("/terraformConfig")]
    assert calls
    assert {call.provider.split("::")[3] for call in calls} == {"explicit"}


def test_another_targets_options_are_refused_by_name() -> None:
    options = aws.Options.parse({})

    def program() -> Project:
        return Project("shop", ProjectArgs.from_files(RELEASE, "local", options=options))

    with pytest.raises(BerthError) as caught:
        _run("local", program)
    assert "the local target was given AwsOptions as its options" in caught.value.message


def _types_built(target: str, given: str | TargetModule) -> set[str]:
    def program() -> Project:
        compose = ProjectArgs.from_files(RELEASE, target).compose
        return Project("shop", ProjectArgs(compose, given))

    return {r.type for r in _run(target, program).registrations}


@functools.cache
def _types_built_by_module(target: str) -> frozenset[str]:
    return frozenset(_types_built(target, load_target(target)))


@pytest.mark.parametrize("target", available_targets())
def test_the_target_may_be_given_by_name(target: str) -> None:
    """Every target, not only the default: by its name, a Project builds what the target's
    module builds, and that differs from what any other target builds."""
    by_name = _types_built(target, target)
    assert by_name == _types_built_by_module(target)
    for other in set(available_targets()) - {target}:
        assert by_name != _types_built_by_module(other), f"{target} builds what {other} builds"
