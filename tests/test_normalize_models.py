"""berth/normalize/models.py through the real loader: the three ways a compose file declares a
language model, as Compose prints them."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.model import AiModel, Dependency, ModelUse

TOP_LEVEL = """
    services:
      app:
        image: app
        models: [llm, my-embed]
      tuned:
        image: app
        models:
          llm:
            endpoint_var: AI_URL
            model_var: AI_MODEL
    models:
      llm:
        model: ai/llama3.3
        context_size: 8192
        runtime_flags: ["--temp", "0.2"]
      my-embed:
        model: embedding-default
    """


def test_the_short_and_long_forms_name_compose_variables(load):
    project = load(TOP_LEVEL)

    assert project.models["llm"] == AiModel(
        "llm", "ai/llama3.3", context_size=8192, runtime_flags=("--temp", "0.2")
    )
    assert project.services["app"].models == (
        ModelUse("llm", "LLM_URL", "LLM_MODEL"),
        ModelUse("my-embed", "MY_EMBED_URL", "MY_EMBED_MODEL"),
    )
    assert project.services["tuned"].models == (ModelUse("llm", "AI_URL", "AI_MODEL"),)
    assert [s.name for s in project.model_users("llm")] == ["app", "tuned"]


def test_a_provider_service_is_a_model_its_dependents_use(load):
    project = load(
        """
        services:
          my-llm:
            provider:
              type: model
              options:
                model: ai/smollm2
          app:
            image: app
            depends_on: [my-llm, db]
          db:
            image: postgres
        """
    )

    assert "my-llm" not in project.services
    assert project.models["my-llm"] == AiModel("my-llm", "ai/smollm2", provider_service=True)
    app = project.services["app"]
    # Compose's provider rule: the service's name upper-cased as it is, dash kept.
    assert app.models == (ModelUse("my-llm", "MY-LLM_URL", "MY-LLM_MODEL"),)
    assert app.depends_on == (Dependency("db"),)


def test_x_defang_llm_marks_model_access_and_a_litellm_port(load):
    project = load(
        """
        services:
          gateway:
            image: litellm/litellm:v1.92.0
            x-defang-llm: true
          own:
            image: defangio/openai-access-gateway
            x-defang-llm: true
            ports: ["80"]
          plain:
            image: app
        """
    )

    assert project.services["gateway"].model_access
    assert project.services["gateway"].expose == (4000,)
    assert project.services["own"].model_access
    assert project.services["own"].expose == ()
    assert not project.services["plain"].model_access
    assert "x-defang-llm" in project.services["gateway"].fields


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        (
            """
            services:
              app: {image: app, models: [llm]}
            models:
              other: {model: ai/smollm2}
            """,
            "service 'app', field 'models'",
            "uses model 'llm', which the top-level models: does not define",
        ),
        (
            """
            services:
              app: {image: app, models: {llm: {endpoint_var: "1URL"}}}
            models:
              llm: {model: ai/smollm2}
            """,
            "service 'app', field 'models'",
            "'1URL' is not an environment variable name",
        ),
        (
            """
            services:
              llm:
                provider: {type: model}
            """,
            "service 'llm', field 'provider.options.model'",
            "a model provider service names exactly one model",
        ),
        (
            """
            services:
              tunnel:
                provider: {type: ngrok}
            """,
            "service 'tunnel', field 'provider'",
            "provider type 'ngrok' is a Compose plugin",
        ),
        (
            """
            services:
              app: {image: app, models: [llm]}
            models:
              llm: {model: ai/smollm2, context_size: -1}
            """,
            "model 'llm', field 'context_size'",
            "-1 is not a number of tokens",
        ),
    ],
)
def test_bad_model_declarations_are_refused_in_one_line(load, text, where, problem):
    with pytest.raises(BerthError) as refused:
        load(text)

    message = refused.value.message
    assert "\n" not in message
    assert message.startswith("compose.yaml: ")
    assert where in message
    assert problem in message


def test_a_provider_service_takes_the_model_plugins_settings_and_warns_of_the_rest(load):
    project = load(
        """
        services:
          llm:
            image: ignored/image
            environment: {A: "1"}
            provider:
              type: model
              options:
                model: ai/smollm2
                context-size: 4096
                runtime-flags: "--temp 0.2 --top-k '40'"
                backend: vllm
            x-defang-llm: true
          app: {image: app, depends_on: [llm]}
        """
    )

    assert project.models["llm"] == AiModel(
        "llm",
        "ai/smollm2",
        context_size=4096,
        runtime_flags=("--temp", "0.2", "--top-k", "40"),
        provider_service=True,
    )
    ignored = [w.split("'")[3] for w in project.warnings if w.startswith("service 'llm'")]
    assert ignored == ["provider.options.backend", "environment", "image"]


def test_two_model_variables_of_one_name_are_refused(load):
    with pytest.raises(BerthError) as refused:
        load(
            """
            services:
              app:
                image: app
                models:
                  a: {}
                  b: {endpoint_var: A_URL}
            models:
              a: {model: ai/smollm2}
              b: {model: ai/gpt-oss}
            """
        )

    assert refused.value.message == (
        "compose.yaml: service 'app', field 'models': endpoint_var 'A_URL' of model 'b' is also "
        "the endpoint_var of model 'a'. give one of them another name (endpoint_var, model_var)."
    )


def test_an_undefined_model_is_named_with_the_ones_the_files_define(load):
    with pytest.raises(BerthError, match="or use one it defines: llm, other"):
        load(
            """
            services:
              app: {image: app, models: [llm2]}
            models:
              llm: {model: ai/smollm2}
              other: {model: ai/smollm2}
            """
        )


def test_a_provider_named_like_a_top_level_model_is_refused(load):
    with pytest.raises(BerthError, match="a model of the top-level models: is named 'llm' too"):
        load(
            """
            services:
              llm:
                provider: {type: model, options: {model: ai/smollm2}}
              app: {image: app, depends_on: [llm], models: [llm]}
            models:
              llm: {model: ai/gpt-oss}
            """
        )
