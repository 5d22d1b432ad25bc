"""The small interface a deployment target implements, and how a target is found by name.

A target is a package under ``providers/`` exposing ``NAME``, ``ORDERING`` (``Sequenced``,
per resource, or ``Phased``, one unit), ``FIELD_SUPPORT``, ``MANAGES_STORES``,
``Options`` (its typed settings),
``create(project, args, parent) -> Target`` (which makes the shared resources), and for the
offline plan ``plan_outputs(type_, inputs)`` and ``plan_call(token, args)`` (what its
resources and functions return once created); its ``roles`` module types the role
dictionaries (``berth.components.roles``).
Nothing else in Berth changes when a target is added (README, "Adding a target").
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol, TextIO

import pulumi

from berth import providers
from berth.ai_models import Platform
from berth.components.models import ModelGateway
from berth.components.names import Names
from berth.errors import BerthError
from berth.fields import Support
from berth.model import ComposeProject, Service
from berth.settings import DEFAULT_TARGET, TargetOptions


@dataclass(frozen=True)
class ServiceHandle:
    """What dependents of a long-running service can wait on."""

    started: Sequence[pulumi.Resource]
    """Resources that exist once the service's workload runs (``service_started``)."""
    healthy: Sequence[pulumi.Resource]
    """Resources that exist once the workload reports healthy (``service_healthy``)."""
    endpoints: pulumi.Input[Sequence[str]] = field(default_factory=list)
    resources: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    """The service's main resources by role (``workload`` always, where the target makes
    one), for programs that build on a Project; each target's page lists its keys."""


@dataclass(frozen=True)
class JobHandle:
    """What dependents of a one-off job wait on: its run, complete with exit code 0."""

    run: pulumi.Resource
    result: pulumi.Input[Mapping[str, Any]]
    resources: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    """The job's main resources by role (``run`` always), as for a service."""


@dataclass(frozen=True)
class TriggeredHandle:
    """A job of the top-level ``jobs:`` as deployed: a definition that runs on demand
    (``berth run``) and on its schedules, never by the deployment."""

    run_with: pulumi.Input[Mapping[str, Any]]
    """What ``berth run`` needs to run it once (the stack output ``triggered``): ``target``,
    ``manual``, and the target's own keys (cluster, task definition, ...); secret where it
    holds a secret."""
    resources: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    """The job's main resources by role (``definition`` always; ``schedule`` per schedule)."""


@dataclass(frozen=True)
class TargetArgs:
    """What a target is created with, besides the compose project and its parent."""

    names: Names
    """Names of the Project's children (and of the cloud objects, through ``names.project``)."""
    options: TargetOptions
    """The target's ``Options``: its typed settings."""
    secrets: Mapping[str, str] = field(default_factory=dict)
    """The stack's secret values, scrubbed from job logs and failure messages."""


class Target(Protocol):
    shared: Mapping[str, pulumi.Resource]
    """The resources every service shares (network, cluster, load balancer, registry, ...)
    by role; each target's page lists its keys."""

    def service(
        self, service: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> ServiceHandle:
        """The resources of one long-running service; the ones that must wait get ``after``."""
        ...

    def job(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> JobHandle:
        """The resources of one job, ending in a run-once resource that waits on ``after``."""
        ...

    def triggered(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> TriggeredHandle:
        """The resources of one job of ``jobs:`` (``job.triggers`` says how it runs): its
        definition, and a schedule per ``triggers.schedule`` entry, none made before ``after``
        (the services it depends on) exists. A target that cannot refuses in its
        ``FIELD_SUPPORT`` (``jobs.triggers.*`` rows), before anything deploys."""
        ...


@dataclass(frozen=True)
class Sequenced:
    """Each service and job is resources of its own, deployed as soon as what it waits on
    exists: ``depends_on`` becomes resource dependencies (the ``after`` a target receives), and
    a job's handle ``run`` is its run-once resource, which runs once per definition."""


@dataclass(frozen=True)
class Phased:
    """The whole project is one resource of type ``unit``, which the platform deploys at once
    in phases: ``after`` is kept by the phases a service is put in, not by waiting on
    resources; a job has no resource of its own for one run (its handle's ``run`` is its
    component) and runs on every deployment of the unit."""

    unit: str
    """The resource type of the one unit (``digitalocean:index/app:App``)."""
    phases: Callable[[ComposeProject, Mapping[str, Any]], Sequence[frozenset[str]]]
    """The compose services of each phase, first to last, read from the unit's inputs (what
    the platform is sent, so a test of the order checks what is deployed)."""


Ordering = Sequenced | Phased
"""How a target orders a deployment: the cross-target tests and ``berth diff`` read it."""


class TargetModule(Protocol):
    NAME: str
    ORDERING: Ordering
    FIELD_SUPPORT: Mapping[str, Support]
    MODEL_PLATFORM: Platform
    """The model service the target serves the project's ``models`` from (the column of
    ``berth.ai_models.CATALOGUE`` it reads)."""
    MODEL_GATEWAY: ModelGateway | None
    """A LiteLLM gateway per model, which ``Project`` adds as services before the target
    deploys them; None: the target serves models itself (``Service.models``)."""
    MANAGES_STORES: bool
    """Whether a service marked ``x-defang-postgres``/``x-defang-redis`` is the cloud's managed
    store (its password then a secret, even one written in the compose file), not a container."""
    Options: type[TargetOptions]
    """The target's typed settings (``berth.settings.TargetOptions``), defaults in code."""

    def create(
        self, project: ComposeProject, args: TargetArgs, parent: pulumi.Resource
    ) -> Target: ...

    def plan_outputs(self, type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]: ...

    def plan_call(self, token: str, args: Mapping[str, Any]) -> dict[str, Any]: ...

    def run_job(self, run_with: Mapping[str, Any], args: Sequence[str], log: TextIO) -> int:
        """``berth run``: run a deployed job of ``jobs:`` once (``run_with``: its stack output;
        ``args``: a command that replaces its own, when given), its log streamed to ``log`` as
        it runs; the job's exit code. Ctrl-C (KeyboardInterrupt) stops the run, then re-raises."""
        ...


def load_target(name: str) -> TargetModule:
    """The target package ``providers.<name>``, imported only when chosen (cloud SDKs are slow)."""
    if name not in available_targets():
        raise BerthError(
            f"unknown target {name!r}",
            hint=lambda terms: (
                f"use one of {', '.join(available_targets())}, e.g. "
                + terms.how_to_set("target", DEFAULT_TARGET)
            ),
        )
    try:
        module: ModuleType = importlib.import_module(f"berth.providers.{name}")
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith("berth.providers"):
            raise BerthError(
                f"the {name} target is not available in this version of Berth",
                hint=f"use one of: {', '.join(available_targets())}",
            ) from None
        raise
    return module  # type: ignore[return-value]


@functools.cache
def available_targets() -> list[str]:
    """Every package under ``providers/``, the default target first: adding a target is adding
    a package, nothing else."""
    found = sorted(
        module.name
        for module in pkgutil.iter_modules(providers.__path__)
        if module.ispkg and not module.name.startswith("_")
    )
    return sorted(found, key=lambda name: name != DEFAULT_TARGET)
