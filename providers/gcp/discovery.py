"""How services find each other on gcp: each reachable service's host, known before it
exists, and the values that name another service rewritten to reach it there (see
``references`` for what counts as a reference)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from types import MappingProxyType
from typing import Any

import pulumi
import pulumi_gcp as gcp

from berth.model import Secret, Service, Text, revealed
from berth.providers.gcp.placement import Kind, Placement
from berth.providers.gcp.references import Endpoint, references, rewrite
from berth.providers.gcp.shared import Shared
from berth.providers.gcp.stores import StoreAddress
from berth.stores import ManagedStore

Hosts = MappingProxyType[str, str]
"""VM services' internal IPs by name: read-only, which Pulumi does not lift into an Output per
entry (as it does a dict's) whenever the value passes through ``Output.all``."""


class Directory:
    """Where each reachable service is: a VM at its internal address, a Cloud Run service
    at its ``run.app`` host (HTTPS only), a managed store at its private IP."""

    def __init__(
        self,
        shared: Shared,
        placements: Mapping[str, Placement],
        addresses: Mapping[str, gcp.compute.Address],
        stores: Mapping[str, ManagedStore],
        project_number: str,
    ) -> None:
        self.addresses = addresses
        """Each VM service's internal address."""
        self.hosts: dict[str, tuple[pulumi.Input[str], bool]] = {
            name: (address.address, False) for name, address in addresses.items()
        }
        """How other services reach each reachable service: host, and whether HTTPS only."""
        for name, placement in placements.items():
            if placement.kind is Kind.HTTP:
                run = shared.cloud_run_name(name)
                self.hosts[name] = (f"{run}-{project_number}.{shared.region}.run.app", True)
        # Where each managed store will be: its compose name resolves there from the start.
        self.store_addresses = {name: StoreAddress(store) for name, store in stores.items()}
        self.hosts |= {
            name: (address.host, False) for name, address in self.store_addresses.items()
        }

    def reaches_private(self, service: Service) -> bool:
        """Whether the service needs Direct VPC egress: it depends on a VM service or a
        managed store, or its environment names one. A subnet Direct VPC egress used cannot be
        deleted for hours, so workloads that reach nothing private stay off it."""
        private = [name for name, (_, https_only) in self.hosts.items() if not https_only]
        if any(dependency.service in private for dependency in service.depends_on):
            return True
        return any(
            references(key, revealed(value), private) for key, value in service.environment.items()
        )

    def other_vms(self, own: str) -> pulumi.Output[Hosts]:
        """Every VM service's internal IP by name but ``own``'s: known (in a preview) once the
        other VMs' addresses are, whether ``own``'s is or not."""
        before, after = self._chains[own]
        return pulumi.Output.all(before, after).apply(lambda two: Hosts({**two[0], **two[1]}))

    @cached_property
    def _chains(self) -> dict[str, tuple[pulumi.Output[Hosts], pulumi.Output[Hosts]]]:
        """For each VM, the addresses of the VMs before it in name order and of those after
        it: two chains every VM shares, so N VMs make O(N) Outputs, where an Output over the
        N - 1 other addresses for each VM made N² of Pulumi's tasks and callbacks."""
        names = sorted(self.addresses)

        def chain(order: list[str]) -> dict[str, pulumi.Output[Hosts]]:
            so_far = pulumi.Output.from_input(Hosts({}))
            upto: dict[str, pulumi.Output[Hosts]] = {}
            for name in order:
                upto[name] = so_far
                so_far = pulumi.Output.all(so_far, self.addresses[name].address).apply(
                    lambda pair, name=name: Hosts({**pair[0], name: pair[1]})
                )
            return upto

        before, after = chain(names), chain(names[::-1])
        return {name: (before[name], after[name]) for name in names}

    def auth_swaps(self, value: Text) -> list[tuple[str, pulumi.Input[str]]]:
        """The managed caches' compose passwords a secret holds, each with the AUTH string
        Memorystore made, which replaces it."""
        if not isinstance(value, Secret):
            return []
        return [
            address.auth
            for address in self.store_addresses.values()
            if address.auth and address.auth[0] in value.value
        ]

    def rewritten(self, service: Service, key: str, value: Text) -> pulumi.Input[str]:
        """``value`` with references to other services replaced by their addresses, and in a
        secret, a managed cache's compose password by the AUTH string Memorystore made."""
        text = revealed(value)
        found = references(key, text, self.hosts, own=service.name)
        swaps = self.auth_swaps(value)
        if not found and not swaps:
            return text
        hosts = {r.service: self.hosts[r.service][0] for r in found}

        def resolve(resolved: dict[str, Any]) -> str:
            endpoints = {
                n: Endpoint(str(resolved[f"host:{n}"]), https_only=self.hosts[n][1]) for n in hosts
            }
            result = rewrite(text, found, endpoints)
            for index, (password, _) in enumerate(swaps):
                result = result.replace(password, str(resolved[f"auth:{index}"]))
            return result

        return pulumi.Output.all(
            **{f"host:{n}": h for n, h in hosts.items()},
            **{f"auth:{i}": auth for i, (_, auth) in enumerate(swaps)},
        ).apply(resolve)
