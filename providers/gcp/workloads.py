"""Cloud Run: a service for a service that serves one HTTP port, a worker pool for one that
serves none, a job (and its execution, ``run_once``) for a one-off job; each runs as its own
account, with Direct VPC egress to the project's subnet when it reaches a VM or a managed store
(the container spec is ``cloudrun``'s).
"""

from __future__ import annotations

import dataclasses
import math
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from berth.components.run_once import job_secrets
from berth.components.target import JobHandle, ServiceHandle
from berth.model import Secret, Service, Text
from berth.providers.gcp import cloudrun
from berth.providers.gcp.discovery import Directory
from berth.providers.gcp.iam import Accounts, invoker_members
from berth.providers.gcp.mounts import FILE_MODE, file_data, file_label, in_memory, named
from berth.providers.gcp.names import cloud_name
from berth.providers.gcp.network import Network
from berth.providers.gcp.placement import Placement
from berth.providers.gcp.registry import Registry
from berth.providers.gcp.run_once import CloudRunJobExecution
from berth.providers.gcp.secrets import Secrets
from berth.providers.gcp.shared import Shared
from berth.providers.gcp.sizing import cloud_run_limits
from berth.providers.gcp.volumes import Volume
from berth.sizing import Request

GEN2 = "EXECUTION_ENVIRONMENT_GEN2"
"""Cloud Run's full Linux sandbox: what compose images expect, and Cloud Storage volumes need."""
MAX_RETRIES = 10
"""Cloud Run's limit on a task's retries."""


@dataclass(frozen=True)
class CloudRun:
    """Makes the project's Cloud Run services, worker pools and jobs."""

    shared: Shared
    network: Network
    accounts: Accounts
    secrets: Secrets
    registry: Registry
    volumes: Mapping[str, Volume]
    directory: Directory
    placements: Mapping[str, Placement]
    identity: Mapping[str, pulumi.Output[dict[str, Any]]]
    """What Berth's dynamic providers act as: the gcp provider's identity, if the stack sets
    one."""
    stack_secrets: Mapping[str, str]

    def job(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> JobHandle:
        """The job's definition, and its execution, run once its dependencies are up."""
        shared = self.shared
        container, volumes, grants = self._container(job, parent)
        task = self._template(
            job.name,
            container,
            volumes,
            max_retries=_retries(job.restart),
            timeout=f"{math.ceil(job.timeout)}s",  # whole seconds, never less than asked
            execution_environment=GEN2,
        )
        definition = gcp.cloudrunv2.Job(
            shared.names(job.name),
            **self._placed(job.name),
            template={
                "task_count": 1,
                "parallelism": 1,
                "labels": {
                    "berth-project": cloud_name(shared.project.name),
                    "berth-stack": cloud_name(pulumi.get_stack()),
                    "berth-job": cloud_name(job.name),
                },
                "template": task,
            },
            opts=shared.after_api("run", parent, *grants),
        )
        run = CloudRunJobExecution(
            shared.names(job.name, "run"),
            {
                "job": job.name,
                "jobName": pulumi.Output.concat(
                    "projects/",
                    shared.gcp_project,
                    "/locations/",
                    shared.region,
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
            secrets=self._printable_secrets(job),
        )
        return dataclasses.replace(
            run.handle(), resources=self._resources(job.name, run=run, job=definition)
        )

    def _printable_secrets(self, job: Service) -> list[pulumi.Input[str]]:
        """What the job's log could print of its secrets, to be scrubbed from it: the values
        ``job_secrets`` names, each secret as the job receives it (rewritten: another
        service's address, a managed cache's AUTH string for its compose password), and those
        AUTH strings alone (a job may print the password of a URL it parsed)."""
        held = {key: value for key, value in job.environment.items() if isinstance(value, Secret)}
        received = [self.directory.rewritten(job, key, value) for key, value in held.items()]
        auth_strings = [
            auth for value in held.values() for _, auth in self.directory.auth_swaps(value)
        ]
        return [*job_secrets(job, self.stack_secrets), *received, *auth_strings]

    def service(
        self,
        service: Service,
        placement: Placement,
        after: Sequence[pulumi.Resource],
        parent: pulumi.Resource,
    ) -> ServiceHandle:
        """A Cloud Run service on the served port, and who may invoke it."""
        shared = self.shared
        port = placement.port or 0
        public = shared.options.public_services and any(p.mode == "ingress" for p in service.ports)
        container, volumes, grants = self._container(service, parent)
        container.update(
            {"ports": {"container_port": port}, **cloudrun.probes(service.healthcheck, port)}
        )
        run = gcp.cloudrunv2.Service(
            shared.names(service.name),
            **self._placed(service.name),
            ingress="INGRESS_TRAFFIC_ALL",
            invoker_iam_disabled=public and shared.options.invoker_iam_disabled,
            template=self._template(
                service.name,
                container,
                volumes,
                execution_environment=GEN2,
                scaling={"min_instance_count": service.replicas} if service.replicas else None,
            ),
            opts=shared.after_api("run", parent, *after, *grants),
        )
        invokers = [
            gcp.cloudrunv2.ServiceIamMember(
                shared.names(service.name, suffix),
                name=run.name,
                location=shared.region,
                project=shared.gcp_project,
                role="roles/run.invoker",
                member=member,
                opts=pulumi.ResourceOptions(parent=parent),
            )
            for suffix, member in invoker_members(
                self.accounts,
                service.name,
                public=public,
                iam_disabled=shared.options.invoker_iam_disabled,
            ).items()
        ]
        endpoints = run.uri.apply(lambda uri: [uri])
        ready = [run, *invokers]
        return ServiceHandle(
            started=ready,
            healthy=ready,
            endpoints=endpoints,
            resources=self._resources(service.name, workload=run),
        )

    def worker_pool(
        self, service: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> ServiceHandle:
        """A worker pool: instances that serve no port, ``replicas`` of them (one by default)."""
        shared = self.shared
        container, volumes, grants = self._container(service, parent)
        pool = gcp.cloudrunv2.WorkerPool(
            shared.names(service.name),
            **self._placed(service.name),
            scaling={"manual_instance_count": 1 if service.replicas is None else service.replicas},
            template=self._template(service.name, container, volumes),
            opts=shared.after_api("run", parent, *after, *grants),
        )
        return ServiceHandle(
            started=[pool], healthy=[pool], resources=self._resources(service.name, workload=pool)
        )

    def _resources(self, name: str, **main: pulumi.Resource) -> dict[str, pulumi.Resource]:
        """A workload's main resources (``main``), its account and its built image."""
        return workload_resources(name, self.accounts, self.registry, **main)

    def _placed(self, name: str) -> dict[str, Any]:
        """Name, region, project and deletion protection: the same for a Cloud Run service,
        worker pool and job of the workload."""
        shared = self.shared
        return {
            "name": shared.cloud_run_name(name),
            "location": shared.region,
            "project": shared.gcp_project,
            "deletion_protection": shared.options.deletion_protection,
        }

    def _template(
        self,
        name: str,
        container: cloudrun.Container,
        volumes: list[dict[str, Any]],
        **settings: Any,
    ) -> Any:
        """What a Cloud Run service, worker pool or job task runs: the container and its
        volumes, as the workload's own account, with Direct VPC egress to the project's
        subnet when it reaches a VM or a store."""
        private = self.directory.reaches_private(self.shared.project.services[name])
        return {
            "containers": [container],
            "volumes": volumes or None,
            "service_account": self.accounts[name].email,
            "vpc_access": cloudrun.vpc_access(self.network.subnet.id) if private else None,
            **settings,
        }

    def _container(
        self, service: Service, parent: pulumi.Resource
    ) -> tuple[cloudrun.Container, list[dict[str, Any]], list[pulumi.Resource]]:
        """The container, its volumes, and the grants it needs before it can start."""
        env, grants = self._env(service, parent)
        volumes, mounts, volume_grants = self._volumes(service, parent)
        spec = cloudrun.container(
            self.registry.image(service, parent, cloud_run=True),
            entrypoint=_plain(service.entrypoint),
            command=_plain(service.command),
            env=env,
            limits=cloud_run_limits(Request.of(service.resources)),
            mounts=mounts,
            working_dir=service.working_dir,
        )
        return spec, volumes, grants + volume_grants

    def _env(
        self, service: Service, parent: pulumi.Resource
    ) -> tuple[list[dict[str, Any]], list[pulumi.Resource]]:
        """Plain values as they are (references rewritten), secrets read from Secret Manager."""
        env: list[dict[str, Any]] = []
        grants: list[pulumi.Resource] = []
        port = self.placements[service.name].port
        for key in sorted(service.environment):
            value = service.environment[key]
            if key == "PORT" and port is not None:
                continue  # Cloud Run sets it to the served port; the checks refused another value
            data = self.directory.rewritten(service, key, value)
            if isinstance(value, Secret):
                ref = self.secrets.ref(service.name, key, data, parent)
                env.append(cloudrun.env_secret(key, ref.secret.secret_id, ref.version.version))
                grants.append(ref.grant)
            else:
                env.append(cloudrun.env_value(key, data))
        return env, grants

    def _volumes(
        self, service: Service, parent: pulumi.Resource
    ) -> tuple[list[dict[str, Any]], list[dict[str, str]], list[pulumi.Resource]]:
        """Secret files, in-memory scratch space and buckets: the volumes and their mounts, each
        kind in the order of its path, so that reordering compose's lists changes nothing."""
        volumes: list[dict[str, Any]] = []
        mounts: list[dict[str, str]] = []
        grants: list[pulumi.Resource] = []

        def mount(name: str, path: str, volume: dict[str, Any]) -> None:
            volumes.append({"name": name, **volume})
            mounts.append({"name": name, "mount_path": path})

        for index, file in enumerate(sorted(service.files, key=lambda f: f.target)):
            ref = self.secrets.ref(
                service.name, file_label(service, file), file_data(file.content), parent
            )
            grants.append(ref.grant)
            item = {
                "path": posixpath.basename(file.target),
                "version": ref.version.version,
                "mode": FILE_MODE if file.mode is None else file.mode,
            }
            secret = {"secret": ref.secret.secret_id, "items": [item]}
            mount(f"file-{index}", posixpath.dirname(file.target), {"secret": secret})
        scratch = {m.target for m in service.mounts if in_memory(m)}
        for index, path in enumerate(sorted(scratch | set(service.container.tmpfs_options))):
            mount(f"scratch-{index}", path, {"empty_dir": {"medium": "MEMORY"}})
        named_mounts = sorted((m for m in service.mounts if named(m)), key=lambda m: m.target)
        for index, named_mount in enumerate(named_mounts):
            volume = self.volumes[str(named_mount.source)]
            grants.append(volume.grants[service.name])
            bucket = {
                "bucket": volume.bucket,
                **({"read_only": True} if named_mount.read_only else {}),
            }
            mount(f"volume-{index}", named_mount.target, {"gcs": bucket})
        return volumes, mounts, grants


def workload_resources(
    name: str, accounts: Accounts, registry: Registry, **main: pulumi.Resource
) -> dict[str, pulumi.Resource]:
    """The main resources of a service or job (docs/gcp.md lists them): ``main``, the
    workload's service account, and its image when Berth built it."""
    image = registry.images.get(name)
    return {**main, "service_account": accounts[name], **({"image": image} if image else {})}


def _retries(restart: str | None) -> int:
    """``on-failure:N`` asks for N retries (Cloud Run's default 3 without N); else none."""
    policy, _, count = (restart or "").partition(":")
    if policy != "on-failure":
        return 0
    return min(int(count), MAX_RETRIES) if count.isdigit() else 3


def _plain(values: Sequence[Text] | None) -> list[str] | None:
    """Arguments with no secret (the checks refused those on Cloud Run)."""
    return None if values is None else [str(v) for v in values]
