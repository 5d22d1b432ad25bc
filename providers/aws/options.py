"""The AWS target's stack settings (``berth:aws*``), parsed once from their raw config strings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from berth.errors import BerthError
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
            log_retention_days=option_int(raw, "awsLogRetentionDays"),
            certificate_arn=option_text(raw, "awsCertificateArn") or None,
            ecr_keep_images=option_int(raw, "awsEcrKeepImages"),
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
                hint="remove awsAssignPublicIp, or deploy into your own VPC (awsVpcId) with a NAT",
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise BerthError(
                f"berth:awsLogRetentionDays {self.log_retention_days} is not a CloudWatch period",
                hint=f"use one of {', '.join(map(str, LOG_RETENTION_DAYS))}",
            )
        if self.ecr_keep_images < 1:
            raise BerthError(
                "berth:awsEcrKeepImages must keep at least one image",
                hint="e.g. `pulumi config set awsEcrKeepImages 10`",
            )
        if self.certificate_arn and not self.certificate_arn.startswith("arn:"):
            raise BerthError(
                f"berth:awsCertificateArn {self.certificate_arn!r} is not an ARN",
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
                f"berth:{key} must be a list of strings, got {text!r}",
                hint=f'e.g. `pulumi config set --path "{key}[0]" subnet-0123`',
            )
        return tuple(value)
    return tuple(part.strip() for part in text.split(",") if part.strip())
