"""A managed store's engine and version, remembered, so that a move the cloud would refuse, or
replace the store for, is refused at preview instead.

RDS moves a database to a new major version only when asked with ``AllowMajorVersionUpgrade``
(and restarts it to do so), and never back to an older one; ElastiCache upgrades a cache in
place, moves Redis OSS to Valkey, but never back, and never to an older version (Terraform
would replace the cache: its data, or a refusal on a protected one). Terraform learns of most
of it only half-way through ``pulumi up``. This resource holds what the store runs; its
``check``, which the engine calls in ``pulumi preview`` as in ``pulumi up``, compares the new
one with it and refuses such a move, naming the store and what to write; and, for a cache,
turning TLS on or off (ElastiCache does that only in steps: preferred, then required).

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
    DiffResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from berth.components.pulumi_internals import changed_inputs

ENGINE_MOVES = {("redis", "valkey")}
"""The engine changes a store takes in place (ElastiCache: Redis OSS to Valkey)."""


def refusal(olds: dict[str, Any], news: dict[str, Any]) -> str | None:
    """Why the store cannot move from what it runs to what ``news`` asks, if it cannot."""
    if not olds:
        return None
    store, old, new = news["store"], olds.get("engine"), news.get("engine")
    if olds.get("tls") != news.get("tls"):
        change = "on" if news.get("tls") else "off"
        return (
            f"service '{store}': REDIS_PASSWORD would turn TLS {change} for a cache that "
            "exists, which ElastiCache does only in steps across deployments (and below "
            "Redis OSS 7.0.5 not at all: the cache would be replaced); keep the cache as it "
            "is, or deploy it as a new service under another name and move its data"
        )
    if old == new:
        return _version_refusal(olds, news)
    if (old, new) in ENGINE_MOVES:
        return None
    return (
        f"service '{store}': a store running {old} cannot move to {new} in place; keep a "
        f"{old} image, or restore a snapshot into a new service"
    )


def _version_refusal(olds: dict[str, Any], news: dict[str, Any]) -> str | None:
    store, engine, marking = news["store"], news["engine"], news["marking"]
    old, new = olds.get("version"), news.get("version")
    if old == new:
        return None
    if _number(new) < _number(old):
        return (
            f"service '{store}': {engine} {old} cannot move back to {new} (upgrades only); "
            f"keep the image at {old}, or restore a snapshot into a new service"
        )
    if news.get("allowDowntime") or not news.get("upgradeRestarts"):
        return None
    return (
        f"service '{store}': moving {engine} {old} to {new} restarts it, which {marking} does "
        f"not allow; write {marking}: {{allow-downtime: true}} for this deployment, or keep "
        f"the image at {old}"
    )


def _number(version: str | None) -> tuple[int, ...]:
    return tuple(int(part) for part in (version or "0").split(".") if part.isdigit())


class StoreVersionProvider(ResourceProvider):
    """Refuses, in ``check``, a move the store cannot make as configured."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        reason = refusal(_olds or {}, news)
        return CheckResult(news, [CheckFailure("version", reason)] if reason else [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"{props['store']}-version", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=bool(changed_inputs(olds, news)), replaces=[])

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=news)


class StoreVersion(Resource, module="berth", name="StoreVersion"):
    """What the store runs: the store waits on it, so a refused move stops the deployment
    before the cloud is asked."""

    def __init__(
        self,
        name: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``props``: ``store`` (the compose name), ``marking`` (its extension), ``engine``,
        ``version``, ``allowDowntime``, ``upgradeRestarts`` (an upgrade restarts it, so it
        needs ``allowDowntime``), and for a cache ``tls`` (in-transit encryption)."""
        super().__init__(StoreVersionProvider(), name, props, opts)
