"""Fargate task sizes: ``deploy.resources`` mapped to the smallest valid cpu/memory pair.

Fargate accepts only fixed pairs (AWS docs, "Task CPU and memory"); a request becomes the
smallest pair that gives at least the requested cpus and memory (limits or reservations,
whichever is larger). Nothing requested gives the smallest task, 0.25 vCPU and 512 MiB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from berth.errors import BerthError
from berth.model import Service
from berth.sizing import MIB, Request
from berth.sources import Sources

FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
"""CPU units (1024 per vCPU) to the memory sizes (MiB) Fargate allows with them (Linux)."""
FARGATE_PAIRS = tuple(
    ((cpu, memory), cpu / 1024, memory)
    for cpu, memories in FARGATE_SIZES.items()
    for memory in memories
)
"""Every valid pair, smallest first: ((CPU units, MiB), vCPUs, MiB)."""
MAX_CPU = max(FARGATE_SIZES)
MAX_MEMORY = max(FARGATE_SIZES[MAX_CPU])


@dataclass(frozen=True)
class TaskSize:
    cpu: int
    """CPU units."""
    memory: int
    """MiB."""


def task_size(service: Service, sources: Sources) -> TaskSize:
    """The Fargate size for ``service``; a BerthError when it asks for more than Fargate has."""
    request = Request.of(service.resources)
    if size := request.smallest(FARGATE_PAIRS, MIB):
        return TaskSize(*size)
    cpus = request.cpus or 0.0
    asked = (
        f"{cpus:g} CPUs"
        if math.ceil(cpus * 1024) > MAX_CPU
        else f"{math.ceil((request.memory or 0) / MIB)} MiB of memory"
    )
    field = _resources_field(service)
    raise BerthError(
        f"asks for {asked}, more than a Fargate task has "
        f"({MAX_CPU // 1024} vCPU, {MAX_MEMORY // 1024} GiB)",
        file=sources.origin(service.name, field),
        service=service.name,
        field=field,
        hint="lower the limit, or split the work across replicas",
    )


def _resources_field(service: Service) -> str:
    """The compose field the request came from, to point the user at it."""
    for field in ("deploy.resources", "cpus", "mem_limit", "mem_reservation"):
        if field in service.fields:
            return field
    return "deploy.resources"


def size_table() -> str:
    """The table of valid sizes, for the documentation."""
    rows = ["| vCPU | memory (GiB) |", "|---|---|"]
    for cpu, memories in FARGATE_SIZES.items():
        gib = [m / 1024 for m in memories]
        sizes = (
            ", ".join(f"{g:g}" for g in gib)
            if len(gib) <= 4
            else f"{gib[0]:g} to {gib[-1]:g} in steps of {gib[1] - gib[0]:g}"
        )
        rows.append(f"| {cpu / 1024:g} | {sizes} |")
    return "\n".join(rows)
