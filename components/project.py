"""``berth:index:Project``: one compose project, each service and job deployed in dependency order.

The sequencing of ``depends_on`` lives here and nowhere else: every target receives, for each
service or job, exactly the resources it must wait on, and no others. Services that do not
depend on each other therefore deploy concurrently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from berth.graph import Gate, deployment_order, gates
from berth.model import ComposeProject
from berth.model import Service as ServiceModel
from berth.settings import StackSettings
from components.target import JobHandle, ServiceHandle, Target, TargetModule


@dataclass(frozen=True)
class ProjectArgs:
    compose: ComposeProject
    settings: StackSettings
    target: TargetModule


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
        self.register_outputs({"result": self.result})


class Project(pulumi.ComponentResource):
    """``berth:index:Project``: the whole compose project on one target."""

    def __init__(
        self, name: str, args: ProjectArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("berth:index:Project", name, None, opts)
        self.compose = args.compose
        target = args.target.create(args.compose, args.settings, self)
        self.services: dict[str, Service] = {}
        self.jobs: dict[str, Job] = {}
        for service_name in deployment_order(args.compose):
            model = args.compose.services[service_name]
            after = self._gating_resources(args.compose, model)
            child = pulumi.ResourceOptions(parent=self)
            if model.job:
                self.jobs[service_name] = Job(service_name, model, target, after, child)
            else:
                self.services[service_name] = Service(service_name, model, target, after, child)
        self.endpoints: Mapping[str, pulumi.Output[Any]] = {
            n: s.endpoints for n, s in self.services.items()
        }
        self.results: Mapping[str, pulumi.Output[Any]] = {n: j.result for n, j in self.jobs.items()}
        self.register_outputs({"services": self.endpoints, "jobs": self.results})

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
