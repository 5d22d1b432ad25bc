"""The one error type users see: where the problem is and what to do about it."""

from __future__ import annotations


class BerthError(Exception):
    """A problem in the user's compose files or stack config, reported without a traceback.

    The message reads ``file: service 'x', field 'y': what is wrong. what to do`` so that
    a single line tells the user where to look and how to fix it.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        service: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.service = service
        self.field = field
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = []
        if self.service:
            where.append(f"service '{self.service}'")
        if self.field:
            where.append(f"field '{self.field}'")
        text = self.problem.rstrip(".")
        if where:
            text = f"{', '.join(where)}: {text}"
        if self.file:
            text = f"{self.file}: {text}"
        if self.hint:
            text = f"{text}. {self.hint.rstrip('.')}"
        return text + "."

    def located(self, file: str) -> BerthError:
        """The same error, naming ``file`` when it did not name one yet."""
        if self.file:
            return self
        return BerthError(
            self.problem, file=file, service=self.service, field=self.field, hint=self.hint
        )
