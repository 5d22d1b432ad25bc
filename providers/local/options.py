"""The local target's settings: it has none (the Docker engine is the docker provider's)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class LocalOptions:
    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> LocalOptions:
        return cls()
