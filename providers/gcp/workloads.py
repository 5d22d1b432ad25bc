"""Cloud Run: a service for a service that serves one HTTP port, a worker pool for one that
serves none, a job (and its execution, ``run_once``) for a one-off job or a ``pre_start``
hook, a job alone (its schedules are ``schedules``') for a job of ``jobs:``; each runs as its
own account, with Direct VPC egress to the project's subnet when it reaches a VM or a managed
store (the container spec is ``cloudrun``'s).
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

from berth.components.run_once import hook_inputs, job_secrets
from berth.components.target import JobHandle, ServiceHandle, TriggeredHandle
from berth.model import Secret, Service, Triggers
from berth.providers.gcp import cloudrun
from berth.providers.gcp.discovery import Directory
from berth.providers.gcp.iam import Accounts, invoker_members
from berth.providers.gcp.mounts import FILE_MODE, file_data, file_label, in_memory, named
from berth.providers.gcp.names import cloud_name
from berth.providers.gcp.network import Network
from berth.providers.gcp.placement import Kind, Placement
from berth.providers.gcp.registry import HookImages, Registry
from berth.providers.gcp.run_once import CloudRunJobExecution
from berth.providers.gcp.schedules import create_schedules, unhonoured
from berth.providers.gcp.secrets import Secrets
from berth.providers.gcp.shared import Shared
from berth.providers.gcp.sizing import cloud_run_limits
from berth.providers.gcp.volumes import Volume
from berth.sizing import Request

GEN2 = "EXECUTION_ENVIRONMENT_GEN2"
"""Cloud Run's full Linux sandbox: what compose images expect, and Cloud Storage volumes need."""


@dataclass(frozen=True)
class JobDefinition:
    """A job's Cloud Run job, its full name (``projects/P/locations/R/jobs/J``), and what its
    task runs (what a run-once execution re-runs on when it changes)."""

    job: gcp.cloudrunv2.Job
    full_name: pulumi.Output[str]
    container: cloudrun.Container
    volumes: list[dict[str, Any]]
    max_retries: int


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
        """The job's definition, and its execution, run once its dependencies are up. A
        ``pre_start`` hook's execution also holds its service's definition (a new one runs the
        hooks again) and its place, for a failure message that names it as Compose does; and
        its service's image (a new one runs every hook again), which the hook runs unless it
        names its own."""
        images = self._hook_images(job, parent)
        made = self._definition(job, parent, image=images.runs if images else None)
        marks = hook_inputs(job)
        service_definition = {k: v for k, v in marks.items() if k == "serviceDefinition"}
        if images:
            service_definition["serviceImage"] = images.service
        hook = {k: v for k, v in marks.items() if k == "hook"}
        run = CloudRunJobExecution(
            self.shared.names(job.name, "run"),
            {
                "job": job.name,
                "jobName": made.full_name,
                "definition": {
                    "container": made.container,
                    "volumes": made.volumes,
                    **service_definition,
                },
                "runAlways": job.run_always,
                "timeout": job.timeout,
                "maxRetries": made.max_retries,
                **hook,
                **self.identity,
            },
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[*after, made.job]),
            secrets=self._printable_secrets(job),
        )
        return dataclasses.replace(
            run.handle(), resources=self._resources(job.name, run=run, job=made.job)
        )

    def triggered(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> TriggeredHandle:
        """A job of the top-level ``jobs:``: a Cloud Run job as a run-once job's, which a
        deployment never executes (``berth run`` does, with ``run_with``), and a Cloud
        Scheduler job per schedule; none made before ``after`` exists."""
        made = self._definition(job, parent, *after)
        triggers = job.triggers or Triggers()
        if warning := unhonoured(job.name, triggers.schedules):
            pulumi.log.warn(warning)
        schedules = create_schedules(
            self.shared,
            job.name,
            made.job,
            made.full_name,
            triggers.schedules,
            after=after,
            parent=parent,
        )
        run_with = {
            "target": "gcp",
            "manual": triggers.manual,
            "name": job.name,
            "project": self.shared.gcp_project,
            "region": self.shared.region,
            "job": made.full_name,
            "timeout": cloudrun.task_timeout(job),
            "maxRetries": made.max_retries,
            **self.identity,
        }
        resources = self._resources(job.name, definition=made.job)
        return TriggeredHandle(run_with=run_with, resources={**resources, **schedules})

    def _hook_images(self, job: Service, parent: pulumi.Resource) -> HookImages | None:
        """A ``pre_start`` hook's images (``Registry.hook_images``); None for another job."""
        if not job.hook:
            return None
        service = self.shared.project.services[job.hook.service]
        placement = self.placements.get(service.name)  # none for a managed store
        on_vm = placement is not None and placement.kind is Kind.VM
        return self.registry.hook_images(job, service, parent, service_on_vm=on_vm)

    def _definition(
        self,
        job: Service,
        parent: pulumi.Resource,
        *after: pulumi.Resource,
        image: pulumi.Input[str] | None = None,
    ) -> JobDefinition:
        """The job's Cloud Run job (made after ``after`` and the grants it needs), running
        ``image`` (else its own): what a run-once job executes once, and what ``berth run``
        and the schedules of a job of ``jobs:`` execute."""
        shared = self.shared
        container, volumes, grants = self._container(job, parent, image)
        task = self._template(
            job,
            container,
            volumes,
            max_retries=cloudrun.retries(job.restart),
            timeout=f"{math.ceil(cloudrun.task_timeout(job))}s",  # whole seconds, never fewer
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
            opts=shared.after_api("run", parent, *after, *grants),
        )
        full_name = pulumi.Output.concat(
            "projects/", shared.gcp_project, "/locations/", shared.region, "/jobs/", definition.name
        )
        return JobDefinition(definition, full_name, container, volumes, task["max_retries"])

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
                service,
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
            template=self._template(service, container, volumes),
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
        workload: Service,
        container: cloudrun.Container,
        volumes: list[dict[str, Any]],
        **settings: Any,
    ) -> Any:
        """What a Cloud Run service, worker pool or job task runs: the container and its
        volumes, as the workload's own account, with Direct VPC egress to the project's
        subnet when it reaches a VM or a store."""
        private = self.directory.reaches_private(workload)
        return {
            "containers": [container],
            "volumes": volumes or None,
            "service_account": self.accounts[workload.name].email,
            "vpc_access": cloudrun.vpc_access(self.network.subnet.id) if private else None,
            **settings,
        }

    def _container(
        self, service: Service, parent: pulumi.Resource, image: pulumi.Input[str] | None = None
    ) -> tuple[cloudrun.Container, list[dict[str, Any]], list[pulumi.Resource]]:
        """The container (running ``image``, else the service's own), its volumes, and the
        grants it needs before it can start."""
        env, grants = self._env(service, parent)
        volumes, mounts, volume_grants = self._volumes(service, parent)
        spec = cloudrun.container(
            self.registry.image(service, parent, cloud_run=True) if image is None else image,
            entrypoint=cloudrun.plain(service.entrypoint),
            command=cloudrun.plain(service.command),
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
