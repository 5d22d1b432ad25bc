"""The AWS target's settings (``berth:aws*``): typed, their defaults in code, parsed once from
the stack config; the VPC, subnets, cluster and certificate may be another resource's outputs
(bring your own, or Berth creates them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from berth.errors import BerthError, shown_value
from berth.quantities import MAX_COUNT
from berth.settings import TargetOptions, setting

LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip
"""The retention periods CloudWatch Logs accepts (PutRetentionPolicy)."""


@dataclass(frozen=True)
class AwsOptions(TargetOptions):
    """The aws target's settings; ``AwsOptions()`` is every default."""

    vpc_id: pulumi.Input[str] | None = setting(
        "awsVpcId",
        None,
        "An existing VPC to deploy into (needs awsSubnetIds); empty creates a new one.",
    )
    """An existing VPC; None creates one with two public subnets and no NAT gateway."""
    subnet_ids: Sequence[pulumi.Input[str]] = setting(
        "awsSubnetIds",
        (),
        "Subnets for tasks, the load balancer and EFS - two or more, in distinct zones.",
        example="subnet-0123",
    )
    """The subnets of ``vpc_id``: a list (its length must be known), each id may be an output."""
    assign_public_ip: bool = setting(
        "awsAssignPublicIp",
        True,
        "Give tasks public IPs; false only with your own VPC that has a NAT gateway.",
    )
    """Tasks get public IPs so they pull images without a NAT gateway."""
    log_retention_days: int = setting(
        "awsLogRetentionDays",
        30,
        "CloudWatch Logs retention, in days.",
        low=LOG_RETENTION_DAYS[0],
        high=LOG_RETENTION_DAYS[-1],
    )
    certificate_arn: pulumi.Input[str] | None = setting(
        "awsCertificateArn",
        None,
        "An ACM certificate - the load balancer then serves HTTPS on 443 and redirects HTTP.",
    )
    """An ACM certificate: the load balancer then serves HTTPS and redirects HTTP to it."""
    cluster_arn: pulumi.Input[str] | None = setting(
        "awsClusterArn",
        None,
        "An existing ECS cluster to run the services and jobs in; empty creates one.",
    )
    """An existing ECS cluster; None creates one for the project."""
    ecr_keep_images: int = setting(
        "awsEcrKeepImages",
        10,
        "How many images each ECR repository keeps.",
        # ECR's lifecycle countNumber: "positive integers", no top documented; an int32
        low=1,
        high=MAX_COUNT,
    )
    build_cache: bool = setting(
        "awsBuildCache",
        True,
        "Keep a BuildKit layer cache (tag buildcache) in each service's ECR repository, so a "
        "fresh machine rebuilds only changed layers; false builds without it.",
    )
    throwaway_stores: bool = setting(
        "awsThrowawayStores",
        False,
        "Managed databases and caches without deletion protection or final snapshot "
        "(dev stacks only).",
    )
    """Managed stores without deletion protection, final snapshot or ``protect``: for stacks
    whose data does not matter (dev, previews)."""

    def check(self) -> None:
        if (self.vpc_id is None) != (not self.subnet_ids):
            raise BerthError(
                "berth:awsVpcId and berth:awsSubnetIds go together",
                hint="set both to deploy into an existing VPC, or neither to create one",
            )
        if self.vpc_id is None and not self.assign_public_ip:
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
        _arn("awsCertificateArn", self.certificate_arn, "an ACM certificate")
        _arn("awsClusterArn", self.cluster_arn, "an ECS cluster")


def _arn(key: str, value: pulumi.Input[str] | None, what: str) -> None:
    """An ARN given as a plain string is one; an output is the resource's own, not checked."""
    if isinstance(value, str) and not value.startswith("arn:"):
        raise BerthError(
            f"berth:{key} {shown_value(value)} is not an ARN",
            hint=f"use the ARN of {what} in the stack's region",
        )
