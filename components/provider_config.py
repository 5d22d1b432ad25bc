"""An explicit provider's own settings, for the dynamic providers that must act as it.

Every bridged provider (aws, gcp, docker, ...) answers the method ``terraformConfig`` with its
settings under Terraform's names. The engine finds the provider by the ``urn::id`` of the
method's receiver, so the method is asked once the provider's registration has answered with
its id: a call naming the provider ``urn::`` fails with "unknown provider"
(pulumi/pulumi-aws#5634, pulumi/pulumi-dotnet#658). In a preview that creates the provider, the
engine gives it a placeholder id and registers it under that id too
(``pkg/resource/deploy/providers/registry.go``, ``Create``), so the call is answered. The
targets keep these settings outside every job's definition: a change runs no job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi


def provider_config(provider: pulumi.ProviderResource) -> pulumi.Output[Mapping[str, Any]]:
    """``provider``'s settings under Terraform's names (``cert_path``, ``assume_role``)."""
    token = f"pulumi:providers:{provider.package}/terraformConfig"
    return provider.id.apply(
        lambda _: pulumi.runtime.call(token, {"__self__": provider}, res=provider)
    ).apply(lambda answer: answer["result"] or {})
