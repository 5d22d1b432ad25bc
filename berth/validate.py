"""Checks across services, and which services are one-off jobs.

Docker Compose's own consistency check is switched off (it cannot tell ``required: false`` from
a typo); this step does it instead, with messages that say what to do.
"""

from __future__ import annotations

import dataclasses

from berth.errors import BerthError
from berth.graph import dependency_edges, find_cycle
from berth.model import ComposeProject, Condition, Dependency, Service
from berth.names import cloud_slug
from berth.sources import Sources
from berth.terms import Hint

NEVER_STOPS = ("always", "unless-stopped")


def classify_jobs(project: ComposeProject) -> ComposeProject:
    """Mark the one-off jobs.

    A job is a service whose restart policy is explicitly ``"no"``, or one another service
    waits on with ``service_completed_successfully`` (unless its restart policy says it never
    stops, which ``validate`` refuses). A service with no ``restart`` key is long-running,
    whatever Compose's own default is.
    """
    awaited = {
        d.service
        for s in project.services.values()
        for d in s.depends_on
        if d.condition is Condition.COMPLETED
    }
    services = {
        name: dataclasses.replace(
            service,
            job=service.restart == "no" or (name in awaited and service.restart not in NEVER_STOPS),
        )
        for name, service in project.services.items()
    }
    return dataclasses.replace(project, services=services)


def validate(project: ComposeProject, sources: Sources) -> ComposeProject:
    """Refuse what cannot deploy; return the project with optional missing dependencies dropped."""
    warnings = list(project.warnings)
    services = {}
    for name, service in project.services.items():
        _check_service(project, service, sources)
        kept = []
        for dependency in service.depends_on:
            _refuse_hook_dependency(project, service, dependency.service, sources)
            if dependency.service in project.triggered:
                raise BerthError(
                    f"cannot depend on job {dependency.service!r} of the top-level jobs: "
                    "services can only depend on other services (as in Compose)",
                    file=sources.origin(name, "depends_on"),
                    service=name,
                    field="depends_on",
                    hint='make it a service with restart: "no" to run it before this one on '
                    "every deployment, or remove the dependency",
                )
            if dependency.service in project.services:
                kept.append(dependency)
                _check_dependency(project, service, dependency, sources, warnings)
            elif dependency.required:
                # Declared but absent: its profiles are all inactive, not a typo.
                profiled = dependency.service in sources.service_order()
                field = _implied_by(sources, name, dependency.service)
                raise BerthError(
                    ("depends on" if field == "depends_on" else "refers to service")
                    + f" {dependency.service!r}, which is "
                    + ("in a profile this stack leaves off" if profiled else "not defined"),
                    file=sources.origin(name, field),
                    service=name,
                    field=field,
                    hint=_missing_hint(
                        _profile_of(sources, dependency.service) if profiled else None,
                        " (or mark it required: false)" if field == "depends_on" else "",
                    ),
                )
            else:
                warnings.append(
                    f"service '{name}': optional dependency '{dependency.service}' is not defined; "
                    "deploying without it"
                )
        services[name] = dataclasses.replace(service, depends_on=tuple(kept))
    triggered = {
        name: _checked_triggered(project, job, sources, warnings)
        for name, job in project.triggered.items()
    }
    _check_distinct_names(project, sources)
    if not services and not triggered:
        warnings.append(
            (
                "every service is in a profile that is not enabled"
                if sources.service_order()
                else "the project has no services"
            )
            + ": nothing to deploy"
        )
    checked = dataclasses.replace(
        project, services=services, triggered=triggered, warnings=tuple(warnings)
    )
    if cycle := find_cycle(dependency_edges(checked)):
        raise BerthError(
            "dependency cycle: " + " -> ".join(cycle),
            file=sources.origin(cycle[0], "depends_on"),
            service=cycle[0],
            field="depends_on",
            hint="remove one of these depends_on entries",
        )
    return checked


def _refuse_hook_dependency(
    project: ComposeProject, service: Service, needed: str, sources: Sources
) -> None:
    """A hook's job name is Berth's, not the user's: only its service and the next hook of
    that service wait on it; anything else naming it names a service that is not defined."""
    hook = project.services[needed].hook if needed in project.services else None
    own = hook and hook.service in (service.name, service.hook.service if service.hook else None)
    if hook and not own:
        raise BerthError(
            f"depends on {needed!r}, which is not defined: it is the name Berth gives service "
            f"{hook.service!r}'s pre_start[{hook.index}]",
            file=sources.origin(service.name, "depends_on"),
            service=service.name,
            field="depends_on",
            hint=f"depend on {hook.service!r}, which starts after its hooks ran",
        )


def _checked_triggered(
    project: ComposeProject, job: Service, sources: Sources, warnings: list[str]
) -> Service:
    """A job of ``jobs:``: named apart from every service, waiting only on services (which a
    deployment has started by the time it runs); an optional missing one dropped."""
    _check_service(project, job, sources, "jobs")
    if job.name in project.services:
        raise BerthError(
            f"{job.name!r} is declared both as a service and a job: service and job names "
            "must be unique",
            file=sources.origin(job.name, section="jobs"),
            service=job.name,
            kind="job",
            hint="rename the job",
        )
    kept = []
    for dependency in job.depends_on:
        if dependency.service in project.services:
            kept.append(dependency)
            continue
        where = {
            "file": sources.origin(job.name, "depends_on", "jobs"),
            "service": job.name,
            "field": "depends_on",
            "kind": "job",
        }
        if dependency.service in project.triggered:
            raise BerthError(
                f"depends on job {dependency.service!r}: Berth runs one job at a time",
                hint=f"run {dependency.service!r} first (berth run {dependency.service}), "
                "and remove the dependency",
                **where,
            )
        if dependency.required:
            raise BerthError(
                f"depends on {dependency.service!r}, which is not defined or in a profile "
                "this stack leaves off",
                hint="define that service, enable its profile, or mark it required: false",
                **where,
            )
        warnings.append(
            f"job '{job.name}': optional dependency '{dependency.service}' is not defined; "
            "running without it"
        )
    if job.ports:
        warnings.append(
            f"job '{job.name}': its ports are not published, as `docker compose run` does not "
            "publish them (without --service-ports)"
        )
    return dataclasses.replace(job, depends_on=tuple(kept), ports=())


def _check_distinct_names(project: ComposeProject, sources: Sources) -> None:
    """Refuse services, or volumes, that one cloud name would stand for on some target."""
    kinds = (
        (
            "services",
            [*project.services, *project.triggered],
            "an ECR repository, a Cloud Run service or job",
        ),
        ("volumes", list(project.volumes), "an ECS volume, a Cloud Storage bucket or a disk"),
    )
    for kind, names, examples in kinds:
        seen: dict[str, str] = {}
        for name in names:
            slug = cloud_slug(name)
            other = seen.setdefault(slug, name)
            if other == name:
                continue
            service = name if kind == "services" else None
            raise BerthError(
                f"{kind} {other!r} and {name!r} would both be named {slug!r} in the cloud "
                f"({examples})",
                file=sources.origin(service) if service else sources.declaring("volumes"),
                service=service,
                hint=f"rename one of them: {kind[:-1]} names must differ in more than case and "
                "the characters _ . -",
            )


def _missing_hint(profile: str | None, also: str) -> Hint:
    """Bring a missing dependency back: enable its ``profile`` (a flag or a stack setting),
    or define it."""
    if profile is None:
        return f"define that service or fix the name{also}"
    return lambda terms: f"enable its profile: {terms.how_to_add('profiles', profile)}{also}"


def _profile_of(sources: Sources, service: str) -> str:
    """The first profile ``service`` is written in (``NAME`` if it is not written plainly)."""
    for document in reversed(sources.documents):
        services = document.get("services")
        written = services.get(service) if isinstance(services, dict) else None
        profiles = written.get("profiles") if isinstance(written, dict) else None
        if isinstance(profiles, list) and profiles:
            return str(profiles[0])
    return "NAME"


def _implied_by(sources: Sources, service: str, dependency: str) -> str:
    """The field that made ``service`` depend on ``dependency``: Compose adds a dependency for
    ``network_mode: service:x``, ``volumes_from`` and ``links`` as for ``depends_on``."""
    for document in reversed(sources.documents):
        services = document.get("services")
        written = services.get(service) if isinstance(services, dict) else None
        if not isinstance(written, dict) or dependency in _names(written.get("depends_on")):
            continue
        if written.get("network_mode") == f"service:{dependency}":
            return "network_mode"
        for field in ("volumes_from", "links"):
            entries = written.get(field) if isinstance(written.get(field), list) else []
            if dependency in {str(e).removeprefix("service:").split(":")[0] for e in entries}:
                return field
    return "depends_on"


def _names(depends_on: object) -> set[str]:
    return {str(d) for d in depends_on} if isinstance(depends_on, list | dict) else set()


def _check_service(
    project: ComposeProject, service: Service, sources: Sources, section: str = "services"
) -> None:
    """``section``: ``jobs`` for a job of the top-level ``jobs:``."""

    def fail(field: str, problem: str, hint: str) -> BerthError:
        return BerthError(
            problem,
            file=sources.origin(service.name, field, section),
            service=service.name,
            field=field,
            hint=hint,
            kind="job" if section == "jobs" else "service",
        )

    if not service.image and not service.build:
        raise fail("image", "neither image nor build is set", "add image: or build: to the service")
    if service.job and service.ports and not service.triggers:
        raise fail(
            "ports",
            "a one-off job cannot publish ports: it runs once and exits",
            'remove ports from the job, or remove restart: "no" to make it a long-running service',
        )
    for mount in service.mounts:
        if mount.type == "volume" and mount.source and mount.source not in project.volumes:
            raise fail(
                "volumes",
                f"named volume {mount.source!r} is not declared",
                f"declare it under top-level volumes:, or use ./{mount.source} for a bind mount",
            )
    if not service.job:
        for key in ("x-berth-run", "x-berth-timeout"):
            if key in service.extensions:
                raise fail(
                    key,
                    f"{key} applies only to one-off jobs",
                    'add restart: "no" to make the service a job, or remove the extension',
                )


def _check_dependency(
    project: ComposeProject,
    service: Service,
    dependency: Dependency,
    sources: Sources,
    warnings: list[str],
) -> None:
    target = project.services[dependency.service]
    if dependency.condition is Condition.COMPLETED and target.restart in NEVER_STOPS:
        raise BerthError(
            f"waits for {target.name!r} to complete successfully, but {target.name!r} has "
            f"restart: {target.restart} and never completes",
            file=sources.origin(service.name, "depends_on"),
            service=service.name,
            field="depends_on",
            hint=f'give {target.name!r} restart: "no" to make it a one-off job, '
            "or wait with condition service_started or service_healthy",
        )
    if dependency.condition is Condition.HEALTHY and not target.job and target.healthcheck is None:
        warnings.append(
            f"service '{service.name}' waits for '{target.name}' to be healthy, but "
            f"'{target.name}' has no healthcheck in the compose file; it waits only for "
            "the image's own HEALTHCHECK, if any"
        )
