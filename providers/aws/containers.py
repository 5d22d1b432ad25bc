"""A compose service as ECS container definitions (plain dicts of Pulumi inputs, API names).

Nothing here creates resources: the target resolves images, secrets and volumes, and this
module renders what ``RegisterTaskDefinition`` takes, warning about what Fargate cannot do.
Secret values never appear here; secrets travel as Secrets Manager ARNs (``valueFrom``).
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi

from berth.errors import BerthError
from berth.model import (
    ContainerSettings,
    FileMount,
    Healthcheck,
    Secret,
    Service,
    Text,
    held_secrets,
    revealed,
)
from berth.names import normalised, shortened
from berth.providers.aws.names import CONTAINER_NAME
from berth.sources import Sources

Warn = Callable[[str], None]

FILES_DIR = "/run/secrets"
FILES_VOLUME = "berth-files"
"""A task-scoped volume the init container writes compose secrets into."""
SECRET_ENV_PREFIX = "BERTH_SECRET_"  # noqa: S105 - a variable name prefix, not a secret
FILE_ENV_PREFIX = "BERTH_FILE_"
FARGATE_CAPABILITIES = frozenset({"SYS_PTRACE"})
"""The only capability Fargate lets a container add (ECS API, KernelCapabilities)."""
MAX_STOP_TIMEOUT = 120
HEALTH_LIMITS = {
    "interval": (5, 300),
    "timeout": (2, 60),
    "retries": (1, 10),
    "startPeriod": (0, 300),
}
"""What ECS accepts for each container health check setting (ECS API, HealthCheck)."""
COMPOSE_HEALTH_DEFAULTS = {"interval": 30, "timeout": 30, "retries": 3, "startPeriod": 0}
"""Docker's defaults, so a compose health check behaves the same on ECS (ECS's own differ)."""
TASK_DEFINITION = 65536
"""Bytes a task definition holds at most, all its containers together (RegisterTaskDefinition:
"Max allowed length is '65536' bytes", awsdocs/amazon-ecs-developer-guide#149)."""


def ecs_name(name: str) -> str:
    """A container or volume name as ECS allows it: letters, digits, hyphens, underscores,
    short enough for the container's log stream (``CONTAINER_NAME``)."""
    allowed = normalised(name, "A-Za-z0-9_-", lower=False, runs=False, start="", end="")
    return shortened(allowed, CONTAINER_NAME)


def service_container(
    service: Service,
    sources: Sources,
    *,
    image: pulumi.Input[str],
    secrets: Mapping[str, pulumi.Input[str]],
    health_command: Sequence[str] | None,
    mount_points: Sequence[Mapping[str, Any]],
    log_configuration: Mapping[str, Any],
    init: str,
    warn: Warn,
) -> dict[str, Any]:
    """The essential container of ``service``'s task; it starts once ``init`` succeeded.
    ``secrets`` are environment variables filled from Secrets Manager, by ARN."""
    environment = [
        {"name": key, "value": value}
        for key, value in sorted(service.environment.items())
        if isinstance(value, str)
    ]
    _check_environment_size(service, sources, environment)
    definition: dict[str, Any] = {
        "name": ecs_name(service.name),
        "image": image,
        "essential": True,
        "environment": environment,
        "secrets": [{"name": name, "valueFrom": secrets[name]} for name in sorted(secrets)],
        "portMappings": port_mappings(service),
        "mountPoints": list(mount_points),
        "logConfiguration": dict(log_configuration),
        "dependsOn": [{"containerName": init, "condition": "SUCCESS"}],
    }
    if service.command is not None:
        definition["command"] = _plain(service, sources, "command", service.command)
    if service.entrypoint is not None:
        definition["entryPoint"] = _plain(service, sources, "entrypoint", service.entrypoint)
    if service.healthcheck and health_command:
        definition["healthCheck"] = health_check(service.healthcheck, health_command, warn)
    if service.working_dir:
        definition["workingDirectory"] = service.working_dir
    if service.user:
        definition["user"] = service.user
    if service.labels:
        definition["dockerLabels"] = dict(sorted(service.labels.items()))
    definition.update(linux_settings(service.container, warn))
    return _without_empty(definition)


def init_container(
    name: str,
    *,
    image: pulumi.Input[str],
    search_domain: str,
    files: Sequence[tuple[FileMount, str]],
    secrets: Mapping[str, pulumi.Input[str]],
    log_configuration: Mapping[str, Any],
) -> dict[str, Any]:
    """A short-lived container that prepares the task before the service's container starts.

    It adds the project's private DNS namespace to the search list of the task's
    ``/etc/resolv.conf`` (shared by the containers of an awsvpc task), so compose names such as
    ``db`` resolve, and writes compose secrets, given as ``files`` with the environment
    variable holding each one's content, into the volume mounted at /run/secrets.
    """
    script = [
        "set -eu",
        "search=$(sed -n 's/^search[[:space:]]*//p' /etc/resolv.conf | tail -n 1)",
        f'echo "search {search_domain} $search" >> /etc/resolv.conf',
    ]
    for file, variable in files:
        path = shlex.quote(file.target)
        script.append(f'printf %s "${variable}" > {path}')
        script.append(f"chmod {file.mode if file.mode is not None else 0o444:o} {path}")
    definition: dict[str, Any] = {
        "name": name,
        "image": image,
        "essential": False,
        "entryPoint": ["sh", "-c"],
        "command": ["\n".join(script)],
        "secrets": [{"name": key, "valueFrom": secrets[key]} for key in sorted(secrets)],
        "logConfiguration": dict(log_configuration),
    }
    if files:
        definition["mountPoints"] = [{"sourceVolume": FILES_VOLUME, "containerPath": FILES_DIR}]
    return _without_empty(definition)


def log_configuration(
    group: pulumi.Input[str], region: pulumi.Input[str], prefix: str
) -> dict[str, Any]:
    """awslogs into the project's log group: streams are ``<prefix>/<container>/<task id>``."""
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": group,
            "awslogs-region": region,
            "awslogs-stream-prefix": prefix,
        },
    }


def port_mappings(service: Service) -> list[dict[str, Any]]:
    """Every tcp and udp container port: the protocols a mapping takes. An sctp port needs
    none, as an awsvpc task's own address reaches every port of it."""
    ports = {(p.target, p.protocol) for p in service.ports if p.protocol in ("tcp", "udp")}
    ports |= {(port, "tcp") for port in service.expose}
    return [{"containerPort": port, "protocol": protocol} for port, protocol in sorted(ports)]


def health_check(check: Healthcheck, command: Sequence[str], warn: Warn) -> dict[str, Any]:
    """The compose health check with Docker's defaults, within the limits ECS accepts."""
    given = {
        "interval": check.interval,
        "timeout": check.timeout,
        "retries": check.retries,
        "startPeriod": check.start_period,
    }
    result: dict[str, Any] = {"command": list(command)}
    for key, value in given.items():
        wanted = round(value) if value is not None else COMPOSE_HEALTH_DEFAULTS[key]
        low, high = HEALTH_LIMITS[key]
        result[key] = min(max(wanted, low), high)
        if result[key] != wanted:
            warn(f"healthcheck {key} {wanted} is outside what ECS accepts; using {result[key]}")
    if result["startPeriod"] == 0:
        # ECS's own default (no start period); sent, the 0 it does not store would differ
        # from the stored definition on every `pulumi up`.
        del result["startPeriod"]
    return result


def health_command(
    check: Healthcheck, service: str, sources: Sources, secret_values: Mapping[str, str]
) -> tuple[list[str], set[str]]:
    """The health check's command, and the stack secret keys it reads from the environment.

    ECS stores the command in plain text, so a shell command that holds a secret reads it
    from an environment variable filled from Secrets Manager instead. An exec-form (CMD)
    command cannot, and is refused.
    """
    test = check.test
    if not any(isinstance(part, Secret) for part in test):
        return [str(part) for part in test], set()
    if test[0] != "CMD-SHELL":
        raise BerthError(
            "an exec-form (CMD) health check cannot hold a secret on aws: ECS stores it in "
            "plain text",
            file=sources.origin(service, "healthcheck"),
            service=service,
            field="healthcheck",
            hint='use the shell form, e.g. test: ["CMD-SHELL", "pg_isready -h localhost"]',
        )
    command = ["CMD-SHELL"]
    keys: set[str] = set()
    for part in test[1:]:
        text = revealed(part)
        for key in part.keys if isinstance(part, Secret) else ():
            value = secret_values.get(key, "")
            if value and value in text:
                text = text.replace(value, "${" + secret_env_name(key) + "}")
                keys.add(key)
        command.append(text)
    return command, keys


def secret_env_name(key: str) -> str:
    return SECRET_ENV_PREFIX + re.sub(r"\W", "_", key)


def linux_settings(settings: ContainerSettings, warn: Warn) -> dict[str, Any]:
    """The container settings Fargate honours; a warning for each one it cannot."""
    result: dict[str, Any] = {}
    linux: dict[str, Any] = {}
    added = sorted(set(settings.cap_add) & FARGATE_CAPABILITIES)
    dropped = sorted(set(settings.cap_add) - FARGATE_CAPABILITIES)
    if dropped:
        warn(f"cap_add {', '.join(dropped)} dropped: Fargate allows adding SYS_PTRACE only")
    # Only the lists that hold something: ECS stores no empty one, and an empty list sent
    # would differ from the stored definition on every `pulumi up`.
    capabilities = {"add": added, "drop": sorted(settings.cap_drop)}
    if capabilities := {key: names for key, names in capabilities.items() if names}:
        linux["capabilities"] = capabilities
    if settings.init:
        linux["initProcessEnabled"] = True
    if linux:
        result["linuxParameters"] = linux
    if settings.read_only:
        result["readonlyRootFilesystem"] = True
    if settings.tty:
        result["pseudoTerminal"] = True
    if settings.stdin_open:
        result["interactive"] = True
    if settings.sysctls:
        result["systemControls"] = [
            {"namespace": name, "value": value} for name, value in sorted(settings.sysctls.items())
        ]
    for name in sorted(set(settings.ulimits) - {"nofile"}):
        warn(f"ulimit {name} dropped: Fargate lets a task set only nofile")
    if "nofile" in settings.ulimits:
        soft, hard = settings.ulimits["nofile"]
        result["ulimits"] = [{"name": "nofile", "softLimit": soft, "hardLimit": hard}]
    if settings.stop_grace_period is not None:
        seconds = math.ceil(settings.stop_grace_period)
        result["stopTimeout"] = min(seconds, MAX_STOP_TIMEOUT)
        if seconds > MAX_STOP_TIMEOUT:
            warn(f"stop_grace_period {seconds}s shortened to Fargate's maximum, 120s")
    return result


def _check_environment_size(
    service: Service, sources: Sources, environment: list[dict[str, str]]
) -> None:
    """Refused at plan time rather than by RegisterTaskDefinition half-way through ``pulumi
    up``: the plain environment alone, as compact JSON, is less than ECS counts, so a refusal
    here is certain (one just under the limit may still fail with the rest of the task)."""
    size = _json_size(environment)
    if size <= TASK_DEFINITION:
        return
    largest = max(environment, key=lambda variable: len(variable["value"].encode()))
    raise BerthError(
        f"environment takes {size} bytes of the ECS task definition, which holds at most "
        f"{TASK_DEFINITION} (64 KiB) in all; the largest variable is {largest['name']} "
        f"({len(largest['value'].encode())} bytes)",
        file=sources.origin(service.name, "environment"),
        service=service.name,
        field="environment",
        hint="pass large values as stack secrets or compose secrets (Secrets Manager holds "
        "each, up to 64 KiB; the task definition only its ARN), or build them into the image",
    )


def _json_size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _without_empty(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition without empty lists, which only say what ECS assumes anyway."""
    return {key: value for key, value in definition.items() if value != []}


def _plain(service: Service, sources: Sources, field: str, values: Sequence[Text]) -> list[str]:
    """Command arguments, which ECS stores in plain text: a secret among them is refused."""
    if held := held_secrets(values):
        raise BerthError(
            f"a secret ({held}) cannot go into a command on aws: ECS stores the task "
            "definition's command in plain text",
            file=sources.origin(service.name, field),
            service=service.name,
            field=field,
            hint="pass it in environment and read it from a shell, e.g. "
            '["sh", "-c", "migrate -database \\"$$DATABASE_URL\\""]',
        )
    return [str(value) for value in values]
