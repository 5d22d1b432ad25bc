"""The one error type users see: where the problem is and what to do about it."""

from __future__ import annotations

import math

from berth.terms import Hint, Terms


class BerthError(Exception):
    """A problem in the user's compose files or stack config, reported without a traceback.

    The message reads ``file: service 'x', field 'y': what is wrong. what to do`` so that
    a single line tells the user where to look and how to fix it. What to do is phrased in
    the stack config's terms unless the one printing it asks for others (``message_in``).
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        service: str | None = None,
        field: str | None = None,
        hint: Hint | None = None,
        kind: str = "service",
    ) -> None:
        self.problem = problem
        self.kind = kind
        """What ``service`` names: a ``service``, or a ``job`` of the top-level ``jobs:``."""
        self.file = file
        self.service = service
        self.field = field
        self.advice = hint
        """The hint as given: kept whole, so that a copy can still be phrased in any terms."""
        super().__init__(self.message)

    @property
    def hint(self) -> str | None:
        """The hint as the Pulumi program gives it, in the stack config's terms."""
        return self.hint_in(Terms.STACK_CONFIG)

    def hint_in(self, terms: Terms) -> str | None:
        return self.advice(terms) if callable(self.advice) else self.advice

    @property
    def message(self) -> str:
        """The one line as the Pulumi program prints it."""
        return self.message_in(Terms.STACK_CONFIG)

    def message_in(self, terms: Terms) -> str:
        """The one line, its hint in ``terms``."""
        where = []
        if self.service:
            where.append(f"{self.kind} '{self.service}'")
        if self.field:
            where.append(f"field '{self.field}'")
        text = self.problem.rstrip(".")
        if where:
            text = f"{', '.join(where)}: {text}"
        if self.file:
            text = f"{self.file}: {text}"
        if hint := self.hint_in(terms):
            text = f"{text}. {hint.rstrip('.')}"
        return one_line(text + ".")

    def located(self, file: str) -> BerthError:
        """The same error, naming ``file`` when it did not name one yet."""
        if self.file:
            return self
        return BerthError(
            self.problem,
            file=file,
            service=self.service,
            field=self.field,
            hint=self.advice,
            kind=self.kind,
        )


def one_line(text: str) -> str:
    """``text`` with what is not printable (a newline or a terminal escape in a path the user
    typed, a bidirectional override in a file name) written as in a Python string, so the
    message stays one line and shows what it names."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def shown_value(value: object) -> str:
    """A value for a message, cut short: a 400-digit number is no help on one line."""
    return _cut(repr(value), value)


def written_value(value: object) -> str:
    """A compose value for a message as YAML spells it (``true``, ``.nan``, ``[1]``, a string
    quoted only where YAML would need it), not as Python does (``True``, ``nan``), cut short."""
    import yaml  # noqa: PLC0415 - the CLI imports this module before it can say PyYAML is missing

    shown = yaml.safe_dump(value, default_flow_style=True, width=math.inf, allow_unicode=True)
    return _cut(shown.removesuffix("\n").removesuffix("\n...").strip(), value)


def _cut(shown: str, value: object) -> str:
    if len(shown) <= 40:
        return shown
    return f"{shown[:20]}…{shown[-8:]} ({len(str(value))} characters)"
