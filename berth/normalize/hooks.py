"""A service's ``pre_start`` hooks, each a run-once job that gates the service (Compose v5).

Compose prints each hook already merged with its service (image, command, entrypoint,
environment, user, working_dir, secrets, networks, ...). It shares the service's volumes with a
hook at run time, so here a hook gets them, its own winning at the same container path; on a
cloud a hook runs in a task of its own, so it is sized as its service is. The first hook waits
for what the service waits for, each next one for the one before, and the service for the last.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from berth.errors import BerthError
from berth.model import Condition, Dependency, Hook, Secret, Service
from berth.normalize.context import Context
from berth.normalize.service import present_fields
from berth.normalize.service import service as service_step

HOOK_JOB = "{service}-pre-start-{index}"
"""The name of hook ``index`` of ``service`` as a job: in the plan, the workflow and names."""
UNHASHED_FIELDS = frozenset({"build", "deploy.replicas", "depends_on"})
"""The compose fields Berth models that Compose leaves out of the hash deciding a recreate
(compose pkg/compose/hash.go: build, pull_policy, scale, deploy.replicas, depends_on,
profiles; ``x-*`` and the name too): a change of them alone runs no ``pre_start`` hook."""
_NOT_HASHED = frozenset(
    {field.rpartition(".")[2] for field in UNHASHED_FIELDS}  # deploy.replicas: ``replicas``
    | {"name", "extensions", "fields", "hook", "triggers"}
    | {"timeout", "run_always"}  # Berth's x-berth-* keys: x-* is not hashed
    | {"model_access", "serves_model"}  # x-defang-llm, and a gateway Berth adds
)
"""The ``Service`` fields out of a hook's ``serviceDefinition``: ``UNHASHED_FIELDS``, the
name, ``x-*``, and Berth's bookkeeping, not the service's definition."""
_HASHED_WHEN_SET = frozenset({"models"})
"""Fields the ``Service`` gained after stacks recorded their hooks' digests: hashed only when
the service sets them, so that upgrading Berth runs no hook."""


def hook_job_name(service: str, index: int) -> str:
    return HOOK_JOB.format(service=service, index=index)


def hooks(
    context: Context, service: Service, raw: dict[str, Any], defined: Mapping[str, Any]
) -> list[Service]:
    """The hooks of ``service`` (``raw``: its Compose output) as jobs, in run order, each
    marked with the digest of the service's definition (theirs in it) that decides when they
    run again."""
    name = service.name
    built = []
    for index, written in enumerate(raw.get("pre_start") or ()):
        field = f"pre_start[{index}]"
        if str(written.get("per_replica")).lower() == "true":
            raise context.fail(name)(
                f"{field}.per_replica",
                "per_replica: true is not supported (Compose v5 refuses it too): a hook runs "
                "once for the service, before its new revision starts",
                "remove per_replica, or set it to false",
            )
        if written.get("env_file"):
            context.warnings.append(
                f"service '{name}': field '{field}.env_file' is not read (Compose v5.6 does not "
                "read a hook's env_file either): write its variables in the hook's environment"
            )
        try:
            hook = _hook_raw(name, raw, index)
            job = service_step(context, hook_job_name(name, index), hook, defined)
        except BerthError as error:
            raise BerthError(
                error.problem,
                file=context.sources.origin(name, "pre_start"),
                service=name,
                field=f"{field}.{error.field}" if error.field else field,
                hint=error.advice,
            ) from None
        built.append(dataclasses.replace(job, job=True, fields=own_fields(raw, index)))
    digest = definition_digest(service, built)
    return [
        dataclasses.replace(job, hook=Hook(name, index, digest, shares_image(raw, index)))
        for index, job in enumerate(built)
    ]


def gated(service: Service, hooks: Sequence[Service]) -> Service:
    """``service`` waiting for its last hook."""
    if not hooks:
        return service
    last = Dependency(hooks[-1].name, Condition.COMPLETED)
    return dataclasses.replace(service, depends_on=(*service.depends_on, last))


def shares_image(raw: dict[str, Any], index: int) -> bool:
    """Whether hook ``index`` runs its service's image: it names none, or the service's own
    (Compose prints the service's image in a hook that names none)."""
    image = raw["pre_start"][index].get("image")
    return not image or image == raw.get("image")


def own_fields(raw: dict[str, Any], index: int) -> tuple[str, ...]:
    """The fields hook ``index`` sets itself: those Compose printed in it with a value its
    service does not have (the rest it inherits, and the service's own check covers)."""
    hook = raw["pre_start"][index]
    return tuple(
        sorted(
            key
            for key in present_fields(hook)
            if key not in ("per_replica", "networks") and hook[key] != raw.get(key)
        )
    )


def _hook_raw(name: str, raw: dict[str, Any], index: int) -> dict[str, Any]:
    """Hook ``index`` as a job's Compose output: what Compose printed for it, the service's
    image or build, its volumes (the hook's own winning), its size, and what it waits for."""
    hook = {k: v for k, v in raw["pre_start"][index].items() if k != "per_replica"}
    if shares_image(raw, index):  # Compose runs the service's image, the one it builds
        hook.pop("image", None)
        hook.update({key: raw[key] for key in ("image", "build") if raw.get(key)})
    own = {str(m.get("target")): m for m in hook.get("volumes") or ()}
    shared = [m for m in raw.get("volumes") or () if str(m.get("target")) not in own]
    if shared or own:
        hook["volumes"] = [*shared, *own.values()]
    resources = (raw.get("deploy") or {}).get("resources")
    if resources:
        hook["deploy"] = {"resources": resources}
    hook["restart"] = "no"
    if index == 0:
        hook["depends_on"] = raw.get("depends_on") or {}
    else:
        previous = hook_job_name(name, index - 1)
        hook["depends_on"] = {previous: {"condition": Condition.COMPLETED.value}}
    return hook


def definition_digest(service: Service, hooks: Sequence[Service]) -> str:
    """The service's definition as Compose hashes it, its hooks in it: no secret's value (its
    keys stand for it; a changed secret changes the hook's own definition instead)."""
    document = {"service": _hashed(service), "pre_start": [_hashed(h) for h in hooks]}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _hashed(service: Service) -> dict[str, Any]:
    return {
        f.name: _plain(getattr(service, f.name))
        for f in dataclasses.fields(service)
        if f.name not in _NOT_HASHED
        and (f.name not in _HASHED_WHEN_SET or getattr(service, f.name) != f.default)
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        return {"secret": list(value.keys)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value
