"""How services find each other on gcp: each reachable service's host, known before it
exists, and the values that name another service rewritten to reach it there (see
``references`` for what counts as a reference)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_gcp as gcp

from berth.model import Secret, Service, Text
from berth.stores import ManagedStore
from providers.gcp.placement import Kind, Placement
from providers.gcp.references import Endpoint, references, rewrite
from providers.gcp.shared import Shared
from providers.gcp.stores import StoreAddress


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

    def rewritten(self, service: Service, key: str, value: Text) -> pulumi.Input[str]:
        """``value`` with references to other services replaced by their addresses, and in a
        secret, a managed cache's compose password by the AUTH string Memorystore made."""
        text = value.value if isinstance(value, Secret) else value
        found = references(key, text, self.hosts, own=service.name)
        swaps = [
            address.auth
            for address in self.store_addresses.values()
            if address.auth and isinstance(value, Secret) and address.auth[0] in text
        ]
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
