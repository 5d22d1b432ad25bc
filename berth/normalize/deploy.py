"""A service's size: ``deploy.resources`` (or the legacy ``cpus``, ``mem_limit``,
``mem_reservation``) and ``deploy.replicas`` (or the legacy ``scale``)."""

from __future__ import annotations

from typing import Any

from berth.model import Resources
from berth.quantities import MAX_REPLICAS, Fail, cpus, size


def deploy(raw: dict[str, Any], fail: Fail) -> tuple[Resources, int | None]:
    deploy = raw.get("deploy") or {}
    limits = (deploy.get("resources") or {}).get("limits") or {}
    reservations = (deploy.get("resources") or {}).get("reservations") or {}
    replicas = deploy.get("replicas")
    if raw.get("scale") is not None and replicas is None:
        replicas = raw["scale"]

    def written(section: str, key: str, legacy: str) -> tuple[Any, str]:
        """The value, and the field it was written in: deploy's or the legacy one."""
        values = limits if section == "limits" else reservations
        if key in values:
            return values[key], f"deploy.resources.{section}.{key}"
        return raw.get(legacy), legacy

    resources = Resources(
        cpus=cpus(*written("limits", "cpus", "cpus"), fail),
        memory=size(*written("limits", "memory", "mem_limit"), fail, memory=True),
        reserved_cpus=cpus(reservations.get("cpus"), "deploy.resources.reservations.cpus", fail),
        reserved_memory=size(
            *written("reservations", "memory", "mem_reservation"), fail, memory=True
        ),
    )
    if replicas is None:
        return resources, None
    if not isinstance(replicas, int) or not 0 <= replicas <= MAX_REPLICAS:
        raise fail(
            "deploy.replicas",
            f"{replicas!r} is not a number of replicas",
            f"use a whole number from 0 to {MAX_REPLICAS}",
        )
    return resources, replicas
