"""ECS Fargate: a task definition and ECS service per service, a run-once ECS task per job.

Shared per project: the network, one cluster, one log group, the IAM roles, a Cloud Map
private DNS namespace (every service is ``<name>.<namespace>``, and every task searches the
namespace, so compose names resolve), the load balancer when a port is published, the EFS
file system when a named volume is used, and one Secrets Manager secret per stack secret.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from berth.errors import BerthError
from berth.model import ComposeProject, FileMount, Secret, Service, Text
from berth.settings import StackSettings
from components.run_once import job_secrets
from components.target import JobHandle, ServiceHandle
from providers.aws.account import current_account
from providers.aws.containers import (
    FILE_ENV_PREFIX,
    FILES_DIR,
    FILES_VOLUME,
    ecs_name,
    health_command,
    init_container,
    log_configuration,
    secret_env_name,
    service_container,
)
from providers.aws.iam import create_roles
from providers.aws.images import DEFAULT_PLATFORM, Images, slug
from providers.aws.ingress import (
    Ingress,
    LoadBalancer,
    check_quotas,
    ingress_ports,
    listener_ports,
)
from providers.aws.network import create_network, create_security_groups
from providers.aws.options import AwsOptions
from providers.aws.readiness import READY_TIMEOUT, EcsServiceReady
from providers.aws.run_once import EcsJob
from providers.aws.sizing import task_size
from providers.aws.volumes import FileSystem

RUNTIME_PLATFORMS = {"linux/amd64": "X86_64", "linux/arm64": "ARM64", "linux/arm64/v8": "ARM64"}
STARTED_BY_LIMIT = 128
"""RunTask's startedBy: at most 128 letters, digits, hyphens, underscores and slashes."""
_DNS_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


@dataclass(frozen=True)
class StoredSecret:
    """A value in Secrets Manager, and the version tasks read and must wait for."""

    arn: pulumi.Output[str]
    version: aws.secretsmanager.SecretVersion

    @property
    def value_from(self) -> pulumi.Output[str]:
        """What a task definition reads: this very version (``arn:json-key:stage:version``),
        not whatever is current when a task starts. A new value is thus a new task definition
        revision, which rolls the services that read it, as it re-runs the jobs."""
        return pulumi.Output.concat(self.arn, ":::", self.version.version_id)


@dataclass(frozen=True)
class SecretInput:
    """An environment variable of a task, filled from Secrets Manager."""

    stored: StoredSecret
    value: str = field(repr=False)


@dataclass(frozen=True)
class Task:
    """A service's or job's task definition, and what must exist before it runs."""

    definition: aws.ecs.TaskDefinition
    container: str
    containers: pulumi.Output[list[dict[str, Any]]]
    """The container definitions: everything the task runs, but the values of secrets."""
    secrets: dict[str, pulumi.Output[str]]
    """Environment variables filled from Secrets Manager, with their values, as secrets."""
    volumes: dict[str, pulumi.Input[str]]
    """Named volumes, to their access points."""
    cpu: int
    memory: int
    waits: list[pulumi.Resource]


class AwsTarget:
    """Deploys to the AWS account and region of Pulumi's aws provider."""

    def __init__(
        self, project: ComposeProject, settings: StackSettings, parent: pulumi.Resource
    ) -> None:
        self.project = project
        self.parent = parent
        self.file = project.files[0]
        self.options = AwsOptions.parse(settings.options)
        self.prefix = slug(f"{project.name}-{pulumi.get_stack()}")
        """AWS object names carry the stack, so several stacks share one account."""
        self.secret_values = {
            key: value
            for key, value in settings.variables.values.items()
            if key in settings.variables.secret_keys
        }
        _check_project(project, self.file)
        name = project.name
        opts = pulumi.ResourceOptions(parent=parent)
        self.account = current_account(parent)
        self.region = self.account.region
        self.cluster = aws.ecs.Cluster(f"{name}-cluster", opts=opts)
        self.network = create_network(name, self.options, self.region, parent)
        https = self.options.certificate_arn is not None
        self.ingress: dict[str, list[Ingress]] = {
            s.name: ingress_ports(s, https, _warner(s)) for s in project.long_running
        }
        listeners = sorted(listener_ports(self.ingress, self.file))
        target_ports = [port.target for ports in self.ingress.values() for port in ports]
        check_quotas(listeners, https, self.file)
        self.security_groups = create_security_groups(
            name,
            self.network,
            LoadBalancer.open_ports(listeners, https),
            target_ports,
            parent,
        )
        self.load_balancer = (
            LoadBalancer(
                name,
                ports=listeners,
                network=self.network,
                security_group=self.security_groups.load_balancer,
                certificate_arn=self.options.certificate_arn,
                parent=parent,
            )
            if self.security_groups.load_balancer
            else None
        )
        self.logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/berth/{self.prefix}",
            retention_in_days=self.options.log_retention_days,
            opts=opts,
        )
        self.images = Images(
            name,
            prefix=self.prefix,
            account=self.account,
            keep_images=self.options.ecr_keep_images,
            parent=parent,
        )
        self.roles = create_roles(
            name,
            prefix=self.prefix,
            cache_prefix=self.images.cache_prefix,
            account=self.account,
            log_group_arn=self.logs.arn,
            workloads=sorted(project.services),
            parent=parent,
        )
        self.namespace_name = f"{self.prefix}.internal"
        self.namespace = aws.servicediscovery.PrivateDnsNamespace(
            f"{name}-dns",
            name=self.namespace_name,
            vpc=self.network.vpc_id,
            description=f"Berth {self.prefix}: every service by its compose name",
            opts=opts,
        )
        mounts: dict[str, dict[str, bool]] = {}
        for service in project.services.values():
            for mount in service.mounts:
                if mount.type == "volume" and mount.source:
                    readers = mounts.setdefault(mount.source, {})
                    readers[service.name] = readers.get(service.name, True) and mount.read_only
        self.storage = (
            FileSystem(
                name,
                mounts=mounts,
                roles=self.roles.tasks,
                network=self.network,
                tasks=self.security_groups.tasks,
                parent=parent,
            )
            if mounts
            else None
        )
        self.key_secrets: dict[str, StoredSecret] = {}

    # -- the Target interface ----------------------------------------------------------

    def service(
        self, service: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> ServiceHandle:
        task = self._task(service, parent)
        opts = pulumi.ResourceOptions(parent=parent)
        registry = aws.servicediscovery.Service(
            f"{service.name}-dns",
            name=service.name,
            dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
                namespace_id=self.namespace.id,
                dns_records=[aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(ttl=10, type="A")],
                routing_policy="MULTIVALUE",
            ),
            health_check_custom_config=aws.servicediscovery.ServiceHealthCheckCustomConfigArgs(),
            force_destroy=True,
            opts=opts,
        )
        balancers, rules, endpoints = self._routes(service, task.container, parent)
        stateful = any(m.type == "volume" and m.source for m in service.mounts)
        start_period = service.healthcheck.start_period if service.healthcheck else None
        workload = aws.ecs.Service(
            service.name,
            cluster=self.cluster.arn,
            task_definition=task.definition.arn,
            desired_count=1 if service.replicas is None else service.replicas,
            launch_type="FARGATE",
            network_configuration=self._network_configuration(),
            load_balancers=balancers or None,
            health_check_grace_period_seconds=max(60, round(start_period or 0))
            if balancers
            else None,
            service_registries=aws.ecs.ServiceServiceRegistriesArgs(registry_arn=registry.arn),
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            # A service with a named volume is replaced, not doubled: two databases must never
            # share one data directory, even during a deployment.
            deployment_minimum_healthy_percent=0 if stateful else 100,
            deployment_maximum_percent=100 if stateful else 200,
            wait_for_steady_state=True,
            opts=pulumi.ResourceOptions(
                parent=parent, depends_on=[*after, *rules, *task.waits, *self.network.ready]
            ),
        )
        ready = EcsServiceReady(
            f"{service.name}-ready",
            {
                "service": service.name,
                "cluster": self.cluster.arn,
                "ecsService": workload.name,
                "taskDefinition": task.definition.arn,
                "desiredCount": workload.desired_count,
                "healthy": service.healthcheck is not None,
                "timeout": READY_TIMEOUT,
                "region": self.region,
                "identity": self.account.identity,
            },
            opts=pulumi.ResourceOptions(
                parent=parent, depends_on=[workload], additional_secret_outputs=["identity"]
            ),
        )
        return ServiceHandle(started=[ready], healthy=[ready], endpoints=endpoints)

    def job(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> JobHandle:
        task = self._task(job, parent)
        run = EcsJob(
            f"{job.name}-run",
            {
                "job": job.name,
                "definition": {
                    "containers": task.containers,
                    "cpu": task.cpu,
                    "memory": task.memory,
                    "volumes": task.volumes,
                    "secrets": task.secrets,
                },
                "runAlways": job.run_always,
                "timeout": job.timeout,
                "region": self.region,
                "identity": self.account.identity,
                "startedBy": self._started_by(job),
                "tags": {"berth:stack": self.prefix, "berth:job": job.name},
                "cluster": self.cluster.arn,
                "taskDefinition": task.definition.arn,
                "container": task.container,
                "subnets": self.network.subnet_ids,
                "securityGroups": [self.security_groups.tasks.id],
                "assignPublicIp": self.options.assign_public_ip,
                "logGroup": self.logs.name,
                "logStreamPrefix": task.container,
            },
            opts=pulumi.ResourceOptions(
                parent=parent,
                depends_on=[*after, *task.waits, *self.network.ready],
                additional_secret_outputs=["identity"],
            ),
            secrets=job_secrets(job, self.secret_values),
        )
        result = {"exitCode": run.exitCode, "durationSeconds": run.durationSeconds}
        return JobHandle(run=run, result={**result, "finishedAt": run.finishedAt})

    def _started_by(self, job: Service) -> str:
        """The tag every run of ``job`` in this stack starts with: how a leftover is found."""
        tag = f"berth/{self.prefix}/{ecs_name(job.name)}"
        if len(tag) <= STARTED_BY_LIMIT:
            return tag
        return f"berth/{hashlib.sha256(tag.encode()).hexdigest()[:40]}"

    def _routes(
        self, service: Service, container: str, parent: pulumi.Resource
    ) -> tuple[
        list[aws.ecs.ServiceLoadBalancerArgs], list[pulumi.Resource], list[pulumi.Output[str]]
    ]:
        """The service's ingress ports on the load balancer: what the ECS service registers its
        tasks with, the rules that must exist first, and the URLs."""
        balancers, rules, endpoints = [], [], []
        balancer = self.load_balancer
        if balancer is None:
            return balancers, rules, endpoints
        for ingress in self.ingress[service.name]:
            group, rule = balancer.route(service, ingress, self.network.vpc_id, parent)
            balancers.append(
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=group.arn,
                    container_name=container,
                    container_port=ingress.target,
                )
            )
            rules.append(rule)
            endpoints.append(balancer.url(ingress.listener))
        return balancers, rules, endpoints

    # -- one task --------------------------------------------------------------------------

    def _task(self, service: Service, parent: pulumi.Resource) -> Task:
        warn = _warner(service)
        container = ecs_name(service.name)
        init = f"{container}-init"
        image, _ = self.images.image(service, parent)
        environment = self._environment_secrets(service, parent)
        health = None
        if service.healthcheck:
            health, keys = health_command(
                service.healthcheck, service.name, self.file, self.secret_values
            )
            environment |= {
                secret_env_name(key): SecretInput(self._key_secret(key), self.secret_values[key])
                for key in keys
            }
        files = self._file_secrets(service, parent)
        mount_points, volumes, access_points = self._volumes(service, warn)
        log = log_configuration(self.logs.name, self.region, container)
        rendered = pulumi.Output.json_dumps(
            [
                init_container(
                    init,
                    image=self.images.init_image,
                    search_domain=self.namespace_name,
                    files=[(file, variable) for variable, (file, _) in files.items()],
                    secrets={v: s.stored.value_from for v, (_, s) in files.items()},
                    log_configuration=log,
                ),
                service_container(
                    service,
                    self.file,
                    image=image,
                    secrets={name: s.stored.value_from for name, s in environment.items()},
                    health_command=health,
                    mount_points=mount_points,
                    log_configuration=log,
                    init=init,
                    warn=warn,
                ),
            ],
            sort_keys=True,
        )
        secrets = environment | {variable: secret for variable, (_, secret) in files.items()}
        stored = list({id(s.stored): s.stored for s in secrets.values()}.values())
        waits: list[pulumi.Resource] = [
            self.roles.execution_policy,
            self.images.cache_rule,
            *(s.version for s in stored),
        ]
        if self.storage and access_points:
            waits.extend(self.storage.ready)
        size = task_size(service, self.file)
        definition = aws.ecs.TaskDefinition(
            service.name,
            family=f"{self.prefix}-{container}",
            container_definitions=rendered,
            cpu=str(size.cpu),
            memory=str(size.memory),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            execution_role_arn=self.roles.execution.arn,
            task_role_arn=self.roles.tasks[service.name].arn,
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX",
                cpu_architecture=_architecture(service, warn),
            ),
            volumes=volumes or None,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return Task(
            definition=definition,
            container=container,
            containers=rendered.apply(json.loads),
            secrets={name: pulumi.Output.secret(secrets[name].value) for name in sorted(secrets)},
            volumes=access_points,
            cpu=size.cpu,
            memory=size.memory,
            waits=waits,
        )

    # -- secrets -----------------------------------------------------------------------------

    def _environment_secrets(
        self, service: Service, parent: pulumi.Resource
    ) -> dict[str, SecretInput]:
        """Secret environment values, each from Secrets Manager."""
        return {
            key: SecretInput(self._store(value, f"{service.name}-env-{key}", parent), value.value)
            for key, value in sorted(service.environment.items())
            if isinstance(value, Secret)
        }

    def _file_secrets(
        self, service: Service, parent: pulumi.Resource
    ) -> dict[str, tuple[FileMount, SecretInput]]:
        """Compose secrets, by the variable that brings each one to the init container, which
        writes it under /run/secrets."""
        files = {}
        for index, file in enumerate(service.files):
            if posixpath.dirname(file.target.rstrip("/")) != FILES_DIR:
                raise BerthError(
                    f"the secret {file.name!r} goes to {file.target}; on aws Berth places "
                    f"compose secrets directly in {FILES_DIR}",
                    file=self.file,
                    service=service.name,
                    field="secrets",
                    hint=f"remove its target (it defaults to {FILES_DIR}/{file.name})",
                )
            stored = self._store(file.content, f"{service.name}-file-{file.name}", parent)
            value = file.content.value if isinstance(file.content, Secret) else file.content
            files[f"{FILE_ENV_PREFIX}{index}"] = (file, SecretInput(stored, value))
        return files

    def _store(self, value: Text, name: str, parent: pulumi.Resource) -> StoredSecret:
        """A stack secret used as the whole value is that key's secret; any other value (one
        that interpolates secrets, a compose secret's file) gets its own."""
        if isinstance(value, Secret):
            if len(value.keys) == 1 and self.secret_values.get(value.keys[0]) == value.value:
                return self._key_secret(value.keys[0])
            value = value.value
        return self._new_secret(name, value, parent)

    def _key_secret(self, key: str) -> StoredSecret:
        """The stack secret ``key``, stored once for every service that uses it."""
        if key not in self.key_secrets:
            self.key_secrets[key] = self._new_secret(
                f"stack-{key}", self.secret_values[key], self.parent
            )
        return self.key_secrets[key]

    def _new_secret(self, name: str, value: str, parent: pulumi.Resource) -> StoredSecret:
        """A Secrets Manager secret, deleted at once with the stack (no recovery window), so
        that a new stack of the same name can create it again."""
        opts = pulumi.ResourceOptions(parent=parent)
        secret = aws.secretsmanager.Secret(
            name, name=f"berth/{self.prefix}/{name}", recovery_window_in_days=0, opts=opts
        )
        version = aws.secretsmanager.SecretVersion(
            name, secret_id=secret.id, secret_string=pulumi.Output.secret(value), opts=opts
        )
        return StoredSecret(secret.arn, version)

    # -- volumes and network -------------------------------------------------------------------

    def _volumes(
        self, service: Service, warn: Callable[[str], None]
    ) -> tuple[
        list[dict[str, Any]], list[aws.ecs.TaskDefinitionVolumeArgs], dict[str, pulumi.Input[str]]
    ]:
        """Mount points, task volumes, and the access point of each named volume."""
        mount_points: list[dict[str, Any]] = []
        volumes: list[aws.ecs.TaskDefinitionVolumeArgs] = []
        access_points: dict[str, pulumi.Input[str]] = {}
        scratch = [
            m.target
            for m in service.mounts
            if m.type == "tmpfs" or (m.type == "volume" and not m.source)
        ]
        scratch = sorted({*scratch, *service.container.tmpfs})
        for mount in service.mounts:
            if mount.type == "bind":
                warn(
                    f"bind mount {mount.source}:{mount.target} is ignored: a Fargate task cannot "
                    "reach files on the machine running pulumi up; copy them into the image "
                    "(build) or use a named volume"
                )
            elif mount.type == "volume" and mount.source and self.storage:
                if mount.source not in access_points:
                    volumes.append(self.storage.task_volume(mount.source))
                    access_points[mount.source] = self.storage.access_points[mount.source].id
                mount_points.append(
                    {
                        "sourceVolume": ecs_name(mount.source),
                        "containerPath": mount.target,
                        "readOnly": mount.read_only,
                    }
                )
        for index, target in enumerate(scratch):
            name = f"scratch-{index}"
            volumes.append(aws.ecs.TaskDefinitionVolumeArgs(name=name))
            mount_points.append({"sourceVolume": name, "containerPath": target, "readOnly": False})
        if service.files:
            volumes.append(aws.ecs.TaskDefinitionVolumeArgs(name=FILES_VOLUME))
            mount_points.append(
                {"sourceVolume": FILES_VOLUME, "containerPath": FILES_DIR, "readOnly": True}
            )
        # Order-free lists, sorted: reordering compose's volumes changes no definition.
        mount_points.sort(key=lambda point: point["containerPath"])
        volumes.sort(key=lambda volume: str(volume.name))
        return mount_points, volumes, access_points

    def _network_configuration(self) -> aws.ecs.ServiceNetworkConfigurationArgs:
        return aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=self.network.subnet_ids,
            security_groups=[self.security_groups.tasks.id],
            assign_public_ip=self.options.assign_public_ip,
        )


def _check_project(project: ComposeProject, file: str) -> None:
    """What cannot deploy on aws at all, before any resource is declared."""
    for volume in project.volumes.values():
        if volume.external:
            raise BerthError(
                f"volume '{volume.key}' is external; on aws every named volume is an EFS "
                "access point Berth creates",
                file=file,
                field="volumes",
                hint="remove external: true to let Berth create it",
            )
    for service in project.long_running:
        if not _DNS_LABEL.fullmatch(service.name):
            raise BerthError(
                "the name is not a DNS label, so other services could not reach it by name",
                file=file,
                service=service.name,
                hint="use letters, digits, '-' and '_' only, at most 63 characters",
            )


def _architecture(service: Service, warn: Callable[[str], None]) -> str:
    """Fargate's CPU architecture for the compose platform."""
    platform = service.platform or DEFAULT_PLATFORM
    if platform not in RUNTIME_PLATFORMS:
        warn(
            f"platform {platform} cannot run on Fargate (linux/amd64 or linux/arm64 only); "
            "the task is started as linux/amd64 and will likely fail"
        )
    return RUNTIME_PLATFORMS.get(platform, "X86_64")


def _warner(service: Service) -> Callable[[str], None]:
    def warn(message: str) -> None:
        pulumi.log.warn(f"service '{service.name}': {message}")

    return warn
