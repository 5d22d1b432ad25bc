"""The local target's settings: it has none (the Docker engine is the docker provider's)."""

from __future__ import annotations

from dataclasses import dataclass

from berth.settings import TargetOptions


@dataclass(frozen=True)
class LocalOptions(TargetOptions):
    """No settings: ``docker:host`` (or DOCKER_HOST) chooses the engine."""
