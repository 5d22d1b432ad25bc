"""A plan's AWS resources as the equivalent CloudFormation template, checked by cfn-lint.

Why: the offline plan holds Berth to Pulumi's types, which say a name is a string but not which
strings AWS takes. CloudFormation's resource schemas (the registry's, as cfn-lint ships them)
carry AWS's own patterns, lengths, enums and cross-property rules, so each planned resource is
turned into its CloudFormation twin and cfn-lint checks every value Berth sends.

The conversion is strict: a Pulumi type or input it has no mapping for raises ``Unmapped``, so
a field Berth starts to send cannot pass unchecked. Values that equal another resource's id or
output become ``Ref``/``Fn::GetAtt``, as a template would write them; names Pulumi generates
(autonaming) are generated as pulumi-aws does, so their lengths and patterns are checked too.
What CloudFormation has no property for is checked here against AWS's documented constraint;
those findings come out of ``lint`` beside cfn-lint's.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from berth.offline.plan import Plan, Registration
from berth.providers.aws import PLAN_REGION
from tests.plans import Created, UnknownInput, sent

if TYPE_CHECKING:
    from cfnlint.runner import Runner

REGION = PLAN_REGION
"""The offline plan's region: cfn-lint checks zones, instance classes and engine versions
against it."""
SKIPPED = ("pulumi-python:dynamic/", "berth:index:", "docker:", "docker-build:", "random:")
"""Not AWS resources: Berth's dynamic resources (run-once jobs, readiness), its components,
images built with pulumi-docker-build, random values."""
FINDINGS = "BerthFindings"
"""Where ``template`` leaves what it found itself (template Metadata), for ``lint``."""


class Unmapped(Exception):
    """A Pulumi type or input the converter has no CloudFormation mapping for."""


# -- how one Pulumi input becomes CloudFormation ------------------------------------------


@dataclass(frozen=True)
class Ctx:
    """Where a conversion is (for errors), how it resolves references, what it found."""

    where: str
    resolvers: Callable[[str | None], Callable[[Any], Any]]
    """For a top-level input, what replaces the values it holds that are references."""
    findings: list[str]
    key: str | None = None
    """The top-level input being converted."""

    def at(self, key: str) -> Ctx:
        top = self.key if self.key is not None else key
        return dataclasses.replace(self, where=f"{self.where}.{key}", key=top)

    def resolve(self, node: Any) -> Any:
        return self.resolvers(self.key)(node)

    def find(self, rule: str, message: str) -> None:
        self.findings.append(f"{rule} {self.where}: {message}")


Convert = Callable[[Any, Ctx], Any]


@dataclass(frozen=True)
class Prop:
    """Where a Pulumi input goes: the CloudFormation property ``to`` (a dotted path into
    nested objects; ending in ``[]``, appended to a list; empty, merged into its parent),
    with ``fields`` for an object's (or each list item's) own inputs, then ``convert``."""

    to: str
    fields: Shape | None = None
    convert: Convert | None = None


@dataclass(frozen=True)
class NoProperty:
    """A Terraform field CloudFormation has no property for; ``check`` holds its value to
    AWS's documented constraint instead."""

    why: str
    check: Callable[[Any], str | None] | None = None


Shape = Mapping[str, Prop | NoProperty]


def pascal(keys: str) -> dict[str, Prop]:
    """Inputs (space-separated) whose CloudFormation property is the same, capitalized."""
    return {key: Prop(key[0].upper() + key[1:]) for key in keys.split()}


def convert(values: Mapping[str, Any], shape: Shape, ctx: Ctx) -> dict[str, Any]:
    """``values`` as CloudFormation properties; an input ``shape`` does not know raises."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        rule = shape.get(key)
        here = ctx.at(key)
        if rule is None:
            raise Unmapped(f"{here.where}: no CloudFormation mapping for input {key!r}")
        if isinstance(rule, NoProperty):
            if rule.check and (problem := rule.check(value)):
                here.find("AWS-CONSTRAINT", f"{value!r} {problem}")
            continue
        converted = _value(value, rule, here)
        if rule.to:
            _put(out, rule.to, converted)
        else:
            _merge(out, converted)
    return out


def _value(value: Any, rule: Prop, ctx: Ctx) -> Any:
    if rule.fields is not None:
        if isinstance(value, list):
            value = [convert(item, rule.fields, ctx.at(str(i))) for i, item in enumerate(value)]
        else:
            value = convert(value, rule.fields, ctx)
    return rule.convert(value, ctx) if rule.convert else value


def _put(out: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        out = out.setdefault(part, {})
    if last.endswith("[]"):
        out.setdefault(last[:-2], []).extend(value if isinstance(value, list) else [value])
    elif isinstance(value, dict) and isinstance(out.get(last), dict):
        _merge(out[last], value)
    else:
        out[last] = value


def _merge(out: dict[str, Any], values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        _put(out, key, value)


# -- value conversions ----------------------------------------------------------------------


def tags(value: Mapping[str, str], _: Ctx) -> list[dict[str, str]]:
    """Terraform's tag map as CloudFormation's list of Key/Value pairs."""
    return [{"Key": key, "Value": value[key]} for key in sorted(value)]


def document(value: str, ctx: Ctx) -> Any:
    """A JSON document (a policy): parsed, its references resolved as any input's."""
    return ctx.resolve(json.loads(value))


def literal_document(value: str, _: Ctx) -> Any:
    """A JSON document folded into the resource it is about: parsed, references kept as
    they are, since a property cannot refer to its own resource or what depends on it."""
    return json.loads(value)


def enabled(value: bool, _: Ctx) -> str:
    return "ENABLED" if value else "DISABLED"


def listed(value: Any, _: Ctx) -> list[Any]:
    """Terraform's single block, where CloudFormation has a list."""
    return [value]


def schedule_tags(value: Mapping[str, str], _: Ctx) -> list[dict[str, str]]:
    """A schedule's ECS task tags as terraform-provider-aws sends them (``expandECSParameters``):
    one ``{"key": k, "value": v}`` map per tag, each a CloudFormation ``TagMap``."""
    return [{"key": key, "value": value[key]} for key in sorted(value)]


def attribute(key: str) -> Convert:
    """A Terraform argument that CloudFormation sets as a Key/Value attribute."""

    def as_attribute(value: Any, _: Ctx) -> dict[str, str]:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return {"Key": key, "Value": text}

    return as_attribute


def prefixed_unique_id(prefix: str, _: Ctx) -> str:
    """Terraform's ``id.PrefixedUniqueId``: the prefix, an 18-digit UTC timestamp and an
    8-digit hex counter (26 characters)."""
    return f"{prefix}20250102030405000000000001"


def path_conditions(value: list[dict[str, Any]], ctx: Ctx) -> list[dict[str, Any]]:
    """A listener rule's conditions: Terraform's block per field, CloudFormation's Field."""
    fields = {"PathPatternConfig": "path-pattern"}
    result = []
    for condition in value:
        (config, settings), *more = condition.items()
        if more or config not in fields:
            raise Unmapped(f"{ctx.where}: no CloudFormation mapping for condition {condition}")
        result.append({"Field": fields[config], config: settings})
    return result


def container_definitions(value: str, ctx: Ctx) -> list[dict[str, Any]]:
    """The ECS API's container definitions (camelCase JSON) as CloudFormation's."""
    definitions = ctx.resolve(json.loads(value))
    for index, definition in enumerate(definitions):
        options = definition.get("logConfiguration", {}).get("options", {})
        if "awslogs-stream-prefix" in options:
            stream = f"{options['awslogs-stream-prefix']}/{definition.get('name')}/{'0' * 32}"
            if len(stream) > LOG_STREAM_NAME:
                ctx.at(f"{index}.logConfiguration").find(
                    "AWS-CONSTRAINT",
                    f"the log stream '<prefix>/<container>/<task id>' has {len(stream)} "
                    f"characters, CloudWatch Logs takes {LOG_STREAM_NAME}",
                )
    return [
        convert(definition, CONTAINER, ctx.at(str(index)))
        for index, definition in enumerate(definitions)
    ]


LOG_STREAM_NAME = 512
"""CloudWatch Logs' longest log stream name; awslogs names a task's container's stream
``<awslogs-stream-prefix>/<container name>/<task id>`` (32 hex characters), the ECS developer
guide says."""


_SNAPSHOT = re.compile(r"[A-Za-z](?:-?[A-Za-z0-9])*")


def snapshot_name(value: Any) -> str | None:
    """RDS DBSnapshotIdentifier (ElastiCache snapshot names likewise): 1 to 255 letters,
    digits and hyphens, a letter first, no two hyphens in a row, no hyphen last."""
    if isinstance(value, str) and len(value) <= 255 and _SNAPSHOT.fullmatch(value):
        return None
    return (
        "is not a snapshot name AWS accepts (1-255 letters, digits, hyphens; a letter "
        "first; no '--'; not ending in '-')"
    )


def recovery_window(value: Any) -> str | None:
    """Secrets Manager's RecoveryWindowInDays: 7 to 30, or 0 (Terraform: delete at once)."""
    return None if value == 0 or 7 <= value <= 30 else "is not 0 or 7 to 30 days"


def creation_token(value: Any) -> str | None:
    """EFS CreateFileSystem's CreationToken: 1 to 64 characters."""
    return None if isinstance(value, str) and 1 <= len(value) <= 64 else "is not 1-64 characters"


# -- ECS container definitions --------------------------------------------------------------

CONTAINER: Shape = {
    **pascal(
        "name image essential command entryPoint workingDirectory user readonlyRootFilesystem"
        " pseudoTerminal interactive stopTimeout"
    ),
    "environment": Prop("Environment", pascal("name value")),
    "secrets": Prop("Secrets", pascal("name valueFrom")),
    "portMappings": Prop("PortMappings", pascal("containerPort protocol")),
    "mountPoints": Prop("MountPoints", pascal("sourceVolume containerPath readOnly")),
    # options is a map: its keys are the log driver's (awslogs-group), kept as they are
    "logConfiguration": Prop("LogConfiguration", pascal("logDriver options")),
    "dependsOn": Prop("DependsOn", pascal("containerName condition")),
    "healthCheck": Prop("HealthCheck", pascal("command interval timeout retries startPeriod")),
    "dockerLabels": Prop("DockerLabels"),  # a map: its keys are the labels
    "linuxParameters": Prop(
        "LinuxParameters",
        {
            "capabilities": Prop("Capabilities", pascal("add drop")),
            **pascal("initProcessEnabled"),
        },
    ),
    "systemControls": Prop("SystemControls", pascal("namespace value")),
    "ulimits": Prop("Ulimits", pascal("name softLimit hardLimit")),
}
"""What Berth puts in a container definition (providers/aws/containers.py), by ECS API name."""


# -- each Pulumi type -----------------------------------------------------------------------


def ref(logical: str) -> Any:
    return {"Ref": logical}


def att(name: str) -> Callable[[str], Any]:
    def get(logical: str) -> Any:
        return {"Fn::GetAtt": [logical, name]}

    return get


def account(_: str) -> Any:
    return {"Ref": "AWS::AccountId"}


@dataclass(frozen=True)
class Autoname:
    """A name pulumi-aws generates when the program gives none (provider/autonaming.go:
    the resource's name, ``-`` and 7 random hex characters, failing at preview beyond
    ``maxlen``); ``to`` None where CloudFormation has no such property."""

    field: str
    to: str | None
    maxlen: int = 255
    lower: bool = False
    unless: tuple[str, ...] = ("namePrefix",)
    """Inputs that conflict with the name (Terraform's ConflictsWith): given, no autoname."""
    check: Callable[[Any], str | None] | None = None


Split = Callable[[str, dict[str, Any], Ctx], dict[str, dict[str, Any]]]
"""Properties CloudFormation has as resources of their own (a gateway's attachment, a route
table's routes): taken out of the resource's, returned as resources by logical id."""


@dataclass(frozen=True)
class Spec:
    """A Pulumi type as a CloudFormation type: its inputs, how others refer to it (Pulumi
    output to CloudFormation expression), the name Pulumi generates for it."""

    cfn: str
    shape: Shape
    refs: Mapping[str, Callable[[str], Any]]
    autoname: Autoname | None = None
    split: Split | None = None


@dataclass(frozen=True)
class Fold:
    """A Pulumi resource that is a property of another in CloudFormation; ``target`` is the
    input naming that other resource."""

    into: str
    target: str
    shape: Shape


def gateway_attachment(logical: str, props: dict[str, Any], _: Ctx) -> dict[str, dict[str, Any]]:
    """Terraform's gateway attaches itself to its VPC; CloudFormation's needs an attachment."""
    vpc = props.pop("VpcId", None)
    if vpc is None:
        return {}
    attachment = {"InternetGatewayId": ref(logical), "VpcId": vpc}
    return {f"{logical}Attachment": _resource("AWS::EC2::VPCGatewayAttachment", attachment)}


def routes(logical: str, props: dict[str, Any], _: Ctx) -> dict[str, dict[str, Any]]:
    """Terraform's inline routes, each an AWS::EC2::Route, after the gateway's attachment."""
    parts = {}
    for index, route in enumerate(props.pop("Routes", [])):
        resource = _resource("AWS::EC2::Route", {"RouteTableId": ref(logical), **route})
        gateway = route.get("GatewayId")
        if isinstance(gateway, dict) and "Ref" in gateway:
            resource["DependsOn"] = [f"{gateway['Ref']}Attachment"]
        parts[f"{logical}Route{index}"] = resource
    return parts


def security_group_rules(
    logical: str, props: dict[str, Any], ctx: Ctx
) -> dict[str, dict[str, Any]]:
    """Terraform's rules name several sources each (cidr_blocks, ipv6_cidr_blocks,
    security_groups, self); CloudFormation's one source per rule, and a rule whose source
    is the group itself is a resource of its own (a property cannot refer to its resource)."""
    parts: dict[str, dict[str, Any]] = {}
    group = att("GroupId")(logical)
    for key, peer, kind in (
        ("SecurityGroupIngress", "SourceSecurityGroupId", "AWS::EC2::SecurityGroupIngress"),
        ("SecurityGroupEgress", "DestinationSecurityGroupId", "AWS::EC2::SecurityGroupEgress"),
    ):
        rules = []
        for index, given in enumerate(props.pop(key, [])):
            sources = {name: given.pop(name, []) for name in ("CidrIp", "CidrIpv6", "Peers")}
            itself = given.pop("Self", False)
            rule = _ports(given, ctx.at(f"{key}.{index}"))
            rules += [{**rule, "CidrIp": block} for block in sources["CidrIp"]]
            rules += [{**rule, "CidrIpv6": block} for block in sources["CidrIpv6"]]
            rules += [{**rule, peer: other} for other in sources["Peers"]]
            if itself:
                own = _resource(kind, {**rule, "GroupId": group, peer: group})
                parts[f"{logical}{key.removeprefix('SecurityGroup')}Self{index}"] = own
        if rules:
            props[key] = rules
    return parts


def _ports(rule: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    """All protocols (-1): Terraform requires ports 0 to 0, CloudFormation ignores them."""
    if rule.get("IpProtocol") != "-1":
        return rule
    ports = (rule.pop("FromPort", 0), rule.pop("ToPort", 0))
    if ports != (0, 0):
        ctx.find("TF-CONSTRAINT", f"protocol -1 with ports {ports}: Terraform requires 0 and 0")
    return rule


SECURITY_GROUP_RULE: Shape = {
    "protocol": Prop("IpProtocol"),
    **pascal("fromPort toPort self"),
    "cidrBlocks": Prop("CidrIp"),
    "ipv6CidrBlocks": Prop("CidrIpv6"),
    "securityGroups": Prop("Peers"),
}
"""A Terraform rule, its sources still lists (``security_group_rules`` splits them)."""


ID_REF = {"id": ref}
TAGS = Prop("Tags", None, tags)
LB_ACTION: Shape = {
    **pascal("type targetGroupArn"),
    "fixedResponse": Prop("FixedResponseConfig", pascal("contentType messageBody statusCode")),
    "redirect": Prop("RedirectConfig", pascal("protocol port statusCode")),
}
SPECS: dict[str, Spec] = {
    "aws:ec2/vpc:Vpc": Spec(
        "AWS::EC2::VPC",
        {
            **pascal("cidrBlock enableDnsHostnames enableDnsSupport"),
            "tags": TAGS,
        },
        ID_REF,
    ),
    "aws:ec2/internetGateway:InternetGateway": Spec(
        "AWS::EC2::InternetGateway",
        {"tags": TAGS, **pascal("vpcId")},
        ID_REF,
        split=gateway_attachment,
    ),
    "aws:ec2/routeTable:RouteTable": Spec(
        "AWS::EC2::RouteTable",
        {
            **pascal("vpcId"),
            "tags": TAGS,
            "routes": Prop(
                "Routes",
                {
                    "cidrBlock": Prop("DestinationCidrBlock"),
                    **pascal("gatewayId"),
                },
            ),
        },
        ID_REF,
        split=routes,
    ),
    "aws:ec2/subnet:Subnet": Spec(
        "AWS::EC2::Subnet",
        {
            **pascal("availabilityZone cidrBlock mapPublicIpOnLaunch vpcId"),
            "tags": TAGS,
        },
        ID_REF,
    ),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": Spec(
        "AWS::EC2::SubnetRouteTableAssociation", pascal("routeTableId subnetId"), ID_REF
    ),
    "aws:ec2/securityGroup:SecurityGroup": Spec(
        "AWS::EC2::SecurityGroup",
        {
            "description": Prop("GroupDescription"),
            "name": Prop("GroupName"),
            **pascal("vpcId"),
            "ingress": Prop("SecurityGroupIngress", SECURITY_GROUP_RULE),
            "egress": Prop("SecurityGroupEgress", SECURITY_GROUP_RULE),
            "tags": TAGS,
        },
        {"id": att("GroupId")},
        Autoname("name", "GroupName"),
        security_group_rules,
    ),
    "aws:iam/role:Role": Spec(
        "AWS::IAM::Role",
        {
            "assumeRolePolicy": Prop("AssumeRolePolicyDocument", None, document),
            "name": Prop("RoleName"),
            "tags": TAGS,
        },
        {"id": ref, "name": ref, "arn": att("Arn")},
        Autoname("name", "RoleName", maxlen=64),  # resource_overrides.go: AutoName("name", 64)
    ),
    "aws:iam/rolePolicy:RolePolicy": Spec(
        "AWS::IAM::RolePolicy",
        {
            "name": Prop("PolicyName"),
            "policy": Prop("PolicyDocument", None, document),
            "role": Prop("RoleName"),
        },
        {},
        Autoname("name", "PolicyName"),
    ),
    "aws:ecs/cluster:Cluster": Spec(
        "AWS::ECS::Cluster",
        {"name": Prop("ClusterName")},
        {"id": att("Arn"), "arn": att("Arn"), "name": ref},
        Autoname("name", "ClusterName"),
    ),
    "aws:ecs/taskDefinition:TaskDefinition": Spec(
        "AWS::ECS::TaskDefinition",
        {
            "containerDefinitions": Prop("ContainerDefinitions", None, container_definitions),
            **pascal(
                "cpu memory family networkMode requiresCompatibilities executionRoleArn taskRoleArn"
            ),
            "runtimePlatform": Prop(
                "RuntimePlatform", pascal("cpuArchitecture operatingSystemFamily")
            ),
            "volumes": Prop(
                "Volumes",
                {
                    **pascal("name"),
                    "efsVolumeConfiguration": Prop(
                        "EFSVolumeConfiguration",
                        {
                            "fileSystemId": Prop("FilesystemId"),
                            **pascal("transitEncryption rootDirectory"),
                            "authorizationConfig": Prop(
                                "AuthorizationConfig",
                                {**pascal("accessPointId"), "iam": Prop("IAM")},
                            ),
                        },
                    ),
                },
            ),
        },
        {"id": ref, "arn": ref},
    ),
    "aws:ecs/service:Service": Spec(
        "AWS::ECS::Service",
        {
            "name": Prop("ServiceName"),
            **pascal(
                "cluster taskDefinition desiredCount launchType healthCheckGracePeriodSeconds"
            ),
            "networkConfiguration": Prop(
                "NetworkConfiguration.AwsvpcConfiguration",
                {
                    "assignPublicIp": Prop("AssignPublicIp", None, enabled),
                    **pascal("securityGroups subnets"),
                },
            ),
            "loadBalancers": Prop(
                "LoadBalancers", pascal("containerName containerPort targetGroupArn")
            ),
            "serviceRegistries": Prop(
                "ServiceRegistries",
                pascal("registryArn"),
                listed,
            ),
            "deploymentCircuitBreaker": Prop(
                "DeploymentConfiguration.DeploymentCircuitBreaker", pascal("enable rollback")
            ),
            "deploymentMinimumHealthyPercent": Prop(
                "DeploymentConfiguration.MinimumHealthyPercent"
            ),
            "deploymentMaximumPercent": Prop("DeploymentConfiguration.MaximumPercent"),
            "waitForSteadyState": NoProperty(
                "CloudFormation always waits for a service to reach a steady state"
            ),
        },
        {"id": ref, "name": att("Name")},
        Autoname("name", "ServiceName"),
    ),
    "aws:cloudwatch/logGroup:LogGroup": Spec(
        "AWS::Logs::LogGroup",
        {"name": Prop("LogGroupName"), **pascal("retentionInDays")},
        {"id": ref, "name": ref, "arn": att("Arn")},
        Autoname("name", "LogGroupName"),
    ),
    "aws:ecr/repository:Repository": Spec(
        "AWS::ECR::Repository",
        {
            "name": Prop("RepositoryName"),
            "forceDelete": Prop("EmptyOnDelete"),
            "imageScanningConfiguration": Prop("ImageScanningConfiguration", pascal("scanOnPush")),
        },
        {
            "id": ref,
            "name": ref,
            "arn": att("Arn"),
            "repositoryUrl": att("RepositoryUri"),
            "registryId": account,
        },
        Autoname("name", "RepositoryName"),
    ),
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": Spec(
        "AWS::ECR::PullThroughCacheRule",
        pascal("ecrRepositoryPrefix upstreamRegistryUrl"),
        ID_REF,
    ),
    "aws:secretsmanager/secret:Secret": Spec(
        "AWS::SecretsManager::Secret",
        {
            **pascal("name"),
            "recoveryWindowInDays": NoProperty(
                "CloudFormation has no recovery window setting", recovery_window
            ),
        },
        {"id": ref, "arn": ref},
        Autoname("name", "Name"),
    ),
    "aws:lb/loadBalancer:LoadBalancer": Spec(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            **pascal("name subnets securityGroups"),
            "loadBalancerType": Prop("Type"),
            "dropInvalidHeaderFields": Prop(
                "LoadBalancerAttributes[]",
                None,
                attribute("routing.http.drop_invalid_header_fields.enabled"),
            ),
        },
        {"id": ref, "arn": ref, "dnsName": att("DNSName"), "name": att("LoadBalancerName")},
        # No override in pulumi-aws (provider/aliases.go): the default, 255.
        Autoname("name", "Name"),
    ),
    "aws:lb/listener:Listener": Spec(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            **pascal("loadBalancerArn port protocol sslPolicy"),
            "certificateArn": Prop("Certificates", None, lambda v, _: [{"CertificateArn": v}]),
            "defaultActions": Prop("DefaultActions", LB_ACTION),
        },
        {"id": ref, "arn": ref},
    ),
    "aws:lb/targetGroup:TargetGroup": Spec(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            **pascal("name port protocol targetType vpcId"),
            "deregistrationDelay": Prop(
                "TargetGroupAttributes[]", None, attribute("deregistration_delay.timeout_seconds")
            ),
            "healthCheck": Prop(
                "",
                {
                    "enabled": Prop("HealthCheckEnabled"),
                    "interval": Prop("HealthCheckIntervalSeconds"),
                    "path": Prop("HealthCheckPath"),
                    "port": Prop("HealthCheckPort"),
                    "protocol": Prop("HealthCheckProtocol"),
                    "timeout": Prop("HealthCheckTimeoutSeconds"),
                    "healthyThreshold": Prop("HealthyThresholdCount"),
                    "unhealthyThreshold": Prop("UnhealthyThresholdCount"),
                    "matcher": Prop("Matcher.HttpCode"),
                },
            ),
        },
        {"id": ref, "arn": ref, "name": att("TargetGroupName")},
        Autoname("name", "Name", maxlen=32),  # provider/aliases.go: AutoName("name", 32, "-")
    ),
    "aws:lb/listenerRule:ListenerRule": Spec(
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        {
            **pascal("listenerArn priority"),
            "actions": Prop("Actions", LB_ACTION),
            "conditions": Prop(
                "Conditions",
                {
                    "pathPattern": Prop("PathPatternConfig", pascal("values")),
                },
                path_conditions,
            ),
        },
        {"id": ref, "arn": ref},
    ),
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": Spec(
        "AWS::ServiceDiscovery::PrivateDnsNamespace",
        pascal("name vpc description"),
        {"id": att("Id"), "arn": att("Arn")},
    ),
    "aws:servicediscovery/service:Service": Spec(
        "AWS::ServiceDiscovery::Service",
        {
            **pascal("name"),
            "dnsConfig": Prop(
                "DnsConfig",
                {
                    **pascal("namespaceId routingPolicy"),
                    "dnsRecords": Prop("DnsRecords", {"ttl": Prop("TTL"), **pascal("type")}),
                },
            ),
            "healthCheckCustomConfig": Prop("HealthCheckCustomConfig", pascal("failureThreshold")),
            "forceDestroy": NoProperty(
                "CloudFormation has no setting to deregister instances on delete"
            ),
        },
        {"id": att("Id"), "arn": att("Arn"), "name": att("Name")},
    ),
    "aws:servicediscovery/instance:Instance": Spec(
        "AWS::ServiceDiscovery::Instance",
        {**pascal("instanceId serviceId"), "attributes": Prop("InstanceAttributes")},
        ID_REF,
    ),
    "aws:efs/fileSystem:FileSystem": Spec(
        "AWS::EFS::FileSystem",
        {
            **pascal("encrypted"),
            "tags": Prop("FileSystemTags", None, tags),
            "creationToken": NoProperty(
                "CloudFormation generates the creation token itself", creation_token
            ),
        },
        {"id": ref, "arn": att("Arn")},
        # resource_overrides.go: AutoName("creationToken", 255, "-"); EFS takes 64
        Autoname("creationToken", None, check=creation_token, unless=()),
    ),
    "aws:efs/mountTarget:MountTarget": Spec(
        "AWS::EFS::MountTarget", pascal("fileSystemId subnetId securityGroups"), ID_REF
    ),
    "aws:efs/accessPoint:AccessPoint": Spec(
        "AWS::EFS::AccessPoint",
        {
            **pascal("fileSystemId"),
            "rootDirectory": Prop(
                "RootDirectory",
                {
                    **pascal("path"),
                    "creationInfo": Prop(
                        "CreationInfo",
                        {
                            "ownerUid": Prop("OwnerUid", None, lambda v, _: str(v)),
                            "ownerGid": Prop("OwnerGid", None, lambda v, _: str(v)),
                            **pascal("permissions"),
                        },
                    ),
                },
            ),
            "tags": Prop("AccessPointTags", None, tags),
        },
        {"id": ref, "arn": att("Arn")},
    ),
    "aws:rds/instance:Instance": Spec(
        "AWS::RDS::DBInstance",
        {
            "identifierPrefix": Prop("DBInstanceIdentifier", None, prefixed_unique_id),
            "instanceClass": Prop("DBInstanceClass"),
            "password": Prop("MasterUserPassword"),
            "username": Prop("MasterUsername"),
            "dbName": Prop("DBName"),
            "dbSubnetGroupName": Prop("DBSubnetGroupName"),
            "vpcSecurityGroupIds": Prop("VPCSecurityGroups"),
            **pascal(
                "engine engineVersion allocatedStorage storageType storageEncrypted"
                " publiclyAccessible backupRetentionPeriod copyTagsToSnapshot deletionProtection"
                " applyImmediately autoMinorVersionUpgrade allowMajorVersionUpgrade"
            ),
            "finalSnapshotIdentifier": NoProperty(
                "CloudFormation snapshots on delete by DeletionPolicy: Snapshot, naming the "
                "snapshot itself",
                snapshot_name,
            ),
            "skipFinalSnapshot": NoProperty("CloudFormation's DeletionPolicy: Snapshot or Delete"),
        },
        {"id": ref, "address": att("Endpoint.Address"), "arn": att("DBInstanceArn")},
        # provider/resource_overrides.go aws_db_instance: AutoNamed, 7 random, 255; Terraform
        # takes identifier_prefix instead (ConflictsWith), as prefixed_unique_id makes it.
        Autoname("identifier", "DBInstanceIdentifier", unless=("identifierPrefix",)),
    ),
    "aws:rds/subnetGroup:SubnetGroup": Spec(
        "AWS::RDS::DBSubnetGroup",
        {
            "name": Prop("DBSubnetGroupName"),
            "description": Prop("DBSubnetGroupDescription"),
            **pascal("subnetIds"),
        },
        {"id": ref, "name": ref},
        Autoname("name", "DBSubnetGroupName"),
    ),
    "aws:elasticache/replicationGroup:ReplicationGroup": Spec(
        "AWS::ElastiCache::ReplicationGroup",
        {
            **pascal(
                "replicationGroupId engine engineVersion numCacheClusters port securityGroupIds"
                " atRestEncryptionEnabled transitEncryptionEnabled transitEncryptionMode authToken"
                " snapshotRetentionLimit"
            ),
            "description": Prop("ReplicationGroupDescription"),
            "nodeType": Prop("CacheNodeType"),
            "subnetGroupName": Prop("CacheSubnetGroupName"),
            "finalSnapshotIdentifier": NoProperty(
                "CloudFormation snapshots on delete by DeletionPolicy: Snapshot", snapshot_name
            ),
            "applyImmediately": NoProperty("CloudFormation applies a change when it makes it"),
        },
        {"id": ref, "primaryEndpointAddress": att("PrimaryEndPoint.Address")},
        # provider/resource_overrides.go: AutoNameTransform("replicationGroupId", 40, ToLower)
        Autoname("replicationGroupId", "ReplicationGroupId", maxlen=40, lower=True, unless=()),
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": Spec(
        "AWS::ElastiCache::SubnetGroup",
        {"name": Prop("CacheSubnetGroupName"), **pascal("description subnetIds")},
        {"id": ref, "name": ref},
        Autoname("name", "CacheSubnetGroupName", unless=()),
    ),
    "aws:scheduler/schedule:Schedule": Spec(
        "AWS::Scheduler::Schedule",
        {
            **pascal("name description scheduleExpression scheduleExpressionTimezone state"),
            "flexibleTimeWindow": Prop("FlexibleTimeWindow", pascal("mode")),
            "target": Prop(
                "Target",
                {
                    **pascal("arn roleArn"),
                    "ecsParameters": Prop(
                        "EcsParameters",
                        {
                            **pascal("taskDefinitionArn launchType taskCount"),
                            "networkConfiguration": Prop(
                                "NetworkConfiguration.AwsvpcConfiguration",
                                {
                                    "assignPublicIp": Prop("AssignPublicIp", None, enabled),
                                    **pascal("securityGroups subnets"),
                                },
                            ),
                            "tags": Prop("Tags", None, schedule_tags),
                        },
                    ),
                    "retryPolicy": Prop(
                        "RetryPolicy", pascal("maximumEventAgeInSeconds maximumRetryAttempts")
                    ),
                },
            ),
        },
        {"id": ref, "arn": att("Arn")},
        # its name is Berth's own: pulumi-aws would generate one of at most 64 characters
        Autoname("name", "Name", maxlen=64),
    ),
}
"""Every AWS type the aws target registers, as CloudFormation. The Pulumi types, their inputs
and outputs are pulumi-aws's; the CloudFormation side is the resource schemas cfn-lint ships."""
FOLDS: dict[str, Fold] = {
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": Fold(
        "AWS::ECR::Repository",
        "repository",
        {"policy": Prop("LifecyclePolicy.LifecyclePolicyText")},
    ),
    "aws:secretsmanager/secretVersion:SecretVersion": Fold(
        "AWS::SecretsManager::Secret", "secretId", {"secretString": Prop("SecretString")}
    ),
    "aws:efs/fileSystemPolicy:FileSystemPolicy": Fold(
        "AWS::EFS::FileSystem",
        "fileSystemId",
        {"policy": Prop("FileSystemPolicy", None, literal_document)},
    ),
}
"""Pulumi resources that are a property of another resource in CloudFormation."""

_ECS_NAME = (
    re.compile(r"[A-Za-z0-9_-]{1,255}"),
    "up to 255 letters, digits, underscores and hyphens",
)
"""ECS cluster, service and task definition family names."""
NAME_RULES: dict[tuple[str, str], tuple[re.Pattern[str], str]] = {
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Name"): (
        re.compile(r"(?!internal-)[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?"),
        "at most 32 letters, digits and hyphens, no hyphen first or last, not 'internal-' first",
    ),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "Name"): (
        re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?"),
        "at most 32 letters, digits and hyphens, no hyphen first or last",
    ),
    ("AWS::ECS::Cluster", "ClusterName"): _ECS_NAME,
    ("AWS::ECS::Service", "ServiceName"): _ECS_NAME,
    ("AWS::ECS::TaskDefinition", "Family"): _ECS_NAME,
    ("AWS::ECS::TaskDefinition", "ContainerDefinitions/*/Name"): _ECS_NAME,
    ("AWS::ECS::TaskDefinition", "Volumes/*/Name"): _ECS_NAME,
    ("AWS::ServiceDiscovery::PrivateDnsNamespace", "Name"): (
        re.compile(r"(?=.{1,253}$)[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*"),
        "a domain name of labels of at most 63 characters (Route 53 hosted zone names)",
    ),
    ("AWS::RDS::DBSubnetGroup", "DBSubnetGroupName"): (
        re.compile(r"(?!default$)[a-z0-9._ -]{1,255}"),
        "up to 255 lowercase letters, digits, periods, underscores, spaces and hyphens "
        "(RDS stores it lowercased; Terraform refuses uppercase), not 'default'",
    ),
    ("AWS::ElastiCache::SubnetGroup", "CacheSubnetGroupName"): (
        re.compile(r"[A-Za-z0-9-]{1,255}"),
        "up to 255 letters, digits and hyphens",
    ),
    ("AWS::ElastiCache::ReplicationGroup", "ReplicationGroupId"): (
        re.compile(r"[A-Za-z](?:-?[A-Za-z0-9]){0,39}"),
        "1 to 40 letters, digits and hyphens, a letter first, no '--', no hyphen last",
    ),
}
"""Names CloudFormation's schemas leave unconstrained (or hold to a domain name's 253
characters only), by resource type and property path (``*``: each item of a list), held to the
constraint the service's API reference documents (CreateLoadBalancer, CreateTargetGroup,
CreateCluster, CreateService, RegisterTaskDefinition's family, container and volume names,
CreatePrivateDnsNamespace, CreateDBSubnetGroup, CreateCacheSubnetGroup,
CreateReplicationGroup)."""


# -- the template ---------------------------------------------------------------------------


def template(plan: Plan, created: Mapping[str, Created]) -> dict[str, Any]:
    """The plan's AWS resources as one CloudFormation template; ``created`` holds each
    resource's id and outputs (``recorded``). Raises ``Unmapped`` for what it cannot map."""
    converter = _Converter(plan.registrations, created)
    return converter.run()


@dataclass
class _Converter:
    registrations: Sequence[Registration]
    created: Mapping[str, Created]
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    logical: dict[str, str] = field(default_factory=dict)
    """Each converted registration's logical id, by URN (a folded one: its target's)."""
    refs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """By URN: the values others may refer to it by, and the expression each becomes."""
    findings: list[str] = field(default_factory=list)
    made: dict[str, list[str]] = field(default_factory=dict)
    """By logical id: the resources its conversion made besides it (routes, attachments)."""
    taken: set[str] = field(default_factory=set)

    def run(self) -> dict[str, Any]:
        aws = [r for r in self.registrations if not r.type.startswith(SKIPPED)]
        for registration in aws:
            if registration.type not in SPECS and registration.type not in FOLDS:
                raise Unmapped(f"{registration.type} ({registration.name}): no CloudFormation type")
        for registration in aws:
            if registration.type in SPECS:
                self._name(registration, SPECS[registration.type])
        for registration in aws:
            if registration.type in SPECS:
                self._convert(registration, SPECS[registration.type])
        for registration in aws:
            if registration.type in FOLDS:
                self._fold(registration, FOLDS[registration.type])
        for registration in aws:
            if registration.type in SPECS:
                self._depend(registration)
        self._check_names()
        return {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Metadata": {FINDINGS: self.findings},
            "Resources": self.resources,
        }

    def _name(self, registration: Registration, spec: Spec) -> None:
        """A logical id for the resource, and the values others refer to it by."""
        logical = _logical_id(registration.name, spec.cfn, self.taken)
        self.taken.add(logical)
        self.logical[registration.urn] = logical
        created = self.created.get(registration.urn)
        if created is None:
            raise Unmapped(f"{registration.urn}: no id recorded (run the plan in recorded())")
        values = {"id": created.id, **created.outputs}
        self.refs[registration.urn] = {
            value: make(logical)
            for output, make in spec.refs.items()
            if isinstance(value := values.get(output), str) and value
        }

    def _resolver(
        self, registration: Registration, key: str | None = None, skip: str = ""
    ) -> Callable[[Any], Any]:
        """Replaces a value that equals an output of a resource the input ``key`` came from
        (any input's, without ``key``) with the reference a template would write."""
        given = self.created[registration.urn].inputs_from
        sources = given.get(key, ()) if key is not None and given else registration.dependencies
        known: dict[str, Any] = {}
        for source in sources:
            if self.logical.get(source) == skip:
                continue
            for value, expression in self.refs.get(source, {}).items():
                if known.setdefault(value, expression) != expression:
                    raise Unmapped(
                        f"{registration.urn}: {key} {value!r} is an output of two resources"
                    )

        def resolve(node: Any) -> Any:
            if isinstance(node, dict):
                return {k: resolve(value) for k, value in node.items()}
            if isinstance(node, list):
                return [resolve(value) for value in node]
            return known.get(node, node) if isinstance(node, str) else node

        return resolve

    def _resolved(self, registration: Registration, skip: str = "") -> dict[str, Any]:
        """The inputs, each with the references it holds resolved."""
        return {
            key: self._resolver(registration, key, skip)(value)
            for key, value in _plain(registration).items()
        }

    def _convert(self, registration: Registration, spec: Spec) -> None:
        logical = self.logical[registration.urn]
        ctx = Ctx(
            f"{logical} ({spec.cfn}) {registration.type}",
            lambda key: self._resolver(registration, key),
            self.findings,
        )
        inputs = self._resolved(registration)
        props = convert(inputs, spec.shape, ctx)
        if spec.autoname:
            self._autoname(registration, spec.autoname, inputs, props, ctx)
        parts = spec.split(logical, props, ctx) if spec.split else {}
        if clash := (parts.keys() & self.taken) | (parts.keys() & self.resources.keys()):
            raise Unmapped(f"{registration.urn}: logical ids {sorted(clash)} are taken")
        self.resources[logical] = _resource(spec.cfn, props)
        self.resources.update(parts)
        self.made[logical] = list(parts)

    def _autoname(
        self,
        registration: Registration,
        autoname: Autoname,
        inputs: Mapping[str, Any],
        props: dict[str, Any],
        ctx: Ctx,
    ) -> None:
        """The name pulumi-aws generates: ``<name>-`` and 7 hex characters (NewUniqueHex),
        an error at preview when that exceeds the field's maximum."""
        if autoname.field in inputs or any(key in inputs for key in autoname.unless):
            return
        prefix = f"{registration.name}-"
        if autoname.lower:
            prefix = prefix.lower()
        name = prefix + hashlib.sha256(registration.urn.encode()).hexdigest()[:7]
        here = ctx.at(autoname.field)
        if len(name) > autoname.maxlen:
            here.find(
                "PULUMI-AUTONAME",
                f"name {prefix!r} plus 7 random chars is longer than maximum length "
                f"{autoname.maxlen} (pulumi-aws fails at preview)",
            )
        if autoname.check and (problem := autoname.check(name)):
            here.find("AWS-CONSTRAINT", f"generated {name!r} {problem}")
        if autoname.to:
            props[autoname.to] = name

    def _fold(self, registration: Registration, fold: Fold) -> None:
        """The resource as a property of the one its ``target`` input names."""
        inputs = self._resolved(registration)
        target = inputs.pop(fold.target, None)
        logical = target.get("Ref") if isinstance(target, dict) else None
        resource = self.resources.get(logical or "")
        if resource is None or resource["Type"] != fold.into:
            raise Unmapped(f"{registration.urn}: {fold.target} is no {fold.into} of the plan")
        self.logical[registration.urn] = logical
        ctx = Ctx(
            f"{logical} ({fold.into}) {registration.type}",
            lambda key: self._resolver(registration, key, skip=logical),
            self.findings,
        )
        _merge(resource.setdefault("Properties", {}), convert(inputs, fold.shape, ctx))

    def _depend(self, registration: Registration) -> None:
        """What Pulumi waits for beyond the references (``depends_on``), as DependsOn."""
        logical = self.logical[registration.urn]
        resource = self.resources[logical]
        made = [self.resources[other] for other in self.made[logical]]
        referenced = set(_referenced([resource.get("Properties", {}), *made]))
        waits = (
            {self.logical[urn] for urn in registration.dependencies if urn in self.logical}
            - referenced
            - {logical}
        )
        if waits:
            resource["DependsOn"] = sorted({*resource.get("DependsOn", []), *waits})

    def _check_names(self) -> None:
        for logical, resource in self.resources.items():
            for (kind, path), (pattern, rule) in NAME_RULES.items():
                if kind != resource["Type"]:
                    continue
                for where, value in _at_path(resource.get("Properties", {}), path.split("/")):
                    if isinstance(value, str) and not pattern.fullmatch(value):
                        self.findings.append(
                            f"AWS-NAME {logical} ({kind}).{where}: {value!r} is not {rule}"
                        )


def _at_path(node: Any, path: Sequence[str], where: str = "") -> Iterator[tuple[str, Any]]:
    """The values at ``path`` in ``node`` (``*``: each item of a list), with where each is."""
    if not path:
        yield where, node
        return
    step, rest = path[0], path[1:]
    if step == "*":
        children = list(enumerate(node)) if isinstance(node, list) else []
    else:
        children = [(step, node[step])] if isinstance(node, dict) and step in node else []
    for key, child in children:
        yield from _at_path(child, rest, f"{where}/{key}" if where else str(key))


def _resource(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    return {"Type": kind, "Properties": props}


def _logical_id(name: str, kind: str, taken: set[str]) -> str:
    """``shop-web-80`` a target group: ``ShopWeb80TargetGroup`` (alphanumeric, unique)."""
    words = "".join(word[:1].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]+", name))
    base = f"{words}{kind.rsplit('::', 1)[-1]}"[:200]
    logical, index = base, 1
    while logical in taken:
        index += 1
        logical = f"{base}{index}"
    return logical


def _referenced(node: Any) -> Iterator[str]:
    """The logical ids a property tree refers to (Ref, Fn::GetAtt)."""
    if isinstance(node, dict):
        if isinstance(node.get("Ref"), str):
            yield node["Ref"]
        if isinstance(node.get("Fn::GetAtt"), list):
            yield node["Fn::GetAtt"][0]
        for value in node.values():
            yield from _referenced(value)
    elif isinstance(node, list):
        for value in node:
            yield from _referenced(value)


def _plain(registration: Registration) -> dict[str, Any]:
    """The inputs as sent (``tests.plans.sent``); an unknown one cannot be mapped."""
    try:
        return sent(registration)
    except UnknownInput as error:
        raise Unmapped(str(error)) from None


# -- linting --------------------------------------------------------------------------------


def lint(cfn: Mapping[str, Any]) -> list[str]:
    """What cfn-lint (in the plan's region) and the conversion found, one line each: the
    rule, the resource and property, the message."""
    from cfnlint.decode.decode import decode_str

    decoded, errors = decode_str(json.dumps(cfn))
    resources = cfn.get("Resources", {})
    lines = list(cfn.get("Metadata", {}).get(FINDINGS, []))
    for match in [*errors, *_runner().validate_template(decoded)]:
        path = [str(part) for part in match.path]
        logical = path[1] if len(path) > 1 and path[0] == "Resources" else ""
        kind = resources.get(logical, {}).get("Type", "")
        where = f"{logical} ({kind}) {'/'.join(path[2:])}" if logical else "/".join(path)
        lines.append(f"{match.rule.id} {where}: {match.message}")
    return sorted(set(lines))


@functools.cache
def _runner() -> Runner:
    """One cfn-lint runner for every template: building one (its rules) costs more than
    linting a small template (as ``cfnlint.api.lint`` does per call)."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn([], regions=[REGION]))
