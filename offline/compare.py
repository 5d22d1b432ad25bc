"""``berth diff``'s comparison: which jobs of a new version run, and how each service changes.

A job runs when its run-once resource's own ``diff`` (the function the engine calls in
``pulumi preview`` and ``pulumi up``, unpickled from the resource's ``__provider`` input as the
dynamic provider process does) says it is replaced; ``because`` then names the compose fields
of the job that changed, or the files of its build context (``berth.offline.contexts``). On a
target that deploys the project as one unit (``Phased``), a job has no run-once resource and
runs on every deployment of the unit.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from berth.components.pulumi_internals import is_secret
from berth.components.target import Phased, load_target
from berth.model import ComposeProject, ContainerSettings, Hook, Service
from berth.normalize.hooks import UNHASHED_FIELDS, hook_job_name
from berth.offline.contexts import Rebuild, build_changes
from berth.offline.diff_report import (
    ALWAYS,
    MAYBE,
    NEW,
    Diff,
    HookCause,
    JobChange,
    ServiceChange,
)
from berth.offline.plan import Plan, Registration

PROVIDER_KEY = "__provider"
SHARED = ""
"""Where the resources of no service are kept (a network, the one unit of a phased target)."""
PROJECT = "<project>"
"""Where a version's folder was, in paths: two checkouts of one project compare equal."""

_COMPOSE_NAMES = {
    "resources": "deploy.resources",
    "replicas": "deploy.replicas",
    "mounts": "volumes",
    "run_always": "x-berth-run",
    "timeout": "x-berth-timeout",
    "log_driver": "logging",
    "log_options": "logging",
}
"""Model field to the compose field a user wrote; the others have the compose name."""
_UNORDERED = frozenset(
    {"mounts", "files", "expose", "ports", "depends_on", "cap_add", "cap_drop"}
    | {"security_opt", "group_add", "tmpfs"}
)
"""Lists whose order means nothing: reordering them is no change."""
_NOT_COMPARED = frozenset({"name", "fields", "job", "container", "extensions", "hook"})
_NOT_A_RUN = frozenset({"depends_on", "x-berth-timeout", "restart", "labels"})
"""Job fields that are settings of the run-once resource or of the graph, never a re-run."""


@dataclass(frozen=True)
class Version:
    """One version of the project, planned; ``root`` is its folder (where its first file is)."""

    plan: Plan
    root: str


def compare(old: Version, new: Version) -> Diff:
    """Which jobs of ``new`` run when it replaces ``old``, and how each service changes."""
    olds = _resources(old)
    news = _resources(new)
    old_project, new_project = old.plan.compose, new.plan.compose
    deploys = olds != news
    phased = isinstance(load_target(new.plan.target).ORDERING, Phased)
    jobs = []
    roots = (old.root, new.root)
    for job in new_project.jobs:
        before = old_project.services.get(job.name)
        runs = _runs(olds.get(job.name, {}), news.get(job.name, {}))
        if phased:
            change = JobChange(job.name, deploys, (ALWAYS,) if deploys else (), every=True)
        elif before is None or not before.job:
            change = JobChange(job.name, runs, (NEW,) if runs else ())
        elif runs and job.run_always:
            change = JobChange(job.name, True, (ALWAYS,))
        else:
            change = _job_change(before, job, runs, roots)
        if job.hook:
            runs_again = bool(change.runs) and not phased
            cause = _hook_cause(job.hook, (old_project, new_project), roots, runs_again)
            images = (
                _service_image(olds.get(job.name, {})),
                _service_image(news.get(job.name, {})),
            )
            if runs_again and None not in images and images[0] != images[1]:
                cause = dataclasses.replace(
                    cause, service_changed=True, fields=(*cause.fields, "image")
                )
            own = tuple(reason for reason in change.because if reason not in cause.fields)
            change = dataclasses.replace(change, because=own, hook=cause)
        jobs.append(change)
    services = [
        _changed(name, (old_project.services.get(name), now), (old, new), olds, news)
        for name, now in _pairs(old_project.services, new_project.services)
        if now is None or not now.job
    ]
    triggered = [
        _triggered_change(name, (old_project.triggered.get(name), now), roots, olds, news)
        for name, now in _pairs(old_project.triggered, new_project.triggered)
    ]
    return Diff(new.plan.target, tuple(jobs), tuple(services), triggered=tuple(triggered))


def _pairs(
    old: Mapping[str, Service], new: Mapping[str, Service]
) -> list[tuple[str, Service | None]]:
    """Each name of either version, the old's first, with its new definition (None: gone)."""
    return [(name, new.get(name)) for name in dict.fromkeys([*old, *new])]


def _changed(
    name: str,
    services: tuple[Service | None, Service | None],
    versions: tuple[Version, Version],
    olds: Mapping[str, Mapping[str, Any]],
    news: Mapping[str, Mapping[str, Any]],
) -> ServiceChange:
    """How a service (or a job of ``jobs:``) changes: created, deleted, or compared."""
    before, now = services
    if before is None or now is None:
        return ServiceChange(name, "delete" if now is None else "create", ())
    return _service_change(name, (before, now), versions, olds, news)


def _triggered_change(
    name: str,
    jobs: tuple[Service | None, Service | None],
    roots: tuple[str, str],
    olds: Mapping[str, Mapping[str, Any]],
    news: Mapping[str, Mapping[str, Any]],
) -> ServiceChange:
    """How a job of ``jobs:`` changes: its compose fields count even where no resource holds
    them (local Docker keeps its definition in the stack's outputs, for ``berth run``)."""
    before, now = jobs
    if before is None or now is None:
        return ServiceChange(name, "delete" if now is None else "create", ())
    fields = _because(*_changes(before, now, *roots))
    old, new = olds.get(name, {}), news.get(name, {})
    if set(old) != set(new):
        return ServiceChange(name, "replace", fields)
    return ServiceChange(name, "update" if fields or old != new else "none", fields)


def _hook_cause(
    place: Hook,
    projects: tuple[ComposeProject, ComposeProject],
    roots: tuple[str, str],
    runs: bool,
) -> HookCause:
    """Whose hook it is (``place``) and, when it runs, what of its service changed: the compose
    fields Compose hashes, and its other hooks (a change a hook shares with its service, which
    Compose merged into it, is the service's)."""
    cause = HookCause(place.service, place.index)
    old_project, new_project = projects
    was = old_project.services.get(hook_job_name(place.service, place.index))
    before, now = (p.services.get(place.service) for p in projects)
    if not (runs and was and was.hook and before and now):
        return cause
    if was.hook.service_digest == place.service_digest:
        return cause
    fields = _hashed(_changes(before, now, *roots)[0])
    hooks = (old_project.hooks_of(place.service), new_project.hooks_of(place.service))
    for index, (old_hook, new_hook) in enumerate(zip(*hooks, strict=False)):
        own = set(_hashed(_changes(old_hook, new_hook, *roots)[0])) - set(fields)
        if index != place.index and own:
            fields.append(f"pre_start[{index}]")
    shorter, longer = sorted(map(len, hooks))
    fields += [f"pre_start[{index}]" for index in range(shorter, longer)]
    return dataclasses.replace(cause, service_changed=True, fields=tuple(fields))


def _hashed(fields: Sequence[str]) -> list[str]:
    """The fields of ``fields`` Compose hashes to decide a recreate."""
    return [f for f in fields if f not in UNHASHED_FIELDS and not f.startswith("x-")]


def _job_change(before: Service, job: Service, replaced: bool, roots: tuple[str, str]) -> JobChange:
    """Why a job present in both versions runs, once its run-once resource said whether it is
    replaced: surely, for a changed compose field or a changed file its image takes; maybe,
    when only files its image may take changed (or its context is remote, never read)."""
    fields, rebuilt = _changes(before, job, *roots)
    because = tuple(name for name in _because(fields, rebuilt) if name not in _NOT_A_RUN)
    surely = rebuilt.taken or set(because) - {"build"} or "build" in fields
    if ((rebuilt.read and replaced) or rebuilt.remote) and not surely:
        return JobChange(
            job.name, MAYBE, because, (), rebuilt.read, rebuilt.unsure, unsent=rebuilt.unsent
        )
    if not replaced:
        return JobChange(job.name, False, ())
    return JobChange(job.name, True, because, rebuilt.taken, unsent=rebuilt.unsent)


def _service_change(
    name: str,
    services: tuple[Service, Service],
    versions: tuple[Version, Version],
    olds: Mapping[str, Mapping[str, Any]],
    news: Mapping[str, Mapping[str, Any]],
) -> ServiceChange:
    """How a service present in both versions changes. Offline, no provider schema says which
    input changes force a replacement: a resource that appears or disappears is one for sure.
    A change to a resource all services share (a phased target's one unit) counts for the
    services whose compose fields changed."""
    fields = _because(*_changes(*services, versions[0].root, versions[1].root))
    old, new = olds.get(name, {}), news.get(name, {})
    if old != new:
        return ServiceChange(name, "replace" if set(old) != set(new) else "update", fields)
    if fields and olds.get(SHARED) != news.get(SHARED):
        return ServiceChange(name, "update", fields)
    return ServiceChange(name, "none", ())


def _changes(
    before: Service, now: Service, old_root: str, new_root: str
) -> tuple[list[str], Rebuild]:
    """The compose fields that changed, and how the image built from the context does."""
    fields = changed_fields(_relocated(before, old_root), _relocated(now, new_root))
    return fields, build_changes(before.build, now.build)


def _because(fields: Sequence[str], rebuilt: Rebuild) -> tuple[str, ...]:
    """The changed fields, ``build`` among them when the image may change."""
    return (*fields, "build") if rebuilt and "build" not in fields else tuple(fields)


def _resources(version: Version) -> dict[str, dict[str, Any]]:
    """Per service, its custom resources' inputs by name, secrets as their values (a changed
    secret changes a definition; it is never printed), paths in the version's folder relative to
    it (a base branch checked out elsewhere is the same project)."""
    plan = version.plan
    by_service: dict[str, dict[str, Any]] = {}
    for registration in plan.registrations:
        service = plan.service_of(registration)
        if registration.custom:
            inputs = _moved(_plain(registration.raw_inputs), version.root)
            by_service.setdefault(service or SHARED, {})[_key(registration)] = inputs
    return by_service


def _moved(node: Any, root: str) -> Any:
    """``node`` with every absolute path in ``root`` written from ``PROJECT`` (relative ones
    are relative to ``root`` already: the version was planned there)."""
    if isinstance(node, dict):
        return {key: _moved(value, root) for key, value in node.items()}
    if isinstance(node, list):
        return [_moved(value, root) for value in node]
    if isinstance(node, str) and (node == root or node.startswith(root + os.sep)):
        return PROJECT + node[len(root) :]
    return node


def _relocated(service: Service, root: str) -> Service:
    """``service`` of the version in ``root`` with its paths relative to it."""
    build = service.build and dataclasses.replace(
        service.build, context=_moved(service.build.context, root)
    )
    mounts = tuple(
        dataclasses.replace(mount, source=_moved(mount.source, root)) for mount in service.mounts
    )
    return dataclasses.replace(service, build=build, mounts=mounts)


def _key(registration: Registration) -> str:
    return f"{registration.type}::{registration.name}"


def _plain(node: Any) -> Any:
    """Inputs as the provider receives them: secrets unwrapped (it does not accept secrets)."""
    if isinstance(node, dict):
        if is_secret(node):
            return _plain(node.get("value"))
        return {key: _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    return node


def _service_image(inputs: Mapping[str, Mapping[str, Any]]) -> Any:
    """What a hook's run-once resource says of its service's image (``serviceImage``, the
    digest a target builds or pulls): a new one is Compose's recreate, and all hooks run."""
    for resource in inputs.values():
        definition = resource.get("definition")
        if PROVIDER_KEY in resource and isinstance(definition, Mapping):
            return definition.get("serviceImage")
    return None


def _runs(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """The run-once resource's own verdict: replaced means its job runs."""
    for key, inputs in news.items():
        if PROVIDER_KEY not in inputs or "definition" not in inputs:
            continue  # not the run-once resource (a dynamic one with a definition)
        if key not in olds:
            return True
        return bool(_provider(inputs[PROVIDER_KEY]).diff("", olds[key], inputs).replaces)
    return False


@functools.cache
def _provider(serialized: str) -> Any:
    """The run-once provider, exactly as the engine's dynamic provider process gets it."""
    import dill  # noqa: PLC0415 - pulumi.dynamic's serializer, needed only here

    return dill.loads(base64.b64decode(serialized))  # noqa: S301 - our own program's provider


def changed_fields(before: Service, now: Service) -> list[str]:
    """The compose fields whose normalized values differ; order-free lists compared sorted."""
    names = [
        _COMPOSE_NAMES.get(f.name, f.name)
        for f in dataclasses.fields(Service)
        if f.name not in _NOT_COMPARED
        and _comparable(f.name, getattr(before, f.name))
        != _comparable(f.name, getattr(now, f.name))
    ]
    names += [
        _COMPOSE_NAMES.get(f.name, f.name)
        for f in dataclasses.fields(ContainerSettings)
        if _comparable(f.name, getattr(before.container, f.name))
        != _comparable(f.name, getattr(now.container, f.name))
    ]
    keys = set(before.extensions) | set(now.extensions)
    names += sorted(k for k in keys if before.extensions.get(k) != now.extensions.get(k))
    if "files" in names:
        kinds = [kind for kind in ("configs", "secrets") if kind in {*before.fields, *now.fields}]
        names[names.index("files") : names.index("files") + 1] = kinds or ["configs"]
    return list(dict.fromkeys(names))


def _comparable(name: str, value: Any) -> Any:
    """Order-free lists in one order; their items still compared whole (a secret's value is
    out of its ``repr``, not out of its equality)."""
    if name in _UNORDERED and isinstance(value, Iterable) and not isinstance(value, str):
        return sorted(value, key=repr)
    return value
