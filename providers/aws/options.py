"""The AWS target's stack settings (``berth:aws*``), parsed once from their raw config strings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from berth.errors import BerthError, shown_value
from berth.quantities import MAX_COUNT
from berth.settings import option_bool, option_int, option_text

LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip
"""The retention periods CloudWatch Logs accepts (PutRetentionPolicy)."""


@dataclass(frozen=True)
class AwsOptions:
    """The settings, their defaults from Pulumi.yaml (``berth.settings.declared_defaults``)."""

    vpc_id: str | None
    """An existing VPC; None creates one with two public subnets and no NAT gateway."""
    subnet_ids: tuple[str, ...]
    assign_public_ip: bool
    """Tasks get public IPs so they pull images without a NAT gateway."""
    log_retention_days: int
    certificate_arn: str | None
    """An ACM certificate: the load balancer then serves HTTPS and redirects HTTP to it."""
    ecr_keep_images: int
    throwaway_stores: bool
    """Managed stores without deletion protection, final snapshot or ``protect``: for stacks
    whose data does not matter (dev, previews)."""

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> AwsOptions:
        """Options from ``StackSettings.options``; a BerthError naming the key for a bad value."""
        options = cls(
            vpc_id=option_text(raw, "awsVpcId") or None,
            subnet_ids=_strings(raw, "awsSubnetIds"),
            assign_public_ip=option_bool(raw, "awsAssignPublicIp"),
            log_retention_days=option_int(
                raw, "awsLogRetentionDays", LOG_RETENTION_DAYS[0], LOG_RETENTION_DAYS[-1]
            ),
            certificate_arn=option_text(raw, "awsCertificateArn") or None,
            # ECR's lifecycle countNumber: "positive integers", no top documented; an int32
            ecr_keep_images=option_int(raw, "awsEcrKeepImages", 1, MAX_COUNT),
            throwaway_stores=option_bool(raw, "awsThrowawayStores"),
        )
        options._check()
        return options

    def _check(self) -> None:
        if bool(self.vpc_id) != bool(self.subnet_ids):
            raise BerthError(
                "berth:awsVpcId and berth:awsSubnetIds go together",
                hint="set both to deploy into an existing VPC, or neither to create one",
            )
        if not self.vpc_id and not self.assign_public_ip:
            raise BerthError(
                "berth:awsAssignPublicIp is false, but the VPC Berth creates has no NAT gateway: "
                "tasks could not pull their images",
                hint=lambda terms: (
                    f"remove it ({terms.how_to_remove('awsAssignPublicIp')}), or "
                    "deploy into your own VPC with a NAT gateway (awsVpcId and awsSubnetIds)"
                ),
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise BerthError(
                f"berth:awsLogRetentionDays {self.log_retention_days} is not a CloudWatch period",
                hint=lambda terms: (
                    f"use one of {', '.join(map(str, LOG_RETENTION_DAYS))}, "
                    f"e.g. {terms.how_to_set('awsLogRetentionDays', '30')}"
                ),
            )
        if self.certificate_arn and not self.certificate_arn.startswith("arn:"):
            raise BerthError(
                f"berth:awsCertificateArn {shown_value(self.certificate_arn)} is not an ARN",
                hint="use the ARN of an ACM certificate in the stack's region",
            )


def _strings(raw: Mapping[str, str], key: str) -> tuple[str, ...]:
    """A JSON list (how ``pulumi config set --path`` stores one) or comma-separated values."""
    text = option_text(raw, key)
    if text in ("", "[]"):
        return ()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BerthError(
                f"berth:{key} must be a list of strings, got {shown_value(text)}",
                hint=lambda terms: f"e.g. {terms.how_to_set_list(key, 'subnet-0123')}",
            )
        return tuple(value)
    return tuple(part.strip() for part in text.split(",") if part.strip())
