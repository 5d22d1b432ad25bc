"""Managed stores on AWS: ``x-defang-postgres`` is an RDS for PostgreSQL instance,
``x-defang-redis`` an ElastiCache (Valkey or Redis OSS) replication group.

Both live in the project's private subnets (no route to the internet), are encrypted at rest,
are reachable only from the project's tasks, on their own port, and keep their compose name:
Cloud Map answers ``db.<namespace>`` with a CNAME to the store's endpoint, so ``db:5432`` still
works from every service and job. They are protected (``protect``, RDS deletion protection, a
final snapshot) unless the stack says its stores are throwaway (``awsThrowawayStores``).
A dependent waits until the store is available: Pulumi's create returns only then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from berth.components import stores as common
from berth.components.names import fitted
from berth.components.stores import name_input, password_input
from berth.errors import BerthError
from berth.model import ComposeProject, Service, Text, revealed
from berth.names import cloud_slug, digest, normalised
from berth.providers.aws.discovery import dns_service
from berth.providers.aws.names import SECURITY_GROUP_NAME, SUBNET_GROUP_NAME, hyphenated
from berth.providers.aws.network import Network, tcp_ingress
from berth.providers.aws.upgrades import StoreVersion
from berth.sizing import GIB, Request
from berth.sources import Sources
from berth.stores import ManagedStore, PasswordRule, StoreKind

RDS_CLASSES = (
    ("db.t4g.micro", 2, 1), ("db.t4g.small", 2, 2), ("db.t4g.medium", 2, 4),
    ("db.t4g.large", 2, 8), ("db.m7g.xlarge", 4, 16), ("db.m7g.2xlarge", 8, 32),
    ("db.m7g.4xlarge", 16, 64), ("db.m7g.8xlarge", 32, 128),
)  # fmt: skip
"""RDS instance classes, smallest first: (class, vCPUs, GiB of memory)."""
CACHE_NODES = (
    ("cache.t4g.micro", 2, 0.5), ("cache.t4g.small", 2, 1.37), ("cache.t4g.medium", 2, 3.09),
    ("cache.m7g.large", 2, 6.38), ("cache.m7g.xlarge", 4, 12.93), ("cache.m7g.2xlarge", 8, 26.04),
    ("cache.m7g.4xlarge", 16, 52.26),
)  # fmt: skip
"""ElastiCache node types, smallest first: (type, vCPUs, GiB of memory)."""
DEFAULT_POSTGRES = "17"
"""The major version of ``postgres:latest`` (or an image that names none): pinned, so that what
RDS makes its default later never changes a deployed stack."""
CACHE_VERSIONS = {
    ("redis", "4"): "4.0.10", ("redis", "5"): "5.0.6", ("redis", "6"): "6.2",
    ("redis", "7"): "7.1", ("valkey", "7"): "7.2", ("valkey", "8"): "8.2", ("valkey", "9"): "9.1",
}  # fmt: skip
"""The ElastiCache engine version for each major version a compose image names: the newest
ElastiCache runs of it (tests/test_aws_stores.py holds it to AWS's list, as cfn-lint ships it)."""
NEWEST_CACHE = {"redis": "7.1", "valkey": "9.1"}
"""The version of an image that names no major ElastiCache runs (``redis:latest``)."""
TRANSIT_MODE_FROM = 7
"""ElastiCache takes a transit encryption mode from Redis OSS 7.0.5 (and every Valkey) on;
for 6.2 it refuses one ("not supported for engine version 6.2.6")."""
STORAGE_GB = 20
BACKUP_DAYS = 7
_RDS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
_RDS_PASSWORD = re.compile(r'(?:(?![/"@])[\x21-\x7e]){8,128}')
"""RDS master passwords: 8 to 128 printable ASCII characters but / " and @ (CreateDBInstance)."""
_CACHE_TOKEN = re.compile(r"[A-Za-z0-9!&#$^<>-]{16,128}")
"""ElastiCache AUTH tokens: 16 to 128 letters, digits and ! & # $ ^ < > - (CreateReplicationGroup
AuthToken)."""
_PASSWORD_RULES = {
    "POSTGRES_PASSWORD": PasswordRule(
        _RDS_PASSWORD, '8 to 128 printable ASCII characters but /, " and @'
    ),
    "REDIS_PASSWORD": PasswordRule(_CACHE_TOKEN, "16 to 128 letters, digits and ! & # $ ^ < > -"),
}
"""What each store accepts as a password."""
SubnetGroup = TypeVar("SubnetGroup", aws.rds.SubnetGroup, aws.elasticache.SubnetGroup)


@dataclass(frozen=True)
class StoreSettings(common.StoreSettings):
    """What every store of the stack shares: the project's network, where its tasks are."""

    network: Network
    tasks: aws.ec2.SecurityGroup
    namespace: aws.servicediscovery.PrivateDnsNamespace
    sources: Sources
    """Which file set what: a refusal names the file that defined the field."""

    def file(self, service: Service, field: str) -> str:
        return self.sources.origin(service.name, field)


def store_resources(
    store: ManagedStore,
    service: Service,
    settings: StoreSettings,
    after: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> dict[str, pulumi.Resource]:
    """The managed store (created after ``after``), its security group and its DNS name, by
    role: ``workload`` (the store) and ``dns_record`` exist only once the store is available,
    so they are what a dependent waits on."""
    security_group = aws.ec2.SecurityGroup(
        fitted(settings.names(service.name, "store"), SECURITY_GROUP_NAME),
        vpc_id=settings.network.vpc_id,
        description=f"Berth {settings.prefix}: {service.name}, open to the tasks of the project",
        ingress=[tcp_ingress(store.port, security_groups=[settings.tasks.id])],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    kept = settings.kept(after, parent)
    if store.kind is StoreKind.POSTGRES:
        resource, address = _postgres(store, service, settings, security_group, kept)
    else:
        resource, address = _cache(store, service, settings, security_group, kept)
    registry, record = _dns_name(store, address, settings, parent)
    return {
        "workload": resource,
        "security_group": security_group,
        "dns_service": registry,
        "dns_record": record,
    }


def _postgres(
    store: ManagedStore,
    service: Service,
    settings: StoreSettings,
    security_group: aws.ec2.SecurityGroup,
    opts: pulumi.ResourceOptions,
) -> tuple[aws.rds.Instance, pulumi.Output[str]]:
    key = "POSTGRES_PASSWORD"
    environment = settings.file(service, "environment")
    password = password_input(store.password, service, key, environment, _PASSWORD_RULES[key])
    for key, value in (("POSTGRES_USER", store.user), ("POSTGRES_DB", store.database)):
        _check_name(key, value, service, environment)
    subnets = _private_subnets(aws.rds.SubnetGroup, "db", service, settings, opts)
    major = store.version or DEFAULT_POSTGRES
    guard = _version(store, major, settings, opts, upgrade_restarts=True)
    instance = aws.rds.Instance(
        settings.names(service.name, "db"),
        identifier_prefix=_identifier(settings.prefix, service.name) + "-",
        engine="postgres",
        engine_version=major,
        instance_class=_size(RDS_CLASSES, service, settings.file(service, "deploy")),
        allocated_storage=STORAGE_GB,
        storage_type="gp3",
        storage_encrypted=True,
        db_subnet_group_name=subnets.name,
        vpc_security_group_ids=[security_group.id],
        publicly_accessible=False,
        username=name_input(store.user),
        password=password,
        db_name=name_input(store.database),
        backup_retention_period=BACKUP_DAYS,
        copy_tags_to_snapshot=True,
        deletion_protection=not settings.throwaway,
        skip_final_snapshot=settings.throwaway,
        final_snapshot_identifier=_final_snapshot(service, settings, opts),
        apply_immediately=store.allow_downtime,
        # RDS refuses a new major version without it; StoreVersion refuses that move at
        # preview unless downtime is allowed, so it is set exactly then.
        allow_major_version_upgrade=store.allow_downtime,
        auto_minor_version_upgrade=True,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[guard])),
    )
    return instance, instance.address


def _cache(
    store: ManagedStore,
    service: Service,
    settings: StoreSettings,
    security_group: aws.ec2.SecurityGroup,
    opts: pulumi.ResourceOptions,
) -> tuple[aws.elasticache.ReplicationGroup, pulumi.Output[str]]:
    key = "REDIS_PASSWORD"
    token = (
        password_input(
            store.password,
            service,
            key,
            settings.file(service, "environment"),
            _PASSWORD_RULES[key],
        )
        if store.password
        else None
    )
    version = cache_version(store)
    guard = _version(store, version, settings, opts, upgrade_restarts=False, tls=token is not None)
    subnets = _private_subnets(aws.elasticache.SubnetGroup, "cache", service, settings, opts)
    group = aws.elasticache.ReplicationGroup(
        settings.names(service.name, "cache"),
        replication_group_id=_identifier(settings.prefix, service.name),
        description=f"Berth {settings.prefix}: {service.name}",
        engine=store.engine,
        engine_version=version,
        node_type=_size(CACHE_NODES, service, settings.file(service, "deploy")),
        num_cache_clusters=1,
        port=store.port,
        subnet_group_name=subnets.name,
        security_group_ids=[security_group.id],
        at_rest_encryption_enabled=True,
        # AUTH needs TLS, and ElastiCache refuses AUTH with the "preferred" mode: with a token
        # every client speaks TLS (rediss://); without one, plain redis:// as under Compose.
        # Turning it on or off later is refused at preview (StoreVersion).
        transit_encryption_enabled=token is not None,
        transit_encryption_mode="required"
        if token is not None and int(version.split(".")[0]) >= TRANSIT_MODE_FROM
        else None,
        auth_token=token,
        snapshot_retention_limit=BACKUP_DAYS,
        final_snapshot_identifier=_final_snapshot(service, settings, opts),
        apply_immediately=store.allow_downtime,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[guard])),
    )
    return group, group.primary_endpoint_address


def _version(
    store: ManagedStore,
    version: str,
    settings: StoreSettings,
    opts: pulumi.ResourceOptions,
    *,
    upgrade_restarts: bool,
    tls: bool | None = None,
) -> StoreVersion:
    """What the store runs, remembered: the store waits on it, and its check refuses at
    preview a move the cloud would refuse or replace the store for."""
    props = {
        "store": store.service,
        "marking": f"x-defang-{store.kind}",
        "engine": store.engine,
        "version": version,
        "allowDowntime": store.allow_downtime,
        "upgradeRestarts": upgrade_restarts,
    }
    return StoreVersion(
        settings.names(store.service, "version"),
        props if tls is None else {**props, "tls": tls},
        opts=pulumi.ResourceOptions(parent=opts.parent),
    )


def cache_version(store: ManagedStore) -> str:
    """The ElastiCache engine version for the image's major version: the newest one for an
    image that names none or one Berth does not map (``cache_warnings`` says so)."""
    return CACHE_VERSIONS.get((store.engine, store.version or ""), NEWEST_CACHE[store.engine])


def cache_warnings(project: ComposeProject, stores: Mapping[str, ManagedStore]) -> list[str]:
    """What a user of a managed cache should know: a version it does not run, and clients that
    connect in plain text to a cache that requires TLS (it has an AUTH token)."""
    warnings = []
    for name, store in sorted(stores.items()):
        if store.kind is not StoreKind.REDIS:
            continue
        if store.version and (store.engine, store.version) not in CACHE_VERSIONS:
            warnings.append(
                f"service '{name}': ElastiCache runs no {store.engine} {store.version} that "
                f"Berth maps; it runs {cache_version(store)}"
            )
        if not store.password:
            continue
        plain = re.compile(rf"\bredis://(?:[^@/\s]*@)?{re.escape(name)}(?![\w.-])")
        for service in sorted(project.services.values(), key=lambda s: s.name):
            for variable, value in sorted(service.environment.items()):
                text = revealed(value)
                if isinstance(text, str) and plain.search(text):
                    warnings.append(
                        f"service '{service.name}': {variable} connects to '{name}' with "
                        "redis://, but a cache with an AUTH token accepts TLS only: use "
                        f"rediss://{name}:{store.port}"
                    )
    return warnings


def _dns_name(
    store: ManagedStore,
    address: pulumi.Output[str],
    settings: StoreSettings,
    parent: pulumi.Resource,
) -> tuple[aws.servicediscovery.Service, aws.servicediscovery.Instance]:
    """``<service>.<namespace>`` as a CNAME to the store's endpoint: the compose name resolves
    from every task (their search domain is the namespace)."""
    opts = pulumi.ResourceOptions(parent=parent)
    registry = dns_service(
        settings.names(store.service, "dns"), store.service, settings.namespace, "CNAME", opts
    )
    record = aws.servicediscovery.Instance(
        settings.names(store.service, "dns"),
        instance_id=cloud_slug(store.service) or "store",
        service_id=registry.id,
        attributes={"AWS_INSTANCE_CNAME": address},
        opts=opts,
    )
    return registry, record


def _check_name(key: str, value: Text | None, service: Service, file: str) -> None:
    if isinstance(value, str) and not _RDS_NAME.fullmatch(value):
        raise BerthError(
            f"{key} {value!r} is not a name RDS accepts",
            file=file,
            service=service.name,
            field="environment",
            hint="a letter, then letters, digits or _, at most 63 characters",
        )


def _private_subnets(
    kind: type[SubnetGroup],
    suffix: str,
    service: Service,
    settings: StoreSettings,
    opts: pulumi.ResourceOptions,
) -> SubnetGroup:
    """The project's private subnets, as the subnet group RDS or ElastiCache places a store in;
    its autonamed name from the service's slug: RDS takes no capitals there, ElastiCache no
    underscores or dots (in the project's name either)."""
    name = settings.names(cloud_slug(service.name), suffix)
    if kind is aws.elasticache.SubnetGroup:
        name = hyphenated(name)
    return kind(
        fitted(name, SUBNET_GROUP_NAME),
        subnet_ids=settings.network.private_subnet_ids,
        description=f"Berth {settings.prefix}: {service.name}, private subnets",
        opts=pulumi.ResourceOptions(parent=opts.parent),
    )


def _final_snapshot(
    service: Service, settings: StoreSettings, opts: pulumi.ResourceOptions
) -> pulumi.Output[str] | None:
    """The snapshot a protected store leaves when deleted; none for a throwaway one. A random
    part drawn once per store keeps it unique: a stack destroyed and created again under the
    same name would otherwise fail to delete its store ("snapshot already exists")."""
    if settings.throwaway:
        return None
    suffix = random.RandomId(
        settings.names(service.name, "snapshot"),
        byte_length=4,
        opts=pulumi.ResourceOptions(parent=opts.parent),
    )
    return pulumi.Output.concat(_identifier(settings.prefix, service.name), "-final-", suffix.hex)


def _identifier(prefix: str, service: str) -> str:
    """An RDS or ElastiCache identifier: a letter first, then letters, digits and single
    hyphens, never a hyphen last; at most 30 characters, so that Terraform's 26-character
    suffix (``identifier_prefix``) fits RDS's 63, and a snapshot name fits after it. A hash
    keeps a cut one unique."""
    text = cloud_slug(f"b-{prefix}-{service}")
    if len(text) > 30:
        text = f"{text[:21]}-{digest(text)}"
    return normalised(text, lower=False, start="", end="")  # single hyphens


def _size(sizes: tuple[tuple[str, int, float], ...], service: Service, file: str) -> str:
    """The smallest class with at least the cpus and memory the service asks for (limits or
    reservations, whichever is larger, as for tasks)."""
    request = Request.of(service.resources)
    if (name := request.smallest(sizes, GIB)) is not None:
        return name
    largest, vcpus, gib = sizes[-1]
    raise BerthError(
        f"asks for {request.cpus or 0.0:g} CPUs and {(request.memory or 0) / GIB:g} GiB, more "
        f"than the largest class Berth picks ({largest}: {vcpus} vCPU, {gib:g} GiB)",
        file=file,
        service=service.name,
        field="deploy.resources",
        hint="lower the limit; for a larger store, create it yourself and pass its address",
    )
