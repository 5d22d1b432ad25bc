"""Language models on digitalocean: DigitalOcean's serverless inference serves them, an
OpenAI-compatible API that App Platform's components call directly, so no gateway runs.

Each service, worker or job that uses a model gets Compose's two variables: the API's base URL
(DigitalOcean's OpenAPI description, ``specification/resources/inference``: server
``https://inference.do-ai.run``, paths ``/v1/chat/completions``, ``/v1/embeddings``) and the
model's id there, which its clients send as the model (the API knows no alias). The API takes a
model access key as its bearer token: the stack secret ``berth:digitaloceanModelAccessKey``,
given as ``OPENAI_API_KEY``, a ``SECRET`` variable, unless the service sets ``OPENAI_API_KEY``
itself. DigitalOcean's API creates no such key (``POST /v2/gen-ai/models/api_keys`` answers
410 Gone), so it is made in the control panel. Pulumi-free.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from berth.ai_models import Platform, cloud_model
from berth.components.models import API_KEY
from berth.errors import BerthError
from berth.model import ComposeProject, ModelUse, Secret, Service, Text
from berth.providers.digitalocean.spec import ENV_KEY
from berth.sources import Sources

ENV_KEY_CHARACTERS = re.compile(r"[^_A-Za-z0-9]")
INFERENCE_URL = "https://inference.do-ai.run/v1/"
"""Serverless inference's OpenAI-compatible base URL, as an OpenAI client takes it."""
MODEL_ACCESS_KEY = "digitaloceanModelAccessKey"
"""The stack secret (``pulumi config set --secret``) holding the model access key. A stack
secret rather than one of ``DigitalOceanOptions``' settings, which cannot be secret
(``StackSettings.from_config`` refuses a secret setting)."""


def model_variables(
    project: ComposeProject, secrets: Mapping[str, str], sources: Sources, warnings: list[str]
) -> dict[str, dict[str, Text]]:
    """The variables each user of a model gets, by service name; a BerthError for a user
    that would have no key to call the API with; a warning for one whose own key is sent
    instead of the stack's (a key for a gateway elsewhere, which DigitalOcean refuses)."""
    key = secrets.get(MODEL_ACCESS_KEY)
    found: dict[str, dict[str, Text]] = {}
    for service in project.services.values():
        if not service.models:
            continue
        variables: dict[str, Text] = {}
        for use in service.models:
            _check_names(project, service, use, sources)
            cloud = cloud_model(project.models[use.model], Platform.SERVERLESS_INFERENCE, sources)
            variables[use.endpoint_var] = INFERENCE_URL
            variables[use.model_var] = cloud.id
        if API_KEY in service.environment and key:
            warnings.append(
                f"service '{service.name}': its own {API_KEY} is sent to DigitalOcean's "
                f"serverless inference, not the stack's {MODEL_ACCESS_KEY}: remove it from "
                "the service's environment if it is not a model access key"
            )
        if API_KEY not in service.environment:
            if not key:
                raise _no_key(project, service, sources)
            variables[API_KEY] = Secret(key, (MODEL_ACCESS_KEY,))
        found[service.name] = variables
    return found


def wired(service: Service, variables: Mapping[str, Mapping[str, Text]]) -> Service:
    """``service`` with its model variables, which win over its own of the same names (as
    Compose sets them); its own ``OPENAI_API_KEY`` is kept (``model_variables``)."""
    own = variables.get(service.name)
    if not own:
        return service
    return dataclasses.replace(service, environment={**service.environment, **own})


def _check_names(
    project: ComposeProject, service: Service, use: ModelUse, sources: Sources
) -> None:
    """Compose's variables of a model named ``my.llm`` or ``my-llm`` (a provider's: the name
    upper-cased as it is) are no App Platform variable: refused naming the model, not an
    ``environment`` the user never wrote."""
    odd = [v for v in (use.endpoint_var, use.model_var) if not ENV_KEY.fullmatch(v)]
    if not odd:
        return
    model = project.models[use.model]
    field = model.use_field
    raise BerthError(
        f"{model.label} gives it the variables {', '.join(map(repr, odd))}, and App "
        "Platform's variable names are letters, digits and underscores",
        file=sources.origin(service.name, field),
        service=service.name,
        field=field,
        hint=f"rename the provider service {model.name!r} (e.g. "
        f"{ENV_KEY_CHARACTERS.sub('_', model.name)!r})"
        if model.provider_service
        else "name them with endpoint_var and model_var, or rename the model",
    )


def _no_key(project: ComposeProject, service: Service, sources: Sources) -> BerthError:
    model = project.models[service.models[0].model]
    field = model.use_field
    return BerthError(
        f"uses {model.label}, which DigitalOcean's serverless inference serves only to a "
        f"caller with a model access key, and the stack has none (the secret {MODEL_ACCESS_KEY})",
        file=sources.origin(service.name, field),
        service=service.name,
        field=field,
        hint=lambda terms: (
            "create a model access key in the DigitalOcean control panel (Serverless "
            f"inference) and set it: {terms.how_to_set(MODEL_ACCESS_KEY, '<key>', secret=True)}; "
            f"or set {API_KEY} in the service's environment"
        ),
    )
