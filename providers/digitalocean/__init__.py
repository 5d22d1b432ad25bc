"""The ``digitalocean`` target: the project as one App Platform app, one-off jobs and
``pre_start`` hooks as its PRE_DEPLOY or POST_DEPLOY jobs, postgres and redis as its databases;
``jobs:`` refused (docs/digitalocean.md)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import pulumi

from berth.ai_models import Platform
from berth.components.models import ModelGateway
from berth.components.offline_images import image_outputs, inputs_digest
from berth.components.target import Phased
from berth.errors import BerthError
from berth.fields import Support, ignored, model_settings, refused, supported
from berth.model import ComposeProject
from berth.providers.digitalocean.layout import Kind, component_name
from berth.providers.digitalocean.options import DigitalOceanOptions
from berth.stores import MANAGED_NOTE

if TYPE_CHECKING:
    from berth.components.target import Target, TargetArgs

NAME = "digitalocean"
APP = "digitalocean:index/app:App"
MODEL_PLATFORM = Platform.SERVERLESS_INFERENCE
MODEL_GATEWAY: ModelGateway | None = None
MANAGES_STORES = True

_ONE_APP = "one app: components reach each other by component name on their internal ports"
_NO_FILES = "App Platform cannot place files in a container; read the value from environment"
_ONE_SIZE = "one instance size for every component, berth:digitaloceanInstanceSize"
_NO_MANUAL = (
    "App Platform's API starts no job on demand (it lists, reads and cancels job invocations "
    'only); deploy the job on another target, or make it a restart: "no" service, run on '
    "each deployment"
)
_NO_SCHEDULE = (
    "pulumi-digitalocean cannot deploy App Platform's SCHEDULED jobs (its app spec takes "
    "PRE_DEPLOY, POST_DEPLOY and FAILED_DEPLOY jobs only: "
    "terraform-provider-digitalocean#1529); deploy the job on another target, or run a "
    "scheduler in a worker"
)
_AS_SCHEDULE = "as triggers.schedule: App Platform's scheduled jobs cannot be deployed yet"
FIELD_SUPPORT: dict[str, Support] = {
    "models": supported(
        "served by DigitalOcean's serverless inference (OpenAI-compatible, no gateway to run): "
        "its users get <NAME>_URL and <NAME>_MODEL (or endpoint_var/model_var) and the model "
        "access key digitaloceanModelAccessKey as OPENAI_API_KEY, a secret (docs/models.md)"
    ),
    "x-defang-llm": refused(
        "App Platform gives a container no cloud identity to call a model service with; declare "
        "the model under models: instead"
    ),
    **model_settings("serverless inference"),
    "build": supported(
        "built with BuildKit for linux/amd64, pushed to the DigitalOcean Container Registry with "
        "its layer cache, deployed by digest"
    ),
    "image": supported(
        "pulled from Docker Hub or GHCR (other registries refused); postgres, redis and valkey "
        "images become App Platform databases"
    ),
    "command": supported("with entrypoint, the run command; a secret in it is refused"),
    "entrypoint": supported("with command, the run command; a secret in it is refused"),
    "environment": supported(
        "stack secrets as SECRET variables; a database's URL, host, user, database name or "
        "password as its bindable variables (${db.DATABASE_URL}, ${db.USERNAME}); a name "
        "other than letters, digits and _ (discovery.type) refused"
    ),
    "ports": supported(
        "the first published HTTP port on the app's URL (the next ones at /<name>); other TCP "
        "ports internal; UDP ignored"
    ),
    "expose": supported("internal ports"),
    "healthcheck": supported(
        "a curl/wget of localhost: an HTTP check of its path; another command: a TCP check of "
        "the port; ignored on workers"
    ),
    "restart": supported(
        '"no": a PRE_DEPLOY job when a service waits on it, else POST_DEPLOY (never beside '
        "the services); jobs run on every deployment of the app, not once per definition"
    ),
    "depends_on": supported(
        "App Platform's phases: databases, PRE_DEPLOY jobs, services, POST_DEPLOY jobs; an "
        "order they cannot give is refused; services are released together (warning)"
    ),
    "pre_start": supported(
        "a PRE_DEPLOY job, run on every deployment of the app; refused where App Platform's "
        "phases cannot give the order: two hooks, a hook after a service or a job (depends_on), "
        "a hook of a job or of a database"
    ),
    "jobs.triggers.manual": refused(_NO_MANUAL),
    "jobs.triggers.schedule": refused(_NO_SCHEDULE),
    "jobs.triggers.schedule.timezone": refused(_AS_SCHEDULE),
    "jobs.triggers.schedule.concurrency": refused(_AS_SCHEDULE),
    "jobs.triggers.schedule.missed_fires": refused(_AS_SCHEDULE),
    "deploy": supported("replicas"),
    "deploy.replicas": supported("instance count"),
    "scale": supported("instance count"),
    "deploy.resources": ignored(_ONE_SIZE),
    "cpus": ignored(_ONE_SIZE),
    "mem_limit": ignored(_ONE_SIZE),
    "mem_reservation": ignored(_ONE_SIZE),
    "deploy.restart_policy": ignored("App Platform restarts services; use restart for jobs"),
    "volumes": ignored(
        "App Platform has no volumes: a container's files last until its next deployment; "
        "keep data in a database"
    ),
    "secrets": refused(_NO_FILES),
    "configs": refused(_NO_FILES),
    "working_dir": ignored("App Platform runs in the image's working directory"),
    "user": ignored("App Platform runs as the image's user"),
    "hostname": ignored("the component name is the host name"),
    "container_name": ignored("the component name is the host name"),
    "links": ignored(_ONE_APP),
    "networks": ignored(_ONE_APP),
    "network_mode": ignored(_ONE_APP),
    "external_links": ignored(_ONE_APP),
    "platform": ignored("App Platform runs linux/amd64; images are built for it"),
    "build.tags": ignored("the image is pushed to the DigitalOcean Container Registry only"),
    "build.platforms": supported(
        "each listed platform is built into the pushed image; the list must hold linux/amd64"
    ),
    "labels": ignored("App Platform has no container labels"),
    "logging": ignored("logs go to App Platform's runtime logs"),
    "privileged": refused("App Platform never runs privileged containers"),
    "devices": refused("App Platform containers have no devices"),
    "gpus": refused("App Platform has no GPUs"),
    "x-defang-postgres": supported(
        "a managed PostgreSQL cluster (version from the image tag, else 17; "
        "berth:digitaloceanDatabaseSize, one node) attached to the app, open to it only, "
        "protected unless berth:digitaloceanThrowawayStores; POSTGRES_DB and POSTGRES_USER made "
        "in it; a URL of it in environment becomes ${<name>.DATABASE_URL}; allow-downtime has "
        f"no effect (unmarked: an App Platform dev database); {MANAGED_NOTE}"
    ),
    "x-defang-redis": supported(
        "a managed Valkey cluster, as for any redis or valkey image (App Platform has no dev "
        "Redis): version 8 unless a valkey tag says otherwise, berth:digitaloceanDatabaseSize, "
        "one node, open to the app only, protected unless berth:digitaloceanThrowawayStores; "
        f"a URL of it in environment becomes ${{<name>.DATABASE_URL}}; {MANAGED_NOTE}"
    ),
}


def phases(project: ComposeProject, app: Mapping[str, Any]) -> list[frozenset[str]]:
    """The compose services in each phase of the app's spec, in the order App Platform
    deploys them: databases, PRE_DEPLOY jobs, services and workers together, POST_DEPLOY jobs."""
    spec = app.get("spec") or {}
    service_of = {component_name(name): name for name in project.services}
    jobs = spec.get("jobs") or []
    found = (
        spec.get("databases") or [],
        [job for job in jobs if job.get("kind") == Kind.PRE_DEPLOY],
        [*(spec.get("services") or []), *(spec.get("workers") or [])],
        [job for job in jobs if job.get("kind") == Kind.POST_DEPLOY],
    )
    return [frozenset(service_of[part["name"]] for part in phase) for phase in found]


ORDERING = Phased(unit=APP, phases=phases)
"""One App Platform app, deployed at once in its phases (``layout.py``)."""

Options = DigitalOceanOptions
"""The target's typed settings, for ``ProjectArgs.options``."""


def create(project: ComposeProject, args: TargetArgs, parent: pulumi.Resource) -> Target:
    from berth.providers.digitalocean.target import DigitalOceanTarget  # noqa: PLC0415 - slow SDK

    return DigitalOceanTarget(project, args, parent)


def run_job(run_with: Mapping[str, Any], args: Sequence[str], log: TextIO) -> int:
    """``berth run``: never reached from a stack of this target, which deploys no job of
    ``jobs:`` (``FIELD_SUPPORT`` refuses their triggers); refused for outputs made by hand."""
    raise BerthError(
        "the digitalocean target cannot run a job: App Platform's API starts no job on demand",
        hint="run the job from a stack of the local, aws or gcp target",
    )


def plan_outputs(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What the resources report once created, for the offline plan: derived from their
    inputs, so two plans of the same project are identical."""
    if (image := image_outputs(type_, inputs)) is not None:
        return image
    digest = inputs_digest(inputs)
    outputs = _PLAN_OUTPUTS.get(type_)
    return outputs(inputs, digest) if outputs else {}


def _app(inputs: Mapping[str, Any], digest: str) -> dict[str, Any]:
    name = (inputs.get("spec") or {}).get("name")
    return {
        "liveUrl": f"https://{name}-{digest[:5]}.ondigitalocean.app",
        "activeDeploymentId": str(uuid.uuid5(uuid.NAMESPACE_URL, digest)),
    }


def _credentials(_inputs: Mapping[str, Any], _digest: str) -> dict[str, Any]:
    auth = base64.b64encode(b"plan-token:plan-token").decode()
    return {
        "dockerCredentials": json.dumps({"auths": {"registry.digitalocean.com": {"auth": auth}}})
    }


def _named(inputs: Mapping[str, Any], _digest: str) -> dict[str, Any]:
    return {"name": inputs.get("name")}


def _random_bytes(_inputs: Mapping[str, Any], digest: str) -> dict[str, Any]:
    return {"hex": digest, "base64": base64.b64encode(bytes.fromhex(digest)).decode()}


def _deployed(inputs: Mapping[str, Any], _digest: str) -> dict[str, Any]:
    """The deployment of the spec, from its digest alone."""
    return {"deploymentId": str(uuid.uuid5(uuid.NAMESPACE_URL, str(inputs.get("spec"))))}


_PLAN_OUTPUTS: dict[str, Callable[[Mapping[str, Any], str], dict[str, Any]]] = {
    APP: _app,
    "digitalocean:index/containerRegistry:ContainerRegistry": _named,
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials": (
        _credentials
    ),
    "digitalocean:index/databaseCluster:DatabaseCluster": _named,
    "digitalocean:index/databaseDb:DatabaseDb": _named,
    "digitalocean:index/databaseUser:DatabaseUser": _named,
    "random:index/randomBytes:RandomBytes": _random_bytes,
    "pulumi-python:dynamic/berth:AppDeployed": _deployed,
    # berth:LiveAppSecrets, a read, reports its inputs: offline there is no live app.
}


TERRAFORM_CONFIG = "pulumi:providers:digitalocean/terraformConfig"
"""``digitalocean.Provider.terraform_config()``: an explicit provider's settings
(``account.py``)."""


def plan_call(token: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """The digitalocean target calls no provider functions; an explicit provider's settings
    are, offline, none (its dynamic resources would read the environment)."""
    return {"result": {}} if token == TERRAFORM_CONFIG else {}
