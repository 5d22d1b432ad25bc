"""Helpers for the AWS target's tests: the program under mocks, with what it registered."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from unittest import mock

import botocore.session
from botocore.validate import ParamValidator
from google.protobuf import empty_pb2, json_format

from berth.offline.plan import Plan, RecordingMonitor, Registration, plan_config, run_plan
from tests.conftest import program

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
JOB = "pulumi-python:dynamic/berth:EcsJob"
READY = "pulumi-python:dynamic/berth:EcsServiceReady"
IMAGE = "docker-build:index:Image"


def aws_program(
    files: list[str],
    *,
    config: Mapping[str, str] | None = None,
    secret_config: Sequence[str] = (),
    preview: bool = False,
    **kwargs: Any,
) -> Plan:
    """The program on the aws target, every output known (unless a preview); ``config`` adds
    stack config of other namespaces (``aws:region``, say)."""
    if not config and not preview:
        return program(files, target="aws", **kwargs)
    settings, secret_keys = plan_config(
        files, target="aws", variables=kwargs.get("variables"), secrets=kwargs.get("secrets")
    )
    return run_plan({**settings, **(config or {})}, [*secret_keys, *secret_config], preview=preview)


@contextlib.contextmanager
def component_outputs() -> Iterator[dict[str, dict[str, Any]]]:
    """Records the outputs each component registers (stack outputs come from them), by URN."""
    recorded: dict[str, dict[str, Any]] = {}

    def register(self: RecordingMonitor, request: Any) -> Any:
        recorded[request.urn] = json_format.MessageToDict(request.outputs)
        return empty_pb2.Empty()

    with mock.patch.object(RecordingMonitor, "RegisterResourceOutputs", register):
        yield recorded


def containers(registration: Registration) -> list[dict[str, Any]]:
    """A task definition's container definitions, as ECS receives them."""
    return json.loads(registration.inputs["containerDefinitions"])


def register_task_definition_request(registration: Registration) -> dict[str, Any]:
    """The RegisterTaskDefinition request a task definition registration amounts to."""
    inputs = registration.inputs
    request = {
        "family": inputs["family"],
        "containerDefinitions": containers(registration),
        "cpu": inputs["cpu"],
        "memory": inputs["memory"],
        "networkMode": inputs["networkMode"],
        "requiresCompatibilities": inputs["requiresCompatibilities"],
        "executionRoleArn": inputs["executionRoleArn"],
        "taskRoleArn": inputs["taskRoleArn"],
        "runtimePlatform": inputs["runtimePlatform"],
    }
    if inputs.get("volumes"):
        request["volumes"] = inputs["volumes"]
    return request


def ecs_validation_errors(registration: Registration) -> str:
    """What botocore's ECS model finds wrong with the request; empty when it is valid."""
    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(register_task_definition_request(registration), shape)
    return report.generate_report() if report.has_errors() else ""
