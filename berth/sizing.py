"""What a service asks for (``deploy.resources``), and the smallest size on offer that holds it.

Every target sizes by one rule: limits or reservations, whichever is larger, never rounded
down. RDS classes, ElastiCache node types, Fargate's cpu/memory pairs, Compute Engine machine
types and Cloud SQL's shared-core tiers are all tables of sizes, smallest first, picked the
same way; each target words its own error when nothing is that large.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from berth.model import Resources

MIB = 1024 * 1024
GIB = 1024 * MIB
Size = TypeVar("Size")


@dataclass(frozen=True)
class Request:
    cpus: float | None
    memory: int | None
    """Bytes."""

    @classmethod
    def of(cls, resources: Resources) -> Request:
        """What the service asks for, by the rule every target sizes with."""
        return cls(cpus=resources.wanted_cpus, memory=resources.wanted_memory)

    def smallest(self, sizes: Iterable[tuple[Size, float, float]], memory_unit: int) -> Size | None:
        """The first of ``sizes`` (``(size, vCPUs, memory in memory_unit bytes)``, smallest
        first) with at least the CPUs and memory asked for; None when none is that large."""
        cpus = self.cpus or 0.0
        memory = (self.memory or 0) / memory_unit
        return next((size for size, most, room in sizes if most >= cpus and room >= memory), None)
