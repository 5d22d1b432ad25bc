"""The project's VPC network: its subnet, what VMs need around them (internal traffic, a NAT),
their internal addresses, and a VM's public address and firewall when services are public."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from berth.model import Service
from providers.gcp import vm
from providers.gcp.names import cloud_name
from providers.gcp.shared import Shared


@dataclass(frozen=True)
class Network:
    """One VPC network and its one subnet: Cloud Run egress and the VMs are in it."""

    network: gcp.compute.Network
    subnet: gcp.compute.Subnetwork


def create_network(shared: Shared) -> Network:
    name = shared.project.name
    network = gcp.compute.Network(
        f"{name}-network",
        name=shared.prefix,
        project=shared.gcp_project,
        auto_create_subnetworks=False,
        opts=shared.after_api("compute", shared.root),
    )
    subnet = gcp.compute.Subnetwork(
        f"{name}-subnet",
        name=shared.prefix,
        project=shared.gcp_project,
        region=shared.region,
        network=network.id,
        ip_cidr_range=shared.options.subnet_range,
        private_ip_google_access=True,
        opts=pulumi.ResourceOptions(parent=shared.root),
    )
    return Network(network, subnet)


def vm_network(shared: Shared, network: Network) -> list[pulumi.Resource]:
    """What VMs need around them: traffic from the subnet, a NAT to pull public images."""
    child = pulumi.ResourceOptions(parent=shared.root)
    name = shared.project.name
    internal = gcp.compute.Firewall(
        f"{name}-internal",
        name=cloud_name(shared.prefix, "internal"),
        project=shared.gcp_project,
        network=network.network.id,
        direction="INGRESS",
        source_ranges=[shared.options.subnet_range],
        target_tags=[shared.prefix],
        allows=[{"protocol": "tcp"}, {"protocol": "udp"}, {"protocol": "icmp"}],
        opts=child,
    )
    router = gcp.compute.Router(
        f"{name}-router",
        name=shared.prefix,
        project=shared.gcp_project,
        region=shared.region,
        network=network.network.id,
        opts=child,
    )
    nat = gcp.compute.RouterNat(
        f"{name}-nat",
        name=shared.prefix,
        project=shared.gcp_project,
        region=shared.region,
        router=router.name,
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        opts=child,
    )
    return [internal, nat]


def internal_addresses(
    shared: Shared, network: Network, services: Iterable[str]
) -> dict[str, gcp.compute.Address]:
    """Each VM service's fixed internal address: others reach it there."""
    return {
        name: gcp.compute.Address(
            f"{name}-address",
            name=cloud_name(shared.prefix, name),
            project=shared.gcp_project,
            region=shared.region,
            address_type="INTERNAL",
            subnetwork=network.subnet.id,
            opts=pulumi.ResourceOptions(parent=shared.root),
        )
        for name in services
    }


def public_access(
    shared: Shared, network: Network, service: Service, parent: pulumi.Resource
) -> tuple[list[dict[str, Any]] | None, list[pulumi.Output[str]]]:
    """An external address and a firewall opening the published HTTP ports (the others
    too only when the stack opts in), when services are public: the VM's
    ``access_configs`` and its public endpoints."""
    options = shared.options
    if not options.public_services:
        return None, []
    ports, _ = vm.public_ports(service, options.public_non_http_ports)
    if not ports:
        return None, []
    child = pulumi.ResourceOptions(parent=parent)
    address = gcp.compute.Address(
        f"{service.name}-public-address",
        name=cloud_name(shared.prefix, service.name, "public"),
        project=shared.gcp_project,
        region=shared.region,
        address_type="EXTERNAL",
        opts=child,
    )
    by_protocol: dict[str, list[str]] = {}
    for port in ports:
        by_protocol.setdefault(port.protocol, []).append(str(port.published or port.target))
    gcp.compute.Firewall(
        f"{service.name}-public",
        name=cloud_name(shared.prefix, service.name, "public"),
        project=shared.gcp_project,
        network=network.network.id,
        direction="INGRESS",
        source_ranges=["0.0.0.0/0"],
        target_tags=[cloud_name(shared.prefix, service.name)],
        allows=[
            {"protocol": protocol, "ports": sorted(set(numbers))}
            for protocol, numbers in sorted(by_protocol.items())
        ],
        opts=child,
    )
    endpoints = [
        pulumi.Output.concat(
            address.address,
            f":{port.published or port.target}",
            "/udp" if port.protocol == "udp" else "",
        )
        for port in ports
    ]
    return [{"nat_ip": address.address}], endpoints
