"""How a Project names its child resources, and the aliases that keep older stacks' resources.

Every child's name starts with the Project's name (``shop-cluster``, ``shop-web``,
``shop-web-task``), so two Projects in one program never collide. Stacks deployed before
names carried the Project's name keep their resources through aliases: the Service and Job
components, and the resources parented to the Project itself, alias their old name
explicitly; a component's own children need none, because the engine derives their alias
from the component's (``inheritedChildAlias`` in pulumi/pulumi's step generator: a child whose
name begins with its parent's name is aliased to the parent's old name plus the same rest).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from berth.errors import BerthError
from berth.names import digest

AUTONAME_SUFFIX = 8
"""What Pulumi's autonaming adds to a logical name: ``-`` and 7 random hex characters."""
PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
"""What Compose accepts as a project name: cloud resource names are derived from it."""


@dataclass(frozen=True)
class Names:
    project: str
    """The Project's resource name: every child's name and every cloud object's name begin
    with it."""
    legacy: bool = False
    """The stack may hold resources Berth named before names began with the Project's name:
    renamed resources then carry an alias to their old name (``pulumi up`` keeps them)."""

    def __post_init__(self) -> None:
        if not PROJECT_NAME.match(self.project):
            raise BerthError(
                f"{self.project!r} cannot name a Berth Project",
                hint="use lowercase letters, digits, '-' and '_', starting with a letter or "
                "digit, as Compose project names do",
            )

    def __call__(self, *parts: str) -> str:
        """``names("web", "task")`` is ``<project>-web-task``."""
        return "-".join((self.project, *parts))

    def aliased(self, old_name: str) -> pulumi.ResourceOptions:
        """Options for a resource parented to the Project, now named ``self(old_name)``:
        an alias to ``old_name`` when the stack may hold it under that name."""
        return pulumi.ResourceOptions(aliases=[pulumi.Alias(name=old_name)] if self.legacy else [])


def fitted(name: str, limit: int) -> str:
    """``name``, cut so that the name Pulumi's autonaming makes of it is at most ``limit``
    characters (a cloud's limit: Pulumi refuses a longer one at preview); a hash of the whole
    keeps cut names unique."""
    room = limit - AUTONAME_SUFFIX
    if len(name) <= room:
        return name
    return f"{name[: room - 7]}-{digest(name, 6)}"
