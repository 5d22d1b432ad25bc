"""A managed database's major version, remembered, so that moving it is refused at preview
unless the compose file allows the downtime it costs.

RDS moves a database to a new major version only when asked with ``AllowMajorVersionUpgrade``
(and restarts it to do so), and never back to an older one; Terraform learns either only from
RDS's refusal, half-way through ``pulumi up``. This resource holds the major version the store
runs; its ``check``, which the engine calls in ``pulumi preview`` as in ``pulumi up``, compares
the new one with it and refuses, naming the store and what to write, a move RDS would refuse.

A Pulumi dynamic provider, pickled by reference: this module imports cleanly, with no side
effects, and makes no cloud call.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)


def refusal(olds: dict[str, Any], news: dict[str, Any]) -> str | None:
    """Why the store cannot move from its deployed major version to the new one, if it
    cannot."""
    old, new = olds.get("major"), news.get("major")
    if not old or not new or old == new:
        return None
    store, engine = news["store"], news["engine"]
    if _number(new) < _number(old):
        return (
            f"service '{store}': {engine} {old} cannot move back to {new} (RDS upgrades only); "
            f"keep the image at {old}, or restore a snapshot into a new service"
        )
    if news.get("allowDowntime"):
        return None
    return (
        f"service '{store}': moving {engine} {old} to {new} restarts the database, which "
        f"x-defang-postgres does not allow; write x-defang-postgres: {{allow-downtime: true}} "
        f"for this deployment, or keep the image at {old}"
    )


def _number(major: str) -> float:
    try:
        return float(major)
    except ValueError:
        return 0.0


class MajorVersionProvider(ResourceProvider):
    """Refuses, in ``check``, a major version move the store cannot make as configured."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        reason = refusal(_olds or {}, news)
        return CheckResult(news, [CheckFailure("major", reason)] if reason else [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"{props['store']}-major-version", outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=news)


class MajorVersion(Resource, module="berth", name="MajorVersion"):
    """The store's deployed major version: its database waits on it, so a refused move stops
    the deployment before RDS is asked."""

    def __init__(
        self,
        name: str,
        *,
        store: str,
        engine: str,
        major: str,
        allow_downtime: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"store": store, "engine": engine, "major": major, "allowDowntime": allow_downtime}
        super().__init__(MajorVersionProvider(), name, props, opts)
