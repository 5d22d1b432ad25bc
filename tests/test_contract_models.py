"""One contract for every target (issue 25): a language model in each of the forms a compose
file writes is served, each service or job that uses it is given the two variables Compose
gives it, and the OpenAI key set with ``--secret`` reaches resources only as a secret. A new
target under providers/ is held to it at once."""

from __future__ import annotations

import json

import pytest

from berth.components.target import Phased, available_targets, load_target
from berth.errors import BerthError
from berth.offline.render import as_json, as_text
from tests.conftest import program
from tests.plans import resources_of
from tests.plans import sent as sent_inputs
from tests.secrets_check import assert_never_plain, count_wrapped

KEY = "sk-contract-5e4d3c2b1a"
COMPOSE = """
    name: shop
    services:
      chat:
        image: app
        environment:
          OPENAI_API_KEY: ${OPENAI_API_KEY}
        models:
          llm:
            endpoint_var: AI_URL
            model_var: AI_MODEL
      search:
        image: app
        environment:
          OPENAI_API_KEY: ${OPENAI_API_KEY}
        models: [embedding]
      index:
        image: app
        restart: "no"
        environment:
          OPENAI_API_KEY: ${OPENAI_API_KEY}
        depends_on: [assistant]
      assistant:
        provider: {type: model, options: {model: chat-default}}
    models:
      llm:
        model: ai/gpt-oss
      embedding:
        model: embedding-default
    """
USES = {"chat": ("AI_URL", "AI_MODEL"), "search": ("EMBEDDING_URL", "EMBEDDING_MODEL"),
        "index": ("ASSISTANT_URL", "ASSISTANT_MODEL")}  # fmt: skip


@pytest.mark.parametrize("target", available_targets())
def test_every_user_of_a_model_is_given_its_variables(project_dir, write, target):
    write(COMPOSE)

    plan = program(["compose.yaml"], target=target, secrets={"OPENAI_API_KEY": KEY})

    phased = isinstance(load_target(target).ORDERING, Phased)
    for user, variables in USES.items():
        resources = plan.resources() if phased else resources_of(plan, user)
        sent = json.dumps([sent_inputs(r) for r in resources])
        for variable in variables:
            assert f'"{variable}' in sent or f"{variable}=" in sent, f"{target}: {user} {variable}"
    assert [m["name"] for m in json.loads(as_json(plan))["models"]] == [
        "embedding",
        "llm",
        "assistant",
    ]


@pytest.mark.parametrize("target", available_targets())
def test_the_openai_key_set_as_a_secret_stays_one(project_dir, write, target):
    write(COMPOSE)

    plan = program(["compose.yaml"], target=target, secrets={"OPENAI_API_KEY": KEY})

    assert_never_plain(plan, KEY)
    assert count_wrapped(plan, KEY) >= 1
    for rendered in (as_text(plan), as_json(plan)):
        assert KEY not in rendered


@pytest.mark.parametrize("target", [t for t in available_targets() if t != "local"])
def test_a_model_the_cloud_does_not_serve_is_refused_in_one_line(project_dir, write, target):
    write(
        """
        services:
          app: {image: app, models: [llm]}
        models:
          llm: {model: ai/smollm2}
        """
    )

    with pytest.raises(BerthError) as refused:
        program(["compose.yaml"], target=target)

    message = refused.value.message
    assert message.startswith("compose.yaml: model 'llm', field 'model': 'ai/smollm2' has no ")
    assert "use one of chat-default" in message
    assert "\n" not in message
