"""Where each compose service runs on GCP, and why: the classification rules, in one place.

In this order, the first rule that applies decides:

1. A one-off job (``restart: "no"``, a ``pre_start`` hook) is a **Cloud Run job**, run once per
   definition; so is a job of the top-level ``jobs:``, which runs only when triggered.
2. A service that serves plain TCP or needs a Docker engine runs on a **Compute Engine VM**
   (Container-Optimized OS, an internal address in the project's network):
   its image is a known TCP server (postgres, mysql, mariadb, redis, mongo, ...); it publishes
   a UDP port, a ``host``-mode port, a port that is not HTTP (``berth.ports``: 5432, 6379, an
   ``app_protocol`` other than http, ...) or more than one port; it only ``expose``s ports;
   another service reaches it by ``name:port`` while it publishes no port; or it asks for
   ``privileged``, ``cap_add``, ``sysctls`` or ``security_opt``, which Cloud Run cannot grant.
3. A service that publishes one port is a **Cloud Run service** serving HTTP on that port.
4. A service with no port at all is a **Cloud Run worker pool**.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from berth.model import ComposeProject, Service, revealed
from berth.ports import not_http, plain_tcp_image
from berth.providers.gcp.references import references


class Kind(StrEnum):
    JOB = "Cloud Run job"
    HTTP = "Cloud Run service"
    WORKER = "Cloud Run worker pool"
    VM = "Compute Engine VM"

    @property
    def cloud_run(self) -> bool:
        return self is not Kind.VM


@dataclass(frozen=True)
class Placement:
    kind: Kind
    reason: str
    port: int | None = None
    """The container port a Cloud Run service serves."""


ENGINE_SETTINGS = ("privileged", "cap_add", "sysctls", "security_opt")
SERVICE_ONLY = frozenset(
    {
        *("attach", "build", "container_name", "depends_on", "deploy", "develop", "expose"),
        *("extends", "external_links", "healthcheck", "links", "ports", "post_start"),
        *("pre_start", "pre_stop", "profiles", "provider", "restart", "scale"),
        *("stdin_open", "tty"),
    }
)
"""A service's fields its ``pre_start`` hooks do not take: Compose's ``service`` schema beyond
``container_spec``, a hook's. Compose merges every other field of the service into each hook
(``docker compose config`` prints them there)."""


def place(project: ComposeProject) -> dict[str, Placement]:
    """Every service's and job's placement, by the rules above."""
    reached = _reached_by_port(project)
    return {service.name: _placement(service, reached) for service in containers_and_jobs(project)}


def containers_and_jobs(project: ComposeProject) -> list[Service]:
    """The services, then the jobs of the top-level ``jobs:`` (names unique across both, as
    Compose requires): every workload, each with an account, a placement and its checks."""
    return [*project.services.values(), *project.triggered.values()]


def _placement(service: Service, reached: Mapping[str, str]) -> Placement:
    if service.triggers:
        return Placement(Kind.JOB, "it runs to completion when run or scheduled")
    if service.job:
        return Placement(Kind.JOB, "it runs once to completion")
    if reason := _vm_reason(service, reached):
        return Placement(Kind.VM, reason)
    if service.ports:
        return Placement(Kind.HTTP, "it publishes one port", port=service.ports[0].target)
    return Placement(Kind.WORKER, "it publishes no port")


def _vm_reason(service: Service, reached: Mapping[str, str]) -> str | None:
    if not service.build and (name := plain_tcp_image(service.image)):
        return f"its image {name} serves plain TCP"
    ports = {p.target for p in service.ports} | set(service.expose)
    not_web = [
        *(not_http(p.target, p.protocol, p.app_protocol) for p in service.ports),
        *(not_http(port, "tcp", None) for port in service.expose),
    ]
    checks = (
        (any(p.protocol == "udp" for p in service.ports), "it publishes a UDP port"),
        (any(p.mode == "host" for p in service.ports), "it publishes a host-mode port"),
        (any(not_web), "it uses a port that is not HTTP"),
        (len(ports) > 1, "it serves more than one port"),
        (bool(service.expose) and not service.ports, "it exposes ports inside the project only"),
        (not ports and service.name in reached, f"{reached.get(service.name)} reaches it by port"),
    )
    for applies, reason in checks:
        if applies:
            return reason
    settings = service.container
    asked = [
        name
        for name, value in zip(
            ENGINE_SETTINGS,
            (settings.privileged, settings.cap_add, settings.sysctls, settings.security_opt),
            strict=True,
        )
        if value
    ]
    if asked:
        return f"it asks for {', '.join(asked)}, which Cloud Run cannot grant"
    return None


def _reached_by_port(project: ComposeProject) -> dict[str, str]:
    """Services another service's environment names as ``name:port``: who names each."""
    return {name: next(iter(ports.values())) for name, ports in named_ports(project).items()}


def label(service: Service) -> str:
    """How a message names a workload: ``service 'web'`` (a ``restart: "no"`` job too, as
    ever), a hook as Compose does (``service "web" pre_start[0]``), ``job 'backup'`` for a job
    of the top-level ``jobs:``."""
    return service.display_name if service.hook or service.triggers else f"service '{service.name}'"


def named_ports(project: ComposeProject) -> dict[str, dict[int, str]]:
    """The ports other services' (and jobs') environments name each service by (``db:5432``,
    ``postgres://db:5432/app``): for each, who names it first. A VM publishes them."""
    named: dict[str, dict[int, str]] = {}
    names = list(project.services)
    for service in containers_and_jobs(project):
        for key, value in sorted(service.environment.items()):
            text = revealed(value)
            for reference in references(key, text, names, own=service.name):
                if reference.port and 0 < int(reference.port) < 65536:
                    ports = named.setdefault(reference.service, {})
                    ports.setdefault(int(reference.port), label(service))
    return named


_CLOUD_RUN_IGNORES = {
    **dict.fromkeys(("user", "group_add"), "Cloud Run runs the image's own user"),
    **dict.fromkeys(("hostname", "domainname"), "Cloud Run names the instance"),
    **dict.fromkeys(("extra_hosts", "dns", "dns_search", "dns_opt"), "Cloud Run owns DNS"),
    **dict.fromkeys(("stop_signal", "stop_grace_period"), "Cloud Run stops with SIGTERM, 10s"),
    **dict.fromkeys(
        ("init", "tty", "stdin_open", "read_only", "cap_drop", "shm_size", "ulimits", "runtime"),
        "Cloud Run has no such container setting",
    ),
    "labels": "Cloud Run has no container labels",
    "logging": "logs go to Cloud Logging",
}
_KIND_IGNORES = {
    Kind.JOB: {
        **dict.fromkeys(ENGINE_SETTINGS, "a job runs on Cloud Run, which cannot grant it"),
        "healthcheck": "a job runs to completion; nothing probes it",
    },
    Kind.WORKER: {"healthcheck": "a worker pool has no port to probe"},
    Kind.VM: {"runtime": "the VM runs Docker's default runtime"},
}


def ignored_here(
    service: Service, placement: Placement, inherited: Sequence[str] = ()
) -> list[str]:
    """Warnings for the fields this placement cannot honour (the others are all honoured):
    the workload's own, and a hook's ``inherited`` ones (``inherited_fields``). A hook's are
    named in its service as a hook is written: ``service 'web', field 'pre_start[0].user'``."""
    ignores = _ignores(service, placement)
    warnings = []
    for field in sorted({*service.fields, *inherited}):
        if field not in ignores:
            continue
        if service.hook:
            where = f"service '{service.hook.service}': field 'pre_start[{service.hook.index}]"
            where += f".{field}'" + ("" if field in service.fields else " (from the service)")
        else:
            where = f"{label(service)}: field '{field}'"
        warnings.append(f"{where} is ignored on gcp ({placement.kind}): {ignores[field]}")
    return warnings


def inherited_fields(hook: Service, service: Service, placement: Placement | None) -> list[str]:
    """The fields hook ``hook`` takes from its ``service`` and still has, those the service's
    own ``placement`` ignores too left out (the service's warning names them): a hook runs as
    a Cloud Run job even when its service runs on a VM, which honours them."""
    already = _ignores(service, placement) if placement else {}
    return [
        field
        for field in service.fields
        if field.split(".", 1)[0] not in SERVICE_ONLY
        and not field.startswith("x-")
        and field not in already
        and _still_set(hook, field)
    ]


def _still_set(hook: Service, field: str) -> bool:
    """Whether ``hook`` still has ``field`` its service sets: a hook may set it back to
    ``false`` or empty (a field with no setting of that name in the model counts as set)."""
    for holder in (hook.container, hook):
        if hasattr(holder, field):
            return bool(getattr(holder, field))
    return True


def _ignores(service: Service, placement: Placement) -> dict[str, str]:
    """The fields ``placement`` cannot honour, each with why."""
    ignores = {**(_CLOUD_RUN_IGNORES if placement.kind.cloud_run else {})}
    ignores.update(_KIND_IGNORES.get(placement.kind, {}))
    if placement.kind is Kind.VM and (service.replicas or 1) > 1:
        ignores.update(dict.fromkeys(("deploy.replicas", "scale"), "one VM runs each service"))
    return ignores
