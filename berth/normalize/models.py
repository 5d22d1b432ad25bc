"""Language models, in the three ways a compose file declares them, as one typed form.

- the top-level ``models:`` (``model``, ``context_size``, ``runtime_flags``), used by a
  service's ``models:``: a list of names, or a mapping whose entries may name the variables
  (``endpoint_var``, ``model_var``); by default ``<NAME>_URL`` and ``<NAME>_MODEL``, the name
  upper-cased with ``-`` as ``_``, as Compose sets them;
- a service with ``provider: type: model`` (``options: {model: [ai/smollm2]}``), Compose's
  older form: no container, and each service that ``depends_on`` it gets ``<SERVICE>_URL`` and
  ``<SERVICE>_MODEL`` (the name upper-cased as it is: Compose's provider rule);
- ``x-defang-llm: true`` on a service whose own container calls the cloud's model service.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Mapping
from typing import Any

from berth.ai_models import variable_prefix
from berth.errors import BerthError
from berth.model import AiModel, ModelUse, Service
from berth.normalize.context import Context
from berth.quantities import Fail
from berth.sources import Sources

LLM_EXTENSION = "x-defang-llm"
LITELLM_PORT = 4000
"""Where a LiteLLM gateway listens unless told otherwise."""
_LITELLM_IMAGE = re.compile(r"(?:.*/)?litellm(?::[^/]*)?(?:@\S+)?", re.IGNORECASE)
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROVIDER_OPTIONS = {f"provider.options.{o}" for o in ("model", "context-size", "runtime-flags")}
_PROVIDER_KEYS = {"provider", "depends_on", "profiles", "networks"}
"""A provider service's keys that ask for nothing Berth leaves out (Compose prints
``networks`` for it, and ``depends_on`` orders it)."""


def is_model_provider(context: Context, name: str, raw: Mapping[str, Any]) -> bool:
    """A ``provider: type: model`` service: a model, not a container; another provider type
    is refused (a Compose plugin on the machine that runs ``up``, nothing a cloud runs)."""
    provider = raw.get("provider")
    if not isinstance(provider, Mapping):
        return False
    if provider.get("type") != "model":
        raise context.fail(name)(
            "provider",
            f"provider type {provider.get('type')!r} is a Compose plugin of the machine that "
            "runs docker compose up, not something a deployment can run",
            "give the service an image, or use provider type model for a language model",
        )
    return True


def top_level_models(context: Context, written: Mapping[str, Any]) -> dict[str, AiModel]:
    return {str(name): _model(context, str(name), spec or {}) for name, spec in written.items()}


def provider_model(context: Context, name: str, raw: Mapping[str, Any]) -> AiModel:
    """The model of a ``provider: type: model`` service, with the options Docker's model
    plugin takes (``context-size``, ``runtime-flags``, as ``models:`` names them); any other
    option or field is warned about: the service deploys no container."""
    fail = context.fail(name)
    options = raw["provider"].get("options") or {}
    names = _option(options, "model")
    if len(names) != 1 or not names[0]:
        raise fail(
            "provider.options.model",
            "a model provider service names exactly one model",
            "set provider.options.model: ai/smollm2 (or move it to the top-level models:)",
        )
    size = _option(options, "context-size")
    if size and not size[0].isdigit():
        raise fail(
            "provider.options.context-size",
            f"{size[0]!r} is not a number of tokens",
            "write e.g. 8192",
        )
    flags = _option(options, "runtime-flags")
    try:
        runtime_flags = tuple(shlex.split(" ".join(flags)))
    except ValueError as error:
        raise fail(
            "provider.options.runtime-flags",
            f"cannot split the flags ({error})",
            "quote them as a shell would",
        ) from None
    ignored = sorted({f"provider.options.{o}" for o in options} - _PROVIDER_OPTIONS)
    ignored += sorted(k for k in raw if k not in _PROVIDER_KEYS and not k.startswith("x-"))
    context.warnings.extend(
        f"service '{name}': field '{field}' is ignored: a model provider service deploys no "
        "container, and Berth takes only its model, context-size and runtime-flags"
        for field in ignored
    )
    return AiModel(
        name=name,
        model=names[0],
        context_size=int(size[0]) if size else None,
        runtime_flags=runtime_flags,
        provider_service=True,
    )


def _option(options: Mapping[str, Any], key: str) -> list[str]:
    """A provider option as Compose prints it: a list of strings (one written string too)."""
    value = options.get(key)
    return [str(v) for v in ([value] if isinstance(value, str | int) else value or [])]


def check_variables(
    service: Service, models: Mapping[str, AiModel], sources: Sources, section: str = "services"
) -> None:
    """Refuse two of the service's model variables of one name: one would silently replace
    the other (``A_URL`` of one model pointing at another's gateway)."""
    seen: dict[str, str] = {}
    for use in service.models:
        for kind, variable in (("endpoint_var", use.endpoint_var), ("model_var", use.model_var)):
            if variable in seen:
                field = models[use.model].use_field
                raise BerthError(
                    f"{kind} {variable!r} of model {use.model!r} is also {seen[variable]}",
                    file=sources.origin(service.name, field, section),
                    service=service.name,
                    field=field,
                    kind="job" if section == "jobs" else "service",
                    hint="give one of them another name (endpoint_var, model_var)",
                )
            seen[variable] = f"the {kind} of model {use.model!r}"


def model_uses(
    name: str, raw: Mapping[str, Any], defined: Mapping[str, Any], fail: Fail
) -> tuple[ModelUse, ...]:
    """A service's ``models:``, each checked against the top-level ``models:`` (``defined``:
    ``models``, typed, and the ``declared models`` names the files write)."""
    models: Mapping[str, AiModel] = defined.get("models") or {}
    uses = []
    for model, written in sorted((raw.get("models") or {}).items()):
        if model not in models or models[model].provider_service:
            known = ", ".join(defined.get("declared models") or ())
            raise fail(
                "models",
                f"uses model {model!r}, which the top-level models: does not define",
                f"define it under models:, or use one it defines: {known}"
                if known
                else "define it under models:",
            )
        spec = written or {}
        prefix = variable_prefix(model)
        uses.append(
            ModelUse(
                model=model,
                endpoint_var=_variable(spec.get("endpoint_var"), f"{prefix}_URL", fail),
                model_var=_variable(spec.get("model_var"), f"{prefix}_MODEL", fail),
            )
        )
    return tuple(uses)


def use_providers(service: Service, providers: Mapping[str, AiModel]) -> Service:
    """``service`` with each ``depends_on`` a provider service made a use of its model: the
    provider deploys no container to wait on; a target waits on the model instead."""
    used = [d.service for d in service.depends_on if d.service in providers]
    if not used:
        return service
    uses = [
        ModelUse(model=name, endpoint_var=f"{name.upper()}_URL", model_var=f"{name.upper()}_MODEL")
        for name in used
        if all(use.model != name for use in service.models)
    ]
    return dataclasses.replace(
        service,
        depends_on=tuple(d for d in service.depends_on if d.service not in providers),
        models=service.models + tuple(uses),
    )


def gateway_ports(raw: Mapping[str, Any]) -> tuple[int, ...]:
    """An ``x-defang-llm`` LiteLLM container that names no port: the one LiteLLM listens on,
    so that the services that call it reach it (Defang does the same)."""
    if not raw.get(LLM_EXTENSION) or raw.get("ports") or raw.get("expose"):
        return ()
    return (LITELLM_PORT,) if _LITELLM_IMAGE.fullmatch(str(raw.get("image") or "")) else ()


def _model(context: Context, name: str, spec: Mapping[str, Any]) -> AiModel:
    def fail(field: str, problem: str, hint: str) -> BerthError:
        return BerthError(
            problem,
            file=context.sources.origin(name, field, "models"),
            service=name,
            field=field,
            hint=hint,
            kind="model",
        )

    model = spec.get("model")
    if not isinstance(model, str) or not model:
        raise fail("model", "names no model", "set model: ai/smollm2 (a Docker Hub model)")
    size = spec.get("context_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
        raise fail("context_size", f"{size!r} is not a number of tokens", "write e.g. 8192")
    return AiModel(
        name=name,
        model=model,
        context_size=size,
        runtime_flags=tuple(str(flag) for flag in spec.get("runtime_flags") or ()),
    )


def _variable(value: Any, default: str, fail: Fail) -> str:
    if value is None or value == "":
        return default
    if not _VARIABLE.fullmatch(str(value)):
        raise fail(
            "models",
            f"{value!r} is not an environment variable name",
            "use letters, digits and _, not starting with a digit",
        )
    return str(value)
