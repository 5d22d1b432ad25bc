"""Services on Compute Engine VMs: the container's ``docker run`` words and the ports it
publishes (the boot script that runs it is ``cloud_init``'s).

The ``docker run`` arguments come in groups (an option and its value), one line each; each
argument is a literal string (or an Output of one); the target refuses secrets in a VM
service's command, entrypoint or health check. The container runs on Docker's bridge network,
never the host's. Its ports are published on the VM's internal address: compose's, those other
services name, and those the image exposes.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import pulumi

from berth.durations import go_duration
from berth.model import ContainerSettings, Healthcheck, Port, Service
from berth.ports import not_http
from berth.providers.gcp.options import PUBLIC_NON_HTTP_PORTS

COS_IMAGE = "projects/cos-cloud/global/images/family/cos-stable"


Word = pulumi.Input[str]
Group = list[Word]
"""Arguments written on one line: an option and its value."""
SSH_PORT = 22
"""Container-Optimized OS's own SSH server listens there on every address."""


class Published(NamedTuple):
    """A port published on the VM's address."""

    host: int
    container: int
    protocol: str
    optional: bool = False
    """Skipped when the VM itself listens there (its SSH server on 22): only compose's own
    ``ports`` and ``expose`` must be published, or the container does not start."""


def env_word(key: str, value: pulumi.Input[str]) -> Word:
    return f"{key}={value}" if isinstance(value, str) else pulumi.Output.concat(key, "=", value)


def host_words(hosts: Mapping[str, str]) -> list[Group]:
    """``--add-host`` for each other VM service: its compose name resolves to its internal IP
    inside the container, as on compose's network."""
    return [["--add-host", f"{name}:{ip}"] for name, ip in sorted(hosts.items())]


def ports(service: Service, named: Iterable[int] = ()) -> list[Published]:
    """Container ports published on the VM's internal address: compose's ``ports`` and
    ``expose``, and the ports other services name (``db:5432``); the boot script adds the
    ports the image exposes. None is needed to run: the container stays on Docker's bridge
    network, never the host's. A port compose binds to loopback is not published: only the
    VM itself could reach it.

    Other services reach a port on the VM's address by the container port (as compose
    services reach each other); a published port also answers on its own number.
    """
    mappings: dict[tuple[int, str], Published] = {}

    def add(host: int, container: int, protocol: str, optional: bool) -> None:
        mappings.setdefault((host, protocol), Published(host, container, protocol, optional))

    for port in reachable(service):
        add(port.published or port.target, port.target, port.protocol, False)
    for number in service.expose:
        add(number, number, "tcp", False)
    for port in reachable(service):
        add(port.target, port.target, port.protocol, True)
    for number in named:
        add(number, number, "tcp", True)
    return list(mappings.values())


def reachable(service: Service) -> list[Port]:
    """Compose's ports but those it binds to loopback."""
    return [port for port in service.ports if not loopback(port)]


def loopback(port: Port) -> bool:
    return (port.host_ip or "").startswith("127.") or port.host_ip in ("::1", "localhost")


def published(service: Service) -> list[Port]:
    """Ports the compose file publishes: candidates for the internet when services are public."""
    return [p for p in reachable(service) if p.published or p.mode == "host"]


def public_ports(service: Service, non_http: bool) -> tuple[list[Port], list[str]]:
    """The published ports to open to the internet, and a warning for each port that is not
    HTTP (``berth.ports``): kept internal, or opened because the stack set ``non_http``."""
    image = None if service.build else service.image
    ports: list[Port] = []
    warnings: list[str] = []
    for port in published(service):
        reason = not_http(port.target, port.protocol, port.app_protocol, image)
        where = f"service '{service.name}': port {port.published or port.target}/{port.protocol}"
        if reason and not non_http:
            warnings.append(
                f"{where} is reachable only inside the project ({reason}); "
                f"`pulumi config set {PUBLIC_NON_HTTP_PORTS} true` opens it to the internet"
            )
            continue
        if reason:
            warnings.append(
                f"{where} is open to the whole internet (0.0.0.0/0) although it is not HTTP "
                f"({reason}), because {PUBLIC_NON_HTTP_PORTS} is true"
            )
        ports.append(port)
    return ports, warnings


def settings_words(service: Service) -> list[Group]:
    """``docker run`` options for the Linux container settings a Docker engine honours."""
    settings: ContainerSettings = service.container
    flags: list[tuple[str, str | None]] = [
        ("--user", service.user),
        ("--workdir", service.working_dir),
        ("--hostname", service.hostname),
        ("--domainname", settings.domainname),
        ("--stop-signal", settings.stop_signal),
        ("--stop-timeout", _whole(settings.stop_grace_period)),
        ("--shm-size", str(settings.shm_size) if settings.shm_size else None),
        ("--log-driver", settings.log_driver),
        ("--cpus", f"{service.resources.cpus:g}" if service.resources.cpus else None),
        ("--memory", str(service.resources.memory) if service.resources.memory else None),
    ]
    flags += [("--cap-add", c) for c in settings.cap_add]
    flags += [("--cap-drop", c) for c in settings.cap_drop]
    flags += [("--dns", d) for d in settings.dns]
    flags += [("--dns-search", d) for d in settings.dns_search]
    flags += [("--dns-option", d) for d in settings.dns_opt]
    flags += [("--add-host", f"{h}:{ip}") for h, ip in sorted(settings.extra_hosts.items())]
    flags += [("--sysctl", f"{k}={v}") for k, v in sorted(settings.sysctls.items())]
    flags += [("--ulimit", f"{n}={s}:{h}") for n, (s, h) in sorted(settings.ulimits.items())]
    flags += [("--security-opt", o) for o in settings.security_opt]
    flags += [("--group-add", g) for g in settings.group_add]
    flags += [("--tmpfs", path) for path in settings.tmpfs]
    flags += [("--log-opt", f"{k}={v}") for k, v in sorted(settings.log_options.items())]
    flags += [("--label", f"{k}={v}") for k, v in sorted(service.labels.items())]
    switches = (
        ("--privileged", settings.privileged),
        ("--read-only", settings.read_only),
        ("--init", bool(settings.init)),
    )
    groups: list[Group] = [[flag, value] for flag, value in flags if value]
    return groups + [[flag] for flag, on in switches if on]


def _whole(seconds: float | None) -> str | None:
    """Whole seconds, rounded up: a container gets at least the grace period asked for."""
    return str(math.ceil(seconds)) if seconds else None


def health_words(check: Healthcheck | None) -> list[Group]:
    """``--health-*`` options (the target refused secrets in a VM's health check)."""
    if check is None:
        return []
    kind, *parts = check.test
    command = str(parts[0]) if kind == "CMD-SHELL" else shlex.join(str(part) for part in parts)
    timings = (
        ("--health-interval", check.interval),
        ("--health-timeout", check.timeout),
        ("--health-start-period", check.start_period),
        ("--health-start-interval", check.start_interval),
    )
    groups: list[Group] = [["--health-cmd", command]]
    groups += [[flag, go_duration(seconds)] for flag, seconds in timings if seconds is not None]
    if check.retries is not None:
        groups.append(["--health-retries", str(check.retries)])
    return groups


def container_name(name: str) -> str:
    """The container's name on the VM: never a prefix of a container ID (``db``, ``cafe``
    are hexadecimal), which Docker would also take for one."""
    return f"berth-{name}"
