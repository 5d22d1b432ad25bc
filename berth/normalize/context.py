"""What every normalising step reads and reports, for one ``config`` output."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from berth.errors import BerthError
from berth.model import Text
from berth.quantities import Fail
from berth.sources import Sources
from berth.terms import Hint
from berth.variables import Sealed


@dataclass
class Context:
    """The files the output came from (to say where an error is), the secrets sealed before
    Compose saw them, the project directory; and what the steps found to report."""

    sources: Sources
    sealed: Sealed
    base_dir: Path
    warnings: list[str] = field(default_factory=list)
    unset: dict[str, BerthError] = field(default_factory=dict)
    """Bare environment keys without a value, each with where it was first met."""

    def fail(self, service: str, section: str = "services") -> Fail:
        """How a step reports a problem in ``service`` (a job of ``jobs:`` with ``section``
        ``jobs``): in the file that set the field."""

        def fail(field: str, problem: str, hint: Hint | None = None) -> BerthError:
            return BerthError(
                problem,
                file=self.sources.origin(service, field, section),
                service=service,
                field=field,
                hint=hint,
                kind="job" if section == "jobs" else "service",
            )

        return fail

    def relative(self, text: str) -> str:
        """Paths under the project directory, relative to it: the same on every machine."""
        if text.startswith(str(self.base_dir)):
            path = Path(text)
            try:
                return os.path.relpath(path, self.base_dir)
            except ValueError:
                return text
        return text

    def texts(self, values: list[Any] | None) -> tuple[Text, ...] | None:
        """A list of strings, each a ``Secret`` where it holds one."""
        if values is None:
            return None
        return tuple(self.sealed.reveal(str(v)) for v in values)

    def revealed(self, node: Any) -> Any:
        """``node`` with every string in it revealed: a ``Secret`` where it holds one."""
        if isinstance(node, str):
            return self.sealed.reveal(node)
        if isinstance(node, list):
            return [self.revealed(v) for v in node]
        if isinstance(node, dict):
            return {k: self.revealed(v) for k, v in node.items()}
        return node
