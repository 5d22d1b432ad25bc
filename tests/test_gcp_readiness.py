"""Waiting for a VM service's container: the state its boot script reports, read through a
scripted Compute API (no network)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from berth.providers.gcp.api import ApiError, ComputeApi
from berth.providers.gcp.readiness import NotReady, VmServiceReadyProvider
from tests.test_gcp_run_once import FakeResponse, FakeSession

INSTANCE = "projects/p/zones/europe-west1-b/instances/shop-dev-db"


class FakeCompute:
    def __init__(self, states: list[str | None], error: ApiError | None = None) -> None:
        self.states = states
        self.error = error
        self.reads = 0

    def container_state(self, instance: str) -> str | None:
        assert instance == INSTANCE
        self.reads += 1
        if self.error:
            raise self.error
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]


class Provider(VmServiceReadyProvider):
    POLL_SECONDS = 0.0

    def __init__(self, api: FakeCompute) -> None:
        super().__init__()
        self.fake = api

    def api(self, props: Mapping[str, Any]) -> Any:
        return self.fake


def props(**changes: Any) -> dict[str, Any]:
    return {
        "service": "db",
        "instance": INSTANCE,
        "instanceId": "8321",
        "want": "running",
        "timeout": 900,
        **changes,
    }


def test_a_started_dependency_waits_until_the_container_runs():
    api = FakeCompute([None, "starting", "running"])
    outs = Provider(api).create(props()).outs
    assert outs["state"] == "running"
    assert api.reads == 3


def test_a_healthy_dependency_waits_for_the_health_check():
    api = FakeCompute(["running", "running", "healthy"])
    assert Provider(api).create(props(want="healthy")).outs["state"] == "healthy"
    assert api.reads == 3


def test_a_container_that_never_comes_up_fails_naming_the_service():
    with pytest.raises(NotReady, match=r"service 'db' was not healthy within 0\.01s .*running"):
        Provider(FakeCompute(["running"])).create(props(want="healthy", timeout=0.01))


def test_an_unreadable_state_fails_naming_the_service():
    error = ApiError("GET ...: HTTP 403: Required 'compute.instances.getGuestAttributes'", 403)
    with pytest.raises(NotReady, match=r"service 'db': cannot read its VM's state: .*403"):
        Provider(FakeCompute([None], error)).create(props())


def test_only_a_new_instance_or_a_stricter_wait_waits_again():
    provider = Provider(FakeCompute(["healthy"]))
    old = provider.create(props()).outs
    assert provider.diff("id", old, props()).changes is False
    assert provider.diff("id", old, props(instanceId="9999")).replaces == ["instanceId"]
    assert provider.diff("id", old, props(want="healthy")).replaces == ["want"]
    longer = provider.diff("id", old, props(timeout=1800))
    assert longer.changes is True
    assert not longer.replaces
    assert provider.update("id", old, props(timeout=1800)).outs["state"] == "healthy"


def test_the_compute_client_reads_the_guest_attribute():
    url = f"https://compute.googleapis.com/compute/v1/{INSTANCE}/getGuestAttributes"
    written = FakeSession({("GET", url): FakeResponse(200, {"variableValue": "healthy"})})
    assert ComputeApi(written).container_state(INSTANCE) == "healthy"
    assert written.requests[0][1] == f"{url}?variableKey=berth/state"
    missing = FakeSession({("GET", url): FakeResponse(404, {"error": {"message": "not found"}})})
    assert ComputeApi(missing).container_state(INSTANCE) is None
