"""The ``local`` target: the project on the local Docker engine, with pulumi-docker."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import pulumi

from berth.ai_models import Platform
from berth.components.models import ModelGateway
from berth.components.offline_images import image_outputs
from berth.components.run_once import OFFLINE_RESULT, JobFailed
from berth.components.target import Sequenced
from berth.errors import BerthError
from berth.fields import Support, ignored, model_settings, refused, supported
from berth.model import ComposeProject
from berth.providers.local.engine import TERRAFORM_CONFIG
from berth.providers.local.models import MODEL_TYPE
from berth.providers.local.models import OFFLINE_OUTPUTS as OFFLINE_MODEL
from berth.providers.local.options import LocalOptions

if TYPE_CHECKING:
    from berth.components.target import Target, TargetArgs

NAME = "local"
ORDERING = Sequenced()
MODEL_PLATFORM = Platform.DOCKER
MODEL_GATEWAY: ModelGateway | None = None
MANAGES_STORES = False
"""A marked store runs as its container, as written: nothing of it leaves the machine."""

_ONE_NETWORK = "every service joins the project's one network and is reachable by its name"
_NO_SCHEDULER = (
    "the local engine has no scheduler (Compose's own up refuses scheduled jobs too); a job "
    "kept for the clouds can carry profiles: [scheduled], which local stacks leave out of "
    "berth:profiles"
)
FIELD_SUPPORT: dict[str, Support] = {
    "models": supported(
        "Docker Model Runner of the engine pulls the model, as docker compose up does; its users "
        "get <NAME>_URL and <NAME>_MODEL (or endpoint_var/model_var) and start after it; an "
        "engine without the runner is refused"
    ),
    "x-defang-llm": ignored(
        "no cloud model service on a local engine: the container runs as written"
    ),
    **model_settings(None),
    "x-defang-postgres": supported("the postgres container, as written (managed only in clouds)"),
    "x-defang-redis": supported("the redis container, as written (managed only in clouds)"),
    "build": supported("built with BuildKit, loaded into the local engine, never pushed"),
    "command": supported(),
    "entrypoint": supported(),
    "ports": supported("published on the host; endpoints are stack outputs"),
    "expose": supported(_ONE_NETWORK),
    "healthcheck": supported("the deployment waits for healthy"),
    "restart": supported('"no" makes a one-off job; a service without restart gets unless-stopped'),
    "volumes": supported("named volumes are kept when the stack is destroyed"),
    "secrets": supported("placed as files, /run/secrets/<name> by default"),
    "configs": supported("placed as files"),
    "working_dir": supported(),
    "user": supported(),
    "hostname": supported(),
    "container_name": supported(),
    "labels": supported(),
    "platform": supported(),
    "build.tags": supported("the image is also tagged so on the engine"),
    "build.platforms": ignored(
        "only the platform the service runs (platform:, else the engine's) is built: an engine "
        "holds one platform of an image"
    ),
    "deploy": supported("resources only"),
    "deploy.resources": supported("cpus and memory limits, memory reservation"),
    "cpus": supported(),
    "mem_limit": supported(),
    "mem_reservation": supported(),
    "networks": ignored(_ONE_NETWORK),
    "links": supported(_ONE_NETWORK),
    "external_links": ignored(_ONE_NETWORK),
    "network_mode": ignored(_ONE_NETWORK),
    "deploy.replicas": ignored("one container per service on local"),
    "scale": ignored("one container per service on local"),
    "deploy.restart_policy": ignored("use restart"),
    "jobs.triggers.manual": supported(
        "a container definition: `python -m berth run JOB` runs it on the engine, its log "
        "streamed, as `docker compose run` does"
    ),
    "jobs.triggers.schedule": refused(_NO_SCHEDULER),
    **dict.fromkeys(
        (
            "jobs.triggers.schedule.timezone",
            "jobs.triggers.schedule.concurrency",
            "jobs.triggers.schedule.missed_fires",
        ),
        refused("as triggers.schedule: the local engine has no scheduler"),
    ),
    **dict.fromkeys(
        (
            "cap_add", "cap_drop", "privileged", "read_only", "init", "tty", "stdin_open",
            "extra_hosts", "dns", "dns_search", "dns_opt", "domainname", "tmpfs", "shm_size",
            "stop_signal", "stop_grace_period", "sysctls", "ulimits", "security_opt",
            "group_add", "runtime", "logging",
        ),
        supported(),
    ),
}  # fmt: skip


Options = LocalOptions
"""The target's typed settings, for ``ProjectArgs.options``."""


def create(project: ComposeProject, args: TargetArgs, parent: pulumi.Resource) -> Target:
    from berth.providers.local.target import LocalTarget  # noqa: PLC0415 - pulumi_docker loads slowly

    return LocalTarget(project, args, parent)


def plan_outputs(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What the docker resources report after creation, for the offline plan."""
    if (image := image_outputs(type_, inputs)) is not None:
        return image
    if type_ == "pulumi-python:dynamic/berth:LocalJob":
        return OFFLINE_RESULT
    if type_ == MODEL_TYPE:
        return OFFLINE_MODEL
    return {}


def plan_call(token: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """An explicit docker provider's settings (``terraform_config()``, the one call the local
    target makes): fixed, as a provider configured for the local socket reports them (a mock
    call sees the provider's reference, not its inputs)."""
    if token == TERRAFORM_CONFIG:
        return {"result": {"host": "unix:///var/run/docker.sock"}}
    return {}


def run_job(run_with: Mapping[str, Any], args: Sequence[str], log: TextIO) -> int:
    """``berth run``: the job's container, created as ``run_with`` (its stack output) says,
    ``args`` replacing its command, run to its end on the stack's engine; its exit code. What
    it writes to stdout goes to ``log`` as it comes, what it writes to stderr to this process's
    stderr; Ctrl-C stops and removes it, then re-raises. Nothing is attached to its stdin: a
    job that sets ``tty`` or ``stdin_open`` runs without them, which one warning line says."""
    # The Docker SDK only here and where a run-once job runs: a plan never imports it.
    from berth.providers.local.engine_client import engine_client  # noqa: PLC0415
    from berth.providers.local.runner import (  # noqa: PLC0415
        job_spec,
        run_streamed,
        without_terminal,
    )

    job = (run_with.get("owner") or {}).get("berth.job")
    spec, warning = without_terminal(job_spec(run_with, f"job '{job}'" if job else ""))
    if warning:
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    if args:
        spec = dataclasses.replace(spec, command=list(args))
    try:
        with engine_client(run_with.get("engine")) as client:
            return run_streamed(spec, client, _flushed(log), _flushed(sys.stderr))
    except JobFailed as error:
        raise BerthError(
            str(error),
            hint="check that the stack's Docker engine runs and the stack is deployed "
            "(`pulumi up`), then run it again",
        ) from None


def _flushed(stream: TextIO) -> Callable[[str], None]:
    """Writes to ``stream`` that reach it at once, a pipe's too (``berth run JOB | tee log``)."""

    def write(text: str) -> None:
        stream.write(text)
        stream.flush()

    return write
