"""Stack settings: Berth's own keys of the ``berth`` config namespace, and the variables.

Every key of the namespace that is not one of Berth's settings is a variable for the compose
files: it fills ``${VAR}`` and bare environment keys. Secret keys stay secret.

Every setting's default is written once, in code: a field of ``StackSettings`` or of a target's
``Options`` (``setting``), whose metadata also says how Pulumi.yaml declares it, so the project
file is generated from these classes (``berth.components.program.pulumi_config``) and a test
holds the two together. Installed, Berth has no Pulumi.yaml to read defaults from.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, Self

from berth.errors import BerthError, shown_value
from berth.variables import Variables

NAMESPACE = "berth"
DEFAULT_TARGET = "local"
"""Where a stack deploys when it names no target: the one place that says so."""
_SETTING = "berth.setting"
"""The metadata key of a field that is a setting (``setting``)."""


@dataclass(frozen=True)
class Setting:
    """How the stack config gives a field: its key and, for Pulumi.yaml, its description; its
    type is its default's (a tuple is a list of strings, None an empty string)."""

    key: str
    description: str
    low: int = 0
    high: int = 0
    """The whole numbers the cloud takes, for an integer setting."""
    example: str = ""
    """An item of a list setting, for a hint."""


def setting(
    key: str, default: Any, description: str, *, low: int = 0, high: int = 0, example: str = ""
) -> Any:
    """A dataclass field that is the setting ``berth:KEY``, its default ``default``."""
    return field(
        default=default, metadata={_SETTING: Setting(key, description, low, high, example)}
    )


def settings_of(cls: type) -> list[tuple[dataclasses.Field[Any], Setting]]:
    """The fields of a dataclass that are settings, in their order, with their settings."""
    return [(f, f.metadata[_SETTING]) for f in dataclasses.fields(cls) if _SETTING in f.metadata]


def setting_of(cls: type, name: str) -> tuple[dataclasses.Field[Any], Setting]:
    """The field ``name`` of a dataclass and its setting."""
    return next((f, s) for f, s in settings_of(cls) if f.name == name)


def setting_keys(cls: type) -> frozenset[str]:
    """The config keys (without ``berth:``) of a dataclass's settings."""
    return frozenset(s.key for _, s in settings_of(cls))


def config_text(value: Any) -> str:
    """How the stack config holds a value: booleans lowercase, lists as JSON, None empty."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    return "" if value is None else str(value)


def declaration(default: Any, description: str) -> dict[str, Any]:
    """How Pulumi.yaml declares a setting with this default and description."""
    if isinstance(default, bool):
        return {"type": "boolean", "description": description, "default": default}
    if isinstance(default, int):
        return {"type": "integer", "description": description, "default": default}
    if isinstance(default, tuple):
        items = {"items": {"type": "string"}}
        return {"type": "array", **items, "description": description, "default": list(default)}
    return {"type": "string", "description": description, "default": default or ""}


def declarations(cls: type) -> dict[str, dict[str, Any]]:
    """Pulumi.yaml's declaration of every setting of a dataclass, by key."""
    return {s.key: declaration(f.default, s.description) for f, s in settings_of(cls)}


class TargetOptions:
    """A target's ``Options``: a frozen dataclass whose fields are settings (``setting``), so
    that ``Options()`` is the defaults and ``Options.parse`` reads the stack config. Fields a
    user may fill with another resource's output take ``pulumi.Input``: rules that need the
    value run only on plain values, rules of presence on presence (``check``)."""

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> Self:
        """The options from their raw stack-config strings, keyed without ``berth:`` (unset or
        empty: the default); a BerthError naming the key for a bad value."""
        given: dict[str, Any] = {}
        for f, s in settings_of(cls):
            text = str(raw.get(s.key) or "").strip()
            if text:
                given[f.name] = _parsed(s, f.default, raw[s.key], text)
        return cls(**given)

    def __post_init__(self) -> None:
        """Options made in code are held to the rules the stack config's are."""
        for f, s in settings_of(type(self)):
            value = getattr(self, f.name)
            if s.high and isinstance(value, int) and not s.low <= value <= s.high:
                _not_a_number(s, f.default, value)
        self.check()

    def check(self) -> None:
        """Rules a field's type does not say (choices, patterns, settings that go together)."""


def _parsed(s: Setting, default: Any, raw: str, text: str) -> Any:
    """A setting's value from its config string ``text`` (``raw`` stripped), as its default's
    type: a boolean, a whole number (its digits counted before ``int()``, which refuses more
    than 4300 of them), a list of strings, or the text."""
    if isinstance(default, bool):
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise BerthError(
            f"berth:{s.key} must be true or false, got {shown_value(raw)}",
            hint=lambda terms: f"e.g. {terms.how_to_set(s.key, config_text(default))}",
        )
    if isinstance(default, int):
        digits = text.lstrip("0") or "0"
        fits = text.isascii() and text.isdigit() and len(digits) <= len(str(s.high))
        if not fits or not s.low <= int(digits) <= s.high:
            _not_a_number(s, default, text)
        return int(digits)
    if isinstance(default, tuple):
        return _strings(s, text)
    return text


def _not_a_number(s: Setting, default: Any, value: object) -> NoReturn:
    raise BerthError(
        f"berth:{s.key} must be a whole number from {s.low} to {s.high}, got {shown_value(value)}",
        hint=lambda terms: f"e.g. {terms.how_to_set(s.key, config_text(default))}",
    )


def _strings(s: Setting, text: str) -> tuple[str, ...]:
    """A JSON list (how ``pulumi config set --path`` stores one) or comma-separated values."""
    if text == "[]":
        return ()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BerthError(
                f"berth:{s.key} must be a list of strings, got {shown_value(text)}",
                hint=lambda terms: f"e.g. {terms.how_to_set_list(s.key, s.example)}",
            )
        return tuple(value)
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class StackSettings:
    """What a deployment is made from: ``deploy(settings)`` takes it, and the stack config
    (``from_config``), the CLI's flags or a program of one's own make it."""

    compose_files: tuple[str, ...] = setting(
        "composeFiles",
        ("compose.yaml",),
        "The compose files to deploy, relative to this directory. Later files override earlier "
        "ones, as with `docker compose -f a.yaml -f b.yaml`.",
    )
    target: str = setting(
        "target",
        DEFAULT_TARGET,
        "Where to deploy - local (the Docker engine of this machine), aws, gcp or digitalocean.",
    )
    profiles: tuple[str, ...] = setting(
        "profiles", (), "Compose profiles to enable, as with `docker compose --profile`."
    )
    project_name: str = setting(
        "projectName",
        "",
        "The compose project name, as `docker compose -p` sets it; it is part of every "
        "resource's name. Empty - the compose file's `name:`, else the name of its folder.",
    )
    """Compose's ``-p``: empty for the file's ``name:`` or its folder's name."""
    variables: Variables = field(default_factory=Variables)
    options: TargetOptions | None = None
    """The target's typed settings (its ``Options``); None: its defaults."""

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, str],
        secret_keys: Iterable[str] = (),
        options: Mapping[str, type[TargetOptions]] | None = None,
    ) -> StackSettings:
        """Settings from ``berth:KEY`` config values (strings, lists as JSON); ``options`` are
        the targets' Options by target name: their keys are settings, never variables, and the
        chosen target's are parsed."""
        prefix = f"{NAMESPACE}:"
        own = {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}
        secret = {k[len(prefix) :] for k in secret_keys if k.startswith(prefix)}
        types = options or {}
        option_keys = frozenset().union(*map(setting_keys, types.values()))
        reserved = SETTING_KEYS | option_keys
        if misplaced := sorted(reserved & secret):
            key = misplaced[0]
            raise BerthError(
                f"berth:{key} is a Berth setting and cannot be a secret",
                hint=lambda terms: f"set it without --secret: {terms.how_to_set(key)}",
            )
        target = _text(own, "target")
        chosen = types.get(target)
        return cls(
            compose_files=tuple(_string_list(own, "composeFiles")),
            target=target,
            profiles=tuple(_string_list(own, "profiles")),
            project_name=_project_name(own),
            variables=Variables(
                values={k: v for k, v in own.items() if k not in reserved},
                secret_keys=frozenset(secret - reserved),
            ),
            options=chosen.parse({k: v for k, v in own.items() if k in option_keys})
            if chosen
            else None,
        )


SETTING_KEYS = setting_keys(StackSettings)
_DEFAULTS = {s.key: config_text(f.default) for f, s in settings_of(StackSettings)}


def _text(own: Mapping[str, str], key: str) -> str:
    """One of Berth's own settings as a config string: its default when unset or empty."""
    value = own.get(key)
    return (_DEFAULTS[key] if value in (None, "") else str(value)).strip()


_PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
"""Compose's rule for a project name (compose-go ``loader.NormalizeProjectName``)."""


def _project_name(own: Mapping[str, str]) -> str:
    name = _text(own, "projectName")
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
    raw = _text(own, key)
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
