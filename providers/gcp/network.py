"""The project's VPC network: its subnet, what VMs need around them (internal traffic, a NAT),
their internal addresses, and a VM's public address and firewall when services are public."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from berth.model import Service
from berth.providers.gcp import vm
from berth.providers.gcp.names import cloud_name
from berth.providers.gcp.shared import Shared


@dataclass(frozen=True)
class Network:
    """One VPC network and the project's one subnet: Cloud Run egress and the VMs are in it."""

    network: gcp.compute.Network
    """The network the stack created, or the one the options name, read (``get``)."""
    subnet: gcp.compute.Subnetwork


def create_network(shared: Shared) -> Network:
    """The project's network, or the one the options name, and the project's subnet in it."""
    given = shared.options.network
    network = (
        gcp.compute.Network(
            shared.names("network"),
            name=shared.prefix,
            project=shared.gcp_project,
            auto_create_subnetworks=False,
            opts=shared.after_api("compute", shared.root),
        )
        if given is None
        else gcp.compute.Network.get(
            shared.names("given-network"), given, opts=shared.after_api("compute", shared.root)
        )
    )
    subnet = gcp.compute.Subnetwork(
        shared.names("subnet"),
        name=shared.prefix,
        project=shared.gcp_project,
        region=shared.region,
        network=network.id,
        ip_cidr_range=shared.options.subnet_range,
        private_ip_google_access=True,
        opts=pulumi.ResourceOptions(parent=shared.root),
    )
    return Network(network, subnet)


def vm_network(shared: Shared, network: Network) -> dict[str, pulumi.Resource]:
    """What VMs need around them: traffic from the subnet (``firewall``), a NAT to pull
    public images (``router``, ``nat``)."""
    child = pulumi.ResourceOptions(parent=shared.root)
    internal = gcp.compute.Firewall(
        shared.names("internal"),
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
        shared.names("router"),
        name=shared.prefix,
        project=shared.gcp_project,
        region=shared.region,
        network=network.network.id,
        opts=child,
    )
    nat = gcp.compute.RouterNat(
        shared.names("nat"),
        name=shared.prefix,
        project=shared.gcp_project,
        region=shared.region,
        router=router.name,
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        opts=child,
    )
    return {"firewall": internal, "router": router, "nat": nat}


def internal_addresses(
    shared: Shared, network: Network, services: Iterable[str]
) -> dict[str, gcp.compute.Address]:
    """Each VM service's fixed internal address: others reach it there."""
    return {
        name: gcp.compute.Address(
            shared.names(f"{name}-address"),
            name=cloud_name(shared.prefix, name),
            project=shared.gcp_project,
            region=shared.region,
            address_type="INTERNAL",
            subnetwork=network.subnet.id,
            opts=shared.at_root(f"{name}-address"),
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
        shared.names(service.name, "public-address"),
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
        shared.names(service.name, "public"),
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
