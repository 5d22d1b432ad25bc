"""The ``gcp`` target: Cloud Run services, worker pools and jobs, Compute Engine VMs for plain
TCP, in one VPC network, with pulumi-gcp (docs/gcp.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import pulumi

from berth.ai_models import Platform
from berth.components.models import ModelGateway
from berth.components.offline_images import image_outputs, inputs_digest, tag_digest
from berth.components.run_once import OFFLINE_RESULT
from berth.components.target import Sequenced
from berth.fields import Support, ignored, model_settings, refused, supported
from berth.model import ComposeProject
from berth.providers.gcp.options import GcpOptions
from berth.stores import MANAGED_NOTE

if TYPE_CHECKING:
    from berth.components.target import Target, TargetArgs

NAME = "gcp"
ORDERING = Sequenced()
MODEL_PLATFORM = Platform.VERTEX_AI
MODEL_GATEWAY: ModelGateway | None = ModelGateway(
    Platform.VERTEX_AI, "vertex_ai", location_variable="VERTEXAI_LOCATION"
)
MANAGES_STORES = True

_VM = "on VM services; ignored with a warning on Cloud Run"
_ONE_NETWORK = "every service shares the project's VPC network; names resolve as docs/gcp.md says"
FIELD_SUPPORT: dict[str, Support] = {
    "models": supported(
        "a LiteLLM gateway service per model (named after it, port 4000, on a VM with an "
        "internal address: private) in front of Vertex AI, its service account holding only "
        "what a prediction needs; its users get <NAME>_URL and <NAME>_MODEL (or "
        "endpoint_var/model_var) and start after it (docs/models.md)"
    ),
    "x-defang-llm": supported(
        "its service account may call Vertex AI models (a prediction only); a LiteLLM image "
        "that names no port listens on 4000"
    ),
    **model_settings("Vertex AI"),
    "build": supported(
        "built with BuildKit for linux/amd64, pushed to Artifact Registry with its layer cache, "
        "deployed by digest"
    ),
    "image": supported(
        "deployed by digest; Cloud Run pulls other registries than Docker Hub and Artifact "
        "Registry through an Artifact Registry remote repository"
    ),
    "command": supported("Cloud Run args; a secret in it is refused (read it from environment)"),
    "entrypoint": supported(
        "Cloud Run command; a secret in it is refused (read it from environment)"
    ),
    "environment": supported(
        "secrets via Secret Manager (a VM: a root-only env file, one line each); references "
        "to other services rewritten to their address"
    ),
    "ports": supported(
        "one HTTP port: a Cloud Run service, public by default; other ports: a Compute Engine "
        "VM, where ports that are not HTTP stay internal unless gcpPublicNonHttpPorts"
    ),
    "expose": supported("the service runs on a VM, reachable at its internal address"),
    "healthcheck": supported(
        "a curl/wget of localhost becomes a Cloud Run HTTP probe, others a TCP probe; "
        "a VM runs the check as written (a secret in it is refused there)"
    ),
    "restart": supported('"no": a Cloud Run job; on-failure:N gives a job N retries'),
    "depends_on": supported("deployment order; a job gates its dependents on a successful run"),
    "volumes": supported(
        "named: a persistent disk (VM) or a Cloud Storage bucket (Cloud Run), kept on destroy; "
        "anonymous and tmpfs: in memory; bind mounts are ignored with a warning"
    ),
    "secrets": supported("Secret Manager secrets mounted as files"),
    "configs": supported("Secret Manager secrets mounted as files"),
    "working_dir": supported(),
    "deploy": supported("resources and replicas"),
    "deploy.resources": supported("rounded up to Cloud Run's CPU and memory sizes, or a VM type"),
    "cpus": supported("rounded up to Cloud Run's sizes, or a VM type"),
    "mem_limit": supported("rounded up to Cloud Run's sizes, or a VM type"),
    "mem_reservation": supported("used when no limit is set"),
    "deploy.replicas": supported("Cloud Run minimum instances, worker pool instances; one VM"),
    "scale": supported("as deploy.replicas"),
    "deploy.restart_policy": ignored("Cloud Run and systemd restart services; use restart"),
    "links": supported(_ONE_NETWORK),
    "networks": ignored(_ONE_NETWORK),
    "network_mode": ignored(_ONE_NETWORK),
    "external_links": ignored(_ONE_NETWORK),
    "container_name": ignored("resource names come from the project, stack and service"),
    "platform": ignored("Cloud Run and the VMs run linux/amd64; images are built for it"),
    "build.tags": ignored("the image is pushed to the project's Artifact Registry only"),
    "build.platforms": supported(
        "each listed platform is built into the pushed image; the list must hold linux/amd64"
    ),
    "logging": ignored("logs go to Cloud Logging"),
    "runtime": ignored("Cloud Run and the VMs run the default container runtime"),
    **dict.fromkeys(("tty", "stdin_open"), ignored("services run without a terminal")),
    **dict.fromkeys(
        ("privileged", "cap_add", "sysctls", "security_opt"),
        supported("the service runs on a VM (Cloud Run cannot grant it); ignored on jobs"),
    ),
    **dict.fromkeys(
        (
            "user",
            "hostname",
            "domainname",
            "labels",
            "extra_hosts",
            "dns",
            "dns_search",
            "dns_opt",
            "stop_signal",
            "stop_grace_period",
            "init",
            "read_only",
            "cap_drop",
            "shm_size",
            "ulimits",
            "group_add",
        ),
        supported(_VM),
    ),
    "tmpfs": supported("in-memory volumes"),
    "devices": refused("neither Cloud Run nor the VMs have host devices to give"),
    "gpus": refused("GPUs are not supported on gcp yet"),
    "x-defang-postgres": supported(
        "Cloud SQL for PostgreSQL with a private IP only: version from the image tag, tier "
        "from deploy.resources, TLS required, backups, protected; still reached as "
        f"<service>:5432; {MANAGED_NOTE}"
    ),
    "x-defang-redis": supported(
        "Memorystore for Redis (Basic) with a private IP only; with REDIS_PASSWORD, AUTH with "
        "the string Memorystore generates, given to the services in its place; still reached "
        f"as <service>:6379; {MANAGED_NOTE}"
    ),
    "jobs.triggers.manual": supported(
        "a Cloud Run job; `berth run JOB` executes it once, streams its Cloud Logging log and "
        "exits with its exit code; nothing runs it during pulumi up"
    ),
    "jobs.triggers.schedule": supported(
        "a Cloud Scheduler job per entry, executing the Cloud Run job as a service account "
        "of its own that may run that job only (Cloud Run Invoker on it), never retried"
    ),
    "jobs.triggers.schedule.timezone": supported("Cloud Scheduler's time zone; UTC when unset"),
    "jobs.triggers.schedule.concurrency": ignored(
        "Cloud Scheduler starts every run when due: a run that outlasts the interval overlaps "
        "the next (a warning names the job)"
    ),
    "jobs.triggers.schedule.missed_fires": ignored(
        "Cloud Scheduler runs no missed time later: one whose run could not be started is "
        "dropped (a warning names the job)"
    ),
}


Options = GcpOptions
"""The target's typed settings, for ``ProjectArgs.options``."""


def create(project: ComposeProject, args: TargetArgs, parent: pulumi.Resource) -> Target:
    from berth.providers.gcp.target import GcpTarget  # noqa: PLC0415 - pulumi_gcp loads slowly

    return GcpTarget(project, args, parent)


def run_job(run_with: Mapping[str, Any], args: Sequence[str], log: TextIO) -> int:
    """``berth run``: the job's Cloud Run job executed once, ``args`` replacing its command
    when given, its Cloud Logging log streamed to ``log``; its exit code. Ctrl-C cancels the
    execution, then raises again (``run_once.run_job``)."""
    # The Admin API client only where a job runs: a plan never loads it.
    from berth.providers.gcp.run_once import run_job as execute  # noqa: PLC0415

    return execute(run_with, args, log)


CLIENT_CONFIG = "gcp:organizations/getClientConfig:getClientConfig"
PROJECT = "gcp:organizations/getProject:getProject"
REGISTRY_IMAGE = "docker:index/getRegistryImage:getRegistryImage"
TERRAFORM_CONFIG = "pulumi:providers:gcp/terraformConfig"
"""``gcp.Provider.terraform_config()``: an explicit provider's settings, under terraform's names."""
PLAN_PROJECT = "berth-plan"
PLAN_PROJECT_NUMBER = "123456789012"
PLAN_REGION = "us-central1"
"""Where the offline plan deploys: it has no gcp provider configuration to read."""


def plan_outputs(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What the resources report after creation, for the offline plan."""
    if (image := image_outputs(type_, inputs)) is not None:
        return image
    digest = inputs_digest(inputs)
    outputs = _PLAN_OUTPUTS.get(type_)
    if outputs is None and type_.startswith("gcp:compute/"):
        outputs = _compute
    return outputs(inputs, digest) if outputs else {}


def plan_call(token: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """What the provider functions the program calls return, for the offline plan."""
    call = _PLAN_CALLS.get(token)
    return call(args) if call else {}


def _project(inputs: Mapping[str, Any]) -> str:
    return str(inputs.get("project") or PLAN_PROJECT)


def _address(inputs: Mapping[str, Any], digest: str) -> dict[str, Any]:
    number = int(digest[:6], 16)
    if inputs.get("addressType") == "EXTERNAL":
        return {"address": f"34.{number % 200 + 10}.{number // 200 % 250}.{number % 250 + 2}"}
    return {"address": f"10.20.{number % 15}.{number // 15 % 250 + 2}"}


_VERSIONS_KEY = os.urandom(16)
"""Numbers a plan's secret versions from their data, keyed per process: two plans in one
process (``berth diff``) agree, and no plan shows a stable hash of a secret."""


def _secret_version(inputs: Mapping[str, Any], _digest: str) -> dict[str, Any]:
    """Secret Manager replaces a version whose data changed, and the new one has another
    number, which the workloads name: a fixed number would hide every rotation."""
    data = json.dumps(inputs.get("secretData"), sort_keys=True, default=str).encode()
    number = str(int(hmac.new(_VERSIONS_KEY, data, "sha256").hexdigest()[:6], 16))
    return {"name": f"{inputs.get('secret')}/versions/{number}", "version": number}


def _service_agent(inputs: Mapping[str, Any], _digest: str) -> dict[str, Any]:
    """A Google service agent: Service Networking's is ``service-<number>@service-networking``,
    most others' ``service-<number>@gcp-sa-<api>``."""
    api = str(inputs.get("service")).split(".", 1)[0]
    domain = "service-networking" if api == "servicenetworking" else f"gcp-sa-{api}"
    email = f"service-{PLAN_PROJECT_NUMBER}@{domain}.iam.gserviceaccount.com"
    return {"email": email, "member": f"serviceAccount:{email}"}


def _account(inputs: Mapping[str, Any], _digest: str) -> dict[str, Any]:
    email = f"{inputs.get('accountId')}@{_project(inputs)}.iam.gserviceaccount.com"
    return {"email": email, "member": f"serviceAccount:{email}"}


def _cloud_run(inputs: Mapping[str, Any], _digest: str) -> dict[str, Any]:
    uri = f"https://{inputs.get('name')}-{PLAN_PROJECT_NUMBER}.{inputs.get('location')}.run.app"
    return {"uri": uri, "urls": [uri]}


def _repository(inputs: Mapping[str, Any], _digest: str) -> dict[str, Any]:
    repository = inputs.get("repositoryId")
    uri = f"{inputs.get('location')}-docker.pkg.dev/{_project(inputs)}/{repository}"
    return {"name": repository, "registryUri": uri}


def _private_ip(labels: Any) -> str:
    """A private IP in the services range, from the store's labels (never from its inputs,
    which hold its password)."""
    number = int(hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:6], 16)
    return f"10.99.{number % 250}.{number // 250 % 250 + 2}"


def _sql(inputs: Mapping[str, Any], _digest: str) -> dict[str, Any]:
    labels = (inputs.get("settings") or {}).get("userLabels")
    return {
        "name": f"sql-{_private_ip(labels).replace('.', '-')}",
        "privateIpAddress": _private_ip(labels),
    }


def _compute(inputs: Mapping[str, Any], _digest: str) -> dict[str, Any]:
    link = f"https://www.googleapis.com/compute/v1/projects/{_project(inputs)}/{inputs.get('name')}"
    return {"selfLink": link}


_PLAN_OUTPUTS: dict[str, Callable[[Mapping[str, Any], str], dict[str, Any]]] = {
    "gcp:compute/address:Address": _address,
    "gcp:serviceaccount/account:Account": _account,
    "gcp:secretmanager/secret:Secret": lambda inputs, _: {
        "name": f"projects/{PLAN_PROJECT_NUMBER}/secrets/{inputs.get('secretId')}"
    },
    "gcp:secretmanager/secretVersion:SecretVersion": _secret_version,
    "gcp:cloudrunv2/service:Service": _cloud_run,
    "gcp:sql/databaseInstance:DatabaseInstance": _sql,
    "gcp:redis/instance:Instance": lambda inputs, _: {
        "host": _private_ip(inputs.get("labels")),
        "authString": "plan-auth-string",
    },
    "gcp:artifactregistry/repository:Repository": _repository,
    "gcp:storage/bucket:Bucket": lambda inputs, _: {"url": f"gs://{inputs.get('name')}"},
    "gcp:projects/serviceIdentity:ServiceIdentity": _service_agent,
    "gcp:compute/instance:Instance": lambda inputs, digest: {
        **_compute(inputs, digest),
        "instanceId": str(int(digest[:12], 16)),
    },
    "gcp:projects/iAMCustomRole:IAMCustomRole": lambda inputs, _: {
        "name": f"projects/{_project(inputs)}/roles/{inputs.get('roleId')}"
    },
    "random:index/randomId:RandomId": lambda inputs, digest: {
        "hex": digest[: 2 * int(inputs.get("byteLength", 4))]
    },
    "pulumi-python:dynamic/berth:VmServiceReady": lambda inputs, _: {"state": inputs.get("want")},
    "pulumi-python:dynamic/berth:CloudRunJobExecution": lambda _inputs, _digest: OFFLINE_RESULT,
}
_PLAN_CALLS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    CLIENT_CONFIG: lambda _: {
        "id": PLAN_PROJECT,
        "project": PLAN_PROJECT,
        "region": PLAN_REGION,
        "zone": "",
        "accessToken": "plan-access-token",
    },
    REGISTRY_IMAGE: lambda args: {
        "name": args.get("name"),
        "sha256Digest": tag_digest(str(args.get("name"))),
    },
    # The offline plan cannot read an explicit provider's inputs here: a fixed, realistic one
    # (an access token, acting as a deployer account).
    TERRAFORM_CONFIG: lambda _: {
        "result": {
            "project": PLAN_PROJECT,
            "region": PLAN_REGION,
            "access_token": "plan-explicit-access-token",
            "impersonate_service_account": f"deployer@{PLAN_PROJECT}.iam.gserviceaccount.com",
        }
    },
    PROJECT: lambda args: {
        "number": PLAN_PROJECT_NUMBER,
        "projectId": args.get("projectId") or PLAN_PROJECT,
    },
}
