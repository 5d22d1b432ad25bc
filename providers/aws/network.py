"""Where the tasks run: the VPC and subnets, and the security groups that fence the project.

By default a new VPC with one public subnet in each of two availability zones and an internet
gateway, and no NAT gateway: tasks get public IP addresses to pull images, and security groups
alone decide what reaches them. An existing VPC and subnets can be given instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from berth.components.names import Names, fitted
from berth.names import shortened
from berth.providers.aws.names import SECURITY_GROUP_DESCRIPTION, SECURITY_GROUP_NAME, name_tag
from berth.providers.aws.options import AwsOptions

VPC_CIDR = "10.0.0.0/16"
ZONES = ("a", "b")
PRIVATE_BLOCK = 10
"""Private subnets are 10.0.10.0/24 and 10.0.11.0/24."""
ANYWHERE = {"cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": ["::/0"]}


@dataclass(frozen=True)
class Network:
    vpc_id: pulumi.Input[str]
    subnet_ids: list[pulumi.Input[str]]
    ready: list[pulumi.Resource] = field(default_factory=list)
    """What makes the subnets reach the internet: a subnet exists before its route to the
    internet gateway, so the load balancer ("VPC has no internet gateway") and every task
    (image pulls) wait on these too. Empty for a VPC the stack config names."""
    private_subnet_ids: list[pulumi.Input[str]] = field(default_factory=list)
    """Subnets with no route to the internet, for managed stores; in a VPC the stack config
    names, its subnets."""
    vpc: aws.ec2.Vpc | None = None
    """The VPC the stack created; None for one the stack config names."""


def create_network(
    names: Names,
    options: AwsOptions,
    region: pulumi.Input[str],
    parent: pulumi.Resource,
    *,
    private: bool = False,
) -> Network:
    """The stack's VPC and subnets (and, with ``private``, private subnets beside the public
    ones, still no NAT), or the ones its config names."""
    if options.vpc_id is not None:
        subnets = list(options.subnet_ids)
        return Network(options.vpc_id, subnets, private_subnet_ids=subnets)
    opts = pulumi.ResourceOptions(parent=parent)
    name = names.project
    vpc = aws.ec2.Vpc(
        names("vpc"),
        cidr_block=VPC_CIDR,
        enable_dns_support=True,
        enable_dns_hostnames=True,
        tags=name_tag(name),
        opts=opts,
    )
    zones = aws.get_availability_zones_output(
        state="available", region=region, opts=pulumi.InvokeOptions(parent=parent)
    )
    gateway = aws.ec2.InternetGateway(names("igw"), vpc_id=vpc.id, tags=name_tag(name), opts=opts)
    routes = aws.ec2.RouteTable(
        names("public"),
        vpc_id=vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
        tags=name_tag(f"{name}-public"),
        opts=opts,
    )
    subnets: list[pulumi.Input[str]] = []
    associations: list[pulumi.Resource] = []
    for index, zone in enumerate(ZONES):
        subnet = aws.ec2.Subnet(
            names("public", zone),
            vpc_id=vpc.id,
            cidr_block=f"10.0.{index}.0/24",
            availability_zone=zones.names[index],
            map_public_ip_on_launch=True,
            tags=name_tag(f"{name}-public-{zone}"),
            opts=opts,
        )
        association = aws.ec2.RouteTableAssociation(
            names("public", zone), subnet_id=subnet.id, route_table_id=routes.id, opts=opts
        )
        subnets.append(subnet.id)
        associations.append(association)
    private_subnets = []
    if private:
        table = aws.ec2.RouteTable(
            names("private"), vpc_id=vpc.id, tags=name_tag(f"{name}-private"), opts=opts
        )
        for index, zone in enumerate(ZONES):
            subnet = aws.ec2.Subnet(
                names("private", zone),
                vpc_id=vpc.id,
                cidr_block=f"10.0.{PRIVATE_BLOCK + index}.0/24",
                availability_zone=zones.names[index],
                tags=name_tag(f"{name}-private-{zone}"),
                opts=opts,
            )
            aws.ec2.RouteTableAssociation(
                names("private", zone), subnet_id=subnet.id, route_table_id=table.id, opts=opts
            )
            private_subnets.append(subnet.id)
    return Network(vpc.id, subnets, ready=associations, private_subnet_ids=private_subnets, vpc=vpc)


@dataclass(frozen=True)
class SecurityGroups:
    tasks: aws.ec2.SecurityGroup
    """Every task of the project: open to the project's own tasks and to the load balancer."""
    load_balancer: aws.ec2.SecurityGroup | None


def create_security_groups(
    names: Names,
    network: Network,
    listener_ports: Iterable[int],
    target_ports: Iterable[int],
    parent: pulumi.Resource,
) -> SecurityGroups:
    """The load balancer open to the internet on its listener ports only (none: no balancer),
    the tasks open to each other and, on the ports it forwards to, to the load balancer."""
    opts = pulumi.ResourceOptions(parent=parent)
    name = names.project
    balancer = None
    listeners = sorted(set(listener_ports))
    if listeners:
        balancer = aws.ec2.SecurityGroup(
            fitted(names("lb"), SECURITY_GROUP_NAME),
            vpc_id=network.vpc_id,
            description=_description(
                f"Berth {name}: the load balancer, open on its listener ports"
            ),
            ingress=[tcp_ingress(port, **ANYWHERE) for port in listeners],
            egress=[_out_anywhere()],
            opts=opts,
        )
    from_balancer = (
        [tcp_ingress(port, security_groups=[balancer.id]) for port in sorted(set(target_ports))]
        if balancer
        else []
    )
    tasks = aws.ec2.SecurityGroup(
        fitted(names("tasks"), SECURITY_GROUP_NAME),
        vpc_id=network.vpc_id,
        description=_description(
            f"Berth {name}: the tasks of the project, open to each other and the balancer"
        ),
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(protocol="-1", from_port=0, to_port=0, self=True),
            *from_balancer,
        ],
        egress=[_out_anywhere()],
        opts=opts,
    )
    return SecurityGroups(tasks=tasks, load_balancer=balancer)


def nfs_security_group(
    names: Names, network: Network, tasks: aws.ec2.SecurityGroup, parent: pulumi.Resource
) -> aws.ec2.SecurityGroup:
    """The file system's mount targets, reachable over NFS from the project's tasks only."""
    return aws.ec2.SecurityGroup(
        fitted(names("efs"), SECURITY_GROUP_NAME),
        vpc_id=network.vpc_id,
        description=_description(
            f"Berth {names.project}: the file system, open over NFS to the tasks"
        ),
        ingress=[tcp_ingress(2049, security_groups=[tasks.id])],
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _description(text: str) -> str:
    return shortened(text, SECURITY_GROUP_DESCRIPTION)


def tcp_ingress(
    port: int, **sources: Sequence[pulumi.Input[str]]
) -> aws.ec2.SecurityGroupIngressArgs:
    return aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=port, to_port=port, **sources)


def _out_anywhere() -> aws.ec2.SecurityGroupEgressArgs:
    """Every protocol (-1) to anywhere: image pulls, AWS APIs, whatever the app calls."""
    return aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, **ANYWHERE)
