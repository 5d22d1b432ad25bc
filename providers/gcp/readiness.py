"""Waiting for a VM service's container, so that its dependents start when it is up.

A Compute Engine instance is "created" once it boots, long before its container runs: the
boot script still pulls the image and starts it. So the script reports the container's state
in a guest attribute (``berth/state``: ``starting``, ``running``, or ``healthy`` once running
with no health check or a passing one), and this resource waits for the state a dependent
needs: ``running`` for ``service_started``, ``healthy`` for ``service_healthy``.

A Pulumi dynamic provider, pickled by reference: this module imports cleanly with no side
effects. It waits again only when the instance is replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from berth.components.readiness import ReadinessCheck, ReadinessProvider, poll
from berth.durations import format_duration
from berth.providers.gcp.api import ApiError, ComputeApi, authorized_session
from berth.providers.gcp.identity import IDENTITY

ACCEPTED = {"running": ("running", "healthy"), "healthy": ("healthy",)}
"""The states that satisfy each wanted state."""
START_TIMEOUT = 900.0
"""Seconds a VM service has to boot, pull its image and reach the wanted state."""


class NotReady(Exception):
    """The container did not reach the wanted state in time."""


class VmServiceReadyProvider(ReadinessProvider):
    """Polls the instance's ``berth/state`` guest attribute until it says ``want``."""

    POLL_SECONDS = 5.0
    RECHECK = ("instanceId", "want")

    def api(self, props: Mapping[str, Any]) -> ComputeApi:
        """Compute Engine as the gcp provider's identity (the ``identity`` input)."""
        return ComputeApi(authorized_session(props.get(IDENTITY)))

    def ready(self, props: dict[str, Any]) -> tuple[str, str]:
        service, want = props["service"], props["want"]
        timeout = float(props["timeout"])

        def late(state: str) -> NotReady:
            return NotReady(
                f"service '{service}' was not {want} within {format_duration(timeout)} "
                f"of its VM's creation (last report: {state or 'none'}); see the VM's "
                "serial console and its logs in Cloud Logging"
            )

        try:
            api = self.api(props)

            def check() -> tuple[bool, str]:
                state = api.container_state(props["instance"]) or ""
                return state in ACCEPTED[want], state

            state = poll(check, timeout, late, poll_seconds=self.POLL_SECONDS)
        except ApiError as error:
            raise NotReady(f"service '{service}': cannot read its VM's state: {error}") from None
        return f"{service}-{want}", state

    def changed(self, olds: dict[str, Any], news: dict[str, Any], replaces: list[str]) -> bool:
        """A new instance (or a stricter wait) waits again; a new timeout is recorded. A new
        ``identity`` alone is no change (credentials renewed for each CI run would otherwise
        update every check on every ``up``): ``create`` acts as the newest, and ``delete``,
        which gets the identity recorded, calls no API."""
        return bool(replaces) or olds.get("timeout") != news.get("timeout")


class VmServiceReady(ReadinessCheck, module="berth", name="VmServiceReady"):
    """Exists once the VM service's container reported the wanted state."""

    PROVIDER = VmServiceReadyProvider
