"""What ``berth diff`` found, and how it is told: text, markdown for a pull request, or JSON.

A job ``runs`` (true), does not (false), or ``"maybe"``: its image may change and Berth cannot
tell (``berth.offline.contexts``). No value is ever printed: ``because`` names compose fields, and
file names come only from build contexts.

Names, paths and Dockerfile text are the repository's, not Berth's: a file named with a newline
and a heading would forge the comment CI posts, a terminal escape would rewrite the text. Each
format shows them as data (``Show``): text with every unprintable character escaped, markdown
in code spans nothing can end, JSON as strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from berth.errors import one_line

ALWAYS = "always"
NEW = "new job"
NOT_RUN = "deployed, not run"
"""What ``up`` does with a job of the top-level ``jobs:``: only its triggers run it."""
MAYBE: Literal["maybe"] = "maybe"
LISTED = 5
"""Changed files named in a sentence; past these, how many more."""

Show = Callable[[str], str]
"""How a format shows a name, a path or quoted text: as data, never as its own markup."""


def escaped(text: str) -> str:
    """``text`` on one line, as data: a backslash and each character that is not printable (a
    newline, a terminal escape, a bidirectional override) written as in a Python string."""
    return one_line(text.replace("\\", "\\\\"))


def code(text: str) -> str:
    """``text`` as a markdown code span: escaped, fenced by more backticks than its longest run
    (padded when it starts or ends with one, which the padding keeps out of the fence)."""
    content = escaped(text)
    fence = "`" * (max(map(len, re.findall("`+", content)), default=0) + 1)
    pad = " " if content.startswith(("`", " ")) or content.endswith(("`", " ")) else ""
    return f"{fence}{pad}{content}{pad}{fence}"


class Reason(NamedTuple):
    """Berth's words about text it does not own: ``template``'s ``{}`` are ``values`` (paths,
    Dockerfile text), each shown as the format shows data."""

    template: str
    values: tuple[str, ...] = ()

    def shown(self, show: Show) -> str:
        return self.template.format(*map(show, self.values))


@dataclass(frozen=True)
class HookCause:
    """A ``pre_start`` hook's place, and what of its service changed: the hooks run again when
    their service's definition (as Compose hashes it, theirs in it) changes."""

    service: str
    index: int
    service_changed: bool = False
    """The service's definition changed: every one of its hooks runs again, as Compose runs
    them when it recreates the service."""
    fields: tuple[str, ...] = ()
    """What changed in it: its compose fields, ``pre_start[i]`` for another hook."""

    @property
    def label(self) -> str:
        return f'service "{self.service}" pre_start[{self.index}]'


@dataclass(frozen=True)
class JobChange:
    name: str
    runs: bool | Literal["maybe"]
    because: tuple[str, ...]
    rebuilt_from: tuple[str, ...] = ()
    """Files of the job's build context that changed and that its image takes."""
    may_change_with: tuple[str, ...] = ()
    """Files that changed and that its image may take (``unsure`` says why Berth cannot tell)."""
    unsure: Reason | None = None
    every: bool = False
    """The target runs it on every deployment: it has no run-once resource."""
    unsent: tuple[str, ...] = ()
    """Sources its Dockerfile copies that Docker does not send: its build fails."""
    hook: HookCause | None = None
    """For a ``pre_start`` hook: whose it is, and what of its service changed."""

    @property
    def title(self) -> str:
        """How the report names it: a hook as Compose does, ``service "web" pre_start[0]``."""
        return self.hook.label if self.hook else self.name

    def as_dict(self) -> dict[str, Any]:
        shown = {"name": self.name, "runs": self.runs, "because": list(self.because)}
        if self.hook:
            shown["hook"] = {
                "service": self.hook.service,
                "index": self.hook.index,
                "service_changed": self.hook.service_changed,
                "service_fields": list(self.hook.fields),
            }
        return shown

    def sentence(self, show: Show) -> str:
        """Whether the job runs and why, each name and path in it shown by ``show``."""
        if not self.runs:
            return "does not run"
        if self.every:
            return "runs: this target runs jobs on every deployment, and this is one"
        parts = []
        if self.unsent:
            parts.append(
                f"its build will fail: its Dockerfile copies {self._listed(self.unsent, show)}, "
                "which Docker does not send (not in the context, or left out by .dockerignore)"
            )
        unsure = self.unsure.shown(show) if self.unsure else ""
        if self.runs == MAYBE and self.may_change_with:
            parts.append(
                f"{self._listed(self.may_change_with, show)} changed, which its image may hold "
                f"or be made from ({unsure})"
            )
        if self.runs == MAYBE:
            return "may run: " + "; ".join(parts or [unsure])
        told = {ALWAYS, NEW} | ({"build"} if self.rebuilt_from or self.unsent else set())
        fields = [show(reason) for reason in self.because if reason not in told]
        if fields and self.hook:
            parts.append(f"its own definition changed ({', '.join(fields)})")
        elif fields:
            parts.append(f"{', '.join(fields)} changed")
        if self.hook and self.hook.service_changed and (self.hook.fields or not fields):
            changed = f" ({', '.join(map(show, self.hook.fields))})" if self.hook.fields else ""
            parts.append(f"service {show(self.hook.service)}'s definition changed{changed}")
        if NEW in self.because:
            parts.append("it is a new hook" if self.hook else "it is a new job")
        if ALWAYS in self.because:
            parts.append("x-berth-run: always")
        if self.rebuilt_from:
            parts.append(
                "the image is rebuilt from a changed context "
                f"({self._listed(self.rebuilt_from, show)})"
            )
        return "runs: " + "; ".join(parts or ["its definition changed"])

    @staticmethod
    def _listed(paths: Sequence[str], show: Show) -> str:
        return listed([show(path) for path in paths])


def listed(paths: Sequence[str]) -> str:
    """``a, b`` or, past ``LISTED`` paths, ``12 files: a, b, c, d, e and 7 more``."""
    if len(paths) <= LISTED:
        return ", ".join(paths)
    shown = ", ".join(paths[:LISTED])
    return f"{len(paths)} files: {shown} and {len(paths) - LISTED} more"


@dataclass(frozen=True)
class ServiceChange:
    name: str
    change: str
    because: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "change": self.change, "because": list(self.because)}

    def line(self, show: Show) -> str:
        """``web: update (environment)``."""
        because = f" ({', '.join(map(show, self.because))})" if self.because else ""
        return f"{show(self.name)}: {self.change}{because}"


@dataclass(frozen=True)
class Diff:
    target: str
    jobs: tuple[JobChange, ...]
    services: tuple[ServiceChange, ...]
    notes: tuple[Reason, ...] = ()
    """What the comparison took as given, to be read with it (a file new in this commit)."""
    triggered: tuple[ServiceChange, ...] = ()
    """How each job of the top-level ``jobs:`` changes: deployed, never run by a deployment
    (its triggers run it), so never among ``jobs``."""

    def as_json(self) -> str:
        document: dict[str, Any] = {
            "jobs": [job.as_dict() for job in self.jobs],
            "services": [service.as_dict() for service in self.services],
            "notes": [note.shown(str) for note in self.notes],
        }
        if self.triggered:
            document["triggered"] = [{**job.as_dict(), "runs": False} for job in self.triggered]
        return json.dumps(document, indent=2) + "\n"

    def as_text(self) -> str:
        lines = [f"Note: {note.shown(escaped)}" for note in self.notes]
        lines.append(f"Jobs ({self.target}):")
        jobs = [f"  {escaped(job.title)}: {job.sentence(escaped)}" for job in self.jobs]
        lines += jobs or ["  (none)"]
        if self.triggered:
            lines.append(f"Jobs of jobs: ({NOT_RUN}: berth run and their schedules run them):")
            lines += [f"  {job.line(escaped)}" for job in self.triggered]
        lines.append("Services:")
        lines += [f"  {s.line(escaped)}" for s in self.services] or ["  (none)"]
        return "\n".join(lines) + "\n"

    def as_markdown(self) -> str:
        running = sum(job.runs is True for job in self.jobs)
        maybe = sum(job.runs == MAYBE for job in self.jobs)
        lines = [
            f"### berth diff ({self.target}): {running} of {len(self.jobs)} jobs will run"
            + (f", {maybe} may run" if maybe else ""),
            "",
        ]
        for note in self.notes:
            lines += [f"Note: {note.shown(code)}", ""]
        lines += [_row("job", "will run", "why"), _row("---", "---", "---")]
        lines += [_row(code(job.title), *_cells(job)) for job in self.jobs]
        if self.triggered:
            heading = _row(f"job of `jobs:` ({NOT_RUN})", "change", "fields")
            lines += ["", heading, _row("---", "---", "---")]
            lines += [
                _row(code(j.name), j.change, ", ".join(map(code, j.because)))
                for j in self.triggered
            ]
        lines += ["", _row("service", "change", "fields"), _row("---", "---", "---")]
        lines += [
            _row(code(s.name), s.change, ", ".join(map(code, s.because))) for s in self.services
        ]
        return "\n".join(lines) + "\n"


def _cells(job: JobChange) -> tuple[str, str]:
    if not job.runs:
        return "no", ""
    why = job.sentence(code).partition(": ")[2]
    return ("**yes**" if job.runs is True else "**maybe**"), why


def _row(*cells: str) -> str:
    """A table row; a ``|`` in a cell is escaped, in a code span too (GFM splits the row into
    cells before it reads code spans)."""
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


FORMATS: dict[str, Callable[[Diff], str]] = {
    "text": Diff.as_text,
    "markdown": Diff.as_markdown,
    "json": Diff.as_json,
}
