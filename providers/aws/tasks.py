"""A service's or job's ECS task definition: its containers (an init container, then the
service's), its size, its volumes, its roles, and what must exist before it can run.

Everything every task of the project shares is in ``TaskShared``, which the target builds once.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from berth.components.names import Names
from berth.model import Service, revealed
from berth.names import shortened
from berth.providers.aws.containers import (
    ecs_name,
    health_command,
    init_container,
    log_configuration,
    secret_env_name,
    service_container,
)
from berth.providers.aws.iam import Roles
from berth.providers.aws.images import DEFAULT_PLATFORM, RUNTIME_PLATFORMS, Images, Made
from berth.providers.aws.models import Bedrock
from berth.providers.aws.names import ECS_NAME
from berth.providers.aws.secrets import SecretInput, SecretStore
from berth.providers.aws.sizing import task_size
from berth.providers.aws.volumes import FileSystem, task_mounts
from berth.sources import Sources


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
    resources: dict[str, pulumi.Resource]
    """The task's main resources by role, for programs that build on the Project."""


@dataclass(frozen=True)
class TaskShared:
    """What every task of the project uses."""

    names: Names
    prefix: str
    sources: Sources
    region: pulumi.Input[str]
    namespace_name: str
    logs: aws.cloudwatch.LogGroup
    images: Images
    secrets: SecretStore
    secret_values: Mapping[str, str]
    roles: Roles
    storage: FileSystem | None
    models: Bedrock


def create_task(
    shared: TaskShared, service: Service, parent: pulumi.Resource, image: Made | None = None
) -> Task:
    """The task definition of ``service`` (or a job), under ``parent``; it runs ``image``, made
    already (a service's, which its hooks share), or else its own."""
    warn = warner(service)
    service = _without_empty_variables(service, warn)
    container = ecs_name(service.name)
    init = f"{container}-init"
    reference, built = image or shared.images.image(service, parent)
    environment = shared.secrets.environment(service, parent)
    health = None
    if service.healthcheck:
        health, keys = health_command(
            service.healthcheck, service.name, shared.sources, shared.secret_values
        )
        environment |= {
            secret_env_name(key): SecretInput(shared.secrets.key(key), shared.secret_values[key])
            for key in keys
        }
    files = shared.secrets.files(service, parent)
    mount_points, volumes, access_points = task_mounts(service, shared.storage, warn)
    log = log_configuration(shared.logs.name, shared.region, container)
    main = service_container(
        service,
        shared.sources,
        image=reference,
        secrets={name: s.stored.value_from for name, s in environment.items()},
        health_command=health,
        mount_points=mount_points,
        log_configuration=log,
        init=init,
        warn=warn,
    )
    if (command := shared.models.command(service)) is not None:
        main["command"] = command
    rendered = pulumi.Output.json_dumps(
        [
            init_container(
                init,
                image=shared.images.init_image,
                search_domain=shared.namespace_name,
                files=[(file, variable) for variable, (file, _) in files.items()],
                secrets={v: s.stored.value_from for v, (_, s) in files.items()},
                log_configuration=log,
            ),
            main,
        ],
        sort_keys=True,
    )
    secrets = environment | {variable: secret for variable, (_, secret) in files.items()}
    stored = list({id(s.stored): s.stored for s in secrets.values()}.values())
    waits: list[pulumi.Resource] = [
        shared.roles.execution_policy,
        shared.images.cache_rule,
        # Deleted after every task then: a task still starting would fill the cache again.
        shared.images.cached,
        *(s.version for s in stored),
    ]
    if shared.storage and access_points:
        waits.extend(shared.storage.ready(service.name))
    role = shared.roles.tasks[service.name]
    if grant := shared.models.grant(shared.names(service.name, "bedrock"), service, role, parent):
        waits.append(grant)  # a gateway's first request would be refused without it
    size = task_size(service, shared.sources)
    definition = aws.ecs.TaskDefinition(
        shared.names(service.name),
        family=shortened(f"{shared.prefix}-{container}", ECS_NAME),
        container_definitions=rendered,
        cpu=str(size.cpu),
        memory=str(size.memory),
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        execution_role_arn=shared.roles.execution.arn,
        task_role_arn=shared.roles.tasks[service.name].arn,
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
        resources={
            "task_definition": definition,
            "task_role": shared.roles.tasks[service.name],
            **built,
        },
    )


def _without_empty_variables(service: Service, warn: Callable[[str], None]) -> Service:
    """``service`` without its empty environment variables: ECS does not pass one to the
    container and does not store it, so one sent would show as a change on every ``pulumi up``
    (hashicorp/terraform-provider-aws#39533), and Secrets Manager refuses an empty secret."""
    empty = sorted(key for key, value in service.environment.items() if str(revealed(value)) == "")
    if not empty:
        return service
    warn(
        f"environment {', '.join(empty)} left out: ECS does not pass an empty variable to a "
        "container; give it a value, or read its absence as empty"
    )
    kept = {k: v for k, v in service.environment.items() if k not in empty}
    return dataclasses.replace(service, environment=kept)


def _architecture(service: Service, warn: Callable[[str], None]) -> str:
    """Fargate's CPU architecture for the compose platform."""
    platform = service.platform or DEFAULT_PLATFORM
    if platform not in RUNTIME_PLATFORMS:
        warn(
            f"platform {platform} cannot run on Fargate (linux/amd64 or linux/arm64 only); "
            "the task is started as linux/amd64 and will likely fail"
        )
    return RUNTIME_PLATFORMS.get(platform, "X86_64")


def warner(service: Service) -> Callable[[str], None]:
    def warn(message: str) -> None:
        pulumi.log.warn(f"service '{service.name}': {message}")

    return warn
