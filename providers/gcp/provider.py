"""What the gcp provider is configured with: project, region, zone, credentials, number.

Read from the provider itself (``gcp.organizations.get_client_config`` and ``get_project``),
so ``gcp:project``, ``gcp:region`` and the provider's environment variables all count; the
resource names Berth's own resources are given carry that project and region. Their identity
is the stack's ``gcp:`` credential settings (``identity``), resolved as the provider does in
``providers.gcp.identity``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from berth.errors import BerthError
from providers.gcp.identity import KEYS


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


def identity() -> pulumi.Output[dict[str, Any]] | None:
    """The stack's ``gcp:`` identity settings as one secret, for the dynamic providers; None
    when it sets none (then the provider process reads the environment, as the gcp provider
    does). Secret whether or not the stack set them with ``--secret``."""
    config = pulumi.Config("gcp")
    delegates = "impersonateServiceAccountDelegates"
    values: dict[str, Any] = {key: config.get_secret(key) for key in KEYS if key != delegates}
    values[delegates] = config.get_secret_object(delegates)
    given = {key: value for key, value in values.items() if value is not None}
    return pulumi.Output.secret(pulumi.Output.all(**given)) if given else None
