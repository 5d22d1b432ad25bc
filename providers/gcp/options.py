"""The GCP target's settings (``berth:gcp*``): typed, their defaults in code, parsed once from
the stack config.

The project and region are the gcp provider's own settings (``gcp:project``, ``gcp:region``),
read back from the provider (``gcp.organizations.get_client_config``), not from here.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import pulumi

from berth.errors import BerthError, shown_value
from berth.quantities import MAX_COUNT
from berth.settings import TargetOptions, config_text, setting

DELETION_PROTECTION = "gcpDeletionProtection"
PUBLIC_SERVICES = "gcpPublicServices"
PUBLIC_NON_HTTP_PORTS = "gcpPublicNonHttpPorts"
INVOKER_IAM_DISABLED = "gcpInvokerIamDisabled"
SUBNET_RANGE = "gcpSubnetRange"
NETWORK = "gcpNetwork"
ADOPT_VOLUMES = "gcpAdoptVolumes"
SCHEDULER_REGION = "gcpSchedulerRegion"


@dataclass(frozen=True)
class GcpOptions(TargetOptions):
    """The gcp target's settings; ``GcpOptions()`` is every default."""

    deletion_protection: bool = setting(
        DELETION_PROTECTION,
        True,
        "deletion_protection of Cloud Run services, jobs and worker pools; false on dev stacks.",
    )
    """Cloud Run services, jobs and worker pools refuse deletion: the safe default for prod."""
    public_services: bool = setting(
        PUBLIC_SERVICES,
        True,
        "Published ports are public - allUsers may invoke Cloud Run services; VM services get "
        "an external address for their HTTP ports.",
    )
    """Published ports are reachable from the internet (allUsers invoker, external VM address)."""
    public_non_http_ports: bool = setting(
        PUBLIC_NON_HTTP_PORTS,
        False,
        "Also open published ports that are not HTTP (databases, caches, UDP) of VM services to "
        "the internet; false keeps them internal.",
    )
    """Published ports that are not HTTP (databases, caches, UDP: ``berth.ports``) are opened to
    the internet too; off by default, so a database is never public by accident."""
    invoker_iam_disabled: bool = setting(
        INVOKER_IAM_DISABLED,
        False,
        "Public Cloud Run services skip the invoker IAM check instead of granting allUsers (for "
        "organisations with Domain Restricted Sharing).",
    )
    """Public Cloud Run services skip the invoker IAM check instead of granting ``allUsers``,
    which organisations with Domain Restricted Sharing refuse."""
    machine_type: str | None = setting(
        "gcpMachineType",
        None,
        "One machine type for every VM service; empty fits an e2 type to deploy.resources.",
    )
    """One machine type for every VM; None picks the smallest e2 type fitting deploy.resources."""
    disk_size_gb: int = setting(
        "gcpDiskSizeGb",
        10,
        "Size in GB (10 to 65536) of the persistent disk of each named volume on a VM.",
        # a pd-balanced disk's sizes (Compute Engine: 10 GB to 64 TB)
        low=10,
        high=65536,
    )
    zone: str | None = setting(
        "gcpZone",
        None,
        "Zone of the VMs and their disks; empty uses the provider's zone, else <region>-b.",
    )
    """None uses the provider's zone, else ``<region>-b``."""
    scheduler_region: str | None = setting(
        SCHEDULER_REGION,
        None,
        "Region of the Cloud Scheduler jobs of scheduled jobs, for a stack region without "
        "Cloud Scheduler (a 403 on cloudscheduler.jobs.create); empty uses the stack's region.",
    )
    """Cloud Scheduler is offered in fewer regions than Cloud Run (not in europe-west4 or
    europe-west9, say), where creating a scheduler job fails with a misleading 403 "lacks IAM
    permission cloudscheduler.jobs.create". Its jobs may live in another region: the
    ``jobs/<job>:run`` URL they call names the Cloud Run job's own region. None: the stack's."""
    subnet_range: str = setting(
        SUBNET_RANGE, "10.20.0.0/20", "The project subnet, a private IPv4 range of /26 or larger."
    )
    """Room for Compute Engine VMs and Direct VPC egress (Cloud Run asks for /26 at least)."""
    network: pulumi.Input[str] | None = setting(
        NETWORK,
        None,
        "An existing VPC network (projects/<project>/global/networks/<name>) to make the "
        "project's subnet in; empty creates one.",
    )
    """An existing VPC network's id, or a ``gcp.compute.Network``'s ``id`` output; None
    creates one. Berth adds its subnet, firewall rules, router and NAT (and, with managed
    stores, the private services range and peering) to it."""
    registry_keep_versions: int = setting(
        "gcpRegistryKeepVersions",
        10,
        "How many versions of each image the Artifact Registry repositories keep (1 or more); "
        "older ones are deleted.",
        # Artifact Registry's keepCount is an int32 ("Minimum number of versions to keep")
        low=1,
        high=MAX_COUNT,
    )
    """Versions of each image the Artifact Registry repositories keep; older ones are deleted,
    as ECR's lifecycle policy does on aws."""
    build_cache: bool = setting(
        "gcpBuildCache",
        True,
        "Keep a BuildKit layer cache (tag buildcache) beside each image in Artifact Registry, so "
        "a fresh machine rebuilds only changed layers; false builds without it.",
    )
    throwaway_stores: bool = setting(
        "gcpThrowawayStores",
        False,
        "Managed databases and caches (Cloud SQL, Memorystore) without deletion protection or "
        "final backup (dev stacks only).",
    )
    """Managed stores without deletion protection, final backup or ``protect``: for stacks
    whose data does not matter (dev, previews)."""
    adopt_volumes: bool = setting(
        ADOPT_VOLUMES,
        False,
        "Import the disks and buckets of named volumes that an earlier pulumi destroy kept, "
        "instead of creating them (set for the first pulumi up after a destroy).",
    )
    """The disks and buckets of named volumes, kept by ``pulumi destroy`` under their fixed
    names, are imported by the next ``pulumi up`` instead of created (which fails: 409
    alreadyExists)."""

    def check(self) -> None:
        if self.invoker_iam_disabled and not self.public_services:
            raise BerthError(
                f"berth:{INVOKER_IAM_DISABLED} makes public services reachable without IAM, "
                f"but berth:{PUBLIC_SERVICES} is false: no service is public",
                hint=lambda terms: (
                    f"{terms.how_to_set(INVOKER_IAM_DISABLED, 'false')}, or "
                    f"make services public with {terms.how_to_set(PUBLIC_SERVICES, 'true')}"
                ),
            )
        _matching("gcpMachineType", self.machine_type, r"[a-z][a-z0-9-]*", "e2-standard-2")
        _matching("gcpZone", self.zone, r"[a-z]+-[a-z]+\d+-[a-z]", "europe-west1-b")
        _matching(SCHEDULER_REGION, self.scheduler_region, r"[a-z]+-[a-z]+\d+", "us-central1")
        # as the range is written in the cloud (10.20.0.0/20), whichever way it was given
        object.__setattr__(self, "subnet_range", _subnet(self.subnet_range))
        if isinstance(self.network, str) and not _NETWORK_ID.fullmatch(self.network):
            raise BerthError(
                f"berth:{NETWORK} {shown_value(self.network)} is not a VPC network's id",
                hint=lambda terms: (
                    "e.g. "
                    + terms.how_to_set(NETWORK, "projects/my-project/global/networks/my-network")
                ),
            )


_NETWORK_ID = re.compile(
    r"(https://www\.googleapis\.com/compute/v1/)?projects/[^/]+/global/networks/[^/]+"
)
"""A network's id, or its self link (what ``gcp.compute.Network.get`` takes)."""


def _matching(key: str, value: str | None, pattern: str, example: str) -> None:
    if value is not None and not re.fullmatch(pattern, value):
        raise BerthError(
            f"berth:{key} {shown_value(value)} is not a valid value",
            hint=lambda terms: f"e.g. {terms.how_to_set(key, example)}",
        )


def _subnet(text: str) -> str:
    """The range as the cloud writes it; a BerthError for one the project subnet cannot be."""
    try:
        network = ipaddress.ip_network(text)
    except ValueError:
        network = None
    if network is None or network.version != 4 or not network.is_private or network.prefixlen > 26:
        example = config_text(GcpOptions.subnet_range)
        raise BerthError(
            f"berth:{SUBNET_RANGE} {shown_value(text)} is not a private IPv4 range of /26 or "
            "larger",
            hint=lambda terms: f"e.g. {terms.how_to_set(SUBNET_RANGE, example)}",
        )
    return str(network)
