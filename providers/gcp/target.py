"""GCP: Cloud Run services, worker pools and jobs; Compute Engine VMs for what Cloud Run cannot
serve; one VPC network, one Artifact Registry repository, Secret Manager, and a service account
per service and job that may read only that workload's secrets and volumes.

This module wires the pieces: what is refused is in ``checks``; where each service runs in
``placement``; the shared resources in ``shared``, ``registry``, ``network``, ``iam`` and
``volumes``; how services find each other in ``discovery``; the workloads in ``workloads``
(Cloud Run) and ``machines`` (VMs); the schedules of jobs of ``jobs:`` in ``schedules``;
managed stores in ``stores``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi

from berth.components.target import JobHandle, ServiceHandle, TargetArgs, TriggeredHandle
from berth.model import ComposeProject, Service
from berth.providers.gcp.checks import Checks
from berth.providers.gcp.discovery import Directory
from berth.providers.gcp.iam import create_accounts
from berth.providers.gcp.identity import IDENTITY
from berth.providers.gcp.machines import Machines
from berth.providers.gcp.models import (
    ModelAccess,
    model_apis,
    model_callers,
    residency_warnings,
    with_vertex_project,
)
from berth.providers.gcp.names import cloud_name
from berth.providers.gcp.network import create_network, internal_addresses, vm_network
from berth.providers.gcp.options import GcpOptions
from berth.providers.gcp.peering import private_services_access
from berth.providers.gcp.placement import Kind, containers_and_jobs, named_ports, place
from berth.providers.gcp.provider import configured_provider, identity
from berth.providers.gcp.registry import Registry
from berth.providers.gcp.schedules import scheduler_apis
from berth.providers.gcp.secrets import Secrets
from berth.providers.gcp.shared import Shared, enable_apis
from berth.providers.gcp.stores import (
    StoreSettings,
    store_apis,
    store_resources,
)
from berth.providers.gcp.volumes import create_volumes
from berth.providers.gcp.workloads import CloudRun
from berth.sources import read_sources
from berth.stores import ManagedStore, managed_stores

DEFAULT_REGION = "us-central1"


class GcpTarget:
    """Deploys to the project and region of the gcp provider the Project's children use."""

    def __init__(self, project: ComposeProject, args: TargetArgs, parent: pulumi.Resource) -> None:
        self.project = project
        self.names = args.names
        options: GcpOptions = args.options
        self.sources = read_sources(list(project.files))
        stack_secrets = args.secrets
        provider = configured_provider(parent)
        region = provider.region or DEFAULT_REGION
        if not provider.region:
            pulumi.log.warn(f"gcp:region is not set: deploying to {DEFAULT_REGION}")
        zone = options.zone or provider.zone or f"{region}-b"
        token = pulumi.Output.secret(provider.access_token)
        given = identity(parent)
        acting = {IDENTITY: given} if given else {}
        self.stores = managed_stores(project)
        containers = [s for s in containers_and_jobs(project) if s.name not in self.stores]
        """The services Berth runs as containers (all but the managed stores), and the jobs of
        the top-level ``jobs:``."""
        self.placements = {
            name: placement for name, placement in place(project).items() if name not in self.stores
        }
        Checks(project, options, self.sources, self.stores, containers, self.placements).run()
        for warning in residency_warnings(project, self.sources, region):
            pulumi.log.warn(warning)

        self.setup = Shared(
            project=project,
            names=self.names,
            options=options,
            gcp_project=provider.project,
            region=region,
            zone=zone,
            prefix=cloud_name(project.name, pulumi.get_stack(), limit=30),
            root=parent,
            apis=enable_apis(
                provider.project,
                [*store_apis(self.stores), *scheduler_apis(project), *model_apis(project)],
                self.names,
                parent,
            ),
        )
        setup = self.setup
        registry = Registry(setup, token, build_cache=options.build_cache)
        self.network = create_network(setup)
        accounts = create_accounts(setup, [s.name for s in containers])
        self.model_access = ModelAccess.create(
            setup, accounts, model_callers(project, skip=list(self.stores))
        )
        vms = [n for n, p in self.placements.items() if p.kind is Kind.VM]
        around_vms = vm_network(setup, self.network) if vms else {}
        access = [around_vms[key] for key in ("firewall", "nat") if key in around_vms]
        volumes = create_volumes(setup, containers, self.placements, accounts)
        directory = Directory(
            setup,
            self.placements,
            internal_addresses(setup, self.network, vms),
            self.stores,
            provider.number,
        )
        self.store_addresses = directory.store_addresses
        self.store_settings = StoreSettings(
            names=self.names,
            prefix=setup.prefix,
            project=setup.gcp_project,
            project_number=provider.number,
            region=setup.region,
            network=self.network.network,
            labels={
                "berth-project": cloud_name(project.name),
                "berth-stack": cloud_name(pulumi.get_stack()),
            },
            throwaway=options.throwaway_stores,
        )
        # The range the stores' private IPs come from, and its peering: made with the rest.
        peering = (
            private_services_access(
                self.store_settings,
                [setup.apis["servicenetworking"], setup.apis["compute"]],
                parent,
            )
            if self.stores
            else {}
        )
        self.peered = [peering["services_peering"]] if peering else []
        """What every store waits on: the peering."""
        self.shared: Mapping[str, pulumi.Resource] = {
            "network": self.network.network,
            "subnetwork": self.network.subnet,
            "registry": registry.repository,
            **around_vms,
            **peering,
        }
        """The shared resources by role (docs/gcp.md, *Building on a Project*)."""
        workloads = {
            "shared": setup,
            "network": self.network,
            "accounts": accounts,
            "secrets": Secrets(setup, accounts),
            "registry": registry,
            "volumes": volumes,
            "directory": directory,
            "identity": acting,
        }
        """What both kinds of workload are made with."""
        self.cloud_run = CloudRun(
            **workloads, placements=self.placements, stack_secrets=stack_secrets
        )
        self.machines = Machines(**workloads, access=access, named_ports=named_ports(project))

    # -- the Target interface ----------------------------------------------------------

    def service(
        self, service: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> ServiceHandle:
        if store := self.stores.get(service.name):
            return self._managed_store(store, service, parent)
        placement = self.placements[service.name]
        after = [*after, *self.model_access.grants(service.name, parent)]
        service = with_vertex_project(service, self.setup.gcp_project, self.setup.region)
        if placement.kind is Kind.VM:
            return self.machines.service(service, after, parent)
        if placement.kind is Kind.HTTP:
            return self.cloud_run.service(service, placement, after, parent)
        return self.cloud_run.worker_pool(service, after, parent)

    def job(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> JobHandle:
        after = [*after, *self.model_access.grants(job.name, parent)]
        return self.cloud_run.job(job, after, parent)

    def triggered(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> TriggeredHandle:
        after = [*after, *self.model_access.grants(job.name, parent)]
        return self.cloud_run.triggered(job, after, parent)

    # -- managed stores ------------------------------------------------------------------

    def _managed_store(
        self, store: ManagedStore, service: Service, parent: pulumi.Resource
    ) -> ServiceHandle:
        """Cloud SQL or Memorystore for a managed store. It waits on the peering and its API
        only, not on its own ``depends_on``: the others' environment already waits on its
        address, so waiting on them could never end."""
        apis = self.setup.apis
        endpoint = store_resources(
            store,
            service,
            settings=self.store_settings,
            sources=self.sources,
            after=[*self.peered, *(apis[api] for api in store_apis({service.name: store}))],
            parent=parent,
        )
        self.store_addresses[service.name].resolve(endpoint)
        address = pulumi.Output.concat(endpoint.host, f":{store.port}")
        return ServiceHandle(
            started=endpoint.ready,
            healthy=endpoint.ready,
            endpoints=pulumi.Output.all(address),
            resources={"workload": endpoint.ready[0]},
        )
