"""The local target's roles, typed (``berth.components.roles``; docs/local.md lists them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pulumi_docker as docker
import pulumi_docker_build as docker_build

from berth.components.roles import Roles
from berth.providers.local.run_once import LocalJob


@dataclass(frozen=True)
class Shared(Roles):
    network: docker.Network
    PER_ITEM: ClassVar[tuple[str, ...]] = ("volume_", "model_")


@dataclass(frozen=True)
class ServiceResources(Roles):
    workload: docker.Container
    image: docker.RemoteImage | docker_build.Image


@dataclass(frozen=True)
class JobResources(Roles):
    run: LocalJob
    image: docker.RemoteImage | docker_build.Image


@dataclass(frozen=True)
class TriggeredResources(Roles):
    """A job of the top-level ``jobs:``: the image its container definition runs (the rest
    of the definition is the stack output ``triggered``, nothing on the engine)."""

    definition: docker.RemoteImage | docker_build.Image
