"""Stack variables for interpolation, with secrets kept out of the compose subprocess.

Each secret is handed to Docker Compose as a unique placeholder; after loading, a string that
contains a placeholder is revealed as a ``Secret`` holding the real value, so a secret never
leaves this process in plain text and a value that interpolates a secret is secret as a whole.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from berth.errors import BerthError
from berth.model import Secret, Text
from berth.names import normalised

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""What a compose variable is called: what ``${NAME}`` can refer to and an env file can hold."""
COMPOSE_OWN = ("PATH", "HOME")
"""Read by Docker Compose from its own environment, like every ``COMPOSE_*`` key."""
MIN_SECRET_LENGTH = 3
"""Shorter secrets are refused: job logs hide a secret by its value, and one or two characters
occur everywhere in a log (and are guessed at once). An empty secret holds nothing to hide."""


@dataclass(frozen=True)
class Variables:
    """Values for ``${VAR}`` and bare environment keys; ``secret_keys`` name the secret ones."""

    values: Mapping[str, str] = field(default_factory=dict)
    secret_keys: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for key in sorted(self.values):
            _check_name(key)
        for key in sorted(self.secret_keys & self.values.keys()):
            _check_secret(key, self.values[key])

    @property
    def secrets(self) -> dict[str, str]:
        """Each stack secret's own value, by key."""
        return {key: self.values[key] for key in sorted(self.secret_keys & self.values.keys())}

    def seal(self) -> Sealed:
        nonce = secrets.token_hex(6)
        placeholders = {
            key: f"berthsecret{nonce}x{index}z"
            for index, key in enumerate(sorted(self.secret_keys & self.values.keys()))
        }
        env = {key: placeholders.get(key, value) for key, value in self.values.items()}
        pattern = re.compile(rf"berthsecret{nonce}x\d+z")
        return Sealed(env, {p: k for k, p in placeholders.items()}, dict(self.values), pattern)


def _check_secret(key: str, value: str) -> None:
    if 0 < len(value) < MIN_SECRET_LENGTH:
        raise BerthError(
            f"the secret berth:{key} has {len(value)} character(s): too short to hide in job logs",
            hint=lambda terms: (
                f"use a secret of at least {MIN_SECRET_LENGTH} characters "
                f"({terms.how_to_set(key, secret=True)}), or {terms.how_to_set(key)} if it is not "
                "secret"
            ),
        )


def _check_name(key: str) -> None:
    """Refuse a key Compose would read as one of its own settings, or could not be handed."""
    if key.upper().startswith("COMPOSE_") or key in COMPOSE_OWN:
        raise BerthError(
            f"berth:{key} cannot be a compose variable: Docker Compose reads {key} for itself, "
            "so it would change how the compose files are loaded",
            hint=lambda terms: (
                f"remove it ({terms.how_to_remove(key)}); choose files and "
                f"profiles with {terms.how_to_set('composeFiles', 'FILE')} and "
                f"{terms.how_to_set('profiles', 'NAME')}"
            ),
        )
    if not NAME.fullmatch(key):
        raise BerthError(
            f"berth:{key} cannot be a compose variable: a variable name has only letters, "
            "digits and _, and does not start with a digit",
            hint=lambda terms: (
                f"{terms.how_to_remove(key)}, then set it again under a name "
                f"such as {_variable_name(key) or 'VALUE'}"
            ),
        )


@dataclass(frozen=True)
class Sealed:
    """The environment for the subprocess, and the way back from placeholders to secrets."""

    env: dict[str, str]
    keys: dict[str, str]
    values: dict[str, str] = field(repr=False)
    pattern: re.Pattern[str]

    def contains_secret(self, text: str) -> bool:
        """Whether ``text`` mentions a secret, even cut short: a parser that reads a number
        and a unit (``mem_limit``) quotes the placeholder without its closing letter."""
        return bool(self.secret_names(text))

    def reveal(self, text: str) -> Text:
        """``text`` with its placeholders replaced; a ``Secret`` when it had any."""
        found = self.pattern.findall(text)
        if not found:
            return text
        keys = tuple(sorted({self.keys[p] for p in found}))
        value = self.pattern.sub(lambda m: self.values[self.keys[m.group(0)]], text)
        return Secret(value=value, keys=keys)

    def secret_names(self, text: str) -> list[str]:
        mentioned = re.compile(self.pattern.pattern.removesuffix("z"))
        return sorted({k for m in mentioned.finditer(text) if (k := self.keys.get(m[0] + "z"))})


def _variable_name(key: str) -> str:
    """``key`` as a variable name to suggest: each other character ``_``, no digit first."""
    return normalised(
        key, "A-Za-z0-9_", lower=False, runs=False, by="_", start="0123456789", end=""
    )
