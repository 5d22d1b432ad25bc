"""Stack settings: Berth's own keys of the ``berth`` config namespace, and the variables.

Every key of the namespace that is not one of Berth's settings is a variable for the compose
files: it fills ``${VAR}`` and bare environment keys. Secret keys stay secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from berth.errors import BerthError
from berth.variables import Variables

NAMESPACE = "berth"
SETTING_KEYS = frozenset({"composeFiles", "target", "profiles"})


@dataclass(frozen=True)
class StackSettings:
    compose_files: tuple[str, ...] = ("compose.yaml",)
    target: str = "local"
    profiles: tuple[str, ...] = ()
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
            compose_files=tuple(_string_list(own, "composeFiles", ["compose.yaml"])),
            target=own.get("target") or "local",
            profiles=tuple(_string_list(own, "profiles", [])),
            variables=Variables(
                values={k: v for k, v in own.items() if k not in reserved},
                secret_keys=frozenset(secret - reserved),
            ),
            options={k: v for k, v in own.items() if k in set(option_keys)},
        )


def option_bool(options: Mapping[str, str], key: str, *, default: bool) -> bool:
    """A target's boolean setting (``true``/``false``), its default when unset or empty."""
    text = (options.get(key) or "").strip().lower()
    if not text:
        return default
    if text in ("true", "false"):
        return text == "true"
    raise BerthError(
        f"berth:{key} must be true or false, got {options[key]!r}",
        hint=f"`pulumi config set {key} {str(default).lower()}`",
    )


def option_int(options: Mapping[str, str], key: str, *, default: int) -> int:
    """A target's whole-number setting, its default when unset or empty."""
    text = (options.get(key) or "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise BerthError(
            f"berth:{key} must be a whole number, got {options[key]!r}",
            hint=f"`pulumi config set {key} {default}`",
        ) from None


def _string_list(own: Mapping[str, str], key: str, default: list[str]) -> list[str]:
    raw = own.get(key)
    if raw is None or raw == "":
        return default
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
