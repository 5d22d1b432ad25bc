"""Named volumes: a persistent disk for a volume one VM uses, a Cloud Storage bucket for
volumes Cloud Run uses, each kept when the stack is destroyed, as named volumes are.

A kept disk or bucket keeps its fixed name, so the next ``pulumi up`` of the stack would fail
to create it again (409 alreadyExists). With ``gcpAdoptVolumes`` it is imported instead:
``import_`` with the ID the provider gives it. The engine imports only when the stack does not
hold a resource of that ID (``isImport`` in pulumi/pulumi's ``step_generator.go``), so a disk
the stack created or adopted earlier is left as it is and the next ``up`` has nothing to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from berth.model import Service
from berth.providers.gcp.iam import Accounts
from berth.providers.gcp.mounts import named, named_sources
from berth.providers.gcp.names import bucket_name, cloud_name
from berth.providers.gcp.options import ADOPT_VOLUMES
from berth.providers.gcp.placement import Kind, Placement
from berth.providers.gcp.shared import Shared


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
    project = shared.project
    volumes: dict[str, Volume] = {}
    for key, volume in project.volumes.items():
        users = [s for s in containers if key in named_sources(s)]
        if not users:
            continue
        if placements[users[0].name].kind is Kind.VM:
            disk = (
                _disk_id(shared, volume.name)
                if volume.external
                else retained_disk(shared, shared.names(key), cloud_name(shared.prefix, key))
            )
            volumes[key] = Volume(disk=disk)
            continue
        bucket = (
            volume.name
            if volume.external
            else _retained_bucket(
                shared, shared.names(key), bucket_name(shared.gcp_project, shared.prefix, key)
            )
        )
        grants = _bucket_grants(shared, accounts, key, bucket, users)
        volumes[key] = Volume(bucket=bucket, grants=grants)
    return volumes


def retained_disk(shared: Shared, name: str, disk_name: str) -> pulumi.Output[str]:
    """A persistent disk (``gcpDiskSizeGb``, pd-balanced) in the stack's zone, kept when the
    stack is destroyed and adopted with ``gcpAdoptVolumes``: a named volume's, or a VM's own
    state disk. Its ``self_link``."""
    return gcp.compute.Disk(
        name,
        name=disk_name,
        project=shared.gcp_project,
        zone=shared.zone,
        size=shared.options.disk_size_gb,
        type="pd-balanced",
        opts=_kept(shared, "disk", _disk_id(shared, disk_name)),
    ).self_link


def _retained_bucket(shared: Shared, name: str, bucket_name: str) -> pulumi.Output[str]:
    """A bucket in the stack's region, kept and adopted as disks are. Its name."""
    return gcp.storage.Bucket(
        name,
        name=bucket_name,
        project=shared.gcp_project,
        location=shared.region,
        uniform_bucket_level_access=True,
        opts=_kept(shared, "bucket", bucket_name),
    ).name


def _disk_id(shared: Shared, disk_name: str) -> str:
    """The disk's ID as the provider sets it (``resource_compute_disk.go``): the ``import_``
    that adopts it must be exactly that, or every ``up`` would import it again."""
    return f"projects/{shared.gcp_project}/zones/{shared.zone}/disks/{disk_name}"


def _kept(shared: Shared, kind: str, cloud_id: str) -> pulumi.ResourceOptions:
    """Options of a disk or bucket that outlives the stack, ``cloud_id`` its provider ID (a
    bucket's is its name), imported with ``gcpAdoptVolumes``; one line says what to do."""
    adopt = shared.options.adopt_volumes
    pulumi.log.info(
        f"{kind} {cloud_id}: {ADOPT_VOLUMES} imports it unless the stack holds it; "
        f"`pulumi config rm {ADOPT_VOLUMES}` once adopted"
        if adopt
        else f"{kind} {cloud_id} outlives `pulumi destroy`: to deploy again after one, "
        f"`pulumi config set {ADOPT_VOLUMES} true` adopts it (409 alreadyExists otherwise)"
    )
    return pulumi.ResourceOptions(
        parent=shared.root,
        retain_on_delete=True,
        depends_on=[shared.apis["compute"], shared.apis["storage"]],
        import_=cloud_id if adopt else None,
    )


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
