"""Managed data stores: compose services that a cloud target runs as its managed database or
cache rather than as a container.

The ecosystem Berth comes from marks them with an extension: ``x-defang-postgres: true`` (or
``{allow-downtime: true}``) and ``x-defang-redis: true``. The engine's version comes from the
image tag (``postgres:16``, ``pgvector/pgvector:pg16``, ``redis:7``, ``valkey/valkey:8``); the
database, user and password from the environment the official images read. The local target
keeps the container; each cloud target says what its managed store is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from berth.errors import BerthError
from berth.model import ComposeProject, Secret, Service, Text

EXTENSIONS = {"x-defang-postgres": "postgres", "x-defang-redis": "redis"}
"""The extension that marks a managed store, and the kind it asks for."""


class StoreKind(StrEnum):
    POSTGRES = "postgres"
    REDIS = "redis"


PORTS = {StoreKind.POSTGRES: 5432, StoreKind.REDIS: 6379}
IMAGES: dict[str, tuple[StoreKind, str]] = {
    "postgres": (StoreKind.POSTGRES, "postgres"),
    "pgvector/pgvector": (StoreKind.POSTGRES, "postgres"),
    "postgis/postgis": (StoreKind.POSTGRES, "postgres"),
    "bitnami/postgresql": (StoreKind.POSTGRES, "postgres"),
    "timescale/timescaledb": (StoreKind.POSTGRES, "postgres"),
    "redis": (StoreKind.REDIS, "redis"),
    "bitnami/redis": (StoreKind.REDIS, "redis"),
    "redis/redis-stack-server": (StoreKind.REDIS, "redis"),
    "valkey/valkey": (StoreKind.REDIS, "valkey"),
    "bitnami/valkey": (StoreKind.REDIS, "valkey"),
}
"""Images compatible with each kind of store (Docker Hub names, ``library/`` left out), and the
engine each one is."""
_MAJOR = re.compile(r"(?:pg)?(\d+)(?:[.\-_].*)?")


@dataclass(frozen=True)
class ImageStore:
    """What a container image says about a store: its kind, engine and major version."""

    kind: StoreKind
    engine: str
    """``postgres``, ``redis`` or ``valkey``."""
    version: str | None
    """The major version of the tag (``16`` for ``postgres:16.3-alpine``), None for ``latest``
    or no tag: the target's default."""


@dataclass(frozen=True)
class ManagedStore:
    """A compose service a cloud target runs as its managed database or cache."""

    service: str
    kind: StoreKind
    engine: str
    version: str | None
    allow_downtime: bool
    """Changes may apply at once (restarting the store); otherwise in the maintenance window."""
    port: int
    database: Text | None
    """Postgres: ``POSTGRES_DB``, else ``POSTGRES_USER``, else ``postgres`` (the image's rule);
    a ``Secret`` when it comes from a stack secret."""
    user: Text | None
    """Postgres: ``POSTGRES_USER``, else ``postgres``."""
    password: Text | None
    """``POSTGRES_PASSWORD`` or ``REDIS_PASSWORD`` as the environment holds it (a ``Secret``
    when it comes from a stack secret), None when unset."""


def image_store(image: str | None) -> ImageStore | None:
    """The store an image is (``postgres:16`` is postgres 16), or None for any other image."""
    if not image:
        return None
    # Only for a managed store: the Docker SDK takes 0.1 s to import, every other plan skips it.
    from docker.utils import parse_repository_tag  # noqa: PLC0415

    repository, tag = parse_repository_tag(image)
    for prefix in ("docker.io/", "index.docker.io/", "library/"):
        repository = repository.removeprefix(prefix)
    if repository not in IMAGES:
        return None
    kind, engine = IMAGES[repository]
    major = _MAJOR.fullmatch(tag or "")
    return ImageStore(kind, engine, major[1] if major else None)


def managed_stores(project: ComposeProject) -> dict[str, ManagedStore]:
    """The project's managed stores, by service name; a BerthError for a marking that cannot
    be one (a job, both kinds at once, a value that is not true, false or a mapping)."""
    stores = {}
    for service in project.services.values():
        if store := _managed_store(service, project.files[0]):
            stores[service.name] = store
    return stores


def store_warnings(project: ComposeProject) -> list[str]:
    """What a user should know about the managed stores: an image the marking does not fit,
    a build that a managed store ignores."""
    warnings = []
    for name, store in managed_stores(project).items():
        service = project.services[name]
        found = image_store(service.image)
        if service.mounts:
            warnings.append(
                f"service '{name}': its volumes are not used: the managed {store.kind} keeps "
                "its own storage"
            )
        if service.build:
            warnings.append(
                f"service '{name}': build is ignored: a managed {store.kind} runs no image"
            )
        elif found is None or found.kind is not store.kind:
            warnings.append(
                f"service '{name}': image {service.image or '(none)'} is not {store.kind}-"
                f"compatible; the managed {store.kind} runs the provider's default version"
            )
    return warnings


def _managed_store(service: Service, file: str) -> ManagedStore | None:
    marked = {
        kind: options
        for key, kind in EXTENSIONS.items()
        if (options := _options(service, key, file)) is not None
    }
    if not marked:
        return None
    if len(marked) > 1:
        raise BerthError(
            "a service is one managed store: it cannot be both x-defang-postgres and "
            "x-defang-redis",
            file=file,
            service=service.name,
            field="x-defang-postgres",
            hint="split it into two services, one per store",
        )
    (kind_name, options), *_ = marked.items()
    kind = StoreKind(kind_name)
    extension = next(key for key, value in EXTENSIONS.items() if value == kind_name)
    if service.job:
        raise BerthError(
            f"a one-off job cannot be a managed {kind}",
            file=file,
            service=service.name,
            field=extension,
            hint=f'remove {extension}, or remove restart: "no"',
        )
    found = image_store(service.image)
    same = found if found and found.kind is kind else None
    environment = service.environment
    if kind is StoreKind.POSTGRES:
        user: Text | None = environment.get("POSTGRES_USER") or "postgres"
        database = environment.get("POSTGRES_DB") or user
        password = environment.get("POSTGRES_PASSWORD")
    else:
        user = database = None
        password = environment.get("REDIS_PASSWORD")
    return ManagedStore(
        service=service.name,
        kind=kind,
        engine=same.engine if same else kind.value,
        version=same.version if same else None,
        allow_downtime=bool(options.get("allow-downtime", False)),
        port=PORTS[kind],
        database=database,
        user=user,
        password=password or None,
    )


def _options(service: Service, key: str, file: str) -> dict[str, Any] | None:
    """The extension's options: None when absent or false, {} when true."""
    value = service.extensions.get(key)
    if value is None or value is False:
        return None
    if value is True:
        return {}
    if isinstance(value, dict) and all(k == "allow-downtime" for k in value):
        return value
    raise BerthError(
        f"{key} must be true, false or a mapping such as {{allow-downtime: true}}, got {value!r}",
        file=file,
        service=service.name,
        field=key,
        hint=f"e.g. {key}: true",
    )


def secret_password(value: Text | None, service: Service, key: str, file: str) -> str:
    """A managed store's password, which must come from a stack secret (a cloud keeps it as a
    resource input: one written in the compose file would be plain text there)."""
    if not isinstance(value, Secret):
        raise BerthError(
            f"a managed store's password must come from a stack secret; {key} is "
            + ("not set" if value is None else "written in the compose file"),
            file=file,
            service=service.name,
            field="environment",
            hint=f"set {key}: ${{{key}}} and `pulumi config set --secret {key} <password>`",
        )
    return value.value
