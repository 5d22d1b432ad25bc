"""Which DigitalOcean account Berth's own resources (``deployed``, ``secrets``) act as: the one of
the digitalocean provider the Project's children use.

An explicit provider given to the Project counts with its own settings (``terraform_config``,
terraform's names ``token`` and ``api_endpoint``), else the stack's ``digitalocean:token`` and
``digitalocean:apiEndpoint``. They reach the dynamic providers as one secret input, ``access``;
what neither sets is read from the environment in the provider process
(``berth.providers.digitalocean.api.settings``), so a token held in an environment variable never
reaches the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from berth.components.provider_config import provider_config


def from_terraform(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """An explicit provider's token and endpoint, from its terraform configuration."""
    found = config or {}
    names = {"token": "token", "api_endpoint": "apiEndpoint"}
    return {key: found[name] for name, key in names.items() if found.get(name)}


def access(parent: pulumi.Resource) -> pulumi.Output[dict[str, Any]] | None:
    """The token and endpoint of the digitalocean provider ``parent``'s children use, as one
    secret; None when the stack sets neither (the provider process reads the environment)."""
    explicit = parent.get_provider("digitalocean::Provider")
    if explicit is not None:
        return pulumi.Output.secret(provider_config(explicit).apply(from_terraform))
    stack = pulumi.Config("digitalocean")
    found = {"token": stack.get_secret("token"), "apiEndpoint": stack.get("apiEndpoint")}
    given = {key: value for key, value in found.items() if value is not None}
    return pulumi.Output.secret(pulumi.Output.all(**given)) if given else None
