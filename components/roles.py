"""Typed views of a Project's role dictionaries (``shared``, a service's or job's ``resources``).

The dictionaries stay the one source: each target declares, in its ``roles`` module, a frozen
dataclass per dictionary with one field per fixed role, typed as the resource a program builds
on (``None`` where a project may not have it), so ``Shared.of(project.shared).network`` is
checked by a type checker where ``project.shared["network"]`` is not. Roles named per item
(``volume_<key>``) stay in the dictionary only. ``tests/test_roles.py`` plans every target and
holds each dictionary to its dataclass, both ways.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Self

import pulumi


@dataclass(frozen=True)
class Roles:
    """A role dictionary with its fixed roles as typed attributes; subclassed per target."""

    PER_ITEM: ClassVar[tuple[str, ...]] = ()
    """Prefixes of the roles named per item (``volume_``), which have no field."""

    @classmethod
    def of(cls, resources: Mapping[str, pulumi.Resource]) -> Self:
        """The typed view of ``resources`` (a TypeError if a role that is always there is not)."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{role: resource for role, resource in resources.items() if role in names})
