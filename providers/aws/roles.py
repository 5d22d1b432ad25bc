"""The aws target's roles, typed (``berth.components.roles``; docs/aws.md lists them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pulumi_aws as aws
import pulumi_docker_build as docker_build

from berth.components.roles import Roles
from berth.providers.aws.cleanup import TriggeredRuns
from berth.providers.aws.readiness import EcsServiceReady
from berth.providers.aws.run_once import EcsJob


@dataclass(frozen=True)
class Shared(Roles):
    tasks_security_group: aws.ec2.SecurityGroup
    log_group: aws.cloudwatch.LogGroup
    execution_role: aws.iam.Role
    dns_namespace: aws.servicediscovery.PrivateDnsNamespace
    cluster: aws.ecs.Cluster | None = None
    """None with ``awsClusterArn``: the cluster is yours."""
    network: aws.ec2.Vpc | None = None
    """None with ``awsVpcId``: the VPC is yours."""
    load_balancer: aws.lb.LoadBalancer | None = None
    load_balancer_security_group: aws.ec2.SecurityGroup | None = None
    pull_through_cache: aws.ecr.PullThroughCacheRule | None = None
    file_system: aws.efs.FileSystem | None = None


@dataclass(frozen=True)
class ServiceResources(Roles):
    workload: aws.ecs.Service | aws.rds.Instance | aws.elasticache.ReplicationGroup
    """The ECS service; for a managed store, its database or cache."""
    task_definition: aws.ecs.TaskDefinition | None = None
    task_role: aws.iam.Role | None = None
    repository: aws.ecr.Repository | None = None
    image: docker_build.Image | None = None
    cache_repository: aws.ecr.Repository | None = None
    target_group: aws.lb.TargetGroup | None = None
    dns_service: aws.servicediscovery.Service | None = None
    readiness: EcsServiceReady | None = None
    security_group: aws.ec2.SecurityGroup | None = None
    dns_record: aws.servicediscovery.Instance | None = None
    PER_ITEM: ClassVar[tuple[str, ...]] = ("target_group_",)


@dataclass(frozen=True)
class JobResources(Roles):
    run: EcsJob
    task_definition: aws.ecs.TaskDefinition
    task_role: aws.iam.Role
    repository: aws.ecr.Repository | None = None
    image: docker_build.Image | None = None
    cache_repository: aws.ecr.Repository | None = None


@dataclass(frozen=True)
class TriggeredResources(Roles):
    """A job of the top-level ``jobs:``: its task definition, what stops its runs when it
    is deleted (``runs``), and per schedule entry ``schedule_<i>`` (the
    ``aws.scheduler.Schedule``) and ``schedule_role_<i>`` (its role)."""

    definition: aws.ecs.TaskDefinition
    task_role: aws.iam.Role
    runs: TriggeredRuns
    repository: aws.ecr.Repository | None = None
    image: docker_build.Image | None = None
    cache_repository: aws.ecr.Repository | None = None
    PER_ITEM: ClassVar[tuple[str, ...]] = ("schedule_",)
