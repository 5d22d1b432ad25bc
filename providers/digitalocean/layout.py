"""Where each compose service goes in the one App Platform app, and the orders it can keep.

App Platform has phases, not a dependency graph: the app's databases exist first, then its
``PRE_DEPLOY`` jobs run (a failure cancels the deployment), then its services and workers are
released together, then its ``POST_DEPLOY`` jobs run. A compose file's ``depends_on`` is kept
when it fits those phases; an order the phases cannot give is refused, and one that is still
safe is deployed with a warning. A ``pre_start`` hook (a job its service waits on) is a
``PRE_DEPLOY`` job; ``hooks.py`` refuses the hooks the phases cannot order. Pulumi-free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from berth.errors import BerthError
from berth.model import ComposeProject, Service, Text
from berth.names import normalised
from berth.ports import not_http
from berth.sources import Sources
from berth.stores import (
    EXTENSIONS,
    StoreKind,
    commands_not_run,
    image_store,
    managed_stores,
    unpublished_ports,
)


class Kind(StrEnum):
    DATABASE = "database"
    SERVICE = "service"
    WORKER = "worker"
    PRE_DEPLOY = "PRE_DEPLOY"
    POST_DEPLOY = "POST_DEPLOY"


@dataclass(frozen=True)
class Database:
    """A postgres or redis service, as an App Platform database."""

    engine: str
    """The app spec's engine: ``PG`` or ``VALKEY`` (DigitalOcean's managed Redis successor)."""
    version: str | None
    production: bool
    """A managed cluster (``x-defang-*``), else an App Platform dev database."""
    port: int
    database: Text | None
    user: Text | None
    password: Text | None


@dataclass(frozen=True)
class Component:
    service: str
    name: str
    """The App Platform component name: also its host name and its bindable variables'
    prefix (``${db.DATABASE_URL}``)."""
    kind: Kind
    http_port: int | None = None
    """The port App Platform routes the app's public URL to."""
    internal_ports: tuple[int, ...] = ()
    database: Database | None = None


@dataclass(frozen=True)
class Layout:
    components: dict[str, Component]
    """By compose service name, in the project's order."""
    warnings: tuple[str, ...]


_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")
"""App Platform's component names."""


def component_name(name: str) -> str:
    """``Web_API`` -> ``web-api``: App Platform's lowercase, dashed, 2 to 32 characters."""
    candidate = normalised(name, "a-z0-9-")[:32].strip("-")
    if candidate and not candidate[0].isalpha():
        candidate = f"c-{candidate}"[:32].strip("-")
    return candidate


def layout(project: ComposeProject, sources: Sources) -> Layout:
    """Each service's place in the app; a BerthError for an order App Platform cannot keep,
    naming the file that defined the service (``sources``)."""
    warnings: list[str] = []
    databases = _databases(project, warnings)
    components: dict[str, Component] = {}
    names: dict[str, str] = {}
    for service in project.services.values():
        name = component_name(service.name)
        if not _NAME.fullmatch(name):
            raise BerthError(
                f"App Platform component names have at least 2 letters, digits or dashes; "
                f"{service.name!r} gives {name!r}",
                file=sources.origin(service.name),
                service=service.name,
                hint="rename the service",
            )
        if name in names:
            raise BerthError(
                f"App Platform component names are unique; {service.name!r} gives {name!r}, "
                f"as {names[name]!r} does",
                file=sources.origin(service.name),
                service=service.name,
                hint="rename the service",
            )
        names[name] = service.name
        if name != service.name:
            warnings.append(
                f"service '{service.name}': named '{name}' on App Platform (its host name there)"
            )
        if service.name in databases:
            components[service.name] = Component(
                service.name, name, Kind.DATABASE, database=databases[service.name]
            )
        elif service.job:
            components[service.name] = Component(service.name, name, _job_phase(project, service))
            if "x-berth-timeout" in service.extensions:
                warnings.append(
                    f"job '{service.name}': x-berth-timeout is ignored: an App Platform job "
                    "has no time limit in the app spec"
                )
        else:
            components[service.name] = _long_running(service, name, warnings)
    _check_orders(project, components, warnings, sources)
    return Layout(components, tuple(warnings))


def _databases(project: ComposeProject, warnings: list[str]) -> dict[str, Database]:
    """Marked stores become managed clusters; any other postgres, redis or valkey image an
    App Platform database too, since App Platform keeps no container's data across deployments
    (it has no volumes): postgres a dev database, redis a managed Valkey cluster (App Platform
    has no dev Redis)."""
    marked = managed_stores(project)
    implied = managed_stores(replace(project, services=_as_marked(project, set(marked))))
    databases: dict[str, Database] = {}
    for name, store in {**marked, **implied}.items():
        postgres = store.kind is StoreKind.POSTGRES
        production = name in marked or not postgres
        if not postgres:
            warnings.append(
                f"service '{name}': a managed Valkey cluster (DigitalOcean's Redis-compatible "
                "store), billed on its own"
            )
        elif production:
            warnings.append(
                f"service '{name}': a managed PostgreSQL cluster (x-defang-postgres), billed on "
                "its own"
            )
        elif not production:
            warnings.append(
                f"service '{name}': an App Platform dev database (postgres); mark it "
                "x-defang-postgres: true for a managed cluster"
            )
        service = project.services[name]
        warnings += unpublished_ports(service, store.kind) + commands_not_run(service, store.kind)
        databases[name] = Database(
            engine="PG" if postgres else "VALKEY",
            version=store.version if postgres or store.engine == "valkey" else None,
            production=production,
            port=store.port,
            database=store.database,
            user=store.user,
            password=store.password,
        )
    return {name: databases[name] for name in project.services if name in databases}


def _as_marked(project: ComposeProject, marked: set[str]) -> dict[str, Service]:
    """The unmarked services whose image is a store, marked: ``berth.stores`` then reads their
    engine, version and credentials by the same rules as marked ones."""
    extension = {kind: key for key, kind in EXTENSIONS.items()}
    implied = {}
    for service in project.services.values():
        found = None if service.build or service.job else image_store(service.image)
        if found is not None and service.name not in marked:
            extensions = {**service.extensions, extension[found.kind.value]: True}
            implied[service.name] = replace(service, extensions=extensions)
    return implied


def _long_running(service: Service, name: str, warnings: list[str]) -> Component:
    """A service when it listens (its first published HTTP port public), else a worker."""
    http = [
        p.target
        for p in service.ports
        if p.published is not None
        and not not_http(p.target, p.protocol, p.app_protocol, service.image)
    ]
    listening = sorted(
        {p.target for p in service.ports if p.protocol == "tcp"} | set(service.expose)
    )
    for port in service.ports:
        if port.protocol != "tcp":
            warnings.append(
                f"service '{service.name}': port {port.target}/{port.protocol} is ignored: App "
                "Platform carries TCP only"
            )
    if http[1:]:
        warnings.append(
            f"service '{service.name}': App Platform routes one port to the internet, "
            f"{http[0]}; ports {', '.join(map(str, http[1:]))} stay internal"
        )
    if not http and not listening:
        return Component(service.name, name, Kind.WORKER)
    http_port = http[0] if http else None
    return Component(
        service.name,
        name,
        Kind.SERVICE,
        http_port=http_port,
        internal_ports=tuple(p for p in listening if p != http_port),
    )


def _job_phase(project: ComposeProject, job: Service) -> Kind:
    """PRE_DEPLOY when a long-running service waits on the job (through jobs too), else
    POST_DEPLOY: nothing waits on it, so it must not hold the services back."""
    waiting = {job.name}
    changed = True
    while changed:
        changed = False
        for service in project.services.values():
            if service.name not in waiting and any(
                d.service in waiting for d in service.depends_on
            ):
                if not service.job:
                    return Kind.PRE_DEPLOY
                waiting.add(service.name)
                changed = True
    return Kind.POST_DEPLOY


def _check_orders(
    project: ComposeProject,
    components: dict[str, Component],
    warnings: list[str],
    sources: Sources,
) -> None:
    """Every ``depends_on`` edge against App Platform's phases, but a hook's and the one to a
    hook, which ``hooks.check`` judges (naming the service and its pre_start)."""
    for service in project.services.values():
        mine = components[service.name]
        for dependency in service.depends_on:
            other = project.services.get(dependency.service)
            if other is None or service.hook or other.hook:
                continue  # absent (required: false), or a hook's edge, for hooks.check
            theirs = components[dependency.service]
            if mine.kind is Kind.DATABASE:
                warnings.append(
                    f"service '{service.name}': depends_on is ignored: App Platform creates the "
                    "app's databases before anything else"
                )
            elif theirs.kind is Kind.DATABASE:
                continue
            elif mine.kind is Kind.PRE_DEPLOY and theirs.kind in (Kind.SERVICE, Kind.WORKER):
                raise _refused(
                    sources.origin(service.name, "depends_on"),
                    service.name,
                    dependency.service,
                    "a job runs before every service (PRE_DEPLOY, as a service waits on it) or "
                    "after every service (POST_DEPLOY), never between two",
                    "drop the dependency on the long-running service, or make the services "
                    "that wait on the job stop waiting",
                )
            elif mine.kind in (Kind.PRE_DEPLOY, Kind.POST_DEPLOY) and theirs.kind in (
                Kind.PRE_DEPLOY,
                Kind.POST_DEPLOY,
            ):
                if not (theirs.kind is Kind.PRE_DEPLOY and mine.kind is Kind.POST_DEPLOY):
                    raise _refused(
                        sources.origin(service.name, "depends_on"),
                        service.name,
                        dependency.service,
                        "App Platform runs the jobs of one phase side by side, not in a chain",
                        "merge the two jobs into one command, or run the second one after "
                        "the services (nothing may wait on it then)",
                    )
            elif mine.kind in (Kind.SERVICE, Kind.WORKER) and theirs.kind in (
                Kind.SERVICE,
                Kind.WORKER,
            ):
                warnings.append(
                    f"service '{service.name}': depends_on '{dependency.service}' is not kept: "
                    "App Platform releases the app's services together"
                )
    warnings += _phase_warnings(project, components)


def _phase_warnings(project: ComposeProject, components: dict[str, Component]) -> list[str]:
    """What each job's phase means: it runs on every deployment of the app, where Compose
    runs it once per definition (a hook: when its service is recreated)."""
    warnings = []
    for component in components.values():
        hook = project.services[component.service].hook
        if hook is not None:
            warnings.append(
                f"service '{hook.service}': pre_start[{hook.index}] is the PRE_DEPLOY job "
                f"'{component.name}': App Platform runs it on every deployment of the app (a "
                f"change to any component, a scale change included), not only when "
                f"'{hook.service}' changes; a failure cancels the deployment"
            )
        elif component.kind is Kind.PRE_DEPLOY:
            warnings.append(
                f"job '{component.service}': a PRE_DEPLOY job: App Platform runs it before "
                "releasing the services, on every deployment of the app, not once per "
                "definition; a failure cancels the deployment"
            )
        elif component.kind is Kind.POST_DEPLOY:
            warnings.append(
                f"job '{component.service}': nothing waits on it, so a POST_DEPLOY job: App "
                "Platform runs jobs before or after the services, never beside them; it runs "
                "once the services are live, on every deployment of the app, not once per "
                "definition"
            )
    return warnings


def _refused(file: str, service: str, dependency: str, why: str, hint: str) -> BerthError:
    return BerthError(
        f"'{service}' depends on '{dependency}', an order App Platform cannot give: {why}",
        file=file,
        service=service,
        field="depends_on",
        hint=hint,
    )
