"""Language models on digitalocean (issue 25): DigitalOcean's serverless inference serves them,
so each service, worker and job that uses one gets the API's URL, the model's id there and the
model access key (``berth:digitaloceanModelAccessKey``, a stack secret) as ``OPENAI_API_KEY``,
a SECRET variable; nothing else gets them, the key is never in plain text, and a second ``up``
changes nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from berth.errors import BerthError
from berth.offline.plan import Plan
from berth.offline.render import as_json, as_text
from berth.providers.digitalocean.models import INFERENCE_URL, MODEL_ACCESS_KEY
from berth.providers.digitalocean.secrets import ENCRYPTED
from berth.terms import Terms
from tests.conftest import copy_example, program
from tests.digitalocean_schema import check
from tests.secrets_check import assert_never_plain, count_wrapped
from tests.test_digitalocean_noop import (
    SECTIONS,
    bridged_diff,
    sent,
    stored,
    variable,
    version,
    waits_again,
)

KEY = "sk-do-model-7e6d5c4b3a29"
THREE_FORMS = """
services:
  chat:
    image: ghcr.io/open-webui/open-webui:0.6.18
    ports: ["8080:8080"]
    models:
      llm:
        endpoint_var: OPENAI_API_BASE_URL
        model_var: DEFAULT_MODELS
  indexer:
    image: python:3.12-alpine
    command: ["python", "index.py"]
    restart: "no"
    models: [embedding]
  summary:
    image: python:3.12-alpine
    command: ["python", "summary.py"]
    depends_on: [assistant]
  assistant:
    provider:
      type: model
      options:
        model: chat-default
  web:
    image: nginx:1.27
    expose: ["80"]
models:
  llm:
    model: ai/llama3.3
  embedding:
    model: embedding-default
"""
"""The three forms: a long-form use naming its variables (a service), a short one (a job), a
provider service (a worker); and ``web``, which uses no model."""
USES = {
    "chat": {"OPENAI_API_BASE_URL": INFERENCE_URL, "DEFAULT_MODELS": "llama3.3-70b-instruct"},
    "indexer": {"EMBEDDING_URL": INFERENCE_URL, "EMBEDDING_MODEL": "qwen3-embedding-0.6b"},
    "summary": {"ASSISTANT_URL": INFERENCE_URL, "ASSISTANT_MODEL": "llama3.3-70b-instruct"},
}


def digitalocean(secrets: Mapping[str, str] | None = None) -> Plan:
    return program(["compose.yaml"], target="digitalocean", secrets=secrets)


def components(spec: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, dict[str, Any]]]]:
    """Each component of the app spec: its section and its variables by key."""
    return {
        c["name"]: (section, {v["key"]: v for v in c.get("envs") or ()})
        for section in SECTIONS
        for c in spec.get(section) or ()
    }


def refusal(run: Callable[[], object]) -> BerthError:
    with pytest.raises(BerthError) as refused:
        run()
    assert "\n" not in refused.value.message
    return refused.value


def test_the_three_forms_give_their_users_the_url_the_model_and_the_key(
    project_dir: Path, write: Callable[..., str]
) -> None:
    write(THREE_FORMS)

    found = components(sent(digitalocean({MODEL_ACCESS_KEY: KEY})))

    kinds = {name: section for name, (section, _) in found.items()}
    assert kinds == {"chat": "services", "web": "services", "summary": "workers", "indexer": "jobs"}
    for name, expected in USES.items():
        envs = found[name][1]
        assert {k: envs[k]["value"] for k in expected} == expected, name
        assert all(envs[k]["type"] == "GENERAL" for k in expected), name
        assert (envs["OPENAI_API_KEY"]["value"], envs["OPENAI_API_KEY"]["type"]) == (KEY, "SECRET")
    web = found["web"][1]
    assert "OPENAI_API_KEY" not in web
    assert not [k for k in web if k.endswith(("_URL", "_MODEL", "_MODELS"))], web


def test_a_service_that_sets_its_own_key_keeps_it_and_needs_none(
    project_dir: Path, write: Callable[..., str]
) -> None:
    write(
        THREE_FORMS.replace(
            '    ports: ["8080:8080"]\n',
            '    ports: ["8080:8080"]\n    environment:\n      OPENAI_API_KEY: ${MINE}\n',
        )
    )

    with_key = components(sent(digitalocean({MODEL_ACCESS_KEY: KEY, "MINE": "sk-mine-0f1e2d"})))
    assert with_key["chat"][1]["OPENAI_API_KEY"]["value"] == "sk-mine-0f1e2d"
    assert with_key["summary"][1]["OPENAI_API_KEY"]["value"] == KEY

    write(THREE_FORMS.replace("    models: [embedding]\n", "").replace("[assistant]", "[web]"))
    only_chat = refusal(lambda: digitalocean({"MINE": "sk-mine-0f1e2d"}))
    assert only_chat.service == "chat", "chat needs the key again once it sets none"


ALONE = {
    "long-form": (
        "services:\n  chat:\n    image: nginx:1.27\n    models:\n      llm:\n"
        "        endpoint_var: AI_URL\n        model_var: AI_MODEL\n"
        "models:\n  llm:\n    model: ai/llama3.3\n",
        "chat",
        "models",
    ),
    "short-form": (
        "services:\n  indexer:\n    image: nginx:1.27\n    restart: 'no'\n"
        "    models: [embedding]\nmodels:\n  embedding:\n    model: embedding-default\n",
        "indexer",
        "models",
    ),
    "provider-service": (
        "services:\n  summary:\n    image: nginx:1.27\n    depends_on: [assistant]\n"
        "  assistant:\n    provider:\n      type: model\n      options:\n"
        "        model: chat-default\n",
        "summary",
        "depends_on",
    ),
}
"""Each form on its own, its user, and the field that makes it one: a provider service is
used through ``depends_on``."""


@pytest.mark.parametrize(("text", "service", "field"), ALONE.values(), ids=ALONE)
def test_a_user_of_a_model_without_a_key_is_refused_saying_how_to_set_one(
    text: str, service: str, field: str, project_dir: Path, write: Callable[..., str]
) -> None:
    write(text)

    refused = refusal(digitalocean)

    assert (refused.file, refused.service, refused.field) == ("compose.yaml", service, field)
    assert f"`pulumi config set --secret {MODEL_ACCESS_KEY} <key>`" in refused.message
    assert "control panel (Serverless inference)" in refused.message
    flags = refused.message_in(Terms.FLAGS)
    assert f"`--secret {MODEL_ACCESS_KEY}=<key>`" in flags


def test_the_key_given_as_a_plain_variable_is_no_key(
    project_dir: Path, write: Callable[..., str]
) -> None:
    """Only a stack secret is taken: a key set without --secret would sit in the stack file."""
    write(THREE_FORMS)

    refused = refusal(
        lambda: program(["compose.yaml"], target="digitalocean", variables={MODEL_ACCESS_KEY: KEY})
    )

    assert refused.service == "chat"
    assert "--secret" in refused.message


def test_the_key_is_never_in_plain_text(project_dir: Path, write: Callable[..., str]) -> None:
    write(THREE_FORMS)

    plan = digitalocean({MODEL_ACCESS_KEY: KEY})

    assert_never_plain(plan, KEY)
    assert count_wrapped(plan, KEY) == len(USES), "one wrapped value per user of a model"
    for rendered in (as_text(plan), as_json(plan)):
        assert KEY not in rendered


def test_a_second_up_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "compose.yaml").write_text(THREE_FORMS)
    secrets = {MODEL_ACCESS_KEY: KEY}

    first = version(folder, secrets, None)
    state = stored(sent(first))
    second = version(folder, secrets, state)

    assert bridged_diff(state, sent(second)) == [], "no update: nothing deploys, no job runs"
    assert not waits_again(first, second)
    for name in USES:
        key = variable(sent(second), name, "OPENAI_API_KEY")["value"]
        assert key == variable(state, name, "OPENAI_API_KEY")["value"]
        assert key.startswith(ENCRYPTED)
    assert_never_plain(second, KEY)


def test_a_use_of_x_defang_llm_is_refused_in_one_line(
    project_dir: Path, write: Callable[..., str]
) -> None:
    write("services:\n  gateway:\n    image: litellm/litellm:v1.92.0\n    x-defang-llm: true\n")

    refused = refusal(lambda: digitalocean({MODEL_ACCESS_KEY: KEY}))

    assert (refused.service, refused.field) == ("gateway", "x-defang-llm")
    assert "declare the model under models:" in refused.message


def test_a_model_serverless_inference_does_not_serve_is_refused_naming_the_ones_it_does(
    project_dir: Path, write: Callable[..., str]
) -> None:
    write(THREE_FORMS.replace("model: ai/llama3.3", "model: ai/smollm2"))

    refused = refusal(lambda: digitalocean({MODEL_ACCESS_KEY: KEY}))

    assert (refused.service, refused.field) == ("llm", "model")
    assert "'ai/smollm2' has no model on DigitalOcean serverless inference" in refused.message
    assert "use one of chat-default, embedding-default, ai/llama3.3, ai/gpt-oss" in (
        refused.message
    )


def test_a_model_variable_berth_sets_itself_is_refused(
    project_dir: Path, write: Callable[..., str]
) -> None:
    write(THREE_FORMS.replace("OPENAI_API_BASE_URL", "BERTH_SPEC_DIGEST"))

    refused = refusal(lambda: digitalocean({MODEL_ACCESS_KEY: KEY}))

    assert (refused.service, refused.field) == ("chat", "environment")
    assert "'BERTH_SPEC_DIGEST': Berth sets this variable itself" in refused.message


def test_the_models_example_is_what_digitalocean_accepts(tmp_path: Path) -> None:
    """examples/models, held to DigitalOcean's OpenAPI description (tests/digitalocean_schema.py),
    its users' variables included."""
    compose = copy_example("models", tmp_path)
    with contextlib.chdir(tmp_path):
        plan = program([compose], target="digitalocean", secrets={MODEL_ACCESS_KEY: KEY})

    assert check(plan) == []
    assert count_wrapped(plan, KEY) == len(USES)


def test_a_services_own_key_beside_the_stacks_is_warned_about(
    project_dir: Path, write: Callable[..., str]
) -> None:
    """docs/models.md has users set OPENAI_API_KEY for the aws and gcp gateways: the same file
    here sends that key to DigitalOcean instead of the model access key."""
    write(
        THREE_FORMS.replace(
            '    ports: ["8080:8080"]\n',
            '    ports: ["8080:8080"]\n    environment:\n      OPENAI_API_KEY: ${MINE}\n',
        )
    )

    plan = digitalocean({MODEL_ACCESS_KEY: KEY, "MINE": "sk-mine-0f1e2d"})

    warned = [w for w in plan.warnings if "its own OPENAI_API_KEY" in w]
    assert [w.split(":")[0] for w in warned] == ["service 'chat'"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "services:\n  app: {image: app, models: [my.llm]}\n"
            "models:\n  my.llm: {model: chat-default}\n",
            "compose.yaml: service 'app', field 'models': model 'my.llm' gives it the variables "
            "'MY.LLM_URL', 'MY.LLM_MODEL', and App Platform's variable names are letters, digits "
            "and underscores. name them with endpoint_var and model_var, or rename the model.",
        ),
        (
            "services:\n  my-llm:\n    provider: {type: model, options: {model: chat-default}}\n"
            "  app: {image: app, depends_on: [my-llm]}\n",
            "compose.yaml: service 'app', field 'depends_on': service 'my-llm' gives it the "
            "variables 'MY-LLM_URL', 'MY-LLM_MODEL', and App Platform's variable names are "
            "letters, digits and underscores. rename the provider service 'my-llm' (e.g. "
            "'my_llm').",
        ),
    ],
)
def test_compose_variables_app_platform_cannot_name_are_refused_naming_the_model(
    project_dir: Path, write: Callable[..., str], text: str, message: str
) -> None:
    write(text)

    assert refusal(lambda: digitalocean({MODEL_ACCESS_KEY: KEY})).message == message
