"""Cloud Map names: every service and managed store is ``<name>.<namespace>``, and every task
searches the namespace, so a compose name resolves as it did under Compose."""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_aws as aws


def dns_service(
    resource_name: str,
    name: str,
    namespace: aws.servicediscovery.PrivateDnsNamespace,
    record: Literal["A", "CNAME"],
    opts: pulumi.ResourceOptions,
) -> aws.servicediscovery.Service:
    """``<name>.<namespace>``: ``A`` answers with every healthy task of a service (a short TTL,
    as tasks come and go; ECS registers them), ``CNAME`` with a store's endpoint (one instance
    the store's resources register)."""
    tasks = record == "A"
    return aws.servicediscovery.Service(
        resource_name,
        name=name,
        dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
            namespace_id=namespace.id,
            dns_records=[
                aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(
                    ttl=10 if tasks else 60, type=record
                )
            ],
            routing_policy="MULTIVALUE" if tasks else "WEIGHTED",
        ),
        # ECS reports its tasks' health to Cloud Map. An empty block is never stored, so every
        # `pulumi up` would replace the service (hashicorp/terraform-provider-aws#44285); the
        # 1 Cloud Map stores whatever is sent matches. (The typed dict, not the Args class,
        # whose deprecation notice would print once per service.)
        health_check_custom_config=aws.servicediscovery.ServiceHealthCheckCustomConfigArgsDict(
            failure_threshold=1
        )
        if tasks
        else None,
        force_destroy=True,
        opts=opts,
    )
