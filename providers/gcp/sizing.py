"""``deploy.resources`` rounded up to what Cloud Run and Compute Engine offer.

Cloud Run (services, jobs, worker pools) takes whole CPUs from a fixed set and memory in MiB,
with minimum memory per CPU count and minimum CPUs per memory size; Compute Engine VMs take a
machine type. A request is never rounded down: a service gets at least what it asked for, or
a clear error when nothing is that large.
"""

from __future__ import annotations

import math

from berth.sizing import GIB, MIB, Request

CLOUD_RUN_CPUS = (1, 2, 4, 6, 8)
CLOUD_RUN_DEFAULT_MEMORY_MIB = 512
CLOUD_RUN_MAX_MEMORY_MIB = 32 * 1024
_MEMORY_FOR_CPUS = {4: 2048, 6: 4096, 8: 4096}
"""Least memory (MiB) Cloud Run accepts for a CPU count."""
_CPUS_FOR_MEMORY = ((24 * 1024, 8), (16 * 1024, 6), (8 * 1024, 4), (4 * 1024, 2))
"""Least CPUs Cloud Run accepts above a memory size (MiB)."""

MACHINE_TYPES = (
    ("e2-small", 2, 2),
    ("e2-medium", 2, 4),
    ("e2-standard-2", 2, 8),
    ("e2-standard-4", 4, 16),
    ("e2-standard-8", 8, 32),
    ("e2-standard-16", 16, 64),
    ("e2-standard-32", 32, 128),
)
"""Compute Engine machine types a VM service may get: name, vCPUs, memory in GiB."""


class TooLarge(ValueError):
    """No size on offer covers the request."""


def cloud_run_limits(request: Request) -> dict[str, str]:
    """Cloud Run ``limits``: ``{"cpu": "2", "memory": "1024Mi"}``."""
    memory = max(
        CLOUD_RUN_DEFAULT_MEMORY_MIB,
        128 * math.ceil((request.memory or 0) / (128 * MIB)),
    )
    if memory > CLOUD_RUN_MAX_MEMORY_MIB:
        raise TooLarge(f"Cloud Run offers at most {CLOUD_RUN_MAX_MEMORY_MIB // 1024} GiB of memory")
    wanted = max(request.cpus or 1.0, *(c for m, c in _CPUS_FOR_MEMORY if memory > m), 1.0)
    cpus = next((c for c in CLOUD_RUN_CPUS if c >= wanted), None)
    if cpus is None:
        raise TooLarge(f"Cloud Run offers at most {CLOUD_RUN_CPUS[-1]} CPUs")
    memory = max(memory, _MEMORY_FOR_CPUS.get(cpus, 0))
    return {"cpu": str(cpus), "memory": f"{memory}Mi"}


def machine_type(request: Request) -> str:
    """The smallest e2 machine type with at least the requested CPUs and memory."""
    if (name := request.smallest(MACHINE_TYPES, GIB)) is not None:
        return name
    largest, most_cpus, most_memory = MACHINE_TYPES[-1]
    raise TooLarge(
        f"the largest machine type offered is {largest} ({most_cpus} vCPUs, {most_memory} GiB)"
    )


SQL_SHARED_TIERS = (("db-f1-micro", 0.2, 614), ("db-g1-small", 0.5, 1740))
"""Cloud SQL's shared-core tiers, smallest first: name, vCPU share, memory in MiB."""
SQL_MAX_CPUS = 96
SQL_MIN_MEMORY_MIB = 3840
SQL_MEMORY_PER_CPU_MIB = (922, 6656)
"""A custom tier's memory per vCPU: 0.9 to 6.5 GiB, in multiples of 256 MiB."""
REDIS_MAX_GB = 300
"""A Basic Memorystore for Redis instance holds at most 300 GB."""


def sql_tier(request: Request) -> str:
    """The smallest Cloud SQL tier with at least the requested CPUs and memory: a shared-core
    tier for small requests, else a custom tier (1 or an even number of vCPUs)."""
    if (shared := request.smallest(SQL_SHARED_TIERS, MIB)) is not None:
        return shared
    cpus = request.cpus or 0.0
    memory = math.ceil((request.memory or 0) / MIB)
    vcpus = max(1, math.ceil(cpus))
    vcpus += vcpus % 2 if vcpus > 1 else 0
    memory = max(SQL_MIN_MEMORY_MIB, 256 * math.ceil(memory / 256))
    low, high = SQL_MEMORY_PER_CPU_MIB
    while memory > vcpus * high:
        vcpus = 2 if vcpus == 1 else vcpus + 2
    if vcpus > SQL_MAX_CPUS:
        raise TooLarge(
            f"the largest Cloud SQL custom tier has {SQL_MAX_CPUS} vCPUs and "
            f"{SQL_MAX_CPUS * high // 1024} GiB"
        )
    memory = max(memory, 256 * math.ceil(vcpus * low / 256))
    return f"db-custom-{vcpus}-{memory}"


def redis_size_gb(request: Request) -> int:
    """Memorystore capacity: the memory asked for, in whole GB, at least 1 (CPUs are not
    sized on Memorystore)."""
    size = max(1, math.ceil((request.memory or 0) / GIB))
    if size > REDIS_MAX_GB:
        raise TooLarge(f"a Basic Memorystore instance holds at most {REDIS_MAX_GB} GB")
    return size
