"""How a service reaches another by its compose name on GCP: references in environment values.

Compose containers share a network where ``db`` resolves; Cloud Run has no such network, no
search domain and no hosts file. So an environment value that names another service as a host
is rewritten to the address that does resolve:

- a service on a Compute Engine VM: its static internal IP address (``db:5432`` stays on 5432);
- a Cloud Run service: the host of its deterministic URL, over HTTPS (``http://api:8080/v1``
  becomes ``https://<api-host>/v1``, ``api:8080`` becomes ``<api-host>:443``).

A value names a service as a host in three shapes: a URL (``scheme://[user@]NAME[:port]``),
``NAME:port``, or the whole value ``NAME`` under a key that says it holds a host (``DB_HOST``,
``REDIS_ADDR``, ``DATABASE_URL``, ...). Anything else (``POSTGRES_USER=gitea`` when a service is
called ``gitea``) is left alone. A service never rewrites references to itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

HOST_KEY = re.compile(
    r"(?:^|[^A-Z0-9])(?:HOST|HOSTS|HOSTNAME|ADDR|ADDRESS|SERVER|SERVERS|URL|URI|ENDPOINT|DSN"
    r"|BROKER|BROKERS)$"
)
"""Environment keys whose whole value, when it is a service name, is that service's host."""
_SECURE_SCHEMES = {"http": "https", "ws": "wss"}


@dataclass(frozen=True)
class Endpoint:
    """Where a service answers inside the project."""

    host: str
    https_only: bool = False
    """A Cloud Run URL: HTTPS on 443 only, whatever port the compose file names."""


@dataclass(frozen=True)
class Reference:
    service: str
    start: int
    end: int
    scheme: str | None
    port: str | None
    userinfo: str = ""


def _pattern(name: str) -> re.Pattern[str]:
    host = re.escape(name)
    return re.compile(
        rf"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<userinfo>[^@/\s]*@)?{host}"
        rf"(?::(?P<port>\d+))?(?=[/?#\s\"',;)]|$)"
        rf"|(?<![\w./-]){host}:(?P<bare_port>\d+)(?![\w.-]))"
    )


def references(
    key: str, value: str, services: Iterable[str], own: str | None = None
) -> list[Reference]:
    """The references to ``services`` (not ``own``) in one environment value, in order."""
    found: list[Reference] = []
    for name in services:
        if name == own or name not in value:  # each shape names the service verbatim
            continue
        if value == name and HOST_KEY.search(key.upper()):
            found.append(Reference(name, 0, len(value), None, None))
            continue
        for match in _pattern(name).finditer(value):
            found.append(
                Reference(
                    name,
                    match.start(),
                    match.end(),
                    match["scheme"],
                    match["port"] or match["bare_port"],
                    match["userinfo"] or "",
                )
            )
    found.sort(key=lambda r: r.start)
    kept: list[Reference] = []
    for reference in found:  # a longer service name wins over one it contains
        if kept and reference.start < kept[-1].end:
            continue
        kept.append(reference)
    return kept


def rewrite(value: str, found: list[Reference], endpoints: Mapping[str, Endpoint]) -> str:
    """``value`` with each reference to a service in ``endpoints`` replaced by its address."""
    parts: list[str] = []
    position = 0
    for reference in found:
        endpoint = endpoints.get(reference.service)
        if endpoint is None:
            continue
        parts += [value[position : reference.start], _replacement(reference, endpoint)]
        position = reference.end
    return "".join([*parts, value[position:]])


def _replacement(reference: Reference, endpoint: Endpoint) -> str:
    if reference.scheme is not None:
        scheme = reference.scheme
        port = f":{reference.port}" if reference.port else ""
        if endpoint.https_only:
            scheme, port = _SECURE_SCHEMES.get(scheme.lower(), scheme), ""
        return f"{scheme}://{reference.userinfo}{endpoint.host}{port}"
    if reference.port is not None:
        return f"{endpoint.host}:{'443' if endpoint.https_only else reference.port}"
    return endpoint.host
