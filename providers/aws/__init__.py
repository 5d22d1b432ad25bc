"""The ``aws`` target: the project on ECS Fargate, each one-off job a run-once ECS task, each
job of ``jobs:`` a task definition run by ``berth run`` (``run_job``) and its schedules."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import pulumi

from berth.ai_models import Platform
from berth.components.models import ModelGateway
from berth.components.offline_images import image_outputs, inputs_digest, tag_digest
from berth.components.run_once import OFFLINE_RESULT
from berth.components.target import Sequenced
from berth.errors import BerthError
from berth.fields import Support, ignored, model_settings, refused, supported
from berth.model import ComposeProject
from berth.providers.aws.options import AwsOptions
from berth.stores import MANAGED_NOTE

if TYPE_CHECKING:
    from berth.components.target import Target, TargetArgs

NAME = "aws"
ORDERING = Sequenced()
MODEL_PLATFORM = Platform.BEDROCK
MODEL_GATEWAY: ModelGateway | None = ModelGateway(Platform.BEDROCK, "bedrock")
MANAGES_STORES = True

_SIZE = (
    "the nearest valid Fargate cpu/memory pair (docs/aws.md); above Fargate's maximum is an error"
)
_BY_NAME = "every task shares the project's VPC and security group and resolves the others by name"
_NOT_ON_FARGATE = "Fargate does not support it (AWS: task definition differences for Fargate)"
FIELD_SUPPORT: dict[str, Support] = {
    "models": supported(
        "a LiteLLM gateway service per model (named after it, port 4000, private) in front of "
        "Amazon Bedrock, whose task role may invoke only that model; its users get <NAME>_URL "
        "and <NAME>_MODEL (or endpoint_var/model_var) and start after it (docs/models.md)"
    ),
    "x-defang-llm": supported(
        "its task role may invoke the Bedrock models of docs/models.md's table; a LiteLLM image "
        "that names no port listens on 4000"
    ),
    **model_settings("Amazon Bedrock"),
    "build": supported(
        "built with BuildKit, pushed to the service's ECR repository with its layer cache, run "
        "by digest"
    ),
    "command": supported("no secrets: ECS stores it in plain text"),
    "entrypoint": supported("no secrets: ECS stores it in plain text"),
    "environment": supported("secrets go to Secrets Manager and reach the task as ECS secrets"),
    "ports": supported("ingress HTTP ports behind the project's load balancer; others internal"),
    "expose": supported(_BY_NAME),
    "healthcheck": supported(
        "container health check; an HTTP check also checks the load balancer's targets"
    ),
    "restart": supported(
        '"no" makes a one-off job, run once as an ECS task; ECS keeps services running'
    ),
    "volumes": supported(
        "named volumes: EFS access points, protected; bind mounts ignored with a warning"
    ),
    "secrets": supported(
        "files in /run/secrets, from Secrets Manager, written by an init container"
    ),
    "configs": refused("Fargate cannot place files in a container; bake the file into the image"),
    "working_dir": supported(),
    "user": supported(),
    "labels": supported("Docker labels of the container"),
    "platform": supported("linux/amd64 (default) or linux/arm64"),
    "build.tags": ignored("the image is pushed to the service's ECR repository only"),
    "build.platforms": supported(
        "each listed platform is built into the pushed image; the list must hold the one the "
        "service runs (platform:, else linux/amd64)"
    ),
    "deploy": supported("replicas and resources"),
    "deploy.replicas": supported("the ECS service's desired count"),
    "scale": supported("the ECS service's desired count"),
    "deploy.resources": supported(_SIZE),
    "cpus": supported(_SIZE),
    "mem_limit": supported(_SIZE),
    "mem_reservation": supported(_SIZE),
    "networks": ignored(_BY_NAME),
    "links": supported(_BY_NAME),
    "external_links": ignored(_BY_NAME),
    "network_mode": ignored("Fargate tasks always use awsvpc networking"),
    "hostname": ignored("ECS cannot set the hostname of an awsvpc task"),
    "container_name": ignored("ECS names the container after the service"),
    "logging": ignored("every container logs to the project's CloudWatch log group (awslogs)"),
    "cap_add": supported("SYS_PTRACE only: Fargate allows no other; others dropped with a warning"),
    "cap_drop": supported(),
    "privileged": refused("Fargate never runs privileged containers"),
    "devices": refused("Fargate tasks have no devices"),
    "gpus": refused("Fargate tasks have no GPUs"),
    "init": supported(),
    "read_only": supported(),
    "tty": supported(),
    "stdin_open": supported(),
    "sysctls": supported("namespaced parameters; ECS applies them to the whole task"),
    "ulimits": supported("nofile only: Fargate sets the others; others dropped with a warning"),
    "stop_grace_period": supported("at most 120 seconds on Fargate"),
    "tmpfs": supported("task storage (disk), as Fargate has no tmpfs"),
    "stop_signal": ignored("ECS stops containers with SIGTERM"),
    "extra_hosts": ignored(_NOT_ON_FARGATE),
    "dns": ignored(_NOT_ON_FARGATE),
    "dns_search": ignored(_NOT_ON_FARGATE),
    "dns_opt": ignored(_NOT_ON_FARGATE),
    "domainname": ignored(_NOT_ON_FARGATE),
    "shm_size": ignored(_NOT_ON_FARGATE),
    "security_opt": ignored(_NOT_ON_FARGATE),
    "ipc": ignored(_NOT_ON_FARGATE),
    "pid": ignored(_NOT_ON_FARGATE),
    "group_add": ignored("ECS has no supplementary groups setting"),
    "runtime": ignored("Fargate runs every container with its own runtime"),
    "deploy.restart_policy": ignored(
        "ECS replaces stopped tasks of a service; use restart for jobs"
    ),
    "deploy.update_config": ignored("rolling deployments with a circuit breaker and rollback"),
    "deploy.rollback_config": ignored("rolling deployments with a circuit breaker and rollback"),
    "deploy.placement": ignored("Fargate places tasks across the subnets' availability zones"),
    "deploy.mode": ignored("replicated services only"),
    "deploy.endpoint_mode": ignored("services resolve through Cloud Map DNS"),
    "deploy.labels": ignored("no service-level labels on ECS"),
    "x-defang-postgres": supported(
        "RDS for PostgreSQL in private subnets: version from the image tag, size from "
        "deploy.resources, encrypted, protected; a major upgrade only with allow-downtime; "
        f"still reached as <service>:5432; {MANAGED_NOTE}"
    ),
    "x-defang-redis": supported(
        "ElastiCache (Valkey or Redis OSS) in private subnets, encrypted; with REDIS_PASSWORD "
        "as AUTH token, TLS only (rediss://); still reached as <service>:6379; "
        + MANAGED_NOTE
    ),
    "jobs.triggers.manual": supported(
        "`berth run JOB` starts the job's ECS task definition once (RunTask), streams its "
        "CloudWatch log and exits with its exit code; nothing runs it during pulumi up"
    ),
    "jobs.triggers.schedule": supported(
        "an EventBridge Scheduler schedule per entry, with its own IAM role, starting the "
        "task with RunTask, never retried; a cron restricting both day of month and day of "
        "week is refused (AWS takes one of the two)"
    ),
    "jobs.triggers.schedule.timezone": supported("the schedule's time zone; UTC when unset"),
    "jobs.triggers.schedule.concurrency": ignored(
        "EventBridge Scheduler starts every fire: a run that outlasts the interval overlaps "
        "the next (a warning names the job)"
    ),
    "jobs.triggers.schedule.missed_fires": ignored(
        "EventBridge Scheduler replays no fire: one whose RunTask fails is dropped (a warning "
        "names the job)"
    ),
    **dict.fromkeys(
        (
            "cpu_count", "cpu_percent", "cpu_period", "cpu_quota", "cpu_rt_period",
            "cpu_rt_runtime", "cpu_shares", "cpuset", "blkio_config", "mem_swappiness",
            "memswap_limit", "oom_kill_disable", "oom_score_adj", "pids_limit",
        ),
        ignored("Fargate sizes and isolates the task itself; use deploy.resources"),
    ),
    **dict.fromkeys(
        (
            "cgroup", "cgroup_parent", "device_cgroup_rules", "isolation", "mac_address",
            "storage_opt", "userns_mode", "uts", "credential_spec",
        ),
        ignored(_NOT_ON_FARGATE),
    ),
}  # fmt: skip


Options = AwsOptions
"""The target's typed settings, for ``ProjectArgs.options``."""


def create(project: ComposeProject, args: TargetArgs, parent: pulumi.Resource) -> Target:
    from berth.providers.aws.target import AwsTarget  # noqa: PLC0415 - pulumi_aws loads slowly

    return AwsTarget(project, args, parent)


def run_job(run_with: Mapping[str, Any], args: Sequence[str], log: TextIO) -> int:
    """``berth run``: the job's task started once on Fargate as its run-once resource starts
    one (the cluster, subnets, security group and identity its ``run_with`` recorded), ``args``
    replacing its command when given, its CloudWatch log streamed to ``log``; the container's
    exit code. Ctrl-C stops the task (StopTask), then raises again."""
    # boto3 only where a job runs: a plan never loads it.
    from berth.components.run_once import JobFailed  # noqa: PLC0415
    from berth.providers.aws import attached, run_once  # noqa: PLC0415

    run = run_once.JobRun.from_props(run_with)
    if args:
        run = dataclasses.replace(run, command=tuple(args))
    ecs, logs = run_once.job_clients(run_with)
    try:
        return attached.run_attached(run, ecs, logs, log)
    except JobFailed as failed:
        raise BerthError(str(failed)) from None


PLAN_REGION = "eu-west-1"
PLAN_ACCOUNT = "123456789012"
_ARNS = {
    "aws:ecs/cluster:Cluster": "ecs:cluster/{id}",
    "aws:ecs/taskDefinition:TaskDefinition": "ecs:task-definition/{id}:1",
    "aws:cloudwatch/logGroup:LogGroup": "logs:log-group:{id}",
    "aws:iam/role:Role": "iam:role/{id}",
    "aws:ecr/repository:Repository": "ecr:repository/{id}",
    "aws:secretsmanager/secret:Secret": "secretsmanager:secret:{id}",
    "aws:lb/loadBalancer:LoadBalancer": "elasticloadbalancing:loadbalancer/app/{id}",
    "aws:lb/targetGroup:TargetGroup": "elasticloadbalancing:targetgroup/{id}",
    "aws:lb/listener:Listener": "elasticloadbalancing:listener/app/{id}",
    "aws:servicediscovery/service:Service": "servicediscovery:service/{id}",
    "aws:ec2/vpc:Vpc": "ec2:vpc/{id}",
    "aws:efs/fileSystem:FileSystem": "elasticfilesystem:file-system/{id}",
    "aws:efs/accessPoint:AccessPoint": "elasticfilesystem:access-point/{id}",
}
"""The ARN of each resource type the program reads one of: service, then resource."""
_AUTONAMED = {
    "aws:ecs/service:Service": "service",
    "aws:rds/subnetGroup:SubnetGroup": "db-subnets",
    "aws:elasticache/subnetGroup:SubnetGroup": "cache-subnets",
}
"""Resources named by Pulumi's autonaming, whose name the program reads."""


def plan_outputs(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What the AWS resources report once created, for the offline plan: derived from their
    inputs, so two plans of the same project are identical."""
    if (image := image_outputs(type_, inputs)) is not None:
        return image
    digest = inputs_digest(inputs)
    short = digest[:12]
    outputs: dict[str, Any] = {}
    if type_ in _ARNS:
        service, resource = _ARNS[type_].split(":", 1)
        region = "" if service == "iam" else PLAN_REGION
        name = (
            inputs.get("name")
            or inputs.get("family")
            or (inputs.get("tags") or {}).get("Name")
            or short
        )
        outputs["arn"] = f"arn:aws:{service}:{region}:{PLAN_ACCOUNT}:{resource.format(id=name)}"
    if type_ == "aws:ecr/repository:Repository":
        outputs["repositoryUrl"] = (
            f"{PLAN_ACCOUNT}.dkr.ecr.{PLAN_REGION}.amazonaws.com/{inputs.get('name')}"
        )
        outputs["registryId"] = PLAN_ACCOUNT
    elif type_ == "aws:lb/loadBalancer:LoadBalancer":
        outputs["dnsName"] = f"berth-{short}.{PLAN_REGION}.elb.amazonaws.com"
    elif type_ in _AUTONAMED:
        outputs["name"] = inputs.get("name") or f"{_AUTONAMED[type_]}-{short}"
    elif type_ == "aws:rds/instance:Instance":
        # From the identifier alone, as AWS derives it: an update (a new password) keeps it.
        prefix = str(inputs.get("identifierPrefix"))
        outputs["address"] = f"{prefix}{_digest(prefix)[:12]}.rds.{PLAN_REGION}.aws"
    elif type_ == "aws:elasticache/replicationGroup:ReplicationGroup":
        group = str(inputs.get("replicationGroupId"))
        outputs["primaryEndpointAddress"] = (
            f"master.{group}.{_digest(group)[:6]}.cache.{PLAN_REGION}.aws"
        )
    elif type_ == "aws:secretsmanager/secretVersion:SecretVersion":
        # From the secret's id alone: a digest of the value would print a hash of a secret.
        outputs["versionId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, str(inputs.get("secretId"))))
    elif type_ == "random:index/randomId:RandomId":
        outputs["hex"] = short[: 2 * int(inputs.get("byteLength", 4))]
    elif type_ == "pulumi-python:dynamic/berth:EcsJob":
        outputs |= OFFLINE_RESULT
    elif type_ == "pulumi-python:dynamic/berth:EcsServiceReady":
        outputs["state"] = f"{inputs.get('desiredCount')} running"
    return outputs


_PLAN_ANSWERS: dict[str, dict[str, Any]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": {
        "id": PLAN_REGION,
        "names": [f"{PLAN_REGION}{zone}" for zone in "abc"],
        "zoneIds": [f"euw1-az{i}" for i in (1, 2, 3)],
    },
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": {
        "id": PLAN_ACCOUNT,
        "authorizationToken": "QVdTOnBsYW4=",
        "userName": "AWS",
        "password": "plan",
        "proxyEndpoint": f"https://{PLAN_ACCOUNT}.dkr.ecr.{PLAN_REGION}.amazonaws.com",
        "expiresAt": "2030-01-01T00:00:00Z",
    },
    "aws:index/getRegion:getRegion": {
        "id": PLAN_REGION,
        "name": PLAN_REGION,
        "region": PLAN_REGION,
    },
    "aws:index/getCallerIdentity:getCallerIdentity": {
        "id": PLAN_ACCOUNT,
        "accountId": PLAN_ACCOUNT,
        "arn": f"arn:aws:iam::{PLAN_ACCOUNT}:user/plan",
        "userId": "PLAN",
    },
    "aws:index/getPartition:getPartition": {
        "id": "aws",
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
    },
    "pulumi:providers:aws/terraformConfig": {
        "result": {
            "region": PLAN_REGION,
            "profile": "plan",
            "access_key": None,
            "secret_key": None,
            "token": None,
            "assume_role": [
                {
                    "role_arn": f"arn:aws:iam::{PLAN_ACCOUNT}:role/plan",
                    "session_name": "plan",
                    "external_id": None,
                    "duration": None,
                    "policy": None,
                    "policy_arns": [],
                    "source_identity": None,
                    "tags": {},
                    "transitive_tag_keys": [],
                }
            ],
            "assume_role_with_web_identity": [],
            "shared_credentials_files": [],
            "shared_config_files": [],
            "sts_region": None,
            "custom_ca_bundle": None,
            "insecure": False,
            "max_retries": 25,
            "retry_mode": None,
            "endpoints": [],
            "default_tags": [],
            "skip_credentials_validation": False,
        }
    },
}
"""What the AWS provider functions the program calls return in the offline plan's account;
an explicit aws provider's Terraform config (``terraformConfig``) is a fixed one, in
Terraform's shape (every setting, unset ones null, blocks as lists): the mock engine cannot
derive it from the provider's inputs."""


def plan_call(function: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """What the provider functions the program calls return, for the offline plan."""
    if function == "docker:index/getRegistryImage:getRegistryImage":
        return {"id": args["name"], "name": args["name"], "sha256Digest": tag_digest(args["name"])}
    if function == "aws:ecr/getImage:getImage":
        reference = f"{args.get('registryId')}/{args['repositoryName']}:{args.get('imageTag')}"
        return {"id": reference, "imageDigest": tag_digest(reference)}
    return _PLAN_ANSWERS.get(function, {})


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
