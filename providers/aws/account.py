"""Where the project deploys: the aws provider's region, account and identity, known at preview.

Everything here comes from the stack config or from provider functions, which the engine
answers during ``pulumi preview`` too, never from a resource's ARN (unknown until the resource
exists): a job's definition holds the region and the registry, and an unknown value there would
show every job as "replace" in every preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from berth.components.provider_config import provider_config
from berth.providers.aws.identity import STRUCTURED_KEYS, identity_config, terraform_identity


@dataclass(frozen=True)
class Account:
    region: pulumi.Output[str]
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    dns_suffix: pulumi.Output[str]
    """``amazonaws.com``, or the partition's own (China, GovCloud)."""
    identity: pulumi.Output[dict[str, Any]]
    """The ``aws:*`` settings the provider authenticates with, as one secret: the run-once
    resources use the same credentials, profile and roles as the program."""
    region_name: str | None = None
    """The region when the program knows it before any provider answers (``aws:region``, or
    the environment, for the default provider): a region it cannot deploy to is refused
    then, before anything is planned."""

    @property
    def registry(self) -> pulumi.Output[str]:
        """The account's private ECR registry in the region."""
        return pulumi.Output.concat(self.account_id, ".dkr.ecr.", self.region, ".", self.dns_suffix)

    def arn(self, service: str, resource: str) -> pulumi.Output[str]:
        """An ARN in this account and region, e.g. ``arn("secretsmanager", "secret:x/*")``."""
        return pulumi.Output.concat(
            "arn:", self.partition, ":", service, ":", self.region, ":", self.account_id, ":",
            resource,
        )  # fmt: skip


def current_account(parent: pulumi.Resource) -> Account:
    """The account, region and identity of the aws provider the project deploys with: the one
    given to the Project (``parent``) if any, else the stack's default provider."""
    invoke = pulumi.InvokeOptions(parent=parent)
    partition = aws.get_partition_output(opts=invoke)
    provider = parent.get_provider("aws:index:Provider")
    # aws:region, else AWS_REGION / AWS_DEFAULT_REGION, as the default provider reads them
    region = None if provider else aws.config.region
    return Account(
        region=pulumi.Output.from_input(region)
        if region
        else aws.get_region_output(opts=invoke).region,
        account_id=aws.get_caller_identity_output(opts=invoke).account_id,
        partition=partition.partition,
        dns_suffix=partition.dns_suffix,
        identity=pulumi.Output.secret(
            _provider_identity(provider) if provider else _stack_identity()
        ),
        region_name=region or None,
    )


def _stack_identity() -> dict[str, Any]:
    """The default provider's identity: the stack's ``aws:*`` config."""
    config = pulumi.Config("aws")
    return identity_config(
        lambda key: config.get_object(key) if key in STRUCTURED_KEYS else config.get(key)
    )


def _provider_identity(provider: pulumi.ProviderResource) -> pulumi.Output[dict[str, Any]]:
    """An explicit provider's identity, from its Terraform config (unknown in a preview that
    creates the provider, which no run-once resource's diff reads)."""
    return provider_config(provider).apply(terraform_identity)
