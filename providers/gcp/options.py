"""The GCP target's stack settings (``berth:gcp*``), parsed once from their raw config strings.

The project and region are the gcp provider's own settings (``gcp:project``, ``gcp:region``),
read back from the provider (``gcp.organizations.get_client_config``), not from here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from berth.errors import BerthError, shown_value
from berth.quantities import MAX_COUNT
from berth.settings import declared_defaults, option_bool, option_int, option_text

DELETION_PROTECTION = "gcpDeletionProtection"
PUBLIC_SERVICES = "gcpPublicServices"
PUBLIC_NON_HTTP_PORTS = "gcpPublicNonHttpPorts"
INVOKER_IAM_DISABLED = "gcpInvokerIamDisabled"
MACHINE_TYPE = "gcpMachineType"
DISK_SIZE_GB = "gcpDiskSizeGb"
ZONE = "gcpZone"
SUBNET_RANGE = "gcpSubnetRange"
REGISTRY_KEEP_VERSIONS = "gcpRegistryKeepVersions"
THROWAWAY_STORES = "gcpThrowawayStores"
ADOPT_VOLUMES = "gcpAdoptVolumes"
KEYS = frozenset(
    {
        DELETION_PROTECTION,
        PUBLIC_SERVICES,
        PUBLIC_NON_HTTP_PORTS,
        INVOKER_IAM_DISABLED,
        MACHINE_TYPE,
        DISK_SIZE_GB,
        ZONE,
        SUBNET_RANGE,
        REGISTRY_KEEP_VERSIONS,
        THROWAWAY_STORES,
        ADOPT_VOLUMES,
    }
)

_MIN_DISK_GB = 10
_MAX_DISK_GB = 65536
"""A pd-balanced disk's sizes (Compute Engine: 10 GB to 64 TB)."""


@dataclass(frozen=True)
class GcpOptions:
    """The settings, their defaults from Pulumi.yaml (``berth.settings.declared_defaults``)."""

    deletion_protection: bool
    """Cloud Run services, jobs and worker pools refuse deletion: the safe default for prod."""
    public_services: bool
    """Published ports are reachable from the internet (allUsers invoker, external VM address)."""
    public_non_http_ports: bool
    """Published ports that are not HTTP (databases, caches, UDP: ``berth.ports``) are opened to
    the internet too; off by default, so a database is never public by accident."""
    invoker_iam_disabled: bool
    """Public Cloud Run services skip the invoker IAM check instead of granting ``allUsers``,
    which organisations with Domain Restricted Sharing refuse."""
    machine_type: str | None
    """One machine type for every VM; None picks the smallest e2 type fitting deploy.resources."""
    disk_size_gb: int
    zone: str | None
    """None uses the provider's zone, else ``<region>-b``."""
    subnet_range: str
    """Room for Compute Engine VMs and Direct VPC egress (Cloud Run asks for /26 at least)."""
    registry_keep_versions: int
    """Versions of each image the Artifact Registry repositories keep; older ones are deleted,
    as ECR's lifecycle policy does on aws."""
    throwaway_stores: bool
    """Managed stores without deletion protection, final backup or ``protect``: for stacks
    whose data does not matter (dev, previews)."""
    adopt_volumes: bool
    """The disks and buckets of named volumes, kept by ``pulumi destroy`` under their fixed
    names, are imported by the next ``pulumi up`` instead of created (which fails: 409
    alreadyExists)."""

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> GcpOptions:
        """Options from ``StackSettings.options``; a BerthError naming the key for a bad value."""
        public_services = option_bool(raw, PUBLIC_SERVICES)
        invoker_iam_disabled = option_bool(raw, INVOKER_IAM_DISABLED)
        if invoker_iam_disabled and not public_services:
            raise BerthError(
                f"berth:{INVOKER_IAM_DISABLED} makes public services reachable without IAM, "
                f"but berth:{PUBLIC_SERVICES} is false: no service is public",
                hint=lambda terms: (
                    f"{terms.how_to_set(INVOKER_IAM_DISABLED, 'false')}, or "
                    f"make services public with {terms.how_to_set(PUBLIC_SERVICES, 'true')}"
                ),
            )
        return cls(
            deletion_protection=option_bool(raw, DELETION_PROTECTION),
            public_services=public_services,
            invoker_iam_disabled=invoker_iam_disabled,
            public_non_http_ports=option_bool(raw, PUBLIC_NON_HTTP_PORTS),
            machine_type=_matching(raw, MACHINE_TYPE, r"[a-z][a-z0-9-]*", "e2-standard-2"),
            disk_size_gb=option_int(raw, DISK_SIZE_GB, _MIN_DISK_GB, _MAX_DISK_GB),
            zone=_matching(raw, ZONE, r"[a-z]+-[a-z]+\d+-[a-z]", "europe-west1-b"),
            subnet_range=_subnet(raw),
            # Artifact Registry's keepCount is an int32 ("Minimum number of versions to keep")
            registry_keep_versions=option_int(raw, REGISTRY_KEEP_VERSIONS, 1, MAX_COUNT),
            throwaway_stores=option_bool(raw, THROWAWAY_STORES),
            adopt_volumes=option_bool(raw, ADOPT_VOLUMES),
        )


def _matching(raw: Mapping[str, str], key: str, pattern: str, example: str) -> str | None:
    text = option_text(raw, key)
    if not text:
        return None
    if not re.fullmatch(pattern, text):
        raise BerthError(
            f"berth:{key} {shown_value(text)} is not a valid value",
            hint=lambda terms: f"e.g. {terms.how_to_set(key, example)}",
        )
    return text


def _subnet(raw: Mapping[str, str]) -> str:
    text = option_text(raw, SUBNET_RANGE)
    try:
        network = ipaddress.ip_network(text)
    except ValueError:
        network = None
    if network is None or network.version != 4 or not network.is_private or network.prefixlen > 26:
        example = declared_defaults()[SUBNET_RANGE]
        raise BerthError(
            f"berth:{SUBNET_RANGE} {shown_value(text)} is not a private IPv4 range of /26 or "
            "larger",
            hint=lambda terms: f"e.g. {terms.how_to_set(SUBNET_RANGE, example)}",
        )
    return str(network)
