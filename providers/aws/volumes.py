"""Named volumes: one EFS file system per project, an access point per volume, protected.

The file system and its access points hold the project's data, so they are created with
``protect=True``: `pulumi destroy` stops at them instead of deleting data (see docs/aws.md).

Mounts use IAM authorization: each service's task role may mount the access points of the
volumes it mounts (writing only those it mounts read-write), and the file system's policy
denies every mount without TLS. Reaching the NFS port is not enough: a compromised service
cannot mount another's volume.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from berth.components.names import Names, fitted
from berth.errors import BerthError
from berth.model import Service
from berth.names import shortened
from berth.providers.aws.containers import FILES_DIR, FILES_VOLUME, ecs_name
from berth.providers.aws.iam import POLICY_NAME_LIMIT
from berth.providers.aws.names import ACCESS_POINT_PATH, name_tag
from berth.providers.aws.network import Network, nfs_security_group
from berth.sources import Sources

READ = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientRootAccess"]
"""Mounting read-only, as root too: a root that cannot read the files another service's user
owns (postgres's 0700 data directory) would see less than Docker shows it."""
INLINE_POLICIES_LIMIT = 10_240
"""IAM: the aggregate size of a role's inline policies, whitespace not counted."""
MAX_VOLUMES_PER_ROLE = 80
"""An access point's ARN takes about 100 characters in the grant (90 and quotes, in the
longest partition and region): 80 of them, and the rest of the policy, stay within the limit."""
CREATION_TOKEN = 64
"""EFS CreateFileSystem's creation token, which pulumi-aws makes of the resource's name."""


class FileSystem:
    """The project's EFS file system, reachable from every subnet the tasks run in."""

    def __init__(
        self,
        names: Names,
        *,
        mounts: Mapping[str, Mapping[str, bool]],
        roles: Mapping[str, aws.iam.Role],
        network: Network,
        tasks: aws.ec2.SecurityGroup,
        sources: Sources,
        parent: pulumi.Resource,
    ) -> None:
        """``mounts``: each volume, with the services that mount it and whether each mounts
        it read-only; ``roles``: each service's task role."""
        opts = pulumi.ResourceOptions(parent=parent)
        kept = pulumi.ResourceOptions(parent=parent, protect=True)
        self.file_system = aws.efs.FileSystem(
            fitted(names("efs"), CREATION_TOKEN),
            encrypted=True,
            tags=name_tag(f"berth-{names.project}"),
            opts=kept,
        )
        security_group = nfs_security_group(names, network, tasks, parent)
        self.mount_targets = [
            aws.efs.MountTarget(
                names("efs", str(index)),
                file_system_id=self.file_system.id,
                subnet_id=subnet,
                security_groups=[security_group.id],
                opts=opts,
            )
            for index, subnet in enumerate(network.subnet_ids)
        ]
        self.access_points = {
            volume: aws.efs.AccessPoint(
                names(volume),
                file_system_id=self.file_system.id,
                root_directory=aws.efs.AccessPointRootDirectoryArgs(
                    path=f"/{shortened(volume, ACCESS_POINT_PATH - 1)}",
                    # Docker gives a new volume the owner of the image's directory; EFS cannot,
                    # so the root is open to the project's containers whatever their user.
                    creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                        owner_uid=0, owner_gid=0, permissions="777"
                    ),
                ),
                tags=name_tag(f"berth-{names(volume)}"),
                opts=kept,
            )
            for volume in sorted(mounts)
        }
        self.policy = aws.efs.FileSystemPolicy(
            names("efs"),
            file_system_id=self.file_system.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "*",
                            "Resource": self.file_system.arn,
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            ),
            opts=opts,
        )
        mounted: dict[str, dict[str, bool]] = {}
        for volume, mounted_by in mounts.items():
            for service, read_only in mounted_by.items():
                mounted.setdefault(service, {})[volume] = read_only
        self.grants = {
            service: aws.iam.RolePolicy(
                fitted(names(service, "volumes"), POLICY_NAME_LIMIT),
                role=roles[service].id,
                policy=pulumi.Output.json_dumps(self._grants(service, mounted[service], sources)),
                opts=opts,
            )
            for service in sorted(mounted)
        }
        """Each service's task role may mount the access points of its volumes, and no other:
        in the role, not in the file system policy, whose 20,000 characters would hold only
        about 40 volumes' grants."""

    def ready(self, service: str) -> list[pulumi.Resource]:
        """What a task of ``service`` that mounts a volume waits on."""
        return [*self.mount_targets, self.policy, self.grants[service]]

    def _grants(
        self, service: str, volumes: Mapping[str, bool], sources: Sources
    ) -> dict[str, Any]:
        """``service`` may mount its volumes' access points, over TLS (the file system's policy
        denies any other way), writing those it mounts read-write; as root too, as Docker
        lets a container's root own its volume (postgres chowns its data directory)."""
        if len(volumes) > MAX_VOLUMES_PER_ROLE:
            raise BerthError(
                f"it mounts {len(volumes)} named volumes; the grants for more than "
                f"{MAX_VOLUMES_PER_ROLE} would pass IAM's {INLINE_POLICIES_LIMIT:,}-character "
                "limit for a role's inline policies",
                file=sources.origin(service, "volumes"),
                service=service,
                field="volumes",
                hint="mount fewer volumes: several directories of one volume need one mount",
            )
        statements = []
        for writes, actions in ((False, READ), (True, [*READ, "elasticfilesystem:ClientWrite"])):
            chosen = sorted(v for v, read_only in volumes.items() if read_only is not writes)
            if chosen:
                statements.append(
                    {
                        "Effect": "Allow",
                        "Action": actions,
                        "Resource": self.file_system.arn,
                        "Condition": {
                            "StringEquals": {
                                "elasticfilesystem:AccessPointArn": [
                                    self.access_points[volume].arn for volume in chosen
                                ]
                            }
                        },
                    }
                )
        return {"Version": "2012-10-17", "Statement": statements}

    def task_volume(self, volume: str) -> aws.ecs.TaskDefinitionVolumeArgs:
        """The volume as a task sees it: the access point, over TLS (access points need it)."""
        return aws.ecs.TaskDefinitionVolumeArgs(
            name=ecs_name(volume),
            efs_volume_configuration=aws.ecs.TaskDefinitionVolumeEfsVolumeConfigurationArgs(
                file_system_id=self.file_system.id,
                transit_encryption="ENABLED",
                authorization_config=aws.ecs.TaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfigArgs(
                    access_point_id=self.access_points[volume].id, iam="ENABLED"
                ),
            ),
        )


def task_mounts(
    service: Service, storage: FileSystem | None, warn: Callable[[str], None]
) -> tuple[
    list[dict[str, Any]], list[aws.ecs.TaskDefinitionVolumeArgs], dict[str, pulumi.Input[str]]
]:
    """A task's mount points, its volumes, and the access point of each named volume. Sorted,
    as these lists are order-free: reordering compose's volumes changes no definition."""
    mount_points: list[dict[str, Any]] = []
    volumes: list[aws.ecs.TaskDefinitionVolumeArgs] = []
    access_points: dict[str, pulumi.Input[str]] = {}
    scratch = {
        m.target
        for m in service.mounts
        if m.type == "tmpfs" or (m.type == "volume" and not m.source)
    }
    for mount in service.mounts:
        if mount.type == "bind":
            warn(
                f"bind mount {mount.source}:{mount.target} is ignored: a Fargate task cannot "
                "reach files on the machine running pulumi up; copy them into the image "
                "(build) or use a named volume"
            )
        elif mount.type == "volume" and mount.source and storage:
            if mount.source not in access_points:
                volumes.append(storage.task_volume(mount.source))
                access_points[mount.source] = storage.access_points[mount.source].id
            mount_points.append(
                {
                    "sourceVolume": ecs_name(mount.source),
                    "containerPath": mount.target,
                    "readOnly": mount.read_only,
                }
            )
    for index, target in enumerate(sorted(scratch | set(service.container.tmpfs_options))):
        name = f"scratch-{index}"
        volumes.append(aws.ecs.TaskDefinitionVolumeArgs(name=name))
        mount_points.append({"sourceVolume": name, "containerPath": target, "readOnly": False})
    if service.files:
        volumes.append(aws.ecs.TaskDefinitionVolumeArgs(name=FILES_VOLUME))
        mount_points.append(
            {"sourceVolume": FILES_VOLUME, "containerPath": FILES_DIR, "readOnly": True}
        )
    mount_points.sort(key=lambda point: point["containerPath"])
    volumes.sort(key=lambda volume: str(volume.name))
    return mount_points, volumes, access_points
