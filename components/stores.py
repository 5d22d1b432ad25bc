"""What the managed stores of every cloud target share: the stack's store settings, and
their credentials as resource inputs, which stay secret."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from berth.components.names import Names
from berth.model import Secret, Service, Text
from berth.stores import PasswordRule, store_password


@dataclass(frozen=True)
class StoreSettings:
    """What every store of the stack shares; a target's settings add its network and place."""

    names: Names
    prefix: str
    throwaway: bool
    """The stack's stores may be lost with it: no protection, no final snapshot or backup."""

    def kept(
        self, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> pulumi.ResourceOptions:
        """Options of what holds data or its network: created after ``after``, protected unless
        the stores are throwaway."""
        return pulumi.ResourceOptions(
            parent=parent, depends_on=list(after), protect=not self.throwaway
        )


def password_input(
    value: Text | None, service: Service, key: str, file: str, rule: PasswordRule
) -> pulumi.Output[str]:
    """The store's password as a resource input: from a stack secret, one the store accepts,
    and never plain text in the inputs, the plan or the state."""
    return pulumi.Output.secret(store_password(value, service, key, file, rule))


def name_input(value: Text | None) -> pulumi.Input[str] | None:
    """A user's or database's name as a resource input: a secret stays one."""
    return pulumi.Output.secret(value.value) if isinstance(value, Secret) else value
