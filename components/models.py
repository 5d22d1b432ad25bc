"""Language models on a target that serves them through a gateway (aws, gcp): one LiteLLM
container per model, in front of the cloud's model service, that the project's services call
as they call Docker Model Runner under ``docker compose up``.

The gateway is a service of the project like any other, named after the model (``llm`` as
Compose names the model ``llm``), listening on 4000 and publishing nothing: private to the
project. Each service that uses the model is given Compose's two variables (the gateway's
OpenAI-compatible base URL, and the model's name as the compose file writes it, which the
gateway serves under that alias) and starts after the gateway. When the services that use it
set ``OPENAI_API_KEY``, that key is the gateway's master key, so an OpenAI client's own key
authenticates it; a stack secret there stays a secret.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from berth.ai_models import (
    CloudModel,
    Platform,
    cloud_model,
    model_refusal,
    unhonoured_settings,
)
from berth.errors import BerthError
from berth.model import (
    AiModel,
    ComposeProject,
    Condition,
    Dependency,
    Resources,
    Service,
    Text,
    revealed,
)
from berth.normalize.models import LITELLM_PORT
from berth.sources import Sources

LITELLM_IMAGE = "litellm/litellm:v1.92.0"
"""The gateway's image (Defang deploys the same release in front of Bedrock and Vertex AI).
From 1.104 LiteLLM refuses to start without a master key, which a gateway whose users set no
``OPENAI_API_KEY`` has none of: a newer release needs Berth to give it one first."""
GATEWAY_RESOURCES = Resources(reserved_cpus=0.5, reserved_memory=2048 * 2**20)
"""What LiteLLM needs: 1 GiB ran out of memory in Defang's tests on AWS."""
API_KEY = "OPENAI_API_KEY"
"""What an OpenAI client sends as its key; the gateway's master key when its users set one."""
MASTER_KEY = "LITELLM_MASTER_KEY"
MODEL_ARGUMENT = 4
"""Where the gateway's command holds ``<provider>/<model id>``: a target that knows the id
only at deployment (Bedrock's inference profile is the region's) replaces that argument."""


@dataclass(frozen=True)
class ModelGateway:
    """A target's way of serving models: a LiteLLM gateway in front of ``platform``."""

    platform: Platform
    litellm_provider: str
    """LiteLLM's name of the platform, before a model id (``bedrock``, ``vertex_ai``)."""
    location_variable: str | None = None
    """Where the gateway is told the model's location (``CloudModel.location``)."""


def check_models(project: ComposeProject, platform: Platform, sources: Sources) -> list[str]:
    """Refuse a model ``platform`` does not serve (one line naming the ones it does); the
    warnings for settings it cannot honour."""
    for model in project.models.values():
        cloud_model(model, platform, sources)
    return unhonoured_settings(project, platform)


def with_gateways(
    project: ComposeProject, gateway: ModelGateway, sources: Sources
) -> ComposeProject:
    """``project`` with a gateway service per model and its users wired to it."""
    if not project.models:
        return project
    services = dict(project.services)
    triggered = dict(project.triggered)
    gateways = {}
    for model in project.models.values():
        taken = "a service" if model.name in services else "a job of jobs:"
        if (model.name in services and not model.provider_service) or model.name in triggered:
            raise model_refusal(
                model,
                sources,
                f"its gateway would be a service named {model.name!r}, like {taken} of the project",
                f"rename the model or the {taken.removeprefix('a ')}",
            )
        key = _master_key(project, model, sources)
        cloud = cloud_model(model, gateway.platform, sources)
        gateways[model.name] = _gateway(model, cloud, gateway, key)
        url = f"http://{model.name}:{LITELLM_PORT}/v1/"
        for user in project.model_users(model.name):
            wired = _wired(services.get(user.name, triggered.get(user.name, user)), model, url, key)
            (triggered if user.triggers else services)[user.name] = wired
    return dataclasses.replace(project, services={**gateways, **services}, triggered=triggered)


def _gateway(model: AiModel, cloud: CloudModel, gateway: ModelGateway, key: Text | None) -> Service:
    environment: dict[str, Text] = {}
    if cloud.location and gateway.location_variable:
        environment[gateway.location_variable] = cloud.location
    if key is not None:
        environment[MASTER_KEY] = key
    return Service(
        name=model.name,
        image=LITELLM_IMAGE,
        command=(
            *("--port", str(LITELLM_PORT), "--drop_params", "--model"),
            f"{gateway.litellm_provider}/{cloud.id}",
            *("--alias", model.model),
        ),
        environment=environment,
        expose=(LITELLM_PORT,),
        resources=GATEWAY_RESOURCES,
        restart="always",
        serves_model=model.name,
    )


def _wired(user: Service, model: AiModel, url: str, key: Text | None) -> Service:
    environment = dict(user.environment)
    for use in user.models:
        if use.model == model.name:
            environment[use.endpoint_var] = url
            environment[use.model_var] = model.model
    if key is not None:
        environment.setdefault(API_KEY, key)
    depends_on = user.depends_on
    if all(dependency.service != model.name for dependency in depends_on):
        depends_on += (Dependency(model.name, Condition.STARTED),)
    return dataclasses.replace(user, environment=environment, depends_on=depends_on)


def _master_key(project: ComposeProject, model: AiModel, sources: Sources) -> Text | None:
    """The ``OPENAI_API_KEY`` the model's users set: one key, or none."""
    keys: Mapping[str, Text] = {
        user.name: user.environment[API_KEY]
        for user in project.model_users(model.name)
        if API_KEY in user.environment
    }
    distinct = {revealed(value) for value in keys.values()}
    if len(distinct) > 1:
        first = sorted(keys)[0]
        raise BerthError(
            f"the services that use {model.label} set different {API_KEY} values, and its "
            "gateway accepts one key",
            file=sources.origin(first, "environment"),
            service=first,
            field="environment",
            hint=f"give {', '.join(sorted(keys))} the same {API_KEY}, or set none",
        )
    return next(iter(keys.values()), None)
