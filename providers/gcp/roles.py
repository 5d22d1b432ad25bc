"""The gcp target's roles, typed (``berth.components.roles``; docs/gcp.md lists them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pulumi_docker_build as docker_build
import pulumi_gcp as gcp

from berth.components.roles import Roles
from berth.providers.gcp.run_once import CloudRunJobExecution


@dataclass(frozen=True)
class Shared(Roles):
    network: gcp.compute.Network
    subnetwork: gcp.compute.Subnetwork
    registry: gcp.artifactregistry.Repository | None = None
    firewall: gcp.compute.Firewall | None = None
    router: gcp.compute.Router | None = None
    nat: gcp.compute.RouterNat | None = None
    services_range: gcp.compute.GlobalAddress | None = None
    services_peering: gcp.servicenetworking.Connection | None = None


@dataclass(frozen=True)
class ServiceResources(Roles):
    workload: (
        gcp.cloudrunv2.Service
        | gcp.cloudrunv2.WorkerPool
        | gcp.compute.Instance
        | gcp.sql.DatabaseInstance
        | gcp.redis.Instance
    )
    service_account: gcp.serviceaccount.Account | None = None
    """None for a managed store."""
    image: docker_build.Image | None = None
    address: gcp.compute.Address | None = None


@dataclass(frozen=True)
class JobResources(Roles):
    run: CloudRunJobExecution
    job: gcp.cloudrunv2.Job
    service_account: gcp.serviceaccount.Account
    image: docker_build.Image | None = None


@dataclass(frozen=True)
class TriggeredResources(Roles):
    """A job of the top-level ``jobs:``: its Cloud Run job, which no deployment executes, and
    per schedule entry ``schedule_<i>`` (the Cloud Scheduler job), ``schedule_account_<i>``
    (its own service account) and ``schedule_invoker_<i>`` (that account's grant on the job)."""

    definition: gcp.cloudrunv2.Job
    service_account: gcp.serviceaccount.Account
    image: docker_build.Image | None = None
    PER_ITEM: ClassVar[tuple[str, ...]] = ("schedule_",)
