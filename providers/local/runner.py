"""Run one job container to completion on the local Docker engine (Docker SDK for Python).

Kept free of Pulumi so it is tested directly against a real engine.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.tls import TLSConfig
from docker.types import LogConfig, Mount, Ulimit

from berth.components.run_once import JobFailed, scrub, tail
from berth.durations import format_duration
from berth.providers.local.engine import SETTINGS
from berth.providers.local.labels import OWNER_KEYS

LOG_SETTLE_READS = 20
LEFTOVER_STOP_SECONDS = 10
"""A leftover run gets SIGTERM and this long to exit, as ``docker stop`` gives it."""
STDERR_SEARCH_LINES = 1000
DEFAULT_HOST = "unix:///var/run/docker.sock"
"""The docker provider's host when neither ``docker:host`` nor DOCKER_HOST sets one."""


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


@contextlib.contextmanager
def engine_client(
    engine: Mapping[str, Any] | None, environ: Mapping[str, str] = os.environ
) -> Iterator[docker.DockerClient]:
    """A client of the engine the docker provider talks to, from the job's ``engine`` input
    (``berth.providers.local.engine``); certificate material lives in a private temporary folder
    while the client is used."""
    with tempfile.TemporaryDirectory(prefix="berth-engine-") as folder:
        arguments: dict[str, Any] = {}
        try:
            arguments = client_arguments(engine or {}, environ, Path(folder))
            client = docker.DockerClient(**arguments)
        except docker.errors.DockerException as error:  # unreachable, or a certificate missing
            where = arguments.get("base_url", "the docker provider's settings name")
            raise JobFailed(
                f"cannot reach the Docker engine at {where}: {_reason(error)}"
            ) from None
        with contextlib.closing(client):
            yield client


def client_arguments(
    engine: Mapping[str, Any], environ: Mapping[str, str], folder: Path
) -> dict[str, Any]:
    """``DockerClient`` arguments that connect where the docker provider does: each setting
    from ``engine``, else from its environment variable; then, in the provider's order (its
    ``MakeClient``), certificate material, a certificate folder, an ``ssh://`` host, or the
    host as it is. Material files are written to ``folder``."""
    settings = {key: engine.get(key) or environ.get(variable) for key, variable in SETTINGS.items()}
    host = settings["host"] or DEFAULT_HOST
    if settings["context"]:
        host = _context_host(settings["context"])
    cert, key, ca = settings["certMaterial"], settings["keyMaterial"], settings["caMaterial"]
    if cert or key:
        if not (cert and key):
            raise JobFailed("docker:certMaterial and docker:keyMaterial must be set together")
        if settings["certPath"]:
            raise JobFailed("docker:certPath must not be set with docker:certMaterial")
        files = {name: folder / f"{name}.pem" for name in ("cert", "key", "ca")}
        for name, text in (("cert", cert), ("key", key), ("ca", ca)):
            if text:
                files[name].write_text(str(text))
        # Without a CA the provider skips verifying the engine's certificate: so does this.
        tls = TLSConfig(
            client_cert=(str(files["cert"]), str(files["key"])),
            ca_cert=str(files["ca"]) if ca else None,
            verify=bool(ca),
        )
        return {"base_url": host, "tls": tls}
    if path := settings["certPath"]:
        certs = Path(str(path)).expanduser()
        tls = TLSConfig(
            client_cert=(str(certs / "cert.pem"), str(certs / "key.pem")),
            ca_cert=str(certs / "ca.pem"),
            verify=True,
        )
        return {"base_url": host, "tls": tls}
    if str(host).startswith("ssh://"):
        if settings["sshOpts"]:
            raise JobFailed(
                "docker:sshOpts cannot reach the job runner (the Docker SDK runs plain `ssh`): "
                f"put those options in ~/.ssh/config for {host} and unset docker:sshOpts"
            )
        return {"base_url": host, "use_ssh_client": True}
    return {"base_url": host}


def _context_host(name: str) -> str:
    """The host of the Docker context ``name``, found as the provider finds it (its
    ``getContextHost``): the ``meta.json`` under ``~/.docker/contexts/meta`` that bears the name.
    (The SDK's ``ContextAPI`` looks beside a config file that may not exist.)"""
    for meta in sorted((Path.home() / ".docker" / "contexts" / "meta").glob("*/meta.json")):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            context = json.loads(meta.read_text())
            if context.get("Name") == name and (host := context["Endpoints"]["docker"]["Host"]):
                return str(host)
    raise JobFailed(f"Docker context {name!r} not found in ~/.docker/contexts (docker:context)")


def run_job(spec: JobSpec, client: docker.DockerClient) -> dict[str, Any]:
    """Run ``spec`` and remove its container; ``exitCode`` and ``logTail``, or JobFailed."""
    try:
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
