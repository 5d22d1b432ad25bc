"""``berth:index:Project``: one compose project, each service and job deployed in dependency order.

The sequencing of ``depends_on`` lives here and nowhere else: every target receives, for each
service or job, exactly the resources it must wait on, and no others. Services that do not
depend on each other therefore deploy concurrently.

A Pulumi program can build on a Project (see ``examples/extend``): the target's shared
resources (``shared``), each service's and job's main resources (``resources``), their
endpoints and results are attributes; the Project's name names every child resource and
cloud object, and an explicit provider given in its options is used for every resource and
every provider function beneath it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from berth.components.models import check_models, with_gateways
from berth.components.names import Names
from berth.components.pulumi_internals import flat_provider_serialization
from berth.components.target import (
    JobHandle,
    ServiceHandle,
    Target,
    TargetArgs,
    TargetModule,
    TriggeredHandle,
    load_target,
)
from berth.errors import BerthError
from berth.graph import Gate, deployment_order, gates
from berth.load import load_project
from berth.model import ComposeProject
from berth.model import Service as ServiceModel
from berth.settings import DEFAULT_TARGET, TargetOptions
from berth.sources import read_sources
from berth.stores import seal_written_passwords
from berth.variables import Variables


@dataclass(frozen=True)
class ProjectArgs:
    compose: ComposeProject
    """The loaded compose files (``ProjectArgs.from_files`` loads them)."""
    target: TargetModule | str
    """The target, or its name (``"aws"``)."""
    options: TargetOptions | None = None
    """The target's ``Options`` (e.g. ``berth.providers.aws.Options(vpc_id=vpc.id, ...)``);
    None: its defaults."""
    secrets: Mapping[str, str] = field(default_factory=dict)
    """Secret values to scrub from job logs and failure messages (the stack's secrets)."""
    legacy_names: bool = False
    """Alias renamed children to the names Berth gave them before they began with the
    Project's name: for stacks first deployed by an earlier Berth (the Berth program sets it)."""

    @classmethod
    def from_files(
        cls,
        files: Sequence[str],
        target: str | None = None,
        *,
        options: TargetOptions | None = None,
        variables: Variables | None = None,
        profiles: Sequence[str] = (),
        legacy_names: bool = False,
        project_name: str = "",
    ) -> ProjectArgs:
        """Load ``files`` for ``target`` (``DEFAULT_TARGET`` when None), warning
        about every compose field the target ignores; ``project_name`` is compose's ``-p``."""
        module = load_target(target or DEFAULT_TARGET)
        variables = variables or Variables()
        compose = load_project(
            list(files),
            variables,
            list(profiles),
            target=module.NAME,
            support=module.FIELD_SUPPORT,
            project_name=project_name,
        )
        for warning in compose.warnings:
            pulumi.log.warn(warning)
        return cls(compose, module, options, variables.secrets, legacy_names)


class Service(pulumi.ComponentResource):
    """``berth:index:Service``: a long-running compose service on the chosen target."""

    def __init__(
        self,
        name: str,
        service: ServiceModel,
        target: Target,
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("berth:index:Service", name, None, opts)
        self.handle: ServiceHandle = target.service(service, after, self)
        self.endpoints = pulumi.Output.from_input(self.handle.endpoints)
        self.resources: Mapping[str, pulumi.Resource] = self.handle.resources
        """The service's main resources by role: ``workload`` and the target's others."""
        self.register_outputs({"endpoints": self.endpoints})


class Job(pulumi.ComponentResource):
    """``berth:index:Job``: a one-off job that runs to completion once per definition."""

    def __init__(
        self,
        name: str,
        job: ServiceModel,
        target: Target,
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("berth:index:Job", name, None, opts)
        self.handle: JobHandle = target.job(job, after, self)
        self.result = pulumi.Output.from_input(self.handle.result)
        self.run = self.handle.run
        """The run-once resource: wait on it (``depends_on``) to start after the job exited 0."""
        self.resources: Mapping[str, pulumi.Resource] = self.handle.resources
        self.register_outputs({"result": self.result})


class TriggeredJob(pulumi.ComponentResource):
    """``berth:index:TriggeredJob``: a job of the top-level ``jobs:``, deployed to run on
    demand (``berth run``) and on its schedules; the deployment itself never runs it."""

    def __init__(
        self,
        name: str,
        job: ServiceModel,
        target: Target,
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("berth:index:TriggeredJob", name, None, opts)
        self.handle: TriggeredHandle = target.triggered(job, after, self)
        self.run_with = pulumi.Output.from_input(self.handle.run_with)
        """What ``berth run`` reads: the stack output ``triggered``."""
        self.resources: Mapping[str, pulumi.Resource] = self.handle.resources
        self.register_outputs({"runWith": self.run_with})


class Project(pulumi.ComponentResource):
    """``berth:index:Project``: the whole compose project on one target."""

    def __init__(
        self, name: str, args: ProjectArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        flat_provider_serialization()
        names = Names(name, legacy=args.legacy_names)
        module = load_target(args.target) if isinstance(args.target, str) else args.target
        options = _options(module, args.options)
        super().__init__("berth:index:Project", name, None, opts)
        compose = dataclasses.replace(args.compose, name=name)
        secrets = args.secrets
        if module.MANAGES_STORES:
            sealed = seal_written_passwords(compose)
            compose, secrets = sealed.project, {**secrets, **sealed.secrets}
            for warning in sealed.warnings:
                pulumi.log.warn(warning)
        if compose.models:
            sources = read_sources(compose.files)
            for warning in check_models(compose, module.MODEL_PLATFORM, sources):
                pulumi.log.warn(warning)
            if module.MODEL_GATEWAY:
                compose = with_gateways(compose, module.MODEL_GATEWAY, sources)
        self.compose = compose
        """The compose project as deployed: under the Project's name; on a target that manages
        stores, a store's password written in plain text is a secret (``berth.stores``); on a
        target that serves models through gateways, a gateway service per model
        (``berth.components.models``)."""
        target = module.create(self.compose, TargetArgs(names, options, secrets), self)
        self.shared: Mapping[str, pulumi.Resource] = target.shared
        """The target's shared resources by role (network, cluster, load balancer, ...)."""
        self.services: dict[str, Service] = {}
        self.jobs: dict[str, Job] = {}
        for service_name in deployment_order(self.compose):
            model = self.compose.services[service_name]
            after = self._gating_resources(self.compose, model)
            child = pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions(parent=self), names.aliased(service_name)
            )
            if model.job:
                self.jobs[service_name] = Job(names(service_name), model, target, after, child)
            else:
                self.services[service_name] = Service(
                    names(service_name), model, target, after, child
                )
        self.triggered: dict[str, TriggeredJob] = {
            job_name: TriggeredJob(
                names(job_name),
                model,
                target,
                self._gating_resources(self.compose, model),
                pulumi.ResourceOptions(parent=self),
            )
            for job_name, model in self.compose.triggered.items()
        }
        self.endpoints: Mapping[str, pulumi.Output[Any]] = {
            n: s.endpoints for n, s in self.services.items()
        }
        self.results: Mapping[str, pulumi.Output[Any]] = {n: j.result for n, j in self.jobs.items()}
        self.runnable: Mapping[str, pulumi.Output[Any]] = {
            n: j.run_with for n, j in self.triggered.items()
        }
        """What ``berth run`` needs for each job of ``jobs:`` (the stack output ``triggered``)."""
        outputs = {"services": self.endpoints, "jobs": self.results}
        self.register_outputs({**outputs, "triggered": self.runnable} if self.runnable else outputs)

    def _gating_resources(
        self, compose: ComposeProject, service: ServiceModel
    ) -> list[pulumi.Resource]:
        """Exactly the resources ``service`` waits on: job runs, started or healthy workloads."""
        resources: list[pulumi.Resource] = []
        for dependency, gate in gates(compose, service):
            if gate is Gate.COMPLETED:
                resources.append(self.jobs[dependency].handle.run)
            elif gate is Gate.HEALTHY:
                resources.extend(self.services[dependency].handle.healthy)
            else:
                resources.extend(self.services[dependency].handle.started)
        return resources


def _options(target: TargetModule, given: TargetOptions | None) -> TargetOptions:
    """The target's typed settings: ``given``, or its defaults; another target's settings are
    refused by name rather than failing deep inside the target."""
    if given is None:
        return target.Options()
    if not isinstance(given, target.Options):
        raise BerthError(
            f"the {target.NAME} target was given {type(given).__name__} as its options",
            hint=f"pass berth.providers.{target.NAME}.Options (e.g. "
            f"berth.providers.{target.NAME}.Options(...)), or none for the defaults",
        )
    return given
