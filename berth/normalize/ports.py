"""A service's ``ports`` (long syntax, as Compose prints it) and ``expose``."""

from __future__ import annotations

from typing import Any

from berth.model import Port
from berth.quantities import PORT_PROTOCOLS, Fail, port_range
from berth.sources import MAX_PORTS, Sources, too_many_ports


def ports(
    sources: Sources, service: str, raw: dict[str, Any], fail: Fail
) -> tuple[tuple[Port, ...], tuple[int, ...]]:
    """The published ports and the exposed ones; more of either than a target takes, refused."""
    published = tuple(port(p, fail) for p in raw.get("ports") or ())
    expose = tuple(p for spec in raw.get("expose") or () for p in port_range(spec, fail))
    for field, listed in (("ports", published), ("expose", expose)):
        if len(listed) > MAX_PORTS:
            raise too_many_ports(len(listed), sources.origin(service, field), service, field)
    return published, expose


def port(raw: dict[str, Any], fail: Fail) -> Port:
    published = raw.get("published")
    try:
        published_port = int(published) if published not in (None, "") else None
    except ValueError:
        raise fail(
            "ports",
            f"published port {published!r} is not a single port number",
            'publish one port per entry, e.g. "8080:80"',
        ) from None
    target = int(raw.get("target") or 0)  # Compose drops a container port of 0
    for number in (target, published_port):
        if number is not None and not 0 < number < 65536:
            raise fail("ports", f"{number} is not a port number", "use a port from 1 to 65535")
    protocol = str(raw.get("protocol") or "tcp")
    if protocol not in PORT_PROTOCOLS:
        raise fail(
            "ports",
            f"{protocol!r} is not a protocol Docker publishes",
            f'use {", ".join(PORT_PROTOCOLS)}, e.g. "53:53/udp"',
        )
    return Port(
        target=target,
        published=published_port,
        protocol=protocol,
        host_ip=raw.get("host_ip"),
        mode="host" if raw.get("mode") == "host" else "ingress",
        app_protocol=raw.get("app_protocol"),
    )
