"""GCP: Cloud Run services, worker pools and jobs; Compute Engine VMs for what Cloud Run cannot
serve; one VPC network, one Artifact Registry repository, Secret Manager, and a service account
per service and job that may read only that workload's secrets and volumes.

Where each service runs is decided in ``placement``; how services find each other in
``references``; the VM's boot script in ``vm``; the job's execution in ``run_once``.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_docker as docker
import pulumi_gcp as gcp

from berth.errors import BerthError
from berth.model import ComposeProject, Secret, Service, Text
from berth.settings import StackSettings
from berth.sources import read_sources
from berth.stores import ManagedStore, StoreKind, managed_stores, store_warnings
from components.run_once import job_secrets
from components.target import JobHandle, ServiceHandle
from providers.gcp import cloudrun, vm
from providers.gcp.identity import IDENTITY
from providers.gcp.images import BadImage, ImageRef
from providers.gcp.machines import Boot
from providers.gcp.mounts import FILE_MODE, file_data, in_memory, named, named_sources
from providers.gcp.names import CLOUD_RUN_NAME, account_id, cloud_name, secret_id
from providers.gcp.options import GcpOptions
from providers.gcp.placement import Kind, Placement, ignored_here, place
from providers.gcp.provider import configured_provider, identity
from providers.gcp.readiness import START_TIMEOUT, VmServiceReady
from providers.gcp.references import Endpoint, references, rewrite
from providers.gcp.run_once import CloudRunJobExecution
from providers.gcp.sizing import Request, TooLarge, cloud_run_limits, machine_type
from providers.gcp.stores import (
    StoreAddress,
    StoreSettings,
    check_store,
    private_services_access,
    store_apis,
    store_resources,
)

DEFAULT_REGION = "us-central1"
APIS = ("artifactregistry", "compute", "iam", "run", "secretmanager", "storage")
GEN2 = "EXECUTION_ENVIRONMENT_GEN2"
"""Cloud Run's full Linux sandbox: what compose images expect, and Cloud Storage volumes need."""
MAX_RETRIES = 10
"""Cloud Run's limit on a task's retries."""
ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
VM_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter")
"""What a VM's logging and monitoring agents need, on top of its secrets and images."""


@dataclass(frozen=True)
class _SecretRef:
    secret: gcp.secretmanager.Secret
    version: gcp.secretmanager.SecretVersion
    grant: gcp.secretmanager.SecretIamMember


@dataclass(frozen=True)
class _Volume:
    """Where a named volume lives: a bucket (Cloud Run) or a persistent disk (one VM)."""

    bucket: pulumi.Input[str] | None = None
    disk: pulumi.Input[str] | None = None
    grants: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    """A bucket's grant to each service that mounts it, by service name."""


class GcpTarget:
    """Deploys to the project and region the gcp provider is configured with."""

    def __init__(
        self, project: ComposeProject, settings: StackSettings, parent: pulumi.Resource
    ) -> None:
        self.project = project
        self.options = GcpOptions.parse(settings.options)
        self.sources = read_sources(list(project.files))
        self.stack_secrets = {
            key: value
            for key, value in settings.variables.values.items()
            if key in settings.variables.secret_keys
        }
        provider = configured_provider()
        self.gcp_project = provider.project
        self.region = provider.region or DEFAULT_REGION
        if not provider.region:
            pulumi.log.warn(f"gcp:region is not set: deploying to {DEFAULT_REGION}")
        self.zone = self.options.zone or provider.zone or f"{self.region}-b"
        self.token = pulumi.Output.secret(provider.access_token)
        self.identity = {IDENTITY: given} if (given := identity()) else {}
        """What Berth's dynamic providers act as: the gcp provider's identity."""
        self.prefix = cloud_name(project.name, pulumi.get_stack(), limit=30)
        self.stores = managed_stores(project)
        self.containers = [s for s in project.services.values() if s.name not in self.stores]
        """The services Berth runs as containers: all but the managed stores."""
        self.placements = {
            name: placement for name, placement in place(project).items() if name not in self.stores
        }
        self._check_stores()
        for service in self.containers:
            placement = self.placements[service.name]
            self._check_image(service)
            self._check(service, placement)
            pulumi.log.info(f"service '{service.name}': {placement.kind}, {placement.reason}")
            for warning in self._warnings(service):
                pulumi.log.warn(warning)

        self.root = parent
        self.lookup: docker.Provider | None = None
        self.remotes: dict[str, gcp.artifactregistry.Repository] = {}
        child = pulumi.ResourceOptions(parent=parent)
        self.apis = {
            api: gcp.projects.Service(
                f"{api}-api",
                service=f"{api}.googleapis.com",
                project=self.gcp_project,
                disable_on_destroy=False,
                opts=child,
            )
            for api in (*APIS, *store_apis(self.stores))
        }
        self.registry_host = f"{self.region}-docker.pkg.dev"
        self.registry = gcp.artifactregistry.Repository(
            f"{project.name}-registry",
            repository_id=self.prefix,
            location=self.region,
            project=self.gcp_project,
            format="DOCKER",
            description=f"Images of the compose project {project.name} ({pulumi.get_stack()})",
            **self._cleanup(),
            opts=self._after_api("artifactregistry", parent),
        )
        self.network = gcp.compute.Network(
            f"{project.name}-network",
            name=self.prefix,
            project=self.gcp_project,
            auto_create_subnetworks=False,
            opts=self._after_api("compute", parent),
        )
        self.subnet = gcp.compute.Subnetwork(
            f"{project.name}-subnet",
            name=self.prefix,
            project=self.gcp_project,
            region=self.region,
            network=self.network.id,
            ip_cidr_range=self.options.subnet_range,
            private_ip_google_access=True,
            opts=child,
        )
        self.accounts = {
            name: gcp.serviceaccount.Account(
                f"{name}-account",
                account_id=account_id(self.prefix, name),
                project=self.gcp_project,
                display_name=f"Berth {project.name} ({pulumi.get_stack()}): {name}"[:100],
                opts=self._after_api("iam", parent),
            )
            for name in (s.name for s in self.containers)
        }
        """Each service's and job's own identity: it reads only its own secrets and volumes.
        The gcp provider waits until a new account is visible before it reports it created,
        so the grants that name it follow it (``member`` is its output)."""
        vms = [n for n, p in self.placements.items() if p.kind is Kind.VM]
        self.machine_access: list[pulumi.Resource] = self._vm_network(parent) if vms else []
        self.volumes = self._volumes(parent)
        self.hosts: dict[str, tuple[pulumi.Input[str], bool]] = {}
        """How other services reach each reachable service: host, and whether HTTPS only."""
        self.addresses: dict[str, gcp.compute.Address] = {}
        for name in vms:
            self.addresses[name] = gcp.compute.Address(
                f"{name}-address",
                name=cloud_name(self.prefix, name),
                project=self.gcp_project,
                region=self.region,
                address_type="INTERNAL",
                subnetwork=self.subnet.id,
                opts=child,
            )
            self.hosts[name] = (self.addresses[name].address, False)
        for name, placement in self.placements.items():
            if placement.kind is Kind.HTTP:
                host = f"{self._cloud_run_name(name)}-{provider.number}.{self.region}.run.app"
                self.hosts[name] = (host, True)
        # Where each managed store will be: its compose name resolves there from the start.
        self.store_addresses = {name: StoreAddress(store) for name, store in self.stores.items()}
        self.hosts |= {
            name: (address.host, False) for name, address in self.store_addresses.items()
        }
        self.peering: pulumi.Resource | None = None
        """The peering of the range the stores' private IPs come from, made with the first."""

    # -- the Target interface ----------------------------------------------------------

    def service(
        self, service: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> ServiceHandle:
        if store := self.stores.get(service.name):
            return self._managed_store(store, service, parent)
        placement = self.placements[service.name]
        if placement.kind is Kind.VM:
            return self._machine(service, after, parent)
        if placement.kind is Kind.HTTP:
            return self._cloud_run_service(service, placement, after, parent)
        return self._worker_pool(service, after, parent)

    def job(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> JobHandle:
        container, volumes, grants = self._cloud_run_container(job, parent)
        task = self._template(
            job.name,
            container,
            volumes,
            max_retries=_retries(job.restart),
            timeout=f"{int(job.timeout)}s",
            execution_environment=GEN2,
        )
        definition = gcp.cloudrunv2.Job(
            job.name,
            name=self._cloud_run_name(job.name),
            location=self.region,
            project=self.gcp_project,
            deletion_protection=self.options.deletion_protection,
            template={
                "task_count": 1,
                "parallelism": 1,
                "labels": {
                    "berth-project": cloud_name(self.project.name),
                    "berth-stack": cloud_name(pulumi.get_stack()),
                    "berth-job": cloud_name(job.name),
                },
                "template": task,
            },
            opts=self._after_api("run", parent, *grants),
        )
        run = CloudRunJobExecution(
            f"{job.name}-run",
            {
                "job": job.name,
                "jobName": pulumi.Output.concat(
                    "projects/",
                    self.gcp_project,
                    "/locations/",
                    self.region,
                    "/jobs/",
                    definition.name,
                ),
                "definition": {"container": container, "volumes": volumes},
                "runAlways": job.run_always,
                "timeout": job.timeout,
                "maxRetries": task["max_retries"],
                **self.identity,
            },
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[*after, definition]),
            secrets=job_secrets(job, self.stack_secrets),
        )
        result = {"exitCode": run.exitCode, "durationSeconds": run.durationSeconds}
        return JobHandle(run=run, result={**result, "finishedAt": run.finishedAt})

    # -- Cloud Run -----------------------------------------------------------------------

    def _cloud_run_service(
        self,
        service: Service,
        placement: Placement,
        after: Sequence[pulumi.Resource],
        parent: pulumi.Resource,
    ) -> ServiceHandle:
        port = placement.port or 0
        public = self.options.public_services and any(p.mode == "ingress" for p in service.ports)
        container, volumes, grants = self._cloud_run_container(service, parent)
        container.update(
            {"ports": {"container_port": port}, **cloudrun.probes(service.healthcheck, port)}
        )
        run = gcp.cloudrunv2.Service(
            service.name,
            name=self._cloud_run_name(service.name),
            location=self.region,
            project=self.gcp_project,
            deletion_protection=self.options.deletion_protection,
            ingress="INGRESS_TRAFFIC_ALL",
            invoker_iam_disabled=public and self.options.invoker_iam_disabled,
            template=self._template(
                service.name,
                container,
                volumes,
                execution_environment=GEN2,
                scaling={"min_instance_count": service.replicas} if service.replicas else None,
            ),
            opts=self._after_api("run", parent, *after, *grants),
        )
        invokers = [
            gcp.cloudrunv2.ServiceIamMember(
                name,
                name=run.name,
                location=self.region,
                project=self.gcp_project,
                role="roles/run.invoker",
                member=member,
                opts=pulumi.ResourceOptions(parent=parent),
            )
            for name, member in self._invokers(service.name, public).items()
        ]
        endpoints = run.uri.apply(lambda uri: [uri])
        ready = [run, *invokers]
        return ServiceHandle(started=ready, healthy=ready, endpoints=endpoints)

    def _invokers(self, name: str, public: bool) -> dict[str, pulumi.Input[str]]:
        """Who may call a Cloud Run service: everyone (``allUsers``, or no check at all with
        ``gcpInvokerIamDisabled``) when it is public, else the project's other workloads."""
        if public:
            return {} if self.options.invoker_iam_disabled else {f"{name}-invoker": "allUsers"}
        return {
            f"{name}-invoker-{other}": account.member
            for other, account in self.accounts.items()
            if other != name
        }

    def _worker_pool(
        self, service: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> ServiceHandle:
        container, volumes, grants = self._cloud_run_container(service, parent)
        pool = gcp.cloudrunv2.WorkerPool(
            service.name,
            name=self._cloud_run_name(service.name),
            location=self.region,
            project=self.gcp_project,
            deletion_protection=self.options.deletion_protection,
            scaling={"manual_instance_count": 1 if service.replicas is None else service.replicas},
            template=self._template(service.name, container, volumes),
            opts=self._after_api("run", parent, *after, *grants),
        )
        return ServiceHandle(started=[pool], healthy=[pool])

    def _template(
        self,
        name: str,
        container: cloudrun.Container,
        volumes: list[dict[str, Any]],
        **settings: Any,
    ) -> Any:
        """What a Cloud Run service, worker pool or job task runs: the container and its
        volumes, as the workload's own account, with Direct VPC egress to the project's
        subnet."""
        return {
            "containers": [container],
            "volumes": volumes or None,
            "service_account": self.accounts[name].email,
            "vpc_access": cloudrun.vpc_access(self.subnet.id),
            **settings,
        }

    def _cloud_run_container(
        self, service: Service, parent: pulumi.Resource
    ) -> tuple[cloudrun.Container, list[dict[str, Any]], list[pulumi.Resource]]:
        """The container, its volumes, and the grants it needs before it can start."""
        env, grants = self._cloud_run_env(service, parent)
        volumes, mounts, volume_grants = self._cloud_run_volumes(service, parent)
        spec = cloudrun.container(
            self.image(service, parent),
            entrypoint=_plain(service.entrypoint),
            command=_plain(service.command),
            env=env,
            limits=cloud_run_limits(Request.of(service.resources)),
            mounts=mounts,
            working_dir=service.working_dir,
        )
        return spec, volumes, grants + volume_grants

    def _cloud_run_env(
        self, service: Service, parent: pulumi.Resource
    ) -> tuple[list[dict[str, Any]], list[pulumi.Resource]]:
        """Plain values as they are (references rewritten), secrets read from Secret Manager."""
        env: list[dict[str, Any]] = []
        grants: list[pulumi.Resource] = []
        port = self.placements[service.name].port
        for key in sorted(service.environment):
            value = service.environment[key]
            if key == "PORT" and port is not None:
                continue  # Cloud Run sets it to the served port; _check refused another value
            data = self.rewritten(service, key, value)
            if isinstance(value, Secret):
                ref = self.secret_ref(service.name, key, data, parent)
                env.append(cloudrun.env_secret(key, ref.secret.secret_id, ref.version.version))
                grants.append(ref.grant)
            else:
                env.append(cloudrun.env_value(key, data))
        return env, grants

    def _cloud_run_volumes(
        self, service: Service, parent: pulumi.Resource
    ) -> tuple[list[dict[str, Any]], list[dict[str, str]], list[pulumi.Resource]]:
        """Secret files, in-memory scratch space and buckets: the volumes and their mounts."""
        volumes: list[dict[str, Any]] = []
        mounts: list[dict[str, str]] = []
        grants: list[pulumi.Resource] = []

        def mount(name: str, path: str, volume: dict[str, Any]) -> None:
            volumes.append({"name": name, **volume})
            mounts.append({"name": name, "mount_path": path})

        for index, file in enumerate(service.files):
            ref = self.secret_ref(
                service.name, f"file-{file.name}", file_data(file.content), parent
            )
            grants.append(ref.grant)
            item = {
                "path": posixpath.basename(file.target),
                "version": ref.version.version,
                "mode": FILE_MODE if file.mode is None else file.mode,
            }
            secret = {"secret": ref.secret.secret_id, "items": [item]}
            mount(f"file-{index}", posixpath.dirname(file.target), {"secret": secret})
        scratch = [m.target for m in service.mounts if in_memory(m)]
        for index, path in enumerate([*scratch, *service.container.tmpfs]):
            mount(f"scratch-{index}", path, {"empty_dir": {"medium": "MEMORY"}})
        for index, shared in enumerate(m for m in service.mounts if named(m)):
            volume = self.volumes[str(shared.source)]
            grants.append(volume.grants[service.name])
            bucket = {"bucket": volume.bucket, **({"read_only": True} if shared.read_only else {})}
            mount(f"volume-{index}", shared.target, {"gcs": bucket})
        return volumes, mounts, grants

    def _after_api(
        self, api: str, parent: pulumi.Resource, *after: pulumi.Resource
    ) -> pulumi.ResourceOptions:
        """Options of a resource that needs ``api`` enabled (and ``after`` created) first."""
        return pulumi.ResourceOptions(parent=parent, depends_on=[*after, self.apis[api]])

    def _cloud_run_name(self, service: str) -> str:
        return cloud_name(self.prefix, service, limit=CLOUD_RUN_NAME)

    # -- Compute Engine ------------------------------------------------------------------

    def _vm_network(self, parent: pulumi.Resource) -> list[pulumi.Resource]:
        """What VMs need around them: traffic from the subnet, a NAT to pull public images."""
        child = pulumi.ResourceOptions(parent=parent)
        name = self.project.name
        internal = gcp.compute.Firewall(
            f"{name}-internal",
            name=cloud_name(self.prefix, "internal"),
            project=self.gcp_project,
            network=self.network.id,
            direction="INGRESS",
            source_ranges=[self.options.subnet_range],
            target_tags=[self.prefix],
            allows=[{"protocol": "tcp"}, {"protocol": "udp"}, {"protocol": "icmp"}],
            opts=child,
        )
        router = gcp.compute.Router(
            f"{name}-router",
            name=self.prefix,
            project=self.gcp_project,
            region=self.region,
            network=self.network.id,
            opts=child,
        )
        nat = gcp.compute.RouterNat(
            f"{name}-nat",
            name=self.prefix,
            project=self.gcp_project,
            region=self.region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            opts=child,
        )
        return [internal, nat]

    def _machine_roles(self, service: Service, parent: pulumi.Resource) -> list[pulumi.Resource]:
        """The VM's account: its agents write logs and metrics; it pulls the service's image
        from the project's registry when Berth built it."""
        member = self.accounts[service.name].member
        child = pulumi.ResourceOptions(parent=parent)
        roles: list[pulumi.Resource] = [
            gcp.projects.IAMMember(
                f"{service.name}-{role.rsplit('.', 1)[-1]}",
                project=self.gcp_project,
                role=role,
                member=member,
                opts=child,
            )
            for role in VM_ROLES
        ]
        if service.build:
            roles.append(
                gcp.artifactregistry.RepositoryIamMember(
                    f"{service.name}-image-reader",
                    project=self.gcp_project,
                    location=self.region,
                    repository=self.registry.name,
                    role="roles/artifactregistry.reader",
                    member=member,
                    opts=child,
                )
            )
        return roles

    def _machine(
        self, service: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> ServiceHandle:
        boot = Boot(self, service, parent)
        access, endpoints = self._public_access(service, parent)
        address = self.addresses[service.name].address
        interface: Any = {"subnetwork": self.subnet.id, "network_ip": address}
        if access:
            interface["access_configs"] = access
        disks: Any = boot.attached or None
        identity: Any = {
            "email": self.accounts[service.name].email,
            "scopes": ["cloud-platform"],
        }
        roles = self._machine_roles(service, parent)
        metadata: Any = {
            "user-data": boot.user_data(),
            "google-logging-enabled": "true",
            "enable-guest-attributes": "TRUE",
        }
        instance = gcp.compute.Instance(
            service.name,
            name=cloud_name(self.prefix, service.name),
            project=self.gcp_project,
            zone=self.zone,
            machine_type=self.options.machine_type or machine_type(Request.of(service.resources)),
            boot_disk={"initialize_params": {"image": vm.COS_IMAGE}},
            network_interfaces=[interface],
            attached_disks=disks,
            service_account=identity,
            metadata=metadata,
            tags=[self.prefix, cloud_name(self.prefix, service.name)],
            shielded_instance_config={"enable_secure_boot": True},
            allow_stopping_for_update=True,
            opts=pulumi.ResourceOptions(
                parent=parent,
                depends_on=[
                    *after,
                    self.apis["compute"],
                    *self.machine_access,
                    *roles,
                    *boot.grants,
                ],
                replace_on_changes=["metadata"],
                delete_before_replace=True,
            ),
        )
        internal = [
            pulumi.Output.concat(address, f":{port}")
            for port in dict.fromkeys([*(p.target for p in service.ports), *service.expose])
        ]
        waiting = {
            "service": service.name,
            "instance": pulumi.Output.concat(
                "projects/", self.gcp_project, "/zones/", self.zone, "/instances/", instance.name
            ),
            "instanceId": instance.instance_id,
            "timeout": START_TIMEOUT,
            **self.identity,
        }
        child = pulumi.ResourceOptions(parent=parent)
        running = VmServiceReady(f"{service.name}-running", {**waiting, "want": "running"}, child)
        healthy = (
            VmServiceReady(f"{service.name}-healthy", {**waiting, "want": "healthy"}, child)
            if service.healthcheck
            else running
        )
        return ServiceHandle(
            started=[instance, running],
            healthy=[instance, healthy],
            endpoints=pulumi.Output.all(*(endpoints or internal)),
        )

    def _public_access(
        self, service: Service, parent: pulumi.Resource
    ) -> tuple[list[dict[str, Any]] | None, list[pulumi.Output[str]]]:
        """An external address and a firewall opening the published HTTP ports (the others
        too only when the stack opts in), when services are public: the VM's
        ``access_configs`` and its public endpoints."""
        if not self.options.public_services:
            return None, []
        ports, _ = vm.public_ports(service, self.options.public_non_http_ports)
        if not ports:
            return None, []
        child = pulumi.ResourceOptions(parent=parent)
        address = gcp.compute.Address(
            f"{service.name}-public-address",
            name=cloud_name(self.prefix, service.name, "public"),
            project=self.gcp_project,
            region=self.region,
            address_type="EXTERNAL",
            opts=child,
        )
        by_protocol: dict[str, list[str]] = {}
        for port in ports:
            by_protocol.setdefault(port.protocol, []).append(str(port.published or port.target))
        gcp.compute.Firewall(
            f"{service.name}-public",
            name=cloud_name(self.prefix, service.name, "public"),
            project=self.gcp_project,
            network=self.network.id,
            direction="INGRESS",
            source_ranges=["0.0.0.0/0"],
            target_tags=[cloud_name(self.prefix, service.name)],
            allows=[
                {"protocol": protocol, "ports": sorted(set(numbers))}
                for protocol, numbers in sorted(by_protocol.items())
            ],
            opts=child,
        )
        endpoints = [
            pulumi.Output.concat(
                address.address,
                f":{port.published or port.target}",
                "/udp" if port.protocol == "udp" else "",
            )
            for port in ports
        ]
        return [{"nat_ip": address.address}], endpoints

    # -- shared pieces -------------------------------------------------------------------

    def image(self, service: Service, parent: pulumi.Resource) -> pulumi.Input[str]:
        """A built image by the digest it was pushed with; a pulled one by the digest its tag
        has now, from its registry or, on Cloud Run, through a remote repository."""
        if not service.build:
            return self._pulled(ImageRef.parse(str(service.image)), service)
        context = service.build.context
        image = docker.Image(
            f"{service.name}-image",
            image_name=f"{self.registry_host}/{self.gcp_project}/{self.prefix}/"
            f"{cloud_name(service.name)}:latest",
            build=docker.DockerBuildArgs(
                context=context,
                dockerfile=os.path.join(context, service.build.dockerfile),
                args=service.build.args or None,
                target=service.build.target,
                platform="linux/amd64",
            ),
            registry=docker.RegistryArgs(
                server=self.registry_host, username="oauth2accesstoken", password=self.token
            ),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[self.registry]),
        )
        return image.repo_digest

    def _pulled(self, ref: ImageRef, service: Service) -> pulumi.Input[str]:
        digest: pulumi.Input[str] = (
            ref.digest
            or docker.get_registry_image_output(
                name=ref.lookup, opts=pulumi.InvokeOutputOptions(provider=self._registry_lookup())
            ).sha256_digest
        )
        if ref.served_directly or not self.placements[service.name].kind.cloud_run:
            return pulumi.Output.concat(ref.repository, "@", digest)
        remote = self._remote(ref)
        return pulumi.Output.concat(
            self.registry_host,
            "/",
            self.gcp_project,
            "/",
            remote.repository_id,
            f"/{ref.path}@",
            digest,
        )

    def _cleanup(self) -> dict[str, Any]:
        """Cleanup policies keeping the newest ``gcpRegistryKeepVersions`` versions of each
        image (KEEP wins over DELETE in Artifact Registry), applied for real, not as a dry
        run."""
        return {
            "cleanup_policy_dry_run": False,
            "cleanup_policies": [
                {"id": "delete-older", "action": "DELETE", "condition": {"tag_state": "ANY"}},
                {
                    "id": "keep-newest",
                    "action": "KEEP",
                    "most_recent_versions": {"keep_count": self.options.registry_keep_versions},
                },
            ],
        }

    def _registry_lookup(self) -> docker.Provider:
        """The docker provider that reads digests from registries: no Docker engine needed."""
        if self.lookup is None:
            self.lookup = docker.Provider(
                "registry-lookup",
                disable_docker_daemon_check=True,
                opts=pulumi.ResourceOptions(parent=self.root),
            )
        return self.lookup

    def _remote(self, ref: ImageRef) -> gcp.artifactregistry.Repository:
        """The Artifact Registry remote repository that serves ``ref``'s registry to Cloud
        Run: one per registry, caching what it pulled."""
        if ref.registry not in self.remotes:
            self.remotes[ref.registry] = gcp.artifactregistry.Repository(
                f"{self.project.name}-{cloud_name(ref.registry)}",
                repository_id=cloud_name(self.prefix, ref.registry),
                location=self.region,
                project=self.gcp_project,
                format="DOCKER",
                mode="REMOTE_REPOSITORY",
                description=f"{ref.registry} images of {self.project.name} ({pulumi.get_stack()})",
                remote_repository_config={
                    "description": ref.registry,
                    "common_repository": {"uri": ref.upstream},
                },
                **self._cleanup(),
                opts=self._after_api("artifactregistry", self.root),
            )
        return self.remotes[ref.registry]

    def secret_ref(
        self, owner: str, label: str, data: pulumi.Input[str], parent: pulumi.Resource
    ) -> _SecretRef:
        """A Secret Manager secret holding ``data``, readable by its owner's account only
        (each secret belongs to one service or job)."""
        name = f"{owner}-{label}"
        child = pulumi.ResourceOptions(parent=parent)
        secret = gcp.secretmanager.Secret(
            name,
            secret_id=secret_id(self.prefix, owner, label),
            project=self.gcp_project,
            replication={"auto": {}},
            opts=self._after_api("secretmanager", parent),
        )
        version = gcp.secretmanager.SecretVersion(
            name, secret=secret.id, secret_data=pulumi.Output.secret(data), opts=child
        )
        grant = gcp.secretmanager.SecretIamMember(
            name,
            project=self.gcp_project,
            secret_id=secret.id,
            role=ACCESSOR_ROLE,
            member=self.accounts[owner].member,
            opts=child,
        )
        return _SecretRef(secret, version, grant)

    def rewritten(self, service: Service, key: str, value: Text) -> pulumi.Input[str]:
        """``value`` with references to other services replaced by their addresses, and in a
        secret, a managed cache's compose password by the AUTH string Memorystore made."""
        text = value.value if isinstance(value, Secret) else value
        found = references(key, text, self.hosts, own=service.name)
        swaps = [
            address.auth
            for address in self.store_addresses.values()
            if address.auth and isinstance(value, Secret) and address.auth[0] in text
        ]
        if not found and not swaps:
            return text
        hosts = {r.service: self.hosts[r.service][0] for r in found}

        def resolve(resolved: dict[str, Any]) -> str:
            endpoints = {
                n: Endpoint(str(resolved[f"host:{n}"]), https_only=self.hosts[n][1]) for n in hosts
            }
            result = rewrite(text, found, endpoints)
            for index, (password, _) in enumerate(swaps):
                result = result.replace(password, str(resolved[f"auth:{index}"]))
            return result

        return pulumi.Output.all(
            **{f"host:{n}": h for n, h in hosts.items()},
            **{f"auth:{i}": auth for i, (_, auth) in enumerate(swaps)},
        ).apply(resolve)

    def _managed_store(
        self, store: ManagedStore, service: Service, parent: pulumi.Resource
    ) -> ServiceHandle:
        """Cloud SQL or Memorystore for a managed store. It waits on the peering and its API
        only, not on its own ``depends_on``: the others' environment already waits on its
        address, so waiting on them could never end."""
        settings = StoreSettings(
            prefix=self.prefix,
            project=self.gcp_project,
            region=self.region,
            network=self.network,
            labels={
                "berth-project": cloud_name(self.project.name),
                "berth-stack": cloud_name(pulumi.get_stack()),
            },
            throwaway=self.options.throwaway_stores,
        )
        if self.peering is None:
            after = [self.apis["servicenetworking"], self.apis["compute"]]
            self.peering = private_services_access(settings, after, self.root)
        endpoint = store_resources(
            store,
            service,
            settings=settings,
            sources=self.sources,
            after=[self.peering, *(self.apis[api] for api in store_apis({service.name: store}))],
            parent=parent,
        )
        self.store_addresses[service.name].resolve(endpoint)
        address = pulumi.Output.concat(endpoint.host, f":{store.port}")
        return ServiceHandle(
            started=endpoint.ready,
            healthy=endpoint.ready,
            endpoints=pulumi.Output.all(address),
        )

    def _volumes(self, parent: pulumi.Resource) -> dict[str, _Volume]:
        """A persistent disk for a volume one VM uses, a bucket for volumes Cloud Run uses;
        both are kept when the stack is destroyed, as named volumes are."""
        keep = pulumi.ResourceOptions(
            parent=parent,
            retain_on_delete=True,
            depends_on=[self.apis["compute"], self.apis["storage"]],
        )
        volumes: dict[str, _Volume] = {}
        for key, volume in self.project.volumes.items():
            users = [s for s in self.containers if key in named_sources(s)]
            if not users:
                continue
            if self.placements[users[0].name].kind is Kind.VM:
                disk = (
                    f"projects/{self.gcp_project}/zones/{self.zone}/disks/{volume.name}"
                    if volume.external
                    else gcp.compute.Disk(
                        f"{self.project.name}-{key}",
                        name=cloud_name(self.prefix, key),
                        project=self.gcp_project,
                        zone=self.zone,
                        size=self.options.disk_size_gb,
                        type="pd-balanced",
                        opts=keep,
                    ).self_link
                )
                volumes[key] = _Volume(disk=disk)
                continue
            bucket = (
                volume.name
                if volume.external
                else gcp.storage.Bucket(
                    f"{self.project.name}-{key}",
                    name=cloud_name(self.gcp_project, self.prefix, key),
                    project=self.gcp_project,
                    location=self.region,
                    uniform_bucket_level_access=True,
                    opts=keep,
                ).name
            )
            volumes[key] = _Volume(bucket=bucket, grants=self._bucket_grants(key, bucket, users))
        return volumes

    def _bucket_grants(
        self, key: str, bucket: pulumi.Input[str], users: list[Service]
    ) -> dict[str, pulumi.Resource]:
        """Each service that mounts the volume may use its bucket: read only when it mounts
        it read only everywhere."""
        grants: dict[str, pulumi.Resource] = {}
        for user in users:
            mounts = [m for m in user.mounts if named(m) and m.source == key]
            writes = any(not m.read_only for m in mounts)
            grants[user.name] = gcp.storage.BucketIAMMember(
                f"{self.project.name}-{key}-{user.name}",
                bucket=bucket,
                role="roles/storage.objectUser" if writes else "roles/storage.objectViewer",
                member=self.accounts[user.name].member,
                opts=pulumi.ResourceOptions(parent=self.root),
            )
        return grants

    # -- checks before any resource ------------------------------------------------------

    def _check_stores(self) -> None:
        """Refuse what a managed store cannot take; say what each store becomes."""
        for warning in store_warnings(self.project):
            pulumi.log.warn(warning)
        for name, store in self.stores.items():
            for warning in check_store(store, self.project.services[name], self.sources):
                pulumi.log.warn(warning)
            managed = "Cloud SQL" if store.kind is StoreKind.POSTGRES else "Memorystore"
            pulumi.log.info(f"service '{name}': {managed}, it is marked a managed {store.kind}")

    def _warnings(self, service: Service) -> list[str]:
        placement = self.placements[service.name]
        warnings = ignored_here(service, placement)
        if placement.kind is Kind.VM and self.options.public_services:
            warnings += vm.public_ports(service, self.options.public_non_http_ports)[1]
        warnings += [
            f"service '{service.name}': bind mount {m.source} -> {m.target} is ignored on gcp: "
            "files of the deploying machine are not uploaded; build them into the image"
            for m in service.mounts
            if m.type == "bind"
        ]
        return warnings

    def _check(self, service: Service, placement: Placement) -> None:
        """Refuse, before anything is created, what this placement cannot deploy."""

        def fail(field: str, problem: str, hint: str) -> BerthError:
            return BerthError(
                problem,
                file=self.sources.origin(service.name, field),
                service=service.name,
                field=field,
                hint=hint,
            )

        try:
            if placement.kind.cloud_run:
                cloud_run_limits(Request.of(service.resources))
            elif not self.options.machine_type:
                machine_type(Request.of(service.resources))
        except TooLarge as error:
            raise fail("deploy", f"{error} ({placement.kind})", "ask for less") from None
        self._check_volumes(service, placement, fail)
        self._check_secret_arguments(service, placement, fail)
        if not placement.kind.cloud_run:
            self._check_env_file(service, fail)
            return
        if service.image and not service.build and ImageRef.parse(service.image).unreachable:
            raise fail(
                "image",
                f"{service.image} is in a registry of this machine, which Cloud Run cannot reach",
                "push it to a registry Google Cloud can reach, or add build:",
            )
        folders: set[str] = set()
        for file in service.files:
            folder = posixpath.dirname(file.target)
            if folder == "/" or folder in folders:
                secret = isinstance(file.content, Secret) or "configs" not in service.fields
                raise fail(
                    "secrets" if secret else "configs",
                    f"{file.name!r}: Cloud Run mounts each secret or config as a folder of its "
                    "own, "
                    + ("never /" if folder == "/" else f"and {folder} already holds another"),
                    f"give it a target: in a folder of its own, e.g. /run/{file.name}/{file.name}",
                )
            folders.add(folder)
        port = service.environment.get("PORT")
        if placement.port is not None and port is not None and str(port) != str(placement.port):
            raise fail(
                "environment",
                f"Cloud Run sets PORT to the served port {placement.port}",
                f"remove PORT, or publish port {port}",
            )

    def _check_secret_arguments(self, service: Service, placement: Placement, fail: Any) -> None:
        """Secrets only through environment and files: an argument is stored in plain text in
        a Cloud Run definition, and on a VM every user sees it in the process list."""
        arguments = [("command", service.command), ("entrypoint", service.entrypoint)]
        if not placement.kind.cloud_run and service.healthcheck:
            arguments.append(("healthcheck", service.healthcheck.test))
        where = (
            f"stored in plain text in the {placement.kind}"
            if placement.kind.cloud_run
            else "in the VM's process list (a command line) for the container's life"
        )
        for name, values in arguments:
            if any(isinstance(v, Secret) for v in values or ()):
                raise fail(
                    name,
                    f"a secret in {name} would be {where}",
                    "pass the secret through environment and let the container's shell read "
                    "it, e.g. sh -c 'exec tool --password \"$$PASSWORD\"' ($$ keeps compose "
                    "from interpolating it)",
                )

    def _check_env_file(self, service: Service, fail: Any) -> None:
        """A VM passes secret environment values through Docker's env file: one line each."""
        for key, value in sorted(service.environment.items()):
            if isinstance(value, Secret) and any(c in value.value for c in "\r\n"):
                raise fail(
                    "environment",
                    f"the secret value of {key} holds a line break, which Docker's env file "
                    "(how a VM passes secrets to the container) cannot carry",
                    "pass it as a file (compose secrets:), or encode it on one line (e.g. base64)",
                )

    def _check_image(self, service: Service) -> None:
        if service.image and not service.build:
            try:
                ImageRef.parse(service.image)
            except BadImage as error:
                raise BerthError(
                    f"image {service.image!r} is not a valid image reference: {error}",
                    file=self.sources.origin(service.name, "image"),
                    service=service.name,
                    field="image",
                    hint="e.g. image: quay.io/prometheus/prometheus:v2.53.0",
                ) from None

    def _check_volumes(self, service: Service, placement: Placement, fail: Any) -> None:
        for key in named_sources(service):
            users = [s.name for s in self.containers if key in named_sources(s)]
            kinds = {self.placements[u].kind is Kind.VM for u in users}
            if (placement.kind is Kind.VM and len(users) > 1) or len(kinds) > 1:
                raise fail(
                    "volumes",
                    f"named volume {key!r} is used by {', '.join(users)}; on gcp a volume is "
                    "either a VM's persistent disk (one VM) or a bucket shared by Cloud Run",
                    "give each VM service its own volume",
                )


def _retries(restart: str | None) -> int:
    """``on-failure:N`` asks for N retries (Cloud Run's default 3 without N); else none."""
    policy, _, count = (restart or "").partition(":")
    if policy != "on-failure":
        return 0
    return min(int(count), MAX_RETRIES) if count.isdigit() else 3


def _plain(values: Sequence[Text] | None) -> list[str] | None:
    """Arguments with no secret (``_check`` refused those on Cloud Run)."""
    return None if values is None else [str(v) for v in values]
