"""The readiness check a target puts between a workload and its dependents.

A cloud reports a workload created long before it serves (an ECS service before its tasks run
the new release, a Compute Engine VM before its container runs), so a dependent that waits on
the workload alone would start too early. A target's check is a dynamic resource that exists
once the workload is ready: it polls at create until the target says so, fails past a
timeout, and waits again only when the workload is replaced (its ``RECHECK`` inputs). The
targets differ only in what they ask the cloud; the waiting is this one rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from berth.components.pulumi_internals import changed_inputs

T = TypeVar("T")


def poll(
    check: Callable[[], tuple[bool, T]],
    timeout: float,
    late: Callable[[T], Exception],
    *,
    poll_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Ask ``check`` (done, and what it saw) until it is done, every ``poll_seconds``: what it
    saw last; past ``timeout`` seconds, the error ``late`` makes of that."""
    deadline = clock() + timeout
    while True:
        done, seen = check()
        if done:
            return seen
        if clock() >= deadline:
            raise late(seen)
        sleep(poll_seconds)


class ReadinessProvider(ResourceProvider):
    """Waits at create until the workload is ready (``ready``); records what it saw as
    ``state``. Pickled by reference, as every dynamic provider of Berth's."""

    RECHECK: ClassVar[tuple[str, ...]] = ()
    """Inputs whose change means a new workload (or a stricter wait): waited for again."""

    def ready(self, props: dict[str, Any]) -> tuple[str, str]:
        """Wait until the workload is ready: the check's id and the state it saw last."""
        raise NotImplementedError

    def changed(self, olds: dict[str, Any], news: dict[str, Any], replaces: list[str]) -> bool:
        """Whether the check's inputs changed at all: any input but ``state``, by default."""
        return bool(set(changed_inputs(olds, news)) - {"state"})

    def create(self, props: dict[str, Any]) -> CreateResult:
        id_, state = self.ready(props)
        return CreateResult(id_=id_, outs={**props, "state": state})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in self.RECHECK if olds.get(key) != news.get(key)]
        return DiffResult(
            changes=self.changed(olds, news, replaces),
            replaces=replaces,
            delete_before_replace=False,
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Credentials or a timeout changed: nothing to check again."""
        return UpdateResult(outs={**news, "state": olds.get("state")})


class ReadinessCheck(Resource):
    """Exists once the workload is ready; a subclass names its ``PROVIDER`` (and its type, with
    ``module=`` and ``name=``)."""

    PROVIDER: ClassVar[type[ReadinessProvider]]
    state: pulumi.Output[str]

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.PROVIDER(), name, {**props, "state": None}, opts)
