"""Named volumes: a persistent disk for a volume one VM uses, a Cloud Storage bucket for
volumes Cloud Run uses, each kept when the stack is destroyed, as named volumes are."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from berth.model import Service
from providers.gcp.iam import Accounts
from providers.gcp.mounts import named, named_sources
from providers.gcp.names import cloud_name
from providers.gcp.placement import Kind, Placement
from providers.gcp.shared import Shared


@dataclass(frozen=True)
class Volume:
    """Where a named volume lives: a bucket (Cloud Run) or a persistent disk (one VM)."""

    bucket: pulumi.Input[str] | None = None
    disk: pulumi.Input[str] | None = None
    grants: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    """A bucket's grant to each service that mounts it, by service name."""


def create_volumes(
    shared: Shared,
    containers: Sequence[Service],
    placements: Mapping[str, Placement],
    accounts: Accounts,
) -> dict[str, Volume]:
    """The project's named volumes that a service mounts, by compose key (the checks made
    sure each is either one VM's or Cloud Run's)."""
    keep = pulumi.ResourceOptions(
        parent=shared.root,
        retain_on_delete=True,
        depends_on=[shared.apis["compute"], shared.apis["storage"]],
    )
    project = shared.project
    volumes: dict[str, Volume] = {}
    for key, volume in project.volumes.items():
        users = [s for s in containers if key in named_sources(s)]
        if not users:
            continue
        if placements[users[0].name].kind is Kind.VM:
            disk = (
                f"projects/{shared.gcp_project}/zones/{shared.zone}/disks/{volume.name}"
                if volume.external
                else gcp.compute.Disk(
                    shared.names(key),
                    name=cloud_name(shared.prefix, key),
                    project=shared.gcp_project,
                    zone=shared.zone,
                    size=shared.options.disk_size_gb,
                    type="pd-balanced",
                    opts=keep,
                ).self_link
            )
            volumes[key] = Volume(disk=disk)
            continue
        bucket = (
            volume.name
            if volume.external
            else gcp.storage.Bucket(
                shared.names(key),
                name=cloud_name(shared.gcp_project, shared.prefix, key),
                project=shared.gcp_project,
                location=shared.region,
                uniform_bucket_level_access=True,
                opts=keep,
            ).name
        )
        grants = _bucket_grants(shared, accounts, key, bucket, users)
        volumes[key] = Volume(bucket=bucket, grants=grants)
    return volumes


def _bucket_grants(
    shared: Shared,
    accounts: Accounts,
    key: str,
    bucket: pulumi.Input[str],
    users: list[Service],
) -> dict[str, pulumi.Resource]:
    """Each service that mounts the volume may use its bucket: read only when it mounts
    it read only everywhere."""
    grants: dict[str, pulumi.Resource] = {}
    for user in users:
        mounts = [m for m in user.mounts if named(m) and m.source == key]
        writes = any(not m.read_only for m in mounts)
        grants[user.name] = gcp.storage.BucketIAMMember(
            shared.names(key, user.name),
            bucket=bucket,
            role="roles/storage.objectUser" if writes else "roles/storage.objectViewer",
            member=accounts[user.name].member,
            opts=pulumi.ResourceOptions(parent=shared.root),
        )
    return grants
