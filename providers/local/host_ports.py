"""Host ports: one container per engine binds a host port, whichever Project publishes it.

A second container publishing a host port another already binds fails when ``pulumi up``
starts it ("port is already allocated"), after everything before it was deployed. So every
published port is claimed here, for the program's run, by each service that publishes it, and
a second claim on one engine is refused at plan time, naming both publishers: two services of
one Project, or of two Projects of one program (each one's containers, whatever compose file).
"""

from __future__ import annotations

import asyncio
import ipaddress
import weakref
from dataclasses import dataclass

from berth.errors import BerthError
from berth.model import Port

ANY_IPV4 = "0.0.0.0"  # noqa: S104 - Docker's "every interface", the docker provider's default


@dataclass(frozen=True)
class Publisher:
    project: str
    service: str

    def __str__(self) -> str:
        return f"project {self.project} service {self.service}"


_CLAIMS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[object, int, str], list[tuple[str, Publisher]]]
] = weakref.WeakKeyDictionary()
"""By the program's run (its event loop: one per ``pulumi up``, one per offline plan), then by
engine, host port and protocol: each host address claimed and its publisher."""


def claim(engine: object | None, port: Port, publisher: Publisher, file: str) -> None:
    """Claim ``port``'s host port on ``engine`` (an explicit docker provider, or None for the
    stack's): a BerthError if a claim on it overlaps, as one address does, or every interface
    does with any address of its family."""
    if port.published is None:
        return
    claims = _CLAIMS.setdefault(asyncio.get_event_loop(), {})
    address = _bound(port.host_ip)
    taken = claims.setdefault((engine, port.published, port.protocol), [])
    for other, first in taken:
        if _overlap(address, other):
            protocol = "" if port.protocol == "tcp" else f"/{port.protocol}"
            by = f"twice by {first}" if first == publisher else f"by both {first} and {publisher}"
            on = _where(address) if address == other else f"{_where(other)} and {_where(address)}"
            raise BerthError(
                f"host port {port.published}{protocol} is published {by} (on {on}): Docker "
                "binds a host port once, so `pulumi up` would fail to start the container",
                file=file,
                service=publisher.service,
                field="ports",
                hint="publish one of them on another host port, or on another host_ip",
            )
    taken.append((address, publisher))


def _bound(host_ip: str | None) -> str:
    """The address Docker binds, in one spelling. No ``host_ip`` is the docker provider's
    default ``ip``, 0.0.0.0, which Docker binds on IPv4 only (Compose sends none, which Docker
    binds on 0.0.0.0 and ::); an IPv4-mapped address is IPv4, as Docker reads it."""
    if not host_ip:
        return ANY_IPV4
    try:
        address = ipaddress.ip_address(host_ip.removeprefix("[").removesuffix("]"))
    except ValueError:
        return host_ip
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return str(mapped or address)


def _overlap(one: str, other: str) -> bool:
    """Whether binding ``one`` and ``other`` on one port collide: the same address, or an
    unspecified one (every interface of its IP version: 0.0.0.0 or ::) and any address of
    that version. 0.0.0.0 and :: do not collide: Docker binds :: for IPv6 only."""
    if one == other:
        return True
    try:
        first, second = ipaddress.ip_address(one), ipaddress.ip_address(other)
    except ValueError:
        return False
    return first.version == second.version and (first.is_unspecified or second.is_unspecified)


def _where(address: str) -> str:
    return {ANY_IPV4: "every IPv4 interface", "::": "every IPv6 interface"}.get(address, address)
