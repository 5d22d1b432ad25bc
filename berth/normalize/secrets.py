"""Secrets where Compose's output holds them: ``$$`` undone, and a secret anywhere it would be
stored in plain text refused, before any other step reads the output."""

from __future__ import annotations

from typing import Any

from berth.errors import BerthError
from berth.normalize.context import Context

_CONTAINER_SECRET_PATHS = [
    ("environment", "*"),
    ("command", "*"),
    ("entrypoint", "*"),
    ("healthcheck", "test", "*"),
]
SECRET_PATHS = [
    *(("services", "*", *path) for path in _CONTAINER_SECRET_PATHS),
    *(("services", "*", "pre_start", "*", *path) for path in _CONTAINER_SECRET_PATHS),
    *(("jobs", "*", *path) for path in _CONTAINER_SECRET_PATHS),
    ("configs", "*", "content"),
]
"""Where a secret may go: places every target can keep secret. Top-level ``x-*`` blocks may
hold one too (they are often YAML anchors for environment values): they stay in the model's
extensions as ``Secret`` values and reach no resource unless a target reads them."""


def unescape(node: Any) -> Any:
    """Compose prints ``$`` as ``$$`` so its output can be loaded again; undo that."""
    if isinstance(node, str):
        return node.replace("$$", "$")
    if isinstance(node, list):
        return [unescape(v) for v in node]
    if isinstance(node, dict):
        return {k: unescape(v) for k, v in node.items()}
    return node


def refuse_misplaced_secrets(context: Context, node: Any, path: tuple[str, ...] = ()) -> None:
    """Refuse a secret outside ``SECRET_PATHS``, naming the secret and where it is."""
    if len(path) == 1 and path[0].startswith("x-"):
        return
    if isinstance(node, dict):
        for key, value in node.items():
            refuse_misplaced_secrets(context, value, (*path, str(key)))
    elif isinstance(node, list):
        for value in node:
            refuse_misplaced_secrets(context, value, (*path, "*"))
    elif (
        isinstance(node, str)
        and context.sealed.contains_secret(node)
        and not any(_matches(pattern, path) for pattern in SECRET_PATHS)
    ):
        names = ", ".join(context.sealed.secret_names(node))
        service = path[1] if len(path) > 1 and path[0] == "services" else None
        field = ".".join(p for p in path[2:] if p != "*") if service else ".".join(path)
        raise BerthError(
            f"the secret {names} is used where it would be stored in plain text",
            file=context.sources.origin(service, field),
            service=service,
            field=field,
            hint="use secrets only in environment, command, entrypoint or healthcheck",
        )


def _matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return len(pattern) == len(path) and all(
        p in ("*", q) for p, q in zip(pattern, path, strict=True)
    )
