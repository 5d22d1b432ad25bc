"""Run one job container to completion on the local Docker engine (Docker SDK for Python).

Kept free of Pulumi so it is tested directly against a real engine.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import io
import math
import tarfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Mount, Ulimit

from berth.components.run_once import JobFailed, scrub, scrub_values, tail
from berth.durations import format_duration
from berth.providers.local.labels import OWNER_KEYS

LOG_SETTLE_READS = 20
LEFTOVER_STOP_SECONDS = 10
"""A leftover run gets SIGTERM and this long to exit, as ``docker stop`` gives it; so does a
``berth run`` stopped with Ctrl-C when its job sets no ``stop_grace_period``."""
STDERR_SEARCH_LINES = 1000
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
    label: str = ""
    """How messages name the run when not ``job '<name>'``: ``service "web" pre_start[0]``."""
    stop_timeout: float = LEFTOVER_STOP_SECONDS
    """Seconds a stopped run has, after its stop signal, before it is killed."""

    @property
    def called(self) -> str:
        """The run as messages name it."""
        return self.label or f"job '{self.name}'"


def job_spec(props: Mapping[str, Any], label: str = "") -> JobSpec:
    """The run that a local run-once resource's inputs, or a ``berth run`` job's ``run_with``
    (the same keys: ``job``, ``definition``, ``labels``, ``owner``, ...), describe."""
    definition = props["definition"]
    return JobSpec(
        name=props["job"],
        image=definition["image"],
        network=definition["network"],
        command=definition.get("command"),
        entrypoint=definition.get("entrypoint"),
        environment=definition.get("environment") or {},
        mounts=definition.get("mounts") or (),
        files=definition.get("files") or (),
        working_dir=definition.get("workingDir"),
        user=definition.get("user"),
        cpus=definition.get("cpus"),
        memory=definition.get("memory"),
        labels=props.get("labels") or {},
        owner=props.get("owner") or {},
        container=definition.get("container") or {},
        timeout=float(props.get("timeout") or JobSpec.timeout),
        secrets=scrub_values(props),
        label=label,
        stop_timeout=float(props.get("stopTimeout") or LEFTOVER_STOP_SECONDS),
    )


def run_job(spec: JobSpec, client: docker.DockerClient) -> dict[str, Any]:
    """Run ``spec`` and remove its container; ``exitCode`` and ``logTail``, or JobFailed."""
    with _created(spec, client, leftovers=True) as container:
        try:
            container.start()
            try:
                status = container.wait(timeout=spec.timeout)
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                _kill(container)
                raise JobFailed(
                    f"{spec.called} timed out after {format_duration(spec.timeout)} and was "
                    f"stopped (raise x-berth-timeout to allow more). Last log lines:\n"
                    f"{_log_tail(container, spec)}"
                ) from None
            exit_code = int(status.get("StatusCode", -1))
            logs = _log_tail(container, spec)
        except docker.errors.DockerException as error:
            raise JobFailed(f"{spec.called} failed to run: {error_reason(error)}") from None
        if exit_code != 0:
            raise JobFailed(
                f"{spec.called} failed with exit code {exit_code}. Last log lines:\n{logs}"
            )
        return {"exitCode": exit_code, "logTail": logs}


def run_streamed(
    spec: JobSpec,
    client: docker.DockerClient,
    log: Callable[[str], None],
    errors: Callable[[str], None],
) -> int:
    """Run ``spec`` as ``docker compose run`` does (``berth run``): what it writes to stdout
    handed to ``log`` and what it writes to stderr to ``errors``, line by
    line as it comes, scrubbed of its secrets, until it exits; its exit code. No timeout: it
    runs until it ends or Ctrl-C, which stops it (its stop signal, then ``stop_timeout``
    seconds before a kill) and re-raises. Its container is removed however the run ends.
    Unlike a run-once job, an earlier run is never removed: two runs of a job may go on side
    by side, as two ``docker compose run`` do. Run it ``without_terminal``: nothing is
    attached to its stdin."""
    with _created(spec, client, leftovers=False) as container:
        try:
            # Attached before it starts, as `docker run` attaches: no line is missed, and the
            # output comes whatever the logging driver keeps.
            output = container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True)
            try:
                container.start()
                forward_lines(output, spec, log, errors)
            finally:
                output.close()
            return int(container.wait().get("StatusCode", -1))
        except KeyboardInterrupt:
            with contextlib.suppress(docker.errors.DockerException):
                container.stop(timeout=math.ceil(spec.stop_timeout))
            raise
        except docker.errors.DockerException as error:
            raise JobFailed(f"{spec.called} failed to run: {error_reason(error)}") from None


INTERACTIVE = ("tty", "stdin_open")
"""The settings of a container someone types into (``docker compose run`` attaches the
terminal to it)."""


def without_terminal(spec: JobSpec) -> tuple[JobSpec, str]:
    """``spec`` with no tty and no open stdin, and a warning that says so (empty when it set
    neither). ``berth run`` attaches no terminal or input: a job that sets them, a shell say,
    would wait on a stdin no one writes to and never end; without them, it reads an empty
    input and ends, as with ``docker compose run -T`` and no input."""
    interactive = [key for key in INTERACTIVE if spec.container.get(key)]
    if not interactive:
        return spec, ""
    container = {k: v for k, v in spec.container.items() if k not in INTERACTIVE}
    written = " and ".join(f"{key}: true" for key in interactive)
    return dataclasses.replace(spec, container=container), (
        f"{spec.called} sets {written}, but berth run attaches no terminal or input: it runs "
        "without a tty and with an empty stdin (its output and errors are still streamed)"
    )


@contextlib.contextmanager
def _created(spec: JobSpec, client: docker.DockerClient, *, leftovers: bool) -> Iterator[Any]:
    """``spec``'s container, created with its files in place (after removing what an earlier
    run of the job left behind, with ``leftovers``), and removed however the run ends."""
    try:
        if leftovers:
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
        raise JobFailed(f"{spec.called} could not start: {error_reason(error)}") from None
    try:
        if spec.files:
            try:
                container.put_archive("/", _archive(spec.files))
            except docker.errors.DockerException as error:
                raise JobFailed(f"{spec.called} failed to run: {error_reason(error)}") from None
        yield container
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


def forward_lines(
    output: Iterable[tuple[bytes | None, bytes | None]],
    spec: JobSpec,
    log: Callable[[str], None],
    errors: Callable[[str], None],
) -> None:
    """Each whole line of ``output`` (chunks of stdout and of stderr, as the SDK's ``demux``
    gives them) as it arrives, stdout's to ``log`` and stderr's to ``errors`` (the last line of
    each even without its newline), scrubbed: a secret split across two chunks is still one
    line."""
    out, err = _Lines(spec.secrets, log), _Lines(spec.secrets, errors)
    for stdout, stderr in output:
        out.feed(stdout or b"")
        err.feed(stderr or b"")
    out.close()
    err.close()


class _Lines:
    """One output stream, handed to ``log`` by whole lines, each scrubbed of ``secrets``: a
    secret or a character split across two chunks is still found whole."""

    def __init__(self, secrets: Sequence[str], log: Callable[[str], None]) -> None:
        self.secrets = secrets
        self.log = log
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.pending = ""

    def feed(self, chunk: bytes) -> None:
        lines, newline, self.pending = (self.pending + self.decoder.decode(chunk)).rpartition("\n")
        if newline:
            self.log(scrub(lines + newline, self.secrets))

    def close(self) -> None:
        """The last line, even without its newline."""
        self.pending += self.decoder.decode(b"", final=True)
        if self.pending:
            self.log(scrub(self.pending, self.secrets))
        self.pending = ""


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


def error_reason(error: Exception) -> str:
    """What the engine said, when it said something, else the error's own words."""
    explanation = getattr(error, "explanation", None)
    return str(explanation or error).strip()
