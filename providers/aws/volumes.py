"""Named volumes: one EFS file system per project, an access point per volume, protected.

The file system and its access points hold the project's data, so they are created with
``protect=True``: `pulumi destroy` stops at them instead of deleting data (see docs/aws.md).

Mounts use IAM authorization: the file system's policy lets each access point be mounted only
by the task roles of the services that mount that volume (read-only when they all mount it
read-only), and only over TLS. Reaching the NFS port is not enough: a compromised service
cannot mount another's volume.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from berth.model import Service
from components.names import Names
from providers.aws.containers import FILES_DIR, FILES_VOLUME, ecs_name
from providers.aws.network import Network, nfs_security_group


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
        parent: pulumi.Resource,
    ) -> None:
        """``mounts``: each volume, with the services that mount it and whether each mounts
        it read-only; ``roles``: each service's task role."""
        self.roles = roles
        opts = pulumi.ResourceOptions(parent=parent)
        kept = pulumi.ResourceOptions(parent=parent, protect=True)
        self.file_system = aws.efs.FileSystem(
            names("efs"), encrypted=True, tags={"Name": f"berth-{names.project}"}, opts=kept
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
                    path=f"/{volume}",
                    # Docker gives a new volume the owner of the image's directory; EFS cannot,
                    # so the root is open to the project's containers whatever their user.
                    creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                        owner_uid=0, owner_gid=0, permissions="777"
                    ),
                ),
                tags={"Name": f"berth-{names(volume)}"},
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
                        *(self._grant(volume, mounts[volume]) for volume in sorted(mounts)),
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "*",
                            "Resource": self.file_system.arn,
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                    ],
                }
            ),
            opts=opts,
        )
        self.ready: list[pulumi.Resource] = [*self.mount_targets, self.policy]
        """What a task that mounts a volume waits on."""

    def _grant(self, volume: str, mounted_by: Mapping[str, bool]) -> dict[str, object]:
        """The task roles that mount ``volume`` may mount its access point, and only that one;
        as root too, as Docker lets a container's root own its volume (postgres chowns its
        data directory)."""
        writes = not all(mounted_by.values())
        actions = ["elasticfilesystem:ClientMount"]
        if writes:
            actions += ["elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"]
        return {
            "Effect": "Allow",
            "Principal": {"AWS": [self.roles[service].arn for service in sorted(mounted_by)]},
            "Action": actions,
            "Resource": self.file_system.arn,
            "Condition": {
                "StringEquals": {"elasticfilesystem:AccessPointArn": self.access_points[volume].arn}
            },
        }

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
    for index, target in enumerate(sorted(scratch | set(service.container.tmpfs))):
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
