"""One service of Compose's output, each field through its step, as the typed ``Service``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from berth.builds import read_build
from berth.model import Condition, Dependency, Service
from berth.normalize.container import container
from berth.normalize.context import Context
from berth.normalize.deploy import deploy
from berth.normalize.environment import environment
from berth.normalize.extensions import check_extensions, run_policy
from berth.normalize.files import build_secret, files
from berth.normalize.healthcheck import healthcheck
from berth.normalize.models import LLM_EXTENSION, gateway_ports, model_uses
from berth.normalize.mounts import mount
from berth.normalize.ports import ports
from berth.quantities import Fail, job_timeout, working_dir
from berth.stores import EXTENSIONS as STORE_EXTENSIONS

COMPOSE_DEFAULT_NETWORKS = {"default": None}
"""The ``networks`` Compose gives a service that names none: not a field the user wrote."""
_RESTART = re.compile(r"no|always|unless-stopped|on-failure(?::\d{1,9})?")


def service(
    context: Context,
    name: str,
    raw: dict[str, Any],
    defined: Mapping[str, Any],
    section: str = "services",
) -> Service:
    """``defined`` holds the project's top-level ``secrets`` and ``configs``, and its
    ``models`` (typed); ``section`` is ``jobs`` for a job of the top-level ``jobs:``."""
    fail = context.fail(name, section)
    extensions = {k: v for k, v in raw.items() if k.startswith("x-")}
    check_extensions(extensions, fail)
    resources, replicas = deploy(raw, fail)
    published, expose = ports(context.sources, name, raw, fail)
    return Service(
        name=name,
        image=raw.get("image"),
        build=read_build(raw["build"], context.relative, fail, build_secret(context, defined, fail))
        if raw.get("build")
        else None,
        command=context.texts(raw.get("command")),
        entrypoint=context.texts(raw.get("entrypoint")),
        environment=environment(context, raw.get("environment") or {}, fail),
        ports=published,
        expose=expose + gateway_ports(raw),
        depends_on=tuple(
            Dependency(
                service=dep,
                condition=Condition(spec.get("condition") or Condition.STARTED),
                required=spec.get("required", True) is not False,
            )
            for dep, spec in (raw.get("depends_on") or {}).items()
        ),
        healthcheck=healthcheck(context, raw.get("healthcheck"), fail),
        restart=restart(raw.get("restart"), fail),
        replicas=replicas,
        resources=resources,
        mounts=tuple(mount(context, m, fail) for m in raw.get("volumes") or ()),
        files=files(context, name, raw, defined, fail),
        working_dir=working_dir(raw.get("working_dir"), fail),
        user=None if raw.get("user") is None else str(raw.get("user")),
        hostname=raw.get("hostname"),
        container_name=raw.get("container_name"),
        platform=raw.get("platform"),
        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
        container=container(raw, fail),
        extensions=extensions,
        fields=present_fields(raw),
        models=model_uses(name, raw, defined, fail),
        model_access=bool(extensions.get(LLM_EXTENSION)),
        run_always=run_policy(extensions.get("x-berth-run"), fail),
        timeout=job_timeout(
            extensions.get("x-berth-timeout"),
            fail,
            context.sources.written(name, "x-berth-timeout", section),
        ),
    )


def restart(value: Any, fail: Fail) -> str | None:
    if value is None or _RESTART.fullmatch(str(value)):
        return value
    raise fail(
        "restart",
        f"{value!r} is not a restart policy",
        'use "no", always, unless-stopped, on-failure or on-failure:N (N a whole number)',
    )


_UNSET = (None, {}, [], False, "false")
"""A ``build`` or ``deploy`` key's value that asks for nothing: Compose prints a false
``provenance`` or ``sbom`` as the string "false"."""


def present_fields(raw: dict[str, Any]) -> tuple[str, ...]:
    """The fields the service sets (``build.*`` and ``deploy.*`` too), for the targets' field
    support: what Compose fills in by default, and ``x-*`` but the store markings, left out."""
    present = []
    for key, value in raw.items():
        if (key.startswith("x-") and key not in (*STORE_EXTENSIONS, LLM_EXTENSION)) or value in (
            None,
            False,
        ):
            continue
        if key == "networks" and value == COMPOSE_DEFAULT_NETWORKS:
            continue
        present.append(key)
        if key in ("build", "deploy") and isinstance(value, dict):
            present += [f"{key}.{sub}" for sub in value if value[sub] not in _UNSET]
    return tuple(sorted(present))
