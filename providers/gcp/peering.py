"""Private services access: a range of the project's network for Google's services, and the
Service Networking connection that peers it, where the managed stores (``stores``) get their
private IPs."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from berth.providers.gcp.names import cloud_name
from berth.providers.gcp.stores import StoreSettings

SERVICES_RANGE_PREFIX = 20
"""The range reserved for Google's services: Cloud SQL takes a /24 per region, Memorystore a
/29, so a /20 leaves room for many stores."""
SERVICE_NETWORKING = "servicenetworking.googleapis.com"
SERVICE_AGENT_ROLE = "roles/servicenetworking.serviceAgent"


def private_services_access(
    settings: StoreSettings, after: Sequence[pulumi.Resource], parent: pulumi.Resource
) -> dict[str, pulumi.Resource]:
    """A range of the project's network for Google's services (``services_range``), peered
    to it (``services_peering``): where the stores get their private IPs. Its deletion
    removes the peering even while Cloud SQL still holds the range (``REMOVE_PEERING``), so a
    destroyed stack leaves a deletable network."""
    kept = settings.kept(after, parent)
    names = settings.names
    agent = _service_agent(settings, after, parent)
    addresses = gcp.compute.GlobalAddress(
        names("services-range"),
        name=cloud_name(settings.prefix, "services"),
        project=settings.project,
        purpose="VPC_PEERING",
        address_type="INTERNAL",
        prefix_length=SERVICES_RANGE_PREFIX,
        network=settings.network.id,
        opts=pulumi.ResourceOptions.merge(kept, names.aliased("services-range")),
    )
    peering = gcp.servicenetworking.Connection(
        names("services-peering"),
        network=settings.network.id,
        service=SERVICE_NETWORKING,
        reserved_peering_ranges=[addresses.name],
        deletion_policy="REMOVE_PEERING",
        opts=pulumi.ResourceOptions.merge(
            settings.kept([*after, agent], parent), names.aliased("services-peering")
        ),
    )
    return {"services_range": addresses, "services_peering": peering}


def _service_agent(
    settings: StoreSettings, after: Sequence[pulumi.Resource], parent: pulumi.Resource
) -> pulumi.Resource:
    """Service Networking's service agent and its role, which the peering needs: right after
    the API is enabled the agent may not exist, and the peering fails now and then with "Error
    code 7 ... Required 'compute.globalAddresses.list' permission" (terraform-provider-google
    #14720; fixed by creating the identity first, cloud-foundation-fabric#1399). The role stays
    on destroy: Google grants it to the agent itself, and the project's other peerings need it.
    The member is the agent's known address: the API may answer without it (as the provider's
    ``ServiceIdentity`` create code warns)."""
    identity = gcp.projects.ServiceIdentity(
        settings.names("services-agent"),
        project=settings.project,
        service=SERVICE_NETWORKING,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
    )
    return gcp.projects.IAMMember(
        settings.names("services-agent-role"),
        project=settings.project,
        role=SERVICE_AGENT_ROLE,
        member=pulumi.Output.concat(
            "serviceAccount:service-",
            settings.project_number,
            "@service-networking.iam.gserviceaccount.com",
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[identity], retain_on_delete=True),
    )
