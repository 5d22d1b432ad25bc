"""The digitalocean target's roles, typed (``berth.components.roles``; docs/digitalocean.md
lists them)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do
import pulumi_docker_build as docker_build

from berth.components.roles import Roles


@dataclass(frozen=True)
class Shared(Roles):
    app: do.App | None = None
    """None for a project with no services."""
    registry: do.ContainerRegistry | None = None
    registry_credentials: do.ContainerRegistryDockerCredentials | None = None


@dataclass(frozen=True)
class ServiceResources(Roles):
    workload: do.App
    image: docker_build.Image | None = None
    cluster: do.DatabaseCluster | None = None
    firewall: do.DatabaseFirewall | None = None
    database: do.DatabaseDb | None = None
    user: do.DatabaseUser | None = None


@dataclass(frozen=True)
class JobResources(Roles):
    run: pulumi.ComponentResource
    """The job's component (``project.jobs[name]``): no resource stands for one run."""
    image: docker_build.Image | None = None
