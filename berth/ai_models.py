"""Language models: which model each platform serves for a name a compose file writes.

A compose file names a model as Docker Model Runner pulls it (``ai/llama3.3``) or by one of
the platform-neutral names Defang introduced (``chat-default``, ``chat-large``,
``embedding-default``). A cloud serves its own models, so each name maps to one model id per
platform in ``CATALOGUE``, the one table every target reads; a name the table does not map for
a target's platform is refused, naming the ones that work. Docker Model Runner pulls any name
itself, so only the neutral names are mapped for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from berth.errors import BerthError
from berth.model import AiModel, ComposeProject
from berth.sources import Sources
from berth.terms import Hint


class Platform(StrEnum):
    """A model service a target deploys in front of: a column of ``CATALOGUE``."""

    BEDROCK = "Amazon Bedrock"
    VERTEX_AI = "Vertex AI"
    SERVERLESS_INFERENCE = "DigitalOcean serverless inference"
    DOCKER = "Docker Model Runner"


@dataclass(frozen=True)
class CloudModel:
    """One platform's model for a name."""

    id: str
    """The platform's model id (``amazon.nova-lite-v1:0``, ``gemini-2.5-flash``)."""
    location: str | None = None
    """Vertex AI: the one location that serves it (``global``, ``us-central1``); None: the
    deployment's region."""
    geographies: frozenset[str] = frozenset()
    """Bedrock: the geographies whose cross-Region inference profile serves it (``us``,
    ``eu``, ``apac``), through which alone it is invoked on demand (``eu.`` before the id);
    empty: invoked in the region itself."""

    @property
    def profile(self) -> bool:
        """Whether it is invoked through a geographic inference profile."""
        return bool(self.geographies)


_US_EU_APAC = frozenset({"us", "eu", "apac"})
CATALOGUE: dict[str, dict[Platform, CloudModel]] = {
    "chat-default": {
        Platform.BEDROCK: CloudModel("amazon.nova-lite-v1:0", geographies=_US_EU_APAC),
        Platform.VERTEX_AI: CloudModel("gemini-2.5-flash"),
        Platform.SERVERLESS_INFERENCE: CloudModel("llama3.3-70b-instruct"),
        Platform.DOCKER: CloudModel("ai/llama3.2"),
    },
    "chat-large": {
        Platform.BEDROCK: CloudModel("amazon.nova-pro-v1:0", geographies=_US_EU_APAC),
        Platform.VERTEX_AI: CloudModel("gemini-3.1-pro-preview", location="global"),
        Platform.DOCKER: CloudModel("ai/llama3.3"),
    },
    "embedding-default": {
        Platform.BEDROCK: CloudModel("amazon.titan-embed-text-v2:0"),
        Platform.VERTEX_AI: CloudModel("gemini-embedding-001"),
        Platform.SERVERLESS_INFERENCE: CloudModel("qwen3-embedding-0.6b"),
        Platform.DOCKER: CloudModel("ai/mxbai-embed-large"),
    },
    "ai/llama3.3": {
        Platform.BEDROCK: CloudModel(
            "meta.llama3-3-70b-instruct-v1:0", geographies=frozenset({"us"})
        ),
        Platform.VERTEX_AI: CloudModel("meta/llama-3.3-70b-instruct-maas", location="us-central1"),
        Platform.SERVERLESS_INFERENCE: CloudModel("llama3.3-70b-instruct"),
    },
    "ai/llama3.2": {
        Platform.BEDROCK: CloudModel(
            "meta.llama3-2-3b-instruct-v1:0", geographies=frozenset({"us", "eu"})
        ),
    },
    "ai/gpt-oss": {
        Platform.BEDROCK: CloudModel("openai.gpt-oss-20b-1:0"),
        Platform.VERTEX_AI: CloudModel("openai/gpt-oss-120b-maas", location="us-central1"),
        Platform.SERVERLESS_INFERENCE: CloudModel("openai-gpt-oss-20b"),
    },
}
"""The one table: a compose model name (its Docker Hub name without a tag) to each platform's
model. A cloud serves the model at its own precision, so a tag (``ai/llama3.3:70B-Q4_K_M``)
names the same row; and it serves the family in the sizes it offers (gpt-oss: Vertex AI's
Model-as-a-Service offers the 120b model, Bedrock and DigitalOcean the 20b)."""

_TAG = re.compile(r"(?P<name>[^:@]+(?:/[^:@]+)*)(?::[^/@]*)?(?:@\S+)?")
_REGISTRY = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")
CONTEXT_FIELDS = ("context_size", "runtime_flags")
"""Docker Model Runner's settings of a model, which no cloud platform takes (rows ``models.*``
of the targets' support tables)."""


def catalogue_name(model: str) -> str:
    """The table's row for ``model``: without Docker Hub's host or a tag."""
    for registry in _REGISTRY:
        model = model.removeprefix(registry)
    match = _TAG.fullmatch(model)
    return match["name"] if match else model


def names_on(platform: Platform) -> list[str]:
    """The names ``platform`` serves, as a refusal lists them."""
    return [name for name, row in CATALOGUE.items() if platform in row]


def cloud_model(model: AiModel, platform: Platform, sources: Sources) -> CloudModel:
    """``platform``'s model for ``model``; a BerthError naming the ones that work otherwise.
    Docker Model Runner takes every name (it pulls it), mapping only the neutral ones."""
    row = CATALOGUE.get(catalogue_name(model.model), {})
    if platform in row:
        return row[platform]
    if platform is Platform.DOCKER:
        return CloudModel(model.model)
    raise model_refusal(
        model,
        sources,
        f"{model.model!r} has no model on {platform}",
        f"use one of {', '.join(names_on(platform))}",
    )


def model_refusal(model: AiModel, sources: Sources, problem: str, hint: Hint) -> BerthError:
    """A refusal of ``model``, where its name is written: a model's ``model``, or a provider
    service's ``provider.options.model``."""
    field = "provider.options.model" if model.provider_service else "model"
    return BerthError(
        problem,
        file=sources.origin(model.name, "provider")
        if model.provider_service
        else sources.origin(model.name, field, "models"),
        service=model.name,
        field=field,
        kind=model.kind,
        hint=hint,
    )


def unhonoured_settings(project: ComposeProject, platform: Platform) -> list[str]:
    """A warning for each ``context_size`` / ``runtime_flags`` a cloud platform cannot honour
    (it serves the model with its own context window and engine)."""
    if platform is Platform.DOCKER:
        return []
    warnings = []
    for model in project.models.values():
        for field, value in zip(
            CONTEXT_FIELDS, (model.context_size, model.runtime_flags), strict=True
        ):
            if value:
                warnings.append(
                    f"{model.label}: field '{field}' is ignored on {platform}: a Docker Model "
                    "Runner setting; the cloud serves the model with its own"
                )
    return warnings


def catalogue_markdown(platforms: Mapping[str, Platform]) -> str:
    """The table as docs/compatibility.md shows it: a row per name, a column per target."""
    lines = [
        "| model | " + " | ".join(f"{t} ({p})" for t, p in platforms.items()) + " |",
        "|---|" + "---|" * len(platforms),
    ]
    for name, row in CATALOGUE.items():
        cells = [_cell(row.get(platform), platform) for platform in platforms.values()]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(model: CloudModel | None, platform: Platform) -> str:
    if model is None:
        return "pulled as written" if platform is Platform.DOCKER else "⛔ refused"
    notes = [f"in {model.location} only"] if model.location else []
    if model.profile:
        notes.append(f"through the {'/'.join(sorted(model.geographies))} inference profile")

    return f"`{model.id}`" + (f" ({', '.join(notes)})" if notes else "")


def variable_prefix(name: str) -> str:
    """Compose's prefix of a model's variables: ``my-llm`` gives ``MY_LLM`` (``_URL``,
    ``_MODEL``)."""
    return name.upper().replace("-", "_")
