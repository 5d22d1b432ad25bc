"""Cloud Run pieces shared by services, worker pools and jobs, as plain input dictionaries.

One container shape serves all three resources (``cloudrunv2.Service``, ``WorkerPool`` and
``Job`` accept the same keys for what they share), so a compose service becomes a container
the same way wherever it runs on Cloud Run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pulumi

from berth.model import Healthcheck, Secret, Service, Text

STARTUP_LIMIT = 240
"""Seconds: Cloud Run's ceiling for a startup probe's period, timeout and initial delay."""
LIVENESS_LIMIT = 3600
MAX_RETRIES = 10
"""Cloud Run's limit on a task's retries."""
TRIGGERED_TIMEOUT = 24 * 3600.0
"""Seconds a task of a job of ``jobs:`` may run unless ``x-berth-timeout`` says: Compose
sets no limit, and Cloud Run's generally available maximum is 24 hours (up to 7 days has
been a Preview; ``x-berth-timeout`` may ask for it)."""
_HTTP_CHECK = re.compile(
    r"\b(?:curl|wget)\b[^|;&]*?(?:https?://)?(?:localhost|127\.0\.0\.1|0\.0\.0\.0)"
    r"(?::\d+)?(?P<path>/[^\s'\"|;&)]*)?(?:[\s'\"|;&)]|$)"
)
"""A health check that fetches a URL of the container itself, with curl or wget."""

Container = dict[str, Any]


def task_timeout(job: Service) -> float:
    """Seconds the job's task may run: its ``x-berth-timeout``, else the run-once default
    (a deployment waits that long), or ``TRIGGERED_TIMEOUT`` for a job of ``jobs:``, which no
    deployment waits for."""
    if job.triggers and job.extensions.get("x-berth-timeout") is None:
        return TRIGGERED_TIMEOUT
    return job.timeout


def retries(restart: str | None) -> int:
    """``on-failure:N`` asks for N retries (Cloud Run's default 3 without N); else none."""
    policy, _, count = (restart or "").partition(":")
    if policy != "on-failure":
        return 0
    return min(int(count), MAX_RETRIES) if count.isdigit() else 3


def plain(values: Sequence[Text] | None) -> list[str] | None:
    """Arguments with no secret (the checks refused those on Cloud Run)."""
    return None if values is None else [str(v) for v in values]


def container(
    image: pulumi.Input[str],
    *,
    entrypoint: Sequence[str] | None,
    command: Sequence[str] | None,
    env: list[dict[str, Any]],
    limits: dict[str, str],
    mounts: list[dict[str, str]],
    working_dir: str | None,
) -> Container:
    """A Cloud Run container: compose ``entrypoint`` is Cloud Run's ``commands``, ``command`` its
    ``args``."""
    spec: Container = {"image": image, "resources": {"limits": limits}}
    optional = {
        "commands": list(entrypoint) if entrypoint is not None else None,
        "args": list(command) if command is not None else None,
        "envs": env or None,
        "volume_mounts": mounts or None,
        "working_dir": working_dir,
    }
    spec.update({key: value for key, value in optional.items() if value is not None})
    return spec


def env_value(name: str, value: pulumi.Input[str]) -> dict[str, Any]:
    return {"name": name, "value": value}


def env_secret(name: str, secret: pulumi.Input[str], version: pulumi.Input[str]) -> dict[str, Any]:
    """An environment variable Cloud Run reads from Secret Manager when the container starts."""
    reference = {"secret": secret, "version": version}
    return {"name": name, "value_source": {"secret_key_ref": reference}}


def vpc_access(subnetwork: pulumi.Input[str]) -> dict[str, Any]:
    """Direct VPC egress: private addresses (the VMs) through the project's subnet."""
    return {"network_interfaces": [{"subnetwork": subnetwork}], "egress": "PRIVATE_RANGES_ONLY"}


def probes(check: Healthcheck | None, port: int) -> dict[str, Any]:
    """Startup (and liveness) probes from a compose health check.

    Cloud Run probes speak HTTP, TCP or gRPC; it runs no commands. A check that fetches a URL
    of the container becomes an HTTP probe of that path on the served port; any other check,
    or none, a TCP probe of the port at startup, which is what Cloud Run does by default.
    """
    path = _http_path(check)
    if path is None:
        return {"startup_probe": {"tcp_socket": {"port": port}, **_timing(check, STARTUP_LIMIT)}}
    http = {"http_get": {"path": path, "port": port}}
    return {
        "startup_probe": {**http, **_timing(check, STARTUP_LIMIT)},
        "liveness_probe": {**http, **_timing(check, LIVENESS_LIMIT)},
    }


def _http_path(check: Healthcheck | None) -> str | None:
    if check is None or any(isinstance(part, Secret) for part in check.test):
        return None
    match = _HTTP_CHECK.search(" ".join(str(part) for part in check.test[1:]))
    return (match["path"] or "/") if match else None


def _timing(check: Healthcheck | None, limit: int) -> dict[str, int]:
    """Compose's interval, timeout, retries and start period, within Cloud Run's limits."""
    if check is None:
        return {}
    period = _clamp(check.interval or 30, 1, limit)
    return {
        "period_seconds": period,
        "timeout_seconds": _clamp(check.timeout or 30, 1, period),
        "failure_threshold": max(1, check.retries if check.retries is not None else 3),
        "initial_delay_seconds": _clamp(check.start_period or 0, 0, limit),
    }


def _clamp(seconds: float, low: int, high: int) -> int:
    return int(min(max(round(seconds), low), high))
