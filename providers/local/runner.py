"""Run one job container to completion on the local Docker engine (Docker SDK for Python).

Kept free of Pulumi so it is tested directly against a real engine.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Mount, Ulimit

from berth.durations import format_duration
from components.run_once import JobFailed, scrub, tail
from providers.local.labels import OWNER_KEYS

LOG_SETTLE_READS = 20
LEFTOVER_STOP_SECONDS = 10
"""A leftover run gets SIGTERM and this long to exit, as ``docker stop`` gives it."""
STDERR_SEARCH_LINES = 1000


@dataclass(frozen=True)
class JobSpec:
    """One job run: what compose says the container is, and where it runs."""

    name: str
    image: str
    network: str
    command: Sequence[str] | None = None
    entrypoint: Sequence[str] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    mounts: Sequence[Mapping[str, Any]] = ()
    files: Sequence[Mapping[str, Any]] = ()
    working_dir: str | None = None
    user: str | None = None
    cpus: float | None = None
    memory: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    owner: Mapping[str, str] = field(default_factory=dict)
    """The ``OWNER_KEYS`` labels that say whose run a container is: project, stack and job."""
    container: Mapping[str, Any] = field(default_factory=dict)
    """Further ``containers.create`` arguments: capabilities, ulimits, DNS, logging, ..."""
    timeout: float = 600.0
    secrets: Sequence[str] = field(default_factory=list, repr=False)
    """Values to scrub from the log tail that failure messages and outputs show."""


def run_job(spec: JobSpec, client: docker.DockerClient | None = None) -> dict[str, Any]:
    """Run ``spec`` and remove its container; ``exitCode`` and ``logTail``, or JobFailed."""
    try:
        client = client or docker.from_env()
        _remove_leftovers(client, spec.owner)
        container = client.containers.create(
            spec.image,
            command=list(spec.command) if spec.command is not None else None,
            entrypoint=list(spec.entrypoint) if spec.entrypoint is not None else None,
            environment=dict(spec.environment),
            name=f"{spec.name}-run-{uuid.uuid4().hex[:8]}",
            network=spec.network,
            working_dir=spec.working_dir,
            user=spec.user,
            labels={**spec.labels, **spec.owner},
            mounts=[_mount(m) for m in spec.mounts],
            nano_cpus=int(spec.cpus * 1e9) if spec.cpus else None,
            mem_limit=spec.memory,
            detach=True,
            **_create_arguments(spec.container),
        )
    except docker.errors.DockerException as error:
        raise JobFailed(f"job '{spec.name}' could not start: {_reason(error)}") from None
    try:
        if spec.files:
            container.put_archive("/", _archive(spec.files))
        container.start()
        try:
            status = container.wait(timeout=spec.timeout)
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            _kill(container)
            raise JobFailed(
                f"job '{spec.name}' timed out after {format_duration(spec.timeout)} and was "
                f"stopped (raise x-berth-timeout to allow more). Last log lines:\n"
                f"{_log_tail(container, spec)}"
            ) from None
        exit_code = int(status.get("StatusCode", -1))
        logs = _log_tail(container, spec)
        if exit_code != 0:
            raise JobFailed(
                f"job '{spec.name}' failed with exit code {exit_code}. Last log lines:\n{logs}"
            )
        return {"exitCode": exit_code, "logTail": logs}
    except docker.errors.DockerException as error:
        raise JobFailed(f"job '{spec.name}' failed to run: {_reason(error)}") from None
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


def _remove_leftovers(client: docker.DockerClient, owner: Mapping[str, str]) -> None:
    """Stop and remove the containers an earlier run of this job left behind.

    A run whose process was terminated (SIGTERM or SIGKILL reach the dynamic provider's
    process, and nothing in it cleans up) leaves its container, maybe still running: removed
    here, before the new run starts, two runs of a job never overlap and none piles up.
    Only containers with all three owner labels of this very job match.
    """
    if sorted(owner) != sorted(OWNER_KEYS) or not all(owner.values()):
        return
    mine = {"label": [f"{key}={value}" for key, value in owner.items()]}
    for container in client.containers.list(all=True, filters=mine):
        with contextlib.suppress(docker.errors.NotFound):
            container.stop(timeout=LEFTOVER_STOP_SECONDS)
            container.remove(force=True)


def _kill(container: Any) -> None:
    with contextlib.suppress(docker.errors.APIError):  # it may have exited meanwhile
        container.kill()


def _log_tail(container: Any, spec: JobSpec) -> str:
    """The last lines of output, plus the last stderr lines the tail left out.

    Docker copies stdout and stderr in separate pipes, so an error printed last can land
    before earlier stdout lines in the log; the stderr lines are what a failure is about.
    """
    combined = tail(_logs(container, stdout=True, stderr=True, lines=30))
    shown = set(combined.splitlines())
    errors = _logs(container, stdout=False, stderr=True, lines=STDERR_SEARCH_LINES)
    missing = [line for line in tail(errors, 10).splitlines() if line not in shown]
    if missing:
        combined += "\n--- last lines on stderr ---\n" + "\n".join(missing)
    return scrub(combined, list(spec.secrets)) or "(no output)"


def _logs(container: Any, *, stdout: bool, stderr: bool, lines: int) -> str:
    """The log's last ``lines`` (counted before the stream filter, as Docker does), read until
    it stops growing: the engine may still be copying the last lines when ``wait`` returns."""
    raw = container.logs(stdout=stdout, stderr=stderr, tail=lines)
    for _ in range(LOG_SETTLE_READS):
        time.sleep(0.1)
        again = container.logs(stdout=stdout, stderr=stderr, tail=lines)
        if again == raw:
            break
        raw = again
    return raw.decode("utf-8", "replace")


def _create_arguments(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The set settings, with the ones the SDK wants as objects converted."""
    arguments = {key: value for key, value in settings.items() if value is not None}
    if "ulimits" in arguments:
        arguments["ulimits"] = [Ulimit(**limit) for limit in arguments["ulimits"]]
    if "log_config" in arguments:
        arguments["log_config"] = LogConfig(**arguments["log_config"])
    return arguments


def _mount(spec: Mapping[str, Any]) -> Mount:
    if spec["type"] == "tmpfs":
        return Mount(target=spec["target"], source=None, type="tmpfs")
    return Mount(
        target=spec["target"],
        source=spec.get("source"),
        type=spec["type"],
        read_only=bool(spec.get("readOnly")),
    )


def _archive(files: Sequence[Mapping[str, Any]]) -> bytes:
    """A tar of the compose secrets and configs, to copy into the container before it starts."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for file in files:
            data = str(file["content"]).encode()
            info = tarfile.TarInfo(str(file["path"]).lstrip("/"))
            info.size = len(data)
            info.mode = int(file.get("mode") or 0o444)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _reason(error: Exception) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation or error).strip()
