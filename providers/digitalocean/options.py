"""The digitalocean target's settings (``berth:digitalocean*``): typed, their defaults in code,
parsed once from the stack config; the registry may be another resource's output.

The API token is the provider's own setting, ``digitalocean:token`` (or DIGITALOCEAN_TOKEN),
read by pulumi-digitalocean, never by Berth.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from berth.errors import BerthError, shown_value
from berth.settings import TargetOptions, config_text, setting, setting_of

REGION = "digitaloceanRegion"
REGISTRY = "digitaloceanRegistry"
REGISTRY_TIER = "digitaloceanRegistryTier"

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
class DigitalOceanOptions(TargetOptions):
    """The digitalocean target's settings; ``DigitalOceanOptions()`` is every default."""

    region: str = setting(
        REGION,
        "nyc",
        "App Platform region of the app (nyc, ams, fra, lon, sfo, sgp, tor, blr, syd, atl); its "
        "database clusters go to the region's datacenter.",
    )
    instance_size: str = setting(
        "digitaloceanInstanceSize",
        "apps-s-1vcpu-1gb",
        "App Platform instance size of every service, worker and job.",
    )
    """One App Platform instance size for every service, worker and job."""
    registry: pulumi.Input[str] | None = setting(
        REGISTRY,
        None,
        "The account's DigitalOcean Container Registry, for built images; empty creates one "
        "named after the app (an account has one registry).",
    )
    """The name of the account's DigitalOcean Container Registry (an account has one), or of
    a ``ContainerRegistry`` resource's output; None creates one named after the project when a
    service is built."""
    registry_region: str = setting(
        "digitaloceanRegistryRegion",
        "",
        "Where the registry Berth creates goes (nyc3, sfo3, sfo2, ams3, sgp1, fra1, blr1, syd1); "
        "empty is the one nearest the app's region (lon ams3, tor and atl nyc3).",
    )
    """Where the registry Berth creates goes; empty: the one nearest the app (``registry_at``)."""
    registry_tier: str | None = setting(
        REGISTRY_TIER,
        None,
        "Plan of the container registry (starter, basic, professional), checked against the "
        "repositories the project pushes; empty picks basic, or professional beyond 5 built "
        "images.",
    )
    """The registry's plan: the setting, or None for the smallest that holds the project's
    repositories (``target.registry_tier``)."""
    database_size: str = setting(
        "digitaloceanDatabaseSize",
        "db-s-1vcpu-1gb",
        "Node size of the managed database clusters (x-defang-postgres, redis).",
    )
    """Node size of the managed database clusters."""
    build_cache: bool = setting(
        "digitaloceanBuildCache",
        True,
        "Keep a BuildKit layer cache (tag buildcache) beside each image in the container "
        "registry, so a fresh machine rebuilds only changed layers; false builds without it.",
    )
    throwaway_stores: bool = setting(
        "digitaloceanThrowawayStores",
        False,
        "Managed database clusters without protect, so pulumi destroy deletes them and their "
        "data (dev stacks only).",
    )
    """Managed database clusters without ``protect``: for stacks whose data does not matter."""

    @property
    def datacenter(self) -> str:
        return DATACENTERS[self.region]

    @property
    def registry_at(self) -> str:
        """Where the registry Berth creates goes: the setting, else the one nearest the app."""
        return self.registry_region or NEAREST_REGISTRY[self.region]

    def check(self) -> None:
        self._one_of("region", sorted(DATACENTERS), "an App Platform region")
        self._one_of(
            "instance_size",
            INSTANCE_SIZES,
            "an App Platform instance size",
            also=LEGACY_INSTANCE_SIZES,
        )
        if isinstance(self.registry, str):
            _slug(
                REGISTRY,
                self.registry,
                _REGISTRY_NAME,
                "up to 63 lowercase letters, digits and dashes",
                "my-registry",
            )
        _slug(
            "digitaloceanDatabaseSize",
            self.database_size,
            _DATABASE_SIZE,
            "lowercase letters, digits, dashes and underscores",
            config_text(DigitalOceanOptions.database_size),
        )
        nearest = NEAREST_REGISTRY[self.region]
        self._one_of(
            "registry_region",
            REGISTRY_REGIONS,
            "a container registry region",
            unset=f"the one nearest the app ({nearest} for {self.region})",
        )
        self._one_of(
            "registry_tier",
            tuple(REGISTRY_TIERS),
            "a container registry plan",
            unset="the smallest that holds the project's images",
            example="basic",
        )

    def _one_of(
        self,
        name: str,
        choices: Sequence[str],
        what: str,
        *,
        also: Sequence[str] = (),
        unset: str = "",
        example: str = "",
    ) -> None:
        """The field ``name`` when DigitalOcean takes it (``choices``, or ``also``, which the
        hint leaves unlisted), or empty when ``unset`` says what that means; else one line with
        an example."""
        value = getattr(self, name)
        if value in choices or value in also or (unset and not value):
            return
        field, setting_ = setting_of(type(self), name)
        key = setting_.key
        example = example or config_text(field.default) or choices[0]
        raise BerthError(
            f"berth:{key} must be {what}, got {shown_value(value)}",
            hint=lambda terms: (
                f"one of {', '.join(choices)}, e.g. {terms.how_to_set(key, example)}"
                + (f"; unset, it is {unset}" if unset else "")
            ),
        )


def _slug(key: str, value: str, pattern: re.Pattern[str], rule: str, example: str) -> None:
    """A name or size DigitalOcean takes (``rule``), or empty for none."""
    if value and not pattern.fullmatch(value):
        raise BerthError(
            f"berth:{key} must be {rule}, got {shown_value(value)}",
            hint=lambda terms: f"e.g. {terms.how_to_set(key, example)}",
        )
