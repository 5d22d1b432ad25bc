"""``python -m berth diff``: what a deployment will run, offline, from two versions of a project.

Both versions are planned with the real program under the mock engine (``offline.plan``). A job
runs when its run-once resource's own ``diff`` (the function the engine calls in ``pulumi
preview`` and ``pulumi up``, unpickled from the resource's ``__provider`` input as the dynamic
provider process does) says it is replaced; ``because`` then names the compose fields of the
job that changed. Offline a built image has no digest, so the build context's content, as
Docker sends it (``.dockerignore`` honoured), stands for it: editing an ignored file changes
nothing, editing a file the image holds rebuilds it and re-runs every job built from it.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from berth.errors import BerthError
from berth.model import Build, ContainerSettings, Service
from components.pulumi_internals import is_secret
from components.target import load_target
from offline.plan import Plan, Registration, run_plan

IMAGE_TYPE = "docker:index/image:Image"
PROVIDER_KEY = "__provider"
ALWAYS = "always"
SHARED = ""
"""Where the resources of no service are kept (a network, one app for all services)."""
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
_NOT_COMPARED = frozenset({"name", "fields", "job", "container", "extensions"})
_NOT_A_RUN = frozenset({"depends_on", "x-berth-timeout", "restart", "labels"})
"""Job fields that are settings of the run-once resource or of the graph, never a re-run."""


# -- build contexts --------------------------------------------------------------------------


def context_files(context: str, dockerfile: str) -> dict[str, str]:
    """Each file Docker sends for a build of ``context`` (``.dockerignore`` honoured, the
    Dockerfile always), relative to it, with the SHA-256 of its content and its mode."""
    return _context_files(os.path.abspath(context), dockerfile)


@functools.cache
def _context_files(context: str, dockerfile: str) -> dict[str, str]:
    from docker.utils.build import exclude_paths  # noqa: PLC0415 - only diffs hash contexts

    root = Path(context)
    if not root.is_dir():
        return {}
    ignore = root / ".dockerignore"
    patterns = []
    if ignore.is_file():
        lines = (line.strip() for line in ignore.read_text().splitlines())
        patterns = [line for line in lines if line and not line.startswith("#")]
    files = {}
    for relative in sorted(exclude_paths(str(root), patterns, dockerfile)):
        path = root / relative
        if path.is_file() and not path.is_symlink():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            files[relative] = f"{digest} {path.stat().st_mode & 0o777:o}"
        elif path.is_symlink():
            files[relative] = f"-> {os.readlink(path)}"
    return files


def _build_digest(build: Mapping[str, Any]) -> str:
    """The image digest offline: the context's content, the Dockerfile, args, target, platform;
    never the image's name or tag."""
    context = str(build.get("context") or ".")
    dockerfile = os.path.relpath(str(build.get("dockerfile") or "Dockerfile"), context)
    recipe = {
        "files": context_files(context, dockerfile),
        "dockerfile": dockerfile,
        **{key: build.get(key) for key in ("args", "target", "platform")},
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def digest_outputs(
    outputs: Callable[[str, Mapping[str, Any]], dict[str, Any]],
) -> Callable[[str, Mapping[str, Any]], dict[str, Any]]:
    """A target's ``plan_outputs`` whose built images' digests come from their contexts."""

    def with_digests(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        build = inputs.get("build")
        if type_ != IMAGE_TYPE or not isinstance(build, Mapping):
            return outputs(type_, inputs)
        name = str(inputs.get("imageName") or "")
        repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
        stand_in = {"imageName": repository, "build": {"digest": _build_digest(build)}}
        return {**outputs(type_, stand_in), "imageName": inputs.get("imageName")}

    return with_digests


# -- comparison ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobChange:
    name: str
    runs: bool
    because: tuple[str, ...]
    rebuilt_from: tuple[str, ...] = ()
    """Files of the job's build context that changed (the image is rebuilt from them)."""
    every: bool = False
    """The target runs it on every deployment: it has no run-once resource."""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "runs": self.runs, "because": list(self.because)}

    def sentence(self) -> str:
        if not self.runs:
            return "does not run"
        if self.every:
            return "runs: this target runs jobs on every deployment, and this is one"
        reasons = [reason for reason in self.because if reason != "build" or not self.rebuilt_from]
        parts = [f"{', '.join(reasons)} changed"] if reasons and reasons != [ALWAYS] else []
        if reasons == [ALWAYS]:
            parts.append("x-berth-run: always")
        if self.rebuilt_from:
            parts.append(
                f"the image is rebuilt from a changed context ({', '.join(self.rebuilt_from)})"
            )
        return "runs: " + "; ".join(parts or ["its definition changed"])


@dataclass(frozen=True)
class ServiceChange:
    name: str
    change: str
    because: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "change": self.change, "because": list(self.because)}


@dataclass(frozen=True)
class Diff:
    target: str
    jobs: tuple[JobChange, ...]
    services: tuple[ServiceChange, ...]

    def as_json(self) -> str:
        document = {
            "jobs": [job.as_dict() for job in self.jobs],
            "services": [service.as_dict() for service in self.services],
        }
        return json.dumps(document, indent=2) + "\n"

    def as_text(self) -> str:
        lines = [f"Jobs ({self.target}):"]
        lines += [f"  {job.name}: {job.sentence()}" for job in self.jobs] or ["  (none)"]
        lines.append("Services:")
        lines += [
            f"  {s.name}: {s.change}" + (f" ({', '.join(s.because)})" if s.because else "")
            for s in self.services
        ] or ["  (none)"]
        return "\n".join(lines) + "\n"

    def as_markdown(self) -> str:
        running = sum(job.runs for job in self.jobs)
        lines = [
            f"### berth diff ({self.target}): {running} of {len(self.jobs)} jobs will run",
            "",
            "| job | will run | why |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| `{job.name}` | {'**yes**' if job.runs else 'no'} | "
            f"{job.sentence().removeprefix('runs: ') if job.runs else ''} |"
            for job in self.jobs
        ]
        lines += ["", "| service | change | fields |", "| --- | --- | --- |"]
        lines += [
            f"| `{s.name}` | {s.change} | {', '.join(f'`{b}`' for b in s.because)} |"
            for s in self.services
        ]
        return "\n".join(lines) + "\n"


FORMATS: dict[str, Callable[[Diff], str]] = {
    "text": Diff.as_text,
    "markdown": Diff.as_markdown,
    "json": Diff.as_json,
}


@dataclass(frozen=True)
class Version:
    """One version of the project, planned; ``root`` is its folder (where its first file is)."""

    plan: Plan
    root: str


def plan_version(
    files: Sequence[str], config: Mapping[str, str], secret_keys: Sequence[str], stack: str
) -> Version:
    """Plan ``files`` with the stack ``config`` as ``pulumi up`` would run it (outputs known)."""
    target = load_target(config.get("berth:target") or "local")
    plan = run_plan(
        {**config, "berth:composeFiles": json.dumps(list(files))},
        secret_keys,
        stack=stack,
        preview=False,
        outputs=digest_outputs(target.plan_outputs),
    )
    return Version(plan, os.path.dirname(os.path.abspath(files[0])))


def compare(old: Version, new: Version) -> Diff:
    """Which jobs of ``new`` run when it replaces ``old``, and how each service changes."""
    olds = _resources(old)
    news = _resources(new)
    old_project, new_project = old.plan.compose, new.plan.compose
    deploys = olds != news
    jobs = []
    for job in new_project.jobs:
        before = old_project.services.get(job.name)
        runs = _runs(olds.get(job.name, {}), news.get(job.name, {}))
        if not _run_once(news.get(job.name, {})):
            # No run-once resource (digitalocean's App Platform jobs): every deployment runs it.
            jobs.append(JobChange(job.name, deploys, (ALWAYS,) if deploys else (), every=True))
        elif before is None or not before.job:
            jobs.append(JobChange(job.name, runs, ("new job",) if runs else ()))
        elif not runs:
            jobs.append(JobChange(job.name, False, ()))
        elif job.run_always:
            jobs.append(JobChange(job.name, True, (ALWAYS,)))
        else:
            fields, rebuilt = _changes(before, job, old.root, new.root)
            because = tuple(name for name in fields if name not in _NOT_A_RUN)
            jobs.append(JobChange(job.name, True, because, rebuilt))
    services = []
    for name in dict.fromkeys([*old_project.services, *new_project.services]):
        before, now = old_project.services.get(name), new_project.services.get(name)
        if now is not None and now.job:
            continue
        if before is None or now is None:
            services.append(ServiceChange(name, "delete" if now is None else "create", ()))
        else:
            services.append(_service_change(name, (before, now), (old, new), olds, news))
    return Diff(new.plan.target, tuple(jobs), tuple(services))


def _service_change(
    name: str,
    services: tuple[Service, Service],
    versions: tuple[Version, Version],
    olds: Mapping[str, Mapping[str, Any]],
    news: Mapping[str, Mapping[str, Any]],
) -> ServiceChange:
    """How a service present in both versions changes. Offline, no provider schema says which
    input changes force a replacement: a resource that appears or disappears is one for sure.
    A change to a resource all services share (one app for all) counts for the services whose
    compose fields changed."""
    fields, _ = _changes(*services, versions[0].root, versions[1].root)
    old, new = olds.get(name, {}), news.get(name, {})
    if old != new:
        return ServiceChange(name, "replace" if set(old) != set(new) else "update", fields)
    if fields and olds.get(SHARED) != news.get(SHARED):
        return ServiceChange(name, "update", fields)
    return ServiceChange(name, "none", ())


def _changes(
    before: Service, now: Service, old_root: str, new_root: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The compose fields that changed, and the build context's changed files (``build``
    among the fields when there are any)."""
    fields = changed_fields(_relocated(before, old_root), _relocated(now, new_root))
    rebuilt = context_changes(before.build, now.build)
    if rebuilt and "build" not in fields:
        fields.append("build")
    return tuple(fields), tuple(rebuilt)


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
    """``node`` with every path in ``root`` (absolute, or relative to the working directory,
    as build contexts are) written from ``PROJECT``."""
    if isinstance(node, dict):
        return {key: _moved(value, root) for key, value in node.items()}
    if isinstance(node, list):
        return [_moved(value, root) for value in node]
    if isinstance(node, str):
        for before in (root, os.path.relpath(root)):
            if node == before or node.startswith(before + os.sep):
                return PROJECT + node[len(before) :]
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


def _runs(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """The run-once resource's own verdict: replaced means its job runs."""
    for key, inputs in news.items():
        if not _run_once({key: inputs}):
            continue
        if key not in olds:
            return True
        return bool(_provider(inputs[PROVIDER_KEY]).diff("", olds[key], inputs).replaces)
    return False


def _run_once(resources: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether one of ``resources`` is a run-once resource (a dynamic one with a definition)."""
    return any(PROVIDER_KEY in inputs and "definition" in inputs for inputs in resources.values())


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
    if name in _UNORDERED and isinstance(value, Iterable) and not isinstance(value, str):
        return sorted(map(repr, value))
    return value


def context_changes(before: Build | None, now: Build | None) -> list[str]:
    """Files of the build context that were added, removed or edited, as Docker sees it."""
    if before is None or now is None:
        return []
    old = context_files(before.context, before.dockerfile)
    new = context_files(now.context, now.dockerfile)
    return sorted(path for path in old.keys() | new.keys() if old.get(path) != new.get(path))


def read_stack_config(file: str) -> tuple[dict[str, str], list[str]]:
    """A stack's config and its secret keys, from ``pulumi config --json --show-secrets``
    (``-``: standard input), as ``plan_config`` gives them."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
        entries = json.loads(text)
        if not isinstance(entries, dict):
            raise TypeError(f"a {type(entries).__name__}, not an object")
        config = {str(key): str(entry["value"]) for key, entry in entries.items()}
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise BerthError(
            f"the stack config cannot be read ({type(error).__name__}: {error})",
            file=file,
            hint="give the output of `pulumi config --json --show-secrets --stack <stack>`",
        ) from None
    return config, [key for key, entry in entries.items() if entry.get("secret")]


def diff_files(
    base: Sequence[str],
    files: Sequence[str],
    config: Mapping[str, str],
    secret_keys: Sequence[str] = (),
    stack: str = "dev",
) -> Diff:
    """``berth diff``: ``base`` is what is deployed, ``files`` what will be."""
    _context_files.cache_clear()  # a context may have changed since an earlier diff
    old = plan_version(base, config, secret_keys, stack)
    new = plan_version(files, config, secret_keys, stack)
    return compare(old, new)
