"""What the gcp provider is configured with: project, region, zone, credentials, number.

Read from the provider itself (``gcp.organizations.get_client_config`` and ``get_project``,
called as the Project's children, so an explicit provider given to the Project answers), so
``gcp:project``, ``gcp:region`` and the provider's environment variables all count; the
resource names Berth's own resources are given carry that project and region. Their identity
is the explicit provider's credential settings, else the stack's ``gcp:`` ones (``identity``),
resolved as the provider does in ``berth.providers.gcp.identity``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from berth.components.provider_config import provider_config
from berth.errors import BerthError
from berth.providers.gcp.identity import KEYS, from_terraform


@dataclass(frozen=True)
class Provider:
    """What the gcp provider is configured with, and the project's number."""

    project: str
    region: str
    zone: str
    access_token: str
    number: str


def configured_provider(parent: pulumi.Resource) -> Provider:
    """The project, region and credentials of the gcp provider ``parent``'s children use
    (``gcp.organizations``)."""
    invoke = pulumi.InvokeOptions(parent=parent)
    client = gcp.organizations.get_client_config(opts=invoke)
    if not client.project:
        raise BerthError(
            "no Google Cloud project is set for the gcp target",
            hint="`pulumi config set gcp:project <project-id>`, or `project=` on the gcp "
            "provider given to the Project",
        )
    number = gcp.organizations.get_project(client.project, opts=invoke).number
    return Provider(client.project, client.region, client.zone, client.access_token, number)


def identity(parent: pulumi.Resource) -> pulumi.Output[dict[str, Any]] | None:
    """The identity settings of the gcp provider ``parent``'s children use, as one secret,
    for the dynamic providers: an explicit provider's (``terraform_config``), else the
    stack's ``gcp:`` settings; None when the stack sets none (then the provider process reads
    the environment, as the gcp provider does). Secret whether or not they were set with
    ``--secret``."""
    explicit = parent.get_provider("gcp::Provider")
    if explicit is not None:
        return pulumi.Output.secret(provider_config(explicit).apply(from_terraform))
    stack = pulumi.Config("gcp")
    delegates = "impersonateServiceAccountDelegates"
    values: dict[str, Any] = {key: stack.get_secret(key) for key in KEYS if key != delegates}
    values[delegates] = stack.get_secret_object(delegates)
    given = {key: value for key, value in values.items() if value is not None}
    return pulumi.Output.secret(pulumi.Output.all(**given)) if given else None
