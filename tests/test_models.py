"""components/models.py: a LiteLLM gateway per model, and its users wired to it."""

from __future__ import annotations

import pytest

from berth.ai_models import Platform
from berth.components.models import (
    LITELLM_IMAGE,
    MODEL_ARGUMENT,
    ModelGateway,
    check_models,
    with_gateways,
)
from berth.errors import BerthError
from berth.model import ComposeProject, Condition, Dependency, Secret
from berth.sources import read_sources

VERTEX = ModelGateway(Platform.VERTEX_AI, "vertex_ai", location_variable="VERTEXAI_LOCATION")
COMPOSE = """
    services:
      app:
        image: app
        models:
          llm: {endpoint_var: AI_URL, model_var: AI_MODEL}
        environment:
          OPENAI_API_KEY: ${KEY}
      worker:
        image: app
        depends_on: [assistant]
      assistant:
        provider: {type: model, options: {model: chat-default}}
    jobs:
      nightly:
        image: app
        models: [llm]
        triggers: {manual: true}
    models:
      llm:
        model: ai/llama3.3
    """


def gateways(project: ComposeProject) -> ComposeProject:
    """``project`` with its Vertex AI gateways, its files read as the Project reads them."""
    return with_gateways(project, VERTEX, read_sources(project.files))


def test_each_model_is_a_private_litellm_service_named_after_it(load):
    project = gateways(load(COMPOSE, secrets={"KEY": "sk-1"}))

    gateway = project.services["llm"]
    assert gateway.image == LITELLM_IMAGE
    assert gateway.command == (
        *("--port", "4000", "--drop_params", "--model"),
        "vertex_ai/meta/llama-3.3-70b-instruct-maas",
        *("--alias", "ai/llama3.3"),
    )
    assert gateway.command[MODEL_ARGUMENT].startswith("vertex_ai/")
    assert gateway.expose == (4000,)
    assert gateway.ports == ()
    assert gateway.serves_model == "llm"
    assert gateway.environment["VERTEXAI_LOCATION"] == "us-central1"
    assert project.services["assistant"].command[MODEL_ARGUMENT] == "vertex_ai/gemini-2.5-flash"
    assert list(project.services)[:2] == ["llm", "assistant"]


def test_users_get_compose_variables_and_wait_for_their_gateway(load):
    project = gateways(load(COMPOSE, secrets={"KEY": "sk-1"}))

    app, worker = project.services["app"], project.services["worker"]
    assert app.environment["AI_URL"] == "http://llm:4000/v1/"
    assert app.environment["AI_MODEL"] == "ai/llama3.3"
    assert app.depends_on == (Dependency("llm", Condition.STARTED),)
    assert worker.environment["ASSISTANT_URL"] == "http://assistant:4000/v1/"
    assert worker.environment["ASSISTANT_MODEL"] == "chat-default"
    assert worker.depends_on == (Dependency("assistant", Condition.STARTED),)
    nightly = project.triggered["nightly"]
    assert nightly.environment["LLM_URL"] == "http://llm:4000/v1/"
    assert nightly.depends_on == (Dependency("llm", Condition.STARTED),)


def test_the_users_openai_key_is_the_gateways_master_key_and_stays_secret(load):
    project = gateways(load(COMPOSE, secrets={"KEY": "sk-1"}))

    key = project.services["llm"].environment["LITELLM_MASTER_KEY"]
    assert isinstance(key, Secret)
    assert key.value == "sk-1"
    # The job that set none is given the key its gateway checks.
    assert project.triggered["nightly"].environment["OPENAI_API_KEY"] is key
    assert "LITELLM_MASTER_KEY" not in project.services["assistant"].environment


def test_users_with_different_keys_are_refused(load):
    project = load(
        """
        services:
          a: {image: app, models: [llm], environment: {OPENAI_API_KEY: one}}
          b: {image: app, models: [llm], environment: {OPENAI_API_KEY: two}}
        models:
          llm: {model: chat-default}
        """
    )

    with pytest.raises(BerthError, match="set different OPENAI_API_KEY values") as refused:
        gateways(project)
    assert "service 'a', field 'environment'" in refused.value.message


def test_a_model_named_like_a_service_is_refused(load):
    project = load(
        """
        services:
          llm: {image: app, models: [llm]}
        models:
          llm: {model: chat-default}
        """
    )

    with pytest.raises(BerthError, match="a service named 'llm'") as refused:
        gateways(project)
    assert "model 'llm', field 'model'" in refused.value.message


def test_a_model_named_like_a_job_of_jobs_is_refused(load):
    project = load(
        """
        services:
          app: {image: app, models: [nightly]}
        jobs:
          nightly: {image: app, triggers: {manual: true}}
        models:
          nightly: {model: chat-default}
        """
    )

    with pytest.raises(BerthError) as refused:
        gateways(project)
    assert refused.value.message == (
        "compose.yaml: model 'nightly', field 'model': its gateway would be a service named "
        "'nightly', like a job of jobs: of the project. rename the model or the job of jobs:."
    )


def test_a_project_without_models_is_left_as_it_is(load):
    project = load("services: {app: {image: app}}")

    assert gateways(project) is project
    assert check_models(project, Platform.BEDROCK, read_sources(project.files)) == []
