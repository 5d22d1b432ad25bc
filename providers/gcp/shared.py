"""What every resource of a gcp deployment is made with: the project, region and zone, the
name prefix, and the Google APIs a resource waits on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from berth.components.names import Names
from berth.model import ComposeProject
from berth.providers.gcp.names import CLOUD_RUN_NAME, cloud_name
from berth.providers.gcp.options import GcpOptions

APIS = ("artifactregistry", "compute", "iam", "run", "secretmanager", "storage")


@dataclass(frozen=True)
class Shared:
    """Where and under which names the project deploys, and its enabled APIs."""

    project: ComposeProject
    names: Names
    """Logical names of the Project's children: each begins with the Project's name."""
    options: GcpOptions
    gcp_project: str
    region: str
    zone: str
    prefix: str
    """Cloud names start with it: the compose project and the stack."""
    root: pulumi.Resource
    """The parent of the resources the whole project shares."""
    apis: Mapping[str, gcp.projects.Service]

    def after_api(
        self, api: str, parent: pulumi.Resource, *after: pulumi.Resource
    ) -> pulumi.ResourceOptions:
        """Options of a resource that needs ``api`` enabled (and ``after`` created) first."""
        return pulumi.ResourceOptions(parent=parent, depends_on=[*after, self.apis[api]])

    def cloud_run_name(self, service: str) -> str:
        return cloud_name(self.prefix, service, limit=CLOUD_RUN_NAME)

    def at_root(self, old_name: str, *after: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options of a shared resource once named ``old_name`` (now ``names(old_name)``):
        parented to the Project, aliased to its old name, created after ``after``."""
        return at_root(self.names, self.root, old_name, *after)


def at_root(
    names: Names, root: pulumi.Resource, old_name: str, *after: pulumi.Resource
) -> pulumi.ResourceOptions:
    """See ``Shared.at_root``; the APIs are enabled before a ``Shared`` exists."""
    opts = pulumi.ResourceOptions(parent=root, depends_on=list(after) or None)
    return pulumi.ResourceOptions.merge(opts, names.aliased(old_name))


def enable_apis(
    gcp_project: str, extra: Iterable[str], names: Names, parent: pulumi.Resource
) -> dict[str, gcp.projects.Service]:
    """The Google APIs the project uses (``extra``: the managed stores'), left enabled when
    the stack is destroyed."""
    return {
        api: gcp.projects.Service(
            names(f"{api}-api"),
            service=f"{api}.googleapis.com",
            project=gcp_project,
            disable_on_destroy=False,
            opts=at_root(names, parent, f"{api}-api"),
        )
        for api in (*APIS, *extra)
    }
