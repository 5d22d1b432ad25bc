"""The digitalocean target's stack settings (``berth:digitalocean*``), parsed once.

The API token is the provider's own setting, ``digitalocean:token`` (or DIGITALOCEAN_TOKEN),
read by pulumi-digitalocean, never by Berth.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from berth.errors import BerthError
from berth.settings import declared_defaults, option_text

REGION = "digitaloceanRegion"
INSTANCE_SIZE = "digitaloceanInstanceSize"
REGISTRY = "digitaloceanRegistry"
DATABASE_SIZE = "digitaloceanDatabaseSize"
KEYS = frozenset({REGION, INSTANCE_SIZE, REGISTRY, DATABASE_SIZE})

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
        return cls(
            region=region,
            instance_size=values[INSTANCE_SIZE],
            registry=values[REGISTRY],
            database_size=values[DATABASE_SIZE],
        )
