"""What the gcp provider is configured with: project, region, zone, credentials, number.

Read from the provider itself (``gcp.organizations.get_client_config`` and ``get_project``),
so ``gcp:project``, ``gcp:region`` and the provider's environment variables all count.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_gcp as gcp

from berth.errors import BerthError


@dataclass(frozen=True)
class Provider:
    """What the gcp provider is configured with, and the project's number."""

    project: str
    region: str
    zone: str
    access_token: str
    number: str


def configured_provider() -> Provider:
    """The gcp provider's project, region and credentials (``gcp.organizations``)."""
    client = gcp.organizations.get_client_config()
    number = "" if not client.project else gcp.organizations.get_project(client.project).number
    if not client.project:
        raise BerthError(
            "no Google Cloud project is set for the gcp target",
            hint="`pulumi config set gcp:project <project-id>`",
        )
    return Provider(client.project, client.region, client.zone, client.access_token, number)
