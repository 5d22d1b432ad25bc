"""Local Docker: one network per project, a container per service, a run-once container per job."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_docker as docker

from berth.components.run_once import SCRUB_KEY, hook_inputs, job_secrets
from berth.components.target import JobHandle, ServiceHandle, TargetArgs, TriggeredHandle
from berth.components.values import text_input, texts_input
from berth.durations import go_duration
from berth.model import (
    ComposeProject,
    ContainerSettings,
    FileMount,
    Healthcheck,
    Mount,
    Port,
    Service,
    Triggers,
)
from berth.providers.local import host_ports
from berth.providers.local.definition import job_definition
from berth.providers.local.engine import engine_input
from berth.providers.local.host_ports import Publisher
from berth.providers.local.images import LocalImages
from berth.providers.local.labels import OWNER_KEYS
from berth.providers.local.models import LocalModels
from berth.providers.local.run_once import LocalJob
from berth.quantities import LONGEST_WAIT
from berth.sources import read_sources

DEFAULT_RESTART = "unless-stopped"
"""Restart policy of a service with no ``restart`` key: a deployed service keeps running."""


class LocalTarget:
    """Deploys to the Docker engine Pulumi's docker provider talks to (DOCKER_HOST)."""

    def __init__(self, project: ComposeProject, args: TargetArgs, parent: pulumi.Resource) -> None:
        self.project = project
        self.sources = read_sources(project.files)  # which file published a host port
        self.names = args.names
        self.stack_secrets = args.secrets
        self.prefix = f"{project.name}-{pulumi.get_stack()}".lower()
        """Docker object names carry the stack, so dev and test stacks share one engine."""
        child = pulumi.ResourceOptions(parent=parent)
        self.network = docker.Network(self.names("network"), name=self.prefix, opts=child)
        shared: dict[str, pulumi.Resource] = {"network": self.network}
        self.volumes: dict[str, pulumi.Input[str]] = {}
        for key, volume in project.volumes.items():
            if volume.external:
                self.volumes[key] = volume.name
                continue
            created = docker.Volume(
                self.names(key),
                name=f"{self.prefix}_{key}",
                driver=volume.driver,
                opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
            )
            shared[f"volume_{key}"] = created
            self.volumes[key] = created.name
        self.component = parent
        """The Project: the services' components are its children."""
        self._engine_read = False
        self._engine_settings: pulumi.Input[dict[str, Any]] | None = None
        self.images = LocalImages(project, self.names, self.prefix, parent, self._engine)
        self.models = LocalModels(project, self.sources, self.names, self._engine, parent)
        shared.update({f"model_{name}": model for name, model in self.models.resources.items()})
        self.shared: Mapping[str, pulumi.Resource] = shared
        """The network, ``volume_<key>`` for each named volume Berth creates (the compose
        key as written: external volumes are not Berth's), and ``model_<name>`` for each
        language model."""

    # -- the Target interface ----------------------------------------------------------

    def service(
        self, service: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> ServiceHandle:
        engine = parent.get_provider("docker::Provider")
        for port in service.ports:
            host_ports.claim(
                engine,
                port,
                Publisher(self.project.name, service.name),
                self.sources.origin(service.name, "ports"),
            )
        restart, retries = _restart_policy(service.restart)
        image, image_id = self.images.made.get(service.name) or self.images.image(service, parent)
        container = docker.Container(
            self.names(service.name),
            name=service.container_name or f"{self.prefix}-{service.name}",
            image=image_id,
            hostname=service.hostname,
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=[service.name])
            ],
            envs=self.models.env_list(service),
            command=texts_input(service.command),
            entrypoints=texts_input(service.entrypoint),
            ports=[_port(p) for p in service.ports],
            healthcheck=_healthcheck(service.healthcheck),
            wait=service.healthcheck is not None,
            wait_timeout=_healthy_within(service.healthcheck),
            restart=restart,
            max_retry_count=retries,
            must_run=True,
            volumes=[self._volume(m) for m in service.mounts if m.type != "tmpfs"],
            tmpfs=_tmpfs(service) or None,
            uploads=[_upload(f) for f in service.files],
            working_dir=service.working_dir,
            user=service.user,
            labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in service.labels.items()],
            cpus=f"{service.resources.cpus:g}" if service.resources.cpus else None,
            memory=_megabytes(service.resources.memory),
            memory_reservation=_megabytes(service.resources.reserved_memory),
            **self._container_settings(service),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
        )
        return ServiceHandle(
            started=[container],
            healthy=[container],
            endpoints=container.ports.apply(_endpoints),
            resources={"workload": container, "image": image},
        )

    def job(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> JobHandle:
        served = self.images.service_image(job.hook, parent) if job.hook else None
        if served and job.hook and job.hook.shares_image:
            image, image_id = served  # as Compose runs it: the service's image, built once
        else:
            image, image_id = self.images.image(job, parent)
        hook = hook_inputs(job)
        definition = self._job_definition(job, image_id)
        if hook and served:
            definition["serviceDefinition"] = hook["serviceDefinition"]
            # Compose recreates the service when its image changes, and runs every hook again
            # then, those with an image of their own too.
            definition["serviceImage"] = served[1]
        props: dict[str, Any] = {
            "job": f"{self.prefix}-{job.name}",
            "definition": definition,
            "runAlways": job.run_always,
            "timeout": job.timeout,
            "labels": job.labels,
            "owner": self._owner(job),
        }
        if hook:
            props["hook"] = hook["hook"]
        if (engine := self._engine(parent)) is not None:
            props["engine"] = engine
        run = LocalJob(
            self.names(job.name, "run"),
            props,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
            secrets=job_secrets(job, self.stack_secrets),
        )
        return dataclasses.replace(run.handle(), resources={"run": run, "image": image})

    def triggered(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> TriggeredHandle:
        """A container definition: the job's image, on the engine (built or pulled as a
        job's), and what ``berth run`` creates its container with, in the keys a run-once
        resource's inputs have (``job``, ``definition``, ...), so one runner reads both. The
        services it depends on need not be there for it: they are by the time it runs. A
        schedule never reaches here: ``FIELD_SUPPORT`` refuses it, as Compose's ``up`` does."""
        triggers = job.triggers or Triggers()
        image, image_id = self.images.image(job, parent)
        run_with: dict[str, Any] = {
            "target": "local",
            "manual": triggers.manual,
            "job": f"{self.prefix}-{job.name}",
            "definition": self._job_definition(job, image_id),
            "labels": job.labels,
            "owner": self._owner(job),
        }
        if job.container.stop_grace_period is not None:
            run_with["stopTimeout"] = job.container.stop_grace_period
        if (engine := self._engine(parent)) is not None:
            run_with["engine"] = engine
        if secrets := job_secrets(job, self.stack_secrets):
            run_with[SCRUB_KEY] = pulumi.Output.secret(secrets)
        return TriggeredHandle(run_with=run_with, resources={"definition": image})

    # -- pieces --------------------------------------------------------------------------

    def _container_settings(self, service: Service) -> dict[str, Any]:
        """``docker.Container`` arguments for its Linux container settings, with the host
        entries its models' endpoint needs."""
        settings = _container_settings(service.container)
        if service.models:
            settings["hosts"] = self.models.extra_hosts(service).apply(
                lambda hosts: [{"host": h, "ip": ip} for h, ip in sorted(hosts.items())] or None
            )
        return settings

    def _job_definition(self, job: Service, image_id: pulumi.Input[str]) -> dict[str, Any]:
        """``job``'s container on the project network, given its models' variables and host
        entries as a service is."""
        definition = job_definition(job, image_id, self.network.name, self.volumes)
        if job.models:
            definition["environment"] = self.models.env(job)
            definition["container"]["extra_hosts"] = self.models.extra_hosts(job).apply(
                lambda hosts: hosts or None
            )
        return definition

    def _owner(self, job: Service) -> dict[str, str]:
        """The labels that say whose run a job's container is."""
        return dict(zip(OWNER_KEYS, (self.project.name, pulumi.get_stack(), job.name), strict=True))

    def _engine(self, parent: pulumi.Resource) -> pulumi.Input[dict[str, Any]] | None:
        """The engine settings of the project's docker provider, read once (``engine_input``):
        every job and build under the Project has the same."""
        if not self._engine_read:
            self._engine_settings, self._engine_read = engine_input(parent), True
        return self._engine_settings

    def _volume(self, mount: Mount) -> docker.ContainerVolumeArgs:
        if mount.type == "bind":
            return docker.ContainerVolumeArgs(
                host_path=os.path.abspath(str(mount.source)),
                container_path=mount.target,
                read_only=mount.read_only or None,
            )
        return docker.ContainerVolumeArgs(
            volume_name=self.volumes[mount.source] if mount.source else None,
            container_path=mount.target,
            read_only=mount.read_only or None,
        )


def _upload(file: FileMount) -> docker.ContainerUploadArgs:
    """A secret or config file, copied into the container before it starts; an empty one from
    the null device: the docker provider refuses an upload whose content is empty ("one of
    'content', 'content_base64', or 'source' must be set"), and a mode not written as four
    octal digits (``permissions`` must match ``^0[0-7]{3}$``; compose modes are at most 0777)."""
    content = {"source": os.devnull} if file.size == 0 else {"content": text_input(file.content)}
    return docker.ContainerUploadArgs(
        file=file.target,
        permissions=f"{file.mode:04o}" if file.mode is not None else None,
        **content,
    )


def _tmpfs(service: Service) -> dict[str, str]:
    """Each tmpfs path and its options: the ``tmpfs`` mounts' and the ``tmpfs:`` field's."""
    paths = [m.target for m in service.mounts if m.type == "tmpfs"]
    return {**dict.fromkeys(paths, ""), **service.container.tmpfs_options}


def _container_settings(settings: ContainerSettings) -> dict[str, Any]:
    """``docker.Container`` arguments for the Linux container settings."""
    return {
        "capabilities": docker.ContainerCapabilitiesArgs(
            adds=list(settings.cap_add) or None, drops=list(settings.cap_drop) or None
        )
        if settings.cap_add or settings.cap_drop
        else None,
        "privileged": settings.privileged or None,
        "read_only": settings.read_only or None,
        "init": settings.init,
        "tty": settings.tty or None,
        "stdin_open": settings.stdin_open or None,
        "hosts": [docker.ContainerHostArgs(host=h, ip=ip) for h, ip in settings.extra_hosts.items()]
        or None,
        "dns": list(settings.dns) or None,
        "dns_searches": list(settings.dns_search) or None,
        "dns_opts": list(settings.dns_opt) or None,
        "domainname": settings.domainname,
        "shm_size": _megabytes(settings.shm_size),
        "stop_signal": settings.stop_signal,
        "stop_timeout": int(settings.stop_grace_period) if settings.stop_grace_period else None,
        "sysctls": settings.sysctls or None,
        "ulimits": [
            docker.ContainerUlimitArgs(name=name, soft=soft, hard=hard)
            for name, (soft, hard) in settings.ulimits.items()
        ]
        or None,
        "security_opts": list(settings.security_opt) or None,
        "group_adds": list(settings.group_add) or None,
        "runtime": settings.runtime,
        "log_driver": settings.log_driver,
        "log_opts": settings.log_options or None,
    }


def _restart_policy(restart: str | None) -> tuple[str, int | None]:
    if not restart:
        return DEFAULT_RESTART, None
    policy, _, retries = restart.partition(":")
    return policy, int(retries) if retries else None


def _port(port: Port) -> docker.ContainerPortArgs:
    return docker.ContainerPortArgs(
        internal=port.target, external=port.published, ip=port.host_ip, protocol=port.protocol
    )


def _endpoints(ports: list[dict[str, Any]] | None) -> list[str]:
    """``localhost:8080`` for each published port (``/udp`` marks UDP)."""
    endpoints = []
    for port in ports or []:
        external = port.get("external")
        if not external:
            continue
        host = port.get("ip") or "localhost"
        host = "localhost" if host in ("0.0.0.0", "::") else host  # noqa: S104 - a reading, not a bind
        suffix = "/udp" if port.get("protocol") == "udp" else ""
        endpoints.append(f"{host}:{external}{suffix}")
    return endpoints


def _healthcheck(check: Healthcheck | None) -> docker.ContainerHealthcheckArgs | None:
    if check is None:
        return None

    def duration(seconds: float | None) -> str | None:
        return go_duration(seconds) if seconds is not None else None

    return docker.ContainerHealthcheckArgs(
        tests=[text_input(t) for t in check.test],
        interval=duration(check.interval),
        timeout=duration(check.timeout),
        retries=check.retries,
        start_period=duration(check.start_period),
        start_interval=duration(check.start_interval),
    )


def _healthy_within(check: Healthcheck | None) -> int | None:
    """Seconds to wait for healthy: the start period plus every retry, as Docker counts them,
    but no longer than a deployment waits (past 292 years, the provider's wait overflows)."""
    if check is None:
        return None
    interval = check.interval or 30.0
    timeout = check.timeout or 30.0
    retries = check.retries if check.retries is not None else 3
    wanted = (check.start_period or 0.0) + (interval + timeout) * (retries + 1)
    return int(min(max(60.0, wanted), LONGEST_WAIT))


def _megabytes(size: int | None) -> int | None:
    return max(1, size // (1024 * 1024)) if size else None
