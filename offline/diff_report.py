"""What ``berth diff`` found, and how it is told: text, markdown for a pull request, or JSON.

A job ``runs`` (true), does not (false), or ``"maybe"``: its image may change and Berth cannot
tell (``offline.contexts``). No value is ever printed: ``because`` names compose fields, and
file names come only from build contexts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

ALWAYS = "always"
MAYBE: Literal["maybe"] = "maybe"
LISTED = 5
"""Changed files named in a sentence; past these, how many more."""


@dataclass(frozen=True)
class JobChange:
    name: str
    runs: bool | Literal["maybe"]
    because: tuple[str, ...]
    rebuilt_from: tuple[str, ...] = ()
    """Files of the job's build context that changed and that its image takes."""
    may_change_with: tuple[str, ...] = ()
    """Files that changed and that its image may take (``unsure`` says why Berth cannot tell)."""
    unsure: str = ""
    every: bool = False
    """The target runs it on every deployment: it has no run-once resource."""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "runs": self.runs, "because": list(self.because)}

    def sentence(self) -> str:
        if not self.runs:
            return "does not run"
        if self.every:
            return "runs: this target runs jobs on every deployment, and this is one"
        if self.runs == MAYBE and self.may_change_with:
            return (
                f"may run: {listed(self.may_change_with)} changed, which its image may hold "
                f"or be made from ({self.unsure})"
            )
        if self.runs == MAYBE:
            return f"may run: {self.unsure}"
        reasons = [reason for reason in self.because if reason != "build" or not self.rebuilt_from]
        parts = [f"{', '.join(reasons)} changed"] if reasons and reasons != [ALWAYS] else []
        if reasons == [ALWAYS]:
            parts.append("x-berth-run: always")
        if self.rebuilt_from:
            parts.append(
                f"the image is rebuilt from a changed context ({listed(self.rebuilt_from)})"
            )
        return "runs: " + "; ".join(parts or ["its definition changed"])


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


@dataclass(frozen=True)
class Diff:
    target: str
    jobs: tuple[JobChange, ...]
    services: tuple[ServiceChange, ...]

    def as_json(self) -> str:
        document = {
            "jobs": [job.as_dict() for job in self.jobs],
            "services": [service.as_dict() for service in self.services],
        }
        return json.dumps(document, indent=2) + "\n"

    def as_text(self) -> str:
        lines = [f"Jobs ({self.target}):"]
        lines += [f"  {job.name}: {job.sentence()}" for job in self.jobs] or ["  (none)"]
        lines.append("Services:")
        lines += [
            f"  {s.name}: {s.change}" + (f" ({', '.join(s.because)})" if s.because else "")
            for s in self.services
        ] or ["  (none)"]
        return "\n".join(lines) + "\n"

    def as_markdown(self) -> str:
        running = sum(job.runs is True for job in self.jobs)
        maybe = sum(job.runs == MAYBE for job in self.jobs)
        lines = [
            f"### berth diff ({self.target}): {running} of {len(self.jobs)} jobs will run"
            + (f", {maybe} may run" if maybe else ""),
            "",
            "| job | will run | why |",
            "| --- | --- | --- |",
        ]
        lines += [f"| `{job.name}` | {_cell(job)} |" for job in self.jobs]
        lines += ["", "| service | change | fields |", "| --- | --- | --- |"]
        lines += [
            f"| `{s.name}` | {s.change} | {', '.join(f'`{b}`' for b in s.because)} |"
            for s in self.services
        ]
        return "\n".join(lines) + "\n"


def _cell(job: JobChange) -> str:
    if not job.runs:
        return "no | "
    why = job.sentence().partition(": ")[2]
    return f"{'**yes**' if job.runs is True else '**maybe**'} | {why}"


FORMATS: dict[str, Callable[[Diff], str]] = {
    "text": Diff.as_text,
    "markdown": Diff.as_markdown,
    "json": Diff.as_json,
}
