"""The re-run rule of one-off jobs, once, for every target's run-once resource.

A run-once resource runs its job to completion in ``create`` and fails when the job fails, so
a failed run records nothing in the state and the next ``pulumi up`` runs it again. Its inputs
are ``definition`` (what the job runs: image digest, command, environment, resources, ...),
``runAlways`` and target settings such as ``timeout``. The job runs again only when
``definition`` changes, or on every deployment with ``runAlways``; any other change is an
in-place update that runs nothing.
"""

from __future__ import annotations

import time
import uuid
from abc import abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How the engine passes a value that is not known yet (pulumi.runtime.rpc.UNKNOWN)."""
RESULT_KEYS = ("exitCode", "durationSeconds", "finishedAt", "logTail")
_NOT_SETTINGS = ("__provider", "definition", *RESULT_KEYS)


class JobFailed(Exception):
    """A job exited non-zero, could not start, or ran past its timeout."""


class RunOnceProvider(ResourceProvider):
    """Runs a job once per definition; subclasses say how a job runs on their target."""

    @abstractmethod
    def run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """Run the job to completion; return ``exitCode`` and ``logTail``, or raise JobFailed."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        started = time.monotonic()
        result = self.run(props)
        outs = {
            **props,
            **result,
            "durationSeconds": round(time.monotonic() - started, 1),
            "finishedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return CreateResult(id_=f"{props['job']}-{uuid.uuid4().hex[:12]}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if news.get("runAlways") or _differs(olds.get("definition"), news.get("definition")):
            return DiffResult(changes=True, replaces=["definition"], delete_before_replace=False)
        changed = [key for key in news if key not in _NOT_SETTINGS and olds.get(key) != news[key]]
        return DiffResult(changes=bool(changed), replaces=[])

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Settings changed (a timeout, say): keep the last run's result, run nothing."""
        return UpdateResult(outs={**news, **{k: olds[k] for k in RESULT_KEYS if k in olds}})


class RunOnceResource(Resource):
    """Completes only when its job succeeded; outputs the run's result.

    A target subclasses it with ``module="berth", name="<Kind>"`` (the type token) and
    names its provider in ``provider_type``.
    """

    provider_type: ClassVar[type[RunOnceProvider]]
    exitCode: pulumi.Output[int]
    durationSeconds: pulumi.Output[float]
    finishedAt: pulumi.Output[str]
    logTail: pulumi.Output[str]

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        outputs = dict.fromkeys(RESULT_KEYS)
        super().__init__(self.provider_type(), name, {**props, **outputs}, opts)


def _differs(old: Any, new: Any) -> bool:
    return _has_unknown(new) or old != new


def _has_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_unknown(v) for v in value)
    return False


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value replaced, so a job's log never leaks one."""
    for value in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        text = text.replace(value, "[secret]")
    return text


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])
