"""Named volumes: one EFS file system per project, an access point per volume, protected.

The file system and its access points hold the project's data, so they are created with
``protect=True``: `pulumi destroy` stops at them instead of deleting data (see docs/aws.md).
"""

from __future__ import annotations

from collections.abc import Iterable

import pulumi
import pulumi_aws as aws

from providers.aws.containers import ecs_name
from providers.aws.network import Network, nfs_security_group


class FileSystem:
    """The project's EFS file system, reachable from every subnet the tasks run in."""

    def __init__(
        self,
        name: str,
        volumes: Iterable[str],
        network: Network,
        tasks: aws.ec2.SecurityGroup,
        parent: pulumi.Resource,
    ) -> None:
        opts = pulumi.ResourceOptions(parent=parent)
        kept = pulumi.ResourceOptions(parent=parent, protect=True)
        self.file_system = aws.efs.FileSystem(
            f"{name}-efs", encrypted=True, tags={"Name": f"berth-{name}"}, opts=kept
        )
        security_group = nfs_security_group(name, network, tasks, parent)
        self.mount_targets = [
            aws.efs.MountTarget(
                f"{name}-efs-{index}",
                file_system_id=self.file_system.id,
                subnet_id=subnet,
                security_groups=[security_group.id],
                opts=opts,
            )
            for index, subnet in enumerate(network.subnet_ids)
        ]
        self.access_points = {
            volume: aws.efs.AccessPoint(
                f"{name}-{volume}",
                file_system_id=self.file_system.id,
                root_directory=aws.efs.AccessPointRootDirectoryArgs(
                    path=f"/{volume}",
                    # Docker gives a new volume the owner of the image's directory; EFS cannot,
                    # so the root is open to the project's containers whatever their user.
                    creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                        owner_uid=0, owner_gid=0, permissions="777"
                    ),
                ),
                tags={"Name": f"berth-{name}-{volume}"},
                opts=kept,
            )
            for volume in sorted(set(volumes))
        }

    def task_volume(self, volume: str) -> aws.ecs.TaskDefinitionVolumeArgs:
        """The volume as a task sees it: the access point, over TLS (access points need it)."""
        return aws.ecs.TaskDefinitionVolumeArgs(
            name=ecs_name(volume),
            efs_volume_configuration=aws.ecs.TaskDefinitionVolumeEfsVolumeConfigurationArgs(
                file_system_id=self.file_system.id,
                transit_encryption="ENABLED",
                authorization_config=aws.ecs.TaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfigArgs(
                    access_point_id=self.access_points[volume].id, iam="DISABLED"
                ),
            ),
        )
