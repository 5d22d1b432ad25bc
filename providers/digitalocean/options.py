"""The digitalocean target's stack settings (``berth:digitalocean*``), parsed once.

The API token is the provider's own setting, ``digitalocean:token`` (or DIGITALOCEAN_TOKEN),
read by pulumi-digitalocean, never by Berth.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from berth.errors import BerthError, shown_value
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
INSTANCE_SIZES = (
    "apps-s-1vcpu-0.5gb", "apps-s-1vcpu-1gb-fixed", "apps-s-1vcpu-1gb", "apps-s-1vcpu-2gb",
    "apps-s-2vcpu-4gb", "apps-d-1vcpu-0.5gb", "apps-d-1vcpu-1gb", "apps-d-1vcpu-2gb",
    "apps-d-1vcpu-4gb", "apps-d-2vcpu-4gb", "apps-d-2vcpu-8gb", "apps-d-4vcpu-8gb",
    "apps-d-4vcpu-16gb", "apps-d-8vcpu-32gb",
)  # fmt: skip
"""App Platform's instance sizes (its API, ``instance_size_slug``); it still takes the
deprecated ones of its legacy plans (``LEGACY_INSTANCE_SIZES``)."""
LEGACY_INSTANCE_SIZES = (
    "basic-xxs", "basic-xs", "basic-s", "basic-m", "professional-xs", "professional-s",
    "professional-m", "professional-1l", "professional-l", "professional-xl",
)  # fmt: skip
_REGISTRY_NAME = re.compile(r"[a-z0-9-]{1,63}")
"""A container registry's name (DigitalOcean API, POST /v2/registry: ``name``)."""
_DATABASE_SIZE = re.compile(r"[a-z0-9][a-z0-9_-]*[a-z0-9]")
"""A database node size slug, such as db-s-1vcpu-1gb or so1_5-2vcpu-16gb."""


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
        region = _one_of(options, REGION, sorted(DATACENTERS), "an App Platform region")
        nearest = NEAREST_REGISTRY[region]
        return cls(
            region=region,
            instance_size=_one_of(
                options,
                INSTANCE_SIZE,
                INSTANCE_SIZES,
                "an App Platform instance size",
                also=LEGACY_INSTANCE_SIZES,
            ),
            registry=_slug(
                options,
                REGISTRY,
                _REGISTRY_NAME,
                "up to 63 lowercase letters, digits and dashes",
                "my-registry",
            ),
            database_size=_slug(
                options,
                DATABASE_SIZE,
                _DATABASE_SIZE,
                "lowercase letters, digits, dashes and underscores",
                declared_defaults()[DATABASE_SIZE],
            ),
            registry_region=_one_of(
                options,
                REGISTRY_REGION,
                REGISTRY_REGIONS,
                "a container registry region",
                unset=f"the one nearest the app ({nearest} for {region})",
            )
            or nearest,
            registry_tier=_one_of(
                options,
                REGISTRY_TIER,
                tuple(REGISTRY_TIERS),
                "a container registry plan",
                unset="the smallest that holds the project's images",
                example="basic",
            )
            or None,
            throwaway_stores=option_bool(options, THROWAWAY_STORES),
        )


def _one_of(
    options: Mapping[str, str],
    key: str,
    choices: Sequence[str],
    what: str,
    *,
    also: Sequence[str] = (),
    unset: str = "",
    example: str = "",
) -> str:
    """The setting when DigitalOcean takes it (``choices``, or ``also``, which the hint leaves
    unlisted), or empty when ``unset`` says what that means; else one line with an example."""
    value = option_text(options, key)
    if value in choices or value in also or (unset and not value):
        return value
    example = example or declared_defaults()[key] or choices[0]
    raise BerthError(
        f"berth:{key} must be {what}, got {shown_value(value)}",
        hint=lambda terms: (
            f"one of {', '.join(choices)}, e.g. {terms.how_to_set(key, example)}"
            + (f"; unset, it is {unset}" if unset else "")
        ),
    )


def _slug(
    options: Mapping[str, str], key: str, pattern: re.Pattern[str], rule: str, example: str
) -> str:
    """A name or size DigitalOcean takes (``rule``), or empty for none."""
    value = option_text(options, key)
    if value and not pattern.fullmatch(value):
        raise BerthError(
            f"berth:{key} must be {rule}, got {shown_value(value)}",
            hint=lambda terms: f"e.g. {terms.how_to_set(key, example)}",
        )
    return value
