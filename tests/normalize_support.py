"""What the normalising steps' unit tests feed them: a context made of dicts, no Compose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from berth.normalize.context import Context
from berth.sources import Sources
from berth.variables import Variables

BASE = Path("/project")


def context(
    *documents: dict[str, Any], secrets: dict[str, str] | None = None, **values: str
) -> Context:
    """A context for ``documents`` (as the user's files were written: one file each, the last
    winning); ``secrets`` are stack secrets, ``values`` plain variables."""
    files = tuple(f"compose{i or ''}.yaml" for i in range(len(documents) or 1))
    variables = Variables({**values, **(secrets or {})}, frozenset(secrets or ()))
    return Context(Sources(files, documents or ({},)), variables.seal(), BASE)


def placeholder(context: Context, key: str) -> str:
    """What Compose's output holds where the user wrote ``${key}`` of a stack secret."""
    return context.sealed.env[key]
