"""Questions tests ask of a recorded plan."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import dill
import pulumi
from pulumi.dynamic import ResourceProvider

from berth.variables import Variables
from components.project import Project, ProjectArgs
from components.pulumi_internals import is_secret
from offline.plan import Plan, RecordingMonitor, Registration


def find(plan: Plan, type_: str, name: str) -> Registration:
    """The resource of ``type_`` named ``name``, or the Project's name, ``-`` and ``name``."""
    names = {name, f"{plan.compose.name}-{name}"}
    matches = [r for r in plan.registrations if r.type == type_ and r.name in names]
    assert len(matches) == 1, f"{type_} {name}: {[r.urn for r in plan.registrations]}"
    return matches[0]


def of_type(plan: Plan, type_: str) -> list[Registration]:
    return [r for r in plan.registrations if r.type == type_]


def named(registrations: list[Registration], name: str) -> Registration | None:
    """The custom resource named ``name``, or ending in ``-`` and ``name`` (the Project's
    name comes first)."""
    return next(
        (r for r in registrations if r.custom and (r.name == name or r.name.endswith(f"-{name}"))),
        None,
    )


def waits_on_services(plan: Plan, registration: Registration) -> set[str]:
    """The compose services whose resources ``registration`` waits on (other than its own)."""
    by_urn = {r.urn: r for r in plan.registrations}
    own = plan.service_of(registration)
    services = {plan.service_of(by_urn[urn]) for urn in registration.dependencies}
    return {s for s in services if s is not None and s != own}


def resources_of(plan: Plan, service: str) -> list[Registration]:
    """The custom resources that belong to one compose service."""
    return [r for r in plan.registrations if r.custom and plan.service_of(r) == service]


def user_program(
    files: list[str],
    target: str,
    built: list[Project],
    *,
    opts: pulumi.ResourceOptions | None = None,
    options: Any = None,
    variables: Variables | None = None,
) -> Callable[[], Project]:
    """A program of one's own that deploys ``files`` as the Project ``shop``, keeping it in
    ``built`` for the test to read its attributes."""

    def program() -> Project:
        args = ProjectArgs.from_files(files, target, options=options, variables=variables)
        built.append(Project("shop", args, opts=opts))
        return built[-1]

    return program


def provider_inputs(node: Any) -> Any:
    """Registered inputs as the engine hands them to a dynamic provider: secrets as their
    values (it does not accept secrets), without the provider itself (``__provider``)."""
    if isinstance(node, dict):
        if is_secret(node):
            return provider_inputs(node["value"])
        return {k: provider_inputs(v) for k, v in node.items() if k != "__provider"}
    if isinstance(node, list):
        return [provider_inputs(v) for v in node]
    return node


def dynamic_provider(registration: Registration) -> ResourceProvider:
    """A dynamic resource's provider, unpickled from its ``__provider`` input as the engine's
    dynamic provider process does (``pulumi.dynamic.__main__.get_provider``); the SDK sends
    it as a secret, which the engine unwraps for the provider."""
    serialized = registration.raw_inputs["__provider"]
    if is_secret(serialized):
        serialized = serialized["value"]
    return dill.loads(base64.b64decode(serialized))  # noqa: S301 - our own program's provider


@contextlib.contextmanager
def resource_options() -> Iterator[dict[str, Any]]:
    """Each RegisterResource request the program sends, by URN: its resource options
    (``protect``, ``retainOnDelete``, ``importId``, ``ignoreChanges``) as the engine gets them."""
    recorded: dict[str, Any] = {}
    original = RecordingMonitor.RegisterResource

    def register(self: RecordingMonitor, request: Any) -> Any:
        response = original(self, request)
        recorded[response.urn] = request
        return response

    with mock.patch.object(RecordingMonitor, "RegisterResource", register):
        yield recorded
