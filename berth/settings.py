"""Stack settings: Berth's own keys of the ``berth`` config namespace, and the variables.

Every key of the namespace that is not one of Berth's settings is a variable for the compose
files: it fills ``${VAR}`` and bare environment keys. Secret keys stay secret.

Every setting's default is written once, in Pulumi.yaml: ``pulumi up`` applies it to the stack
config, and the offline plan, which has no CLI, reads it from there (``declared_defaults``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from berth.errors import BerthError, shown_value
from berth.variables import Variables

PROJECT_FILE = Path(__file__).resolve().parents[1] / "Pulumi.yaml"

NAMESPACE = "berth"
SETTING_KEYS = frozenset({"composeFiles", "target", "profiles", "projectName"})


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
    project_name: str = ""
    """Compose's ``-p``: empty for the file's ``name:`` or its folder's name."""
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
        if misplaced := sorted(reserved & secret):
            setting = misplaced[0]
            raise BerthError(
                f"berth:{setting} is a Berth setting and cannot be a secret",
                hint=lambda terms: f"set it without --secret: {terms.how_to_set(setting)}",
            )
        return cls(
            compose_files=tuple(_string_list(own, "composeFiles")),
            target=option_text(own, "target"),
            profiles=tuple(_string_list(own, "profiles")),
            project_name=_project_name(own),
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
        f"berth:{key} must be true or false, got {shown_value(options[key])}",
        hint=lambda terms: f"e.g. {terms.how_to_set(key, declared_defaults()[key])}",
    )


def option_int(options: Mapping[str, str], key: str, low: int, high: int) -> int:
    """A whole-number setting from ``low`` to ``high``, what the cloud it goes to takes; its
    digits are counted before ``int()``, which refuses more than 4300 of them."""
    text = option_text(options, key)
    digits = text.lstrip("0") or "0"
    fits = text.isascii() and text.isdigit() and len(digits) <= len(str(high))
    if not fits or not low <= int(digits) <= high:
        raise BerthError(
            f"berth:{key} must be a whole number from {low} to {high}, got {shown_value(text)}",
            hint=lambda terms: f"e.g. {terms.how_to_set(key, declared_defaults()[key])}",
        )
    return int(digits)


_PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
"""Compose's rule for a project name (compose-go ``loader.NormalizeProjectName``)."""


def _project_name(own: Mapping[str, str]) -> str:
    name = option_text(own, "projectName")
    if name and not _PROJECT_NAME.fullmatch(name):
        raise BerthError(
            f"berth:projectName {shown_value(name)} is not a compose project name: lowercase "
            "letters, digits, '-' and '_', starting with a letter or digit",
            hint=lambda terms: terms.how_to_set("projectName", "my-app"),
        )
    return name


_LIST_EXAMPLES = {"composeFiles": "compose.yaml", "profiles": "debug"}


def _string_list(own: Mapping[str, str], key: str) -> list[str]:
    """A JSON list of strings (what ``pulumi config set --path "KEY[0]"`` stores), or one
    string; anything else named with the shape it should have."""
    raw = option_text(own, key)
    try:
        value = json.loads(raw)
    except ValueError:  # not JSON, or a number past Python's 4300 digits: a string
        value = raw
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        example = _LIST_EXAMPLES[key]
        raise BerthError(
            f"berth:{key} must be a JSON list of strings such as {json.dumps([example])}, "
            f"got {shown_value(raw)}",
            hint=lambda terms: f"set it with {terms.how_to_set_list(key, example)}",
        )
    return value
