"""An explicit provider's settings are asked of it once its registration gave it an id."""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi_docker as docker
from pulumi.runtime import mocks

from berth.components.provider_config import provider_config
from berth.components.pulumi_internals import UNKNOWN, forget_earlier_runs
from berth.offline.plan import RecordingMonitor

SETTINGS = {"host": "ssh://deploy@engine", "cert_path": "/certs"}


class ProviderIds(mocks.Mocks):
    """Gives providers the id the engine would, and answers ``terraformConfig``."""

    def __init__(self, provider_id: str) -> None:
        self.provider_id = provider_id

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return self.provider_id, dict(args.inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return {"result": SETTINGS}, []


def _ask(provider_id: str) -> tuple[list[str], list[Any]]:
    monitor = RecordingMonitor(ProviderIds(provider_id))
    seen: list[Any] = []
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        mocks.set_mocks(monitor.mocks, preview=True, monitor=monitor)
        forget_earlier_runs()

        async def program() -> None:
            provider = docker.Provider("explicit")
            config = provider_config(provider)
            seen.append(await config.future())

        loop.run_until_complete(program())
    finally:
        loop.close()
    return [i.provider for i in monitor.invocations], seen


def test_a_provider_with_its_id_is_asked_once_as_the_receiver() -> None:
    asked, seen = _ask("3f2a")
    assert len(asked) == 1 and asked[0].endswith("::explicit::3f2a")
    assert seen == [SETTINGS]


def test_a_preview_placeholder_id_is_an_id_the_engine_answers_under() -> None:
    asked, seen = _ask(UNKNOWN)
    assert asked == [f"{asked[0].rsplit('::', 1)[0]}::{UNKNOWN}"]
    assert seen == [SETTINGS]


def test_a_provider_without_an_id_is_not_asked() -> None:
    """``urn::`` names no provider: the engine would fail the program (pulumi-aws#5634)."""
    asked, seen = _ask("")
    assert asked == []
    assert seen == [None]
