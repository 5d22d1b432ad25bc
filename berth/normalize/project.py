"""The whole of one ``config`` output: secrets checked first, then every service, the unset
variables at once, the volumes; the project's name and its ``x-*`` extensions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from berth.consistency import check_consistency
from berth.model import ComposeProject, Service
from berth.normalize.context import Context
from berth.normalize.environment import refuse_unset
from berth.normalize.hooks import gated, hooks
from berth.normalize.jobs import job
from berth.normalize.models import (
    check_variables,
    is_model_provider,
    provider_model,
    top_level_models,
    use_providers,
)
from berth.normalize.secrets import refuse_misplaced_secrets, unescape
from berth.normalize.service import service
from berth.normalize.volumes import volume
from berth.sources import Sources
from berth.variables import Sealed


class Normalizer:
    """Builds a ComposeProject from one ``config`` output, reporting errors where they are."""

    def __init__(self, sources: Sources, sealed: Sealed, base_dir: Path | None = None) -> None:
        self.context = Context(sources, sealed, (base_dir or Path.cwd()).resolve())

    def project(self, output: str, binary_warnings: tuple[str, ...] = ()) -> ComposeProject:
        loaded = yaml.load(output, Loader=yaml.CSafeLoader) or {}
        return normalized(self.context, loaded, binary_warnings)


def normalized(
    context: Context, loaded: dict[str, Any], binary_warnings: tuple[str, ...] = ()
) -> ComposeProject:
    """The project of ``loaded`` (Compose's output, as YAML loads it)."""
    data = unescape(loaded)
    refuse_misplaced_secrets(context, data)
    check_consistency(data, context.sources)
    context.warnings.extend(w.replace(f"{context.base_dir}/", "") for w in binary_warnings)
    raw_services: dict[str, Any] = data.get("services") or {}
    order = _declared_order(context.sources, "services", raw_services)
    providers = {
        name: provider_model(context, name, raw_services[name])
        for name in order
        if is_model_provider(context, name, raw_services[name])
    }
    top_level = top_level_models(context, data.get("models") or {})
    for name in providers.keys() & top_level.keys():
        raise context.fail(name)(
            "provider",
            f"a model of the top-level models: is named {name!r} too",
            "rename one of them",
        )
    models = {**top_level, **providers}
    defined = {
        "secrets": data.get("secrets") or {},
        "configs": data.get("configs") or {},
        "models": models,
        "declared models": _declared(context.sources, "models"),
    }
    services: dict[str, Service] = {}
    for name in (name for name in order if name not in providers):
        built = service(context, name, raw_services[name], defined)
        hooked = hooks(context, built, raw_services[name], defined)
        if hooked and built.replicas == 0:
            context.warnings.append(
                f"service '{name}': it has no replicas, so its pre_start hooks do not run "
                "(as in Compose)"
            )
            hooked = []
        built = gated(built, hooked)
        for hook in hooked:
            if hook.name in raw_services:
                raise context.fail(name)(
                    "pre_start",
                    f"its pre_start[{hook.hook.index if hook.hook else 0}] runs as job "
                    f"{hook.name!r}, the name of another service",
                    "rename that service",
                )
            services[hook.name] = hook
        services[name] = built
    raw_jobs: dict[str, Any] = data.get("jobs") or {}
    triggered = {
        name: use_providers(job(context, name, raw_jobs[name], defined), providers)
        for name in _declared_order(context.sources, "jobs", raw_jobs)
    }
    services = {name: use_providers(built, providers) for name, built in services.items()}
    for built in services.values():
        check_variables(built, models, context.sources)
    for built in triggered.values():
        check_variables(built, models, context.sources, "jobs")
    refuse_unset(context.unset)
    project_name = data.get("name", "")
    volumes = {
        key: volume(context.sources, key, spec or {}, project_name)
        for key, spec in (data.get("volumes") or {}).items()
    }
    # Compose v5 leaves out of its output a volume that only hooks or jobs mount.
    for key in _mounted_volumes([*services.values(), *triggered.values()]) - volumes.keys():
        if (spec := _declared_volumes(context.sources).get(key)) is not None:
            volumes[key] = volume(context.sources, key, spec or {}, project_name)
    return ComposeProject(
        name=str(data.get("name") or Path(context.sources.files[0]).resolve().parent.name),
        files=context.sources.files,
        services=services,
        volumes=volumes,
        extensions={k: context.revealed(v) for k, v in data.items() if k.startswith("x-")},
        warnings=tuple(context.warnings),
        triggered=triggered,
        models=models,
    )


def _declared_order(sources: Sources, section: str, printed: dict[str, Any]) -> list[str]:
    """The names Compose printed in ``section``, in the order the files declare them (those
    no file declares, from ``include`` or ``extends``, after them, sorted)."""
    order = [name for name in sources.service_order(section) if name in printed]
    return order + sorted(name for name in printed if name not in order)


def _declared(sources: Sources, section: str) -> list[str]:
    """The names the files declare under a top-level ``section``, Compose's output aside (it
    leaves out a model no service uses)."""
    written = [d[section] for d in sources.documents if isinstance(d.get(section), dict)]
    return sorted({str(key) for entries in written for key in entries})


def _mounted_volumes(services: list[Service]) -> set[str]:
    return {m.source for s in services for m in s.mounts if m.type == "volume" and m.source}


def _declared_volumes(sources: Sources) -> dict[str, Any]:
    """The top-level volumes as the files write them, the last file's winning."""
    declared: dict[str, Any] = {}
    for document in sources.documents:
        if isinstance(written := document.get("volumes"), dict):
            declared.update({str(key): spec for key, spec in written.items()})
    return declared
