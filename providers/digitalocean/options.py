"""The digitalocean target's stack settings (``berth:digitalocean*``), parsed once.

The API token is the provider's own setting, ``digitalocean:token`` (or DIGITALOCEAN_TOKEN),
read by pulumi-digitalocean, never by Berth.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from berth.errors import BerthError
from berth.settings import declared_defaults, option_bool, option_text

REGION = "digitaloceanRegion"
INSTANCE_SIZE = "digitaloceanInstanceSize"
REGISTRY = "digitaloceanRegistry"
DATABASE_SIZE = "digitaloceanDatabaseSize"
REGISTRY_REGION = "digitaloceanRegistryRegion"
REGISTRY_TIER = "digitaloceanRegistryTier"
THROWAWAY_STORES = "digitaloceanThrowawayStores"
KEYS = frozenset(
    {
        REGION,
        INSTANCE_SIZE,
        REGISTRY,
        DATABASE_SIZE,
        REGISTRY_REGION,
        REGISTRY_TIER,
        THROWAWAY_STORES,
    }
)

DATACENTERS = {
    "ams": "ams3",
    "atl": "atl1",
    "blr": "blr1",
    "fra": "fra1",
    "lon": "lon1",
    "nyc": "nyc3",
    "sfo": "sfo3",
    "sgp": "sgp1",
    "syd": "syd1",
    "tor": "tor1",
}
"""App Platform regions, and the datacenter where the project's database clusters go (managed
databases take a datacenter slug, apps a region)."""
REGISTRY_REGIONS = ("nyc3", "sfo3", "sfo2", "ams3", "sgp1", "fra1", "blr1", "syd1")
"""Where a container registry can be (DigitalOcean API, POST /v2/registries: ``region``)."""
NEAREST_REGISTRY = {
    "ams": "ams3",
    "atl": "nyc3",
    "blr": "blr1",
    "fra": "fra1",
    "lon": "ams3",
    "nyc": "nyc3",
    "sfo": "sfo3",
    "sgp": "sgp1",
    "syd": "syd1",
    "tor": "nyc3",
}
"""The registry region nearest to each App Platform region: its own datacenter where there is
a registry; London's is Amsterdam (about 360 km, Frankfurt 640), Toronto's and Atlanta's New
York (about 550 and 1,200 km; San Francisco is over 3,400 km from both)."""
BASIC_REPOSITORIES = 5
REGISTRY_TIERS: dict[str, int | None] = {
    "starter": 1,
    "basic": BASIC_REPOSITORIES,
    "professional": None,
}
"""DigitalOcean Container Registry plans and the repositories each holds (None: unlimited);
starter also holds only 500 MiB, with no extra storage, basic 5 GiB, professional 100 GiB."""
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*[a-z0-9]")


@dataclass(frozen=True)
class DigitalOceanOptions:
    """The settings, their defaults from Pulumi.yaml (``berth.settings.declared_defaults``)."""

    region: str
    instance_size: str
    """One App Platform instance size for every service, worker and job."""
    registry: str
    """The account's DigitalOcean Container Registry (an account has one); empty creates one
    named after the project when a service is built."""
    database_size: str
    """Node size of the managed database clusters."""
    registry_region: str
    """Where the registry Berth creates goes: the setting, else the one nearest the app."""
    registry_tier: str | None
    """The registry's plan: the setting, or None for the smallest that holds the project's
    repositories (``target.registry_tier``)."""
    throwaway_stores: bool
    """Managed database clusters without ``protect``: for stacks whose data does not matter."""

    @property
    def datacenter(self) -> str:
        return DATACENTERS[self.region]

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> DigitalOceanOptions:
        defaults = declared_defaults()
        region = option_text(options, REGION)
        if region not in DATACENTERS:
            raise BerthError(
                f"berth:{REGION} must be an App Platform region, got {region!r}",
                hint=f"one of {', '.join(sorted(DATACENTERS))}, e.g. "
                f"`pulumi config set {REGION} {defaults[REGION]}`",
            )
        values = {
            key: option_text(options, key) for key in (INSTANCE_SIZE, REGISTRY, DATABASE_SIZE)
        }
        for key, value in values.items():
            if value and not _SLUG.fullmatch(value):
                raise BerthError(
                    f"berth:{key} must be a DigitalOcean slug (lowercase letters, digits and "
                    f"dashes), got {value!r}",
                    hint=f"`pulumi config set {key} {defaults[key] or 'name'}`",
                )
        registry_region = option_text(options, REGISTRY_REGION) or NEAREST_REGISTRY[region]
        if registry_region not in REGISTRY_REGIONS:
            raise BerthError(
                f"berth:{REGISTRY_REGION} must be a container registry region, got "
                f"{registry_region!r}",
                hint=f"one of {', '.join(REGISTRY_REGIONS)}, or leave it empty for the one "
                f"nearest the app ({NEAREST_REGISTRY[region]} for {region})",
            )
        tier = option_text(options, REGISTRY_TIER)
        if tier and tier not in REGISTRY_TIERS:
            raise BerthError(
                f"berth:{REGISTRY_TIER} must be a container registry plan, got {tier!r}",
                hint=f"one of {', '.join(REGISTRY_TIERS)}, or leave it empty for the smallest "
                "that holds the project's images",
            )
        return cls(
            region=region,
            instance_size=values[INSTANCE_SIZE],
            registry=values[REGISTRY],
            database_size=values[DATABASE_SIZE],
            registry_region=registry_region,
            registry_tier=tier or None,
            throwaway_stores=option_bool(options, THROWAWAY_STORES),
        )
