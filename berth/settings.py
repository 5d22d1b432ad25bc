"""Stack settings: Berth's own keys of the ``berth`` config namespace, and the variables.

Every key of the namespace that is not one of Berth's settings is a variable for the compose
files: it fills ``${VAR}`` and bare environment keys. Secret keys stay secret.

Every setting's default is written once, in Pulumi.yaml: ``pulumi up`` applies it to the stack
config, and the offline plan, which has no CLI, reads it from there (``declared_defaults``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from berth.errors import BerthError
from berth.variables import Variables

PROJECT_FILE = Path(__file__).resolve().parents[1] / "Pulumi.yaml"

NAMESPACE = "berth"
SETTING_KEYS = frozenset({"composeFiles", "target", "profiles"})


@functools.cache
def declared_defaults() -> dict[str, str]:
    """Each setting's default as Pulumi.yaml declares it, in its config-string form."""
    declared = yaml.safe_load(PROJECT_FILE.read_text(encoding="utf-8")).get("config") or {}
    return {
        key: _config_string(spec["default"])
        for key, spec in declared.items()
        if isinstance(spec, dict) and "default" in spec
    }


def _config_string(value: Any) -> str:
    """How the stack config holds a value: booleans lowercase, lists as JSON."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class StackSettings:
    compose_files: tuple[str, ...]
    target: str
    profiles: tuple[str, ...]
    variables: Variables = field(default_factory=Variables)
    options: Mapping[str, str] = field(default_factory=dict)
    """Target settings (keys the target declares), as raw config strings."""

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, str],
        secret_keys: Iterable[str] = (),
        option_keys: Iterable[str] = (),
    ) -> StackSettings:
        """Settings from ``berth:KEY`` config values (strings, lists as JSON)."""
        prefix = f"{NAMESPACE}:"
        own = {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}
        secret = {k[len(prefix) :] for k in secret_keys if k.startswith(prefix)}
        reserved = SETTING_KEYS | set(option_keys)
        for key in reserved & secret:
            raise BerthError(
                f"berth:{key} is a Berth setting and cannot be a secret",
                hint=f"set it again without --secret: `pulumi config set {key} <value>`",
            )
        return cls(
            compose_files=tuple(_string_list(own, "composeFiles")),
            target=option_text(own, "target"),
            profiles=tuple(_string_list(own, "profiles")),
            variables=Variables(
                values={k: v for k, v in own.items() if k not in reserved},
                secret_keys=frozenset(secret - reserved),
            ),
            options={k: v for k, v in own.items() if k in set(option_keys)},
        )


def option_text(options: Mapping[str, str], key: str) -> str:
    """A setting's config string: Pulumi.yaml's default when unset or empty."""
    value = options.get(key)
    return (declared_defaults()[key] if value in (None, "") else str(value)).strip()


def option_bool(options: Mapping[str, str], key: str) -> bool:
    """A boolean setting (``true``/``false``)."""
    text = option_text(options, key).lower()
    if text in ("true", "false"):
        return text == "true"
    raise BerthError(
        f"berth:{key} must be true or false, got {options[key]!r}",
        hint=f"`pulumi config set {key} {declared_defaults()[key]}`",
    )


def option_int(options: Mapping[str, str], key: str) -> int:
    """A whole-number setting."""
    text = option_text(options, key)
    try:
        return int(text)
    except ValueError:
        raise BerthError(
            f"berth:{key} must be a whole number, got {options[key]!r}",
            hint=f"`pulumi config set {key} {declared_defaults()[key]}`",
        ) from None


def _string_list(own: Mapping[str, str], key: str) -> list[str]:
    raw = option_text(own, key)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BerthError(
            f"berth:{key} must be a list of strings, got {raw!r}",
            hint=f'e.g. `pulumi config set --path "{key}[0]" compose.yaml`',
        )
    return value
