"""berth/ai_models.py: the one table from compose model names to each platform's models."""

from __future__ import annotations

import pytest

from berth.ai_models import (
    CATALOGUE,
    CloudModel,
    Platform,
    catalogue_name,
    cloud_model,
    names_on,
    unhonoured_settings,
    variable_prefix,
)
from berth.errors import BerthError
from berth.model import AiModel, ComposeProject
from berth.sources import Sources

SOURCES = Sources(("compose.yaml",), ({"models": {"llm": {"model": "ai/smollm2"}}},))


@pytest.mark.parametrize(
    ("written", "row"),
    [
        ("ai/llama3.3", "ai/llama3.3"),
        ("ai/llama3.3:70B-Q4_K_M", "ai/llama3.3"),
        ("docker.io/ai/gpt-oss:latest", "ai/gpt-oss"),
        ("ai/gpt-oss@sha256:abc", "ai/gpt-oss"),
        ("chat-default", "chat-default"),
    ],
)
def test_a_tag_or_docker_hub_host_names_the_same_row(written, row):
    assert catalogue_name(written) == row


def test_each_platform_has_its_model_for_a_mapped_name():
    chat = AiModel("llm", "chat-default")

    assert cloud_model(chat, Platform.BEDROCK, SOURCES) == CloudModel(
        "amazon.nova-lite-v1:0", geographies=frozenset({"us", "eu", "apac"})
    )
    assert cloud_model(chat, Platform.BEDROCK, SOURCES).profile
    assert cloud_model(chat, Platform.VERTEX_AI, SOURCES).location is None
    assert cloud_model(AiModel("l", "chat-large"), Platform.VERTEX_AI, SOURCES).location == "global"
    assert cloud_model(chat, Platform.DOCKER, SOURCES).id == "ai/llama3.2"


def test_docker_model_runner_pulls_any_name_itself():
    assert cloud_model(AiModel("llm", "ai/smollm2"), Platform.DOCKER, SOURCES).id == "ai/smollm2"


def test_a_name_a_platform_does_not_serve_is_refused_listing_those_it_does():
    with pytest.raises(BerthError) as refused:
        cloud_model(AiModel("llm", "ai/smollm2"), Platform.BEDROCK, SOURCES)

    message = refused.value.message
    assert message.startswith("compose.yaml: model 'llm', field 'model': 'ai/smollm2' has no model")
    assert "use one of " + ", ".join(names_on(Platform.BEDROCK)) in message
    assert "\n" not in message


def test_a_provider_service_is_refused_where_it_names_the_model():
    provider = AiModel("llm", "ai/smollm2", provider_service=True)
    sources = Sources(("compose.yaml",), ({"services": {"llm": {"provider": {}}}},))

    with pytest.raises(BerthError) as refused:
        cloud_model(provider, Platform.VERTEX_AI, sources)

    assert "service 'llm', field 'provider.options.model'" in refused.value.message


def test_every_cloud_platform_serves_the_neutral_chat_and_embedding_names():
    for name in ("chat-default", "embedding-default"):
        assert set(CATALOGUE[name]) == set(Platform)


def test_runner_settings_are_warned_about_on_a_cloud_only():
    project = ComposeProject(
        "p",
        ("compose.yaml",),
        {},
        models={"llm": AiModel("llm", "chat-default", context_size=4096, runtime_flags=("-t",))},
    )

    warnings = unhonoured_settings(project, Platform.BEDROCK)

    assert [w.split(":")[1] for w in warnings] == [
        " field 'context_size' is ignored on Amazon Bedrock",
        " field 'runtime_flags' is ignored on Amazon Bedrock",
    ]
    assert unhonoured_settings(project, Platform.DOCKER) == []


def test_variables_are_prefixed_as_compose_prefixes_them():
    assert variable_prefix("my-llm") == "MY_LLM"
