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

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import pulumi
import pulumi_aws as aws

from berth.errors import BerthError
from berth.model import Secret, Service, Text
from berth.sizing import GIB, Request
from berth.stores import ManagedStore, StoreKind, secret_password
from components.names import Names
from providers.aws.discovery import dns_service
from providers.aws.images import slug
from providers.aws.network import Network, tcp_ingress

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
CACHE_VERSIONS = {("redis", "6"): "6.2", ("redis", "7"): "7.1", ("valkey", "7"): "7.2",
                  ("valkey", "8"): "8.0"}  # fmt: skip
"""The ElastiCache engine version for each major version a compose image names."""
STORAGE_GB = 20
BACKUP_DAYS = 7
_RDS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
_RDS_PASSWORD = re.compile(r"[\x21-\x7e]{8,128}")
"""RDS master passwords: 8 to 128 printable ASCII characters, but / \" and @ (checked apart)."""
_CACHE_TOKEN = re.compile(r"[\x21-\x7e]{16,128}")
SubnetGroup = TypeVar("SubnetGroup", aws.rds.SubnetGroup, aws.elasticache.SubnetGroup)


@dataclass(frozen=True)
class StoreSettings:
    """What every store of the stack shares."""

    names: Names
    prefix: str
    network: Network
    tasks: aws.ec2.SecurityGroup
    namespace: aws.servicediscovery.PrivateDnsNamespace
    throwaway: bool
    file: str


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
        settings.names(service.name, "store"),
        vpc_id=settings.network.vpc_id,
        description=f"Berth {settings.prefix}: {service.name}, open to the project's tasks",
        ingress=[tcp_ingress(store.port, security_groups=[settings.tasks.id])],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    kept = pulumi.ResourceOptions(
        parent=parent, depends_on=list(after), protect=not settings.throwaway
    )
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
    password = _secret(store.password, service, settings.file, "POSTGRES_PASSWORD", _RDS_PASSWORD)
    for key, value in (("POSTGRES_USER", store.user), ("POSTGRES_DB", store.database)):
        _check_name(key, value, service, settings.file)
    subnets = _private_subnets(aws.rds.SubnetGroup, "db", service, settings, opts)
    instance = aws.rds.Instance(
        settings.names(service.name, "db"),
        identifier_prefix=_identifier(settings.prefix, service.name),
        engine="postgres",
        engine_version=store.version,
        instance_class=_size(RDS_CLASSES, service, settings.file),
        allocated_storage=STORAGE_GB,
        storage_type="gp3",
        storage_encrypted=True,
        db_subnet_group_name=subnets.name,
        vpc_security_group_ids=[security_group.id],
        publicly_accessible=False,
        username=_input(store.user),
        password=password,
        db_name=_input(store.database),
        backup_retention_period=BACKUP_DAYS,
        copy_tags_to_snapshot=True,
        deletion_protection=not settings.throwaway,
        skip_final_snapshot=settings.throwaway,
        final_snapshot_identifier=_final_snapshot(service, settings),
        apply_immediately=store.allow_downtime,
        auto_minor_version_upgrade=True,
        opts=opts,
    )
    return instance, instance.address


def _cache(
    store: ManagedStore,
    service: Service,
    settings: StoreSettings,
    security_group: aws.ec2.SecurityGroup,
    opts: pulumi.ResourceOptions,
) -> tuple[aws.elasticache.ReplicationGroup, pulumi.Output[str]]:
    token = (
        _secret(store.password, service, settings.file, "REDIS_PASSWORD", _CACHE_TOKEN)
        if store.password
        else None
    )
    subnets = _private_subnets(aws.elasticache.SubnetGroup, "cache", service, settings, opts)
    group = aws.elasticache.ReplicationGroup(
        settings.names(service.name, "cache"),
        replication_group_id=_identifier(settings.prefix, service.name).rstrip("-"),
        description=f"Berth {settings.prefix}: {service.name}",
        engine=store.engine,
        engine_version=CACHE_VERSIONS.get((store.engine, store.version or "")),
        node_type=_size(CACHE_NODES, service, settings.file),
        num_cache_clusters=1,
        port=store.port,
        subnet_group_name=subnets.name,
        security_group_ids=[security_group.id],
        at_rest_encryption_enabled=True,
        # TLS for every client that asks for it (rediss://), while the compose file's plain
        # redis://cache:6379 keeps working; AUTH needs it on.
        transit_encryption_enabled=True,
        transit_encryption_mode="preferred",
        auth_token=token,
        snapshot_retention_limit=BACKUP_DAYS,
        final_snapshot_identifier=_final_snapshot(service, settings),
        apply_immediately=store.allow_downtime,
        opts=opts,
    )
    return group, group.primary_endpoint_address


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
        instance_id=slug(store.service) or "store",
        service_id=registry.id,
        attributes={"AWS_INSTANCE_CNAME": address},
        opts=opts,
    )
    return registry, record


def _secret(
    value: Text | None,
    service: Service,
    file: str,
    key: str,
    allowed: re.Pattern[str],
) -> pulumi.Output[str]:
    """The store's password, from a stack secret, never as plain text in a resource input."""
    password = secret_password(value, service, key, file)
    if not allowed.fullmatch(password) or any(c in password for c in '/"@'):
        raise BerthError(
            f"{key} is not a password the managed store accepts (its value is not shown)",
            file=file,
            service=service.name,
            field="environment",
            hint='use printable ASCII without /, " or @: 8 to 128 characters for postgres, '
            "16 to 128 for redis",
        )
    return pulumi.Output.secret(password)


def _check_name(key: str, value: Text | None, service: Service, file: str) -> None:
    if isinstance(value, str) and not _RDS_NAME.fullmatch(value):
        raise BerthError(
            f"{key} {value!r} is not a name RDS accepts",
            file=file,
            service=service.name,
            field="environment",
            hint="a letter, then letters, digits or _, at most 63 characters",
        )


def _input(value: Text | None) -> pulumi.Input[str] | None:
    """A name for a resource input: a secret stays one."""
    return pulumi.Output.secret(value.value) if isinstance(value, Secret) else value


def _private_subnets(
    kind: type[SubnetGroup],
    suffix: str,
    service: Service,
    settings: StoreSettings,
    opts: pulumi.ResourceOptions,
) -> SubnetGroup:
    """The project's private subnets, as the subnet group RDS or ElastiCache places a store in."""
    return kind(
        settings.names(service.name, suffix),
        subnet_ids=settings.network.private_subnet_ids,
        description=f"Berth {settings.prefix}: {service.name}, private subnets",
        opts=pulumi.ResourceOptions(parent=opts.parent),
    )


def _final_snapshot(service: Service, settings: StoreSettings) -> str | None:
    """The snapshot a protected store leaves when deleted; none for a throwaway one."""
    return None if settings.throwaway else _identifier(settings.prefix, service.name) + "final"


def _identifier(prefix: str, service: str) -> str:
    """An RDS/ElastiCache identifier prefix: starts with a letter, letters, digits and single
    hyphens, short enough for the random suffix Pulumi adds (a hash keeps long ones unique)."""
    text = re.sub(r"-+", "-", slug(f"b-{prefix}-{service}"))
    if len(text) > 30:
        text = f"{text[:21]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return text.rstrip("-") + "-"


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
