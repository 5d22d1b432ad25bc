"""Managed stores on GCP: ``x-defang-postgres`` is a Cloud SQL for PostgreSQL instance,
``x-defang-redis`` a Memorystore for Redis instance (Basic tier).

Both have a private IP only, in a range of the project's network reserved for Google's
services (private services access, ``peering``). The Cloud Run workloads that name them (Direct
VPC egress to private ranges) and every VM of the project reach them there; no public IP
exists. They keep their compose name
through the target's reference rewriting (``db:5432`` becomes ``<private IP>:5432``). They are
protected (``protect``, the provider's ``deletion_protection``, Cloud SQL's own deletion
protection and a final backup) unless the stack says its stores are throwaway
(``gcpThrowawayStores``). Cloud SQL accepts TLS connections only (as RDS does from PostgreSQL
15); Memorystore keeps plain ``redis://`` (its TLS mode accepts TLS only, on port 6378).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_gcp as gcp

from berth.components import stores as common
from berth.components.names import fitted
from berth.components.stores import name_input, password_input
from berth.errors import BerthError
from berth.model import Service, Text, revealed
from berth.providers.gcp.names import SQL_INSTANCE_ID, cloud_name
from berth.providers.gcp.sizing import TooLarge, redis_size_gb, sql_tier
from berth.sizing import Request
from berth.sources import Sources
from berth.stores import ManagedStore, PasswordRule, StoreKind

POSTGRES_MAJORS = tuple(str(n) for n in range(12, 19))
"""PostgreSQL majors Cloud SQL runs (``POSTGRES_12`` to ``POSTGRES_18``)."""
DEFAULT_POSTGRES = "16"
REDIS_VERSIONS = {"5": "REDIS_5_0", "6": "REDIS_6_X", "7": "REDIS_7_2"}
NEWEST_REDIS = "REDIS_7_2"
BACKUPS_KEPT = 7
FINAL_BACKUP_DAYS = 30
DISK_GB = 10
GROWN_DISK = "settings.diskSize"
"""Pulumi's path to ``settings.disk_size``, ignored after creation: Cloud SQL grows the disk
(``disk_autoresize``), and the provider replaces an instance whose size would shrink
(``ForceNewIfChange``/``IsDiskShrinkage``, ``resource_sql_database_instance.go``)."""
ROOT_USER = "postgres"
"""The user every Cloud SQL for PostgreSQL instance has; its password is the instance's
``root_password``."""
DEFAULT_DATABASE = "postgres"
"""The database every Cloud SQL for PostgreSQL instance has."""
_NAME = re.compile(r"[^\s\x00-\x1f\x7f]{1,63}")
_PASSWORD = PasswordRule(
    re.compile(r"[\x21-\x7e]{8,128}"), "8 to 128 printable ASCII characters, no spaces"
)
SqlChild = TypeVar("SqlChild", gcp.sql.User, gcp.sql.Database)


@dataclass(frozen=True)
class StoreSettings(common.StoreSettings):
    """What every store of the stack shares: the project, region and network it is in."""

    project: pulumi.Input[str]
    project_number: pulumi.Input[str]
    region: str
    network: gcp.compute.Network
    labels: Mapping[str, str]


@dataclass(frozen=True)
class _NewStore:
    """One store being created: what Cloud SQL and Memorystore both read."""

    store: ManagedStore
    service: Service
    settings: StoreSettings
    sources: Sources
    opts: pulumi.ResourceOptions
    """The instance's options (parent, after, protect)."""

    @property
    def labels(self) -> dict[str, str]:
        return {**self.settings.labels, "berth-service": cloud_name(self.service.name)}

    def password(self, key: str) -> pulumi.Output[str]:
        return _password(self.store.password, self.service, self.sources, key)


@dataclass(frozen=True)
class ManagedEndpoint:
    """A created store: what dependents wait on, where they reach it, and the AUTH string
    Memorystore generated, when AUTH is on."""

    ready: list[pulumi.Resource]
    """The instance first, then its user and database when Berth creates them."""
    host: pulumi.Output[str]
    auth_string: pulumi.Output[str] | None = None


class StoreAddress:
    """A store's address (and AUTH string) before the store exists: the other workloads'
    environment reads them from the start, the store's own component resolves them."""

    def __init__(self, store: ManagedStore) -> None:
        self.host, self._resolve_host = pulumi.deferred_output()
        self.auth: tuple[str, pulumi.Output[str]] | None = None
        """The compose password, and what replaces it in the others' secret environment."""
        self._resolve_auth: Callable[[pulumi.Output[str]], None] | None = None
        if store.kind is StoreKind.REDIS and store.password is not None:
            auth, self._resolve_auth = pulumi.deferred_output()
            self.auth = (_value(store.password) or "", auth)

    def resolve(self, endpoint: ManagedEndpoint) -> None:
        self._resolve_host(endpoint.host)
        if self._resolve_auth and endpoint.auth_string is not None:
            self._resolve_auth(endpoint.auth_string)


def store_apis(stores: Mapping[str, ManagedStore]) -> tuple[str, ...]:
    """The APIs the stores need, beyond what every stack enables."""
    if not stores:
        return ()
    kinds = {store.kind for store in stores.values()}
    return (
        "servicenetworking",
        *(["sqladmin"] if StoreKind.POSTGRES in kinds else []),
        *(["redis"] if StoreKind.REDIS in kinds else []),
    )


def check_store(store: ManagedStore, service: Service, sources: Sources) -> list[str]:
    """Refuse, before anything is created, credentials or sizes the store cannot take; the
    warnings a user should read."""
    try:
        if store.kind is StoreKind.POSTGRES:
            sql_tier(Request.of(service.resources))
        else:
            redis_size_gb(Request.of(service.resources))
    except TooLarge as error:
        raise BerthError(
            str(error),
            file=sources.origin(service.name, "deploy"),
            service=service.name,
            field="deploy.resources",
            hint="lower the limit; for a larger store, create it yourself and pass its address",
        ) from None
    if store.kind is StoreKind.POSTGRES:
        _password(store.password, service, sources, "POSTGRES_PASSWORD")
        for key, value in (("POSTGRES_USER", store.user), ("POSTGRES_DB", store.database)):
            _check_name(key, value, service, sources)
        _postgres_version(store, service, sources)
        return []
    if store.password is not None:
        _password(store.password, service, sources, "REDIS_PASSWORD")
    _, warning = _redis_version(store)
    return [f"service '{service.name}': {warning}"] if warning else []


def store_resources(
    store: ManagedStore,
    service: Service,
    *,
    settings: StoreSettings,
    sources: Sources,
    after: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> ManagedEndpoint:
    """The managed store, created after ``after`` (the peering and the APIs: Cloud SQL and
    Memorystore do not reference the connection, yet fail without it)."""
    new = _NewStore(store, service, settings, sources, settings.kept(after, parent))
    return _postgres(new) if store.kind is StoreKind.POSTGRES else _redis(new)


def _postgres(new: _NewStore) -> ManagedEndpoint:
    store, service, settings, opts = new.store, new.service, new.settings, new.opts
    password = new.password("POSTGRES_PASSWORD")
    root = _value(store.user) == ROOT_USER
    protected = not settings.throwaway
    # Named before the instance ID had to fit a 30-character project ID: kept by an alias.
    former = cloud_name(settings.names(service.name), pulumi.get_stack())
    logical = fitted(former, SQL_INSTANCE_ID)
    instance = gcp.sql.DatabaseInstance(
        # No name: Pulumi adds a random suffix to this one, as Cloud SQL keeps a deleted
        # instance's name reserved for up to a week; with it, the instance ID fits in any
        # project (SQL_INSTANCE_ID).
        logical,
        project=settings.project,
        region=settings.region,
        database_version=f"POSTGRES_{_postgres_version(store, service, new.sources)}",
        root_password=password if root else None,
        deletion_protection=protected,
        settings={
            "tier": sql_tier(Request.of(service.resources)),
            "edition": "ENTERPRISE",
            "availability_type": "ZONAL",
            "disk_type": "PD_SSD",
            "disk_size": DISK_GB,
            "disk_autoresize": True,
            "deletion_protection_enabled": protected,
            "ip_configuration": {
                "ipv4_enabled": False,
                "private_network": settings.network.id,
                "ssl_mode": "ENCRYPTED_ONLY",
            },
            "backup_configuration": {
                "enabled": True,
                "point_in_time_recovery_enabled": True,
                "backup_retention_settings": {"retained_backups": BACKUPS_KEPT},
            },
            "final_backup_config": {"enabled": True, "retention_days": FINAL_BACKUP_DAYS}
            if protected
            else {"enabled": False},
            "user_labels": new.labels,
        },
        opts=pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=[GROWN_DISK])),
            pulumi.ResourceOptions.merge(
                settings.names.aliased(cloud_name(settings.prefix, service.name)),
                pulumi.ResourceOptions(
                    aliases=[pulumi.Alias(name=former)] if logical != former else []
                ),
            ),
        ),
    )

    def in_instance(kind: type[SqlChild], suffix: str, name: Text | None, **args: Any) -> SqlChild:
        """A user or database of the instance, abandoned on delete: the instance's deletion
        removes it anyway, and PostgreSQL refuses to drop a role that owns objects."""
        return kind(
            settings.names(service.name, suffix),
            project=settings.project,
            instance=instance.name,
            name=name_input(name),
            deletion_policy="ABANDON",
            **args,
        )

    ready: list[pulumi.Resource] = [instance]
    if not root:
        child = pulumi.ResourceOptions(parent=opts.parent)
        ready.append(in_instance(gcp.sql.User, "user", store.user, password=password, opts=child))
    if _value(store.database) != DEFAULT_DATABASE:
        kept = pulumi.ResourceOptions(parent=opts.parent, protect=protected)
        ready.append(in_instance(gcp.sql.Database, "database", store.database, opts=kept))
    return ManagedEndpoint(ready=ready, host=instance.private_ip_address)


def _redis(new: _NewStore) -> ManagedEndpoint:
    store, service, settings = new.store, new.service, new.settings
    auth = store.password is not None
    if auth:
        new.password("REDIS_PASSWORD")
    instance = gcp.redis.Instance(
        settings.names(service.name, "cache"),
        name=cloud_name(settings.prefix, service.name, limit=40),
        project=settings.project,
        region=settings.region,
        tier="BASIC",
        memory_size_gb=redis_size_gb(Request.of(service.resources)),
        redis_version=_redis_version(store)[0],
        authorized_network=settings.network.id,
        connect_mode="PRIVATE_SERVICE_ACCESS",
        auth_enabled=auth,
        # Memorystore's TLS mode accepts TLS only (on 6378): plain redis://cache:6379 from the
        # compose file would stop working. Traffic stays on Google's private network.
        transit_encryption_mode="DISABLED",
        persistence_config={"persistence_mode": "RDB", "rdb_snapshot_period": "TWELVE_HOURS"},
        deletion_protection=not settings.throwaway,
        labels=new.labels,
        opts=new.opts,
    )
    auth_string = pulumi.Output.secret(instance.auth_string) if auth else None
    return ManagedEndpoint(ready=[instance], host=instance.host, auth_string=auth_string)


def _postgres_version(store: ManagedStore, service: Service, sources: Sources) -> str:
    major = store.version or DEFAULT_POSTGRES
    if major not in POSTGRES_MAJORS:
        raise BerthError(
            f"Cloud SQL does not run PostgreSQL {major}",
            file=sources.origin(service.name, "image"),
            service=service.name,
            field="image",
            hint=f"use a tag of PostgreSQL {POSTGRES_MAJORS[0]} to {POSTGRES_MAJORS[-1]}, "
            f"e.g. postgres:{DEFAULT_POSTGRES}",
        )
    return major


def _redis_version(store: ManagedStore) -> tuple[str, str | None]:
    """The Memorystore version, and what a user should know when it is not the image's."""
    if store.engine == "valkey":
        return NEWEST_REDIS, (
            "Memorystore for Redis runs Redis 7.2 for this valkey image (Valkey speaks the "
            "same protocol); Memorystore for Valkey is not supported on gcp yet"
        )
    if store.version is None:
        return NEWEST_REDIS, None
    if store.version in REDIS_VERSIONS:
        return REDIS_VERSIONS[store.version], None
    return NEWEST_REDIS, f"Memorystore has no Redis {store.version}: it runs Redis 7.2"


def _password(
    value: Text | None, service: Service, sources: Sources, key: str
) -> pulumi.Output[str]:
    return password_input(
        value, service, key, sources.origin(service.name, "environment"), _PASSWORD
    )


def _check_name(key: str, value: Text | None, service: Service, sources: Sources) -> None:
    if value is not None and not _NAME.fullmatch(_value(value) or ""):
        raise BerthError(
            f"{key} is not a name Cloud SQL accepts",
            file=sources.origin(service.name, "environment"),
            service=service.name,
            field="environment",
            hint="1 to 63 characters, no spaces",
        )


def _value(value: Text | None) -> str | None:
    return None if value is None else revealed(value)
