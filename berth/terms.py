"""The terms a hint is given in: the stack config of the Pulumi program, or the CLI's flags.

A missing value or compose file is the same problem however the user gave Berth its inputs,
but the fix is typed differently: ``pulumi config set --secret KEY <value>`` for a stack,
``--secret KEY=<value>`` for ``python -m berth plan``. So a hint that names a fix is a function
of the terms (``Hint``), and whoever prints the error (the program, the CLI) says which terms
its user speaks. ``berth diff --stack-config`` takes both: a key the stack config gave and no
flag overrode is fixed in the stack config, the others with flags.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

SETTING_FLAGS = {"composeFiles": "-f", "target": "--target", "profiles": "--profile"}
"""The CLI flag that gives each of Berth's own settings."""


@dataclass(frozen=True)
class Terms:
    """Whose words a hint uses: the entry point that prints an error chooses."""

    flags: bool
    """``python -m berth``: compose files, settings and values are flags. Otherwise the Pulumi
    program: every input is the stack's config (``pulumi config set``)."""
    stored: frozenset[str] = frozenset()
    """With flags, the keys (without ``berth:``) that a stack config gave: their fixes are
    made there."""

    STACK_CONFIG: ClassVar[Terms]
    FLAGS: ClassVar[Terms]

    def _stack(self, key: str) -> bool:
        """Whether ``berth:KEY`` is fixed in the stack config."""
        return not self.flags or key in self.stored

    def how_to_set(self, key: str, value: str = "<value>", *, secret: bool = False) -> str:
        """The command or flag, as the user types it, that gives ``berth:KEY`` a value."""
        if self._stack(key):
            return f"`pulumi config set {'--secret ' if secret else ''}{key} {value}`"
        if key in SETTING_FLAGS:
            return f"`{SETTING_FLAGS[key]} {value}`"
        return f"`--{'secret' if secret else 'set'} {key}={value}`"

    def how_to_set_list(self, key: str, item: str) -> str:
        """What gives the list setting ``berth:KEY`` its first item: a stack holds a list as
        JSON, set item by item with ``--path``; a flag takes the item itself."""
        if self._stack(key):
            return f'`pulumi config set --path "{key}[0]" {item}`'
        return self.how_to_set(key, item)

    def how_to_add(self, key: str, item: str) -> str:
        """What adds ``item`` to the list setting ``berth:KEY``: a stack's list takes it at its
        end (index N, its length), a flag is given once more."""
        if self._stack(key):
            return f'add it to berth:{key} (`pulumi config set --path "{key}[N]" {item}`)'
        return f"add {self.how_to_set(key, item)}"

    def how_to_remove(self, key: str) -> str:
        """What takes ``berth:KEY`` away again."""
        if self._stack(key):
            return f"`pulumi config rm {key}`"
        return f"leave out `{key}=…`"

    def compose_files(self) -> str:
        """Where the compose files are named, and what their paths are relative to."""
        if self._stack("composeFiles"):
            return "berth:composeFiles in the stack config (paths are relative to the project)"
        return "the -f paths (relative to the current directory)"


Terms.STACK_CONFIG = Terms(flags=False)
Terms.FLAGS = Terms(flags=True)

Hint = str | Callable[[Terms], str]
"""A hint: the same text in all terms, or phrased in the terms it is given in."""


def how_to_set_in_both(key: str, value: str = "<value>", *, secret: bool = False) -> str:
    """For a warning, a plain string the program logs and the CLI prints as it is, so with no
    one to choose its terms: the stack's command, then the flag ``berth plan`` takes."""
    stack = Terms.STACK_CONFIG.how_to_set(key, value, secret=secret)
    return f"{stack} (with berth plan: {Terms.FLAGS.how_to_set(key, value, secret=secret)})"
