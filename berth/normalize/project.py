"""The whole of one ``config`` output: secrets checked first, then every service, the unset
variables at once, the volumes; the project's name and its ``x-*`` extensions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from berth.consistency import check_consistency
from berth.model import ComposeProject
from berth.normalize.context import Context
from berth.normalize.environment import refuse_unset
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
    order = [n for n in context.sources.service_order() if n in raw_services]
    order += sorted(n for n in raw_services if n not in order)
    defined = {"secrets": data.get("secrets") or {}, "configs": data.get("configs") or {}}
    services = {name: service(context, name, raw_services[name], defined) for name in order}
    refuse_unset(context.unset)
    volumes = {
        key: volume(context.sources, key, spec or {}, data.get("name", ""))
        for key, spec in (data.get("volumes") or {}).items()
    }
    return ComposeProject(
        name=str(data.get("name") or Path(context.sources.files[0]).resolve().parent.name),
        files=context.sources.files,
        services=services,
        volumes=volumes,
        extensions={k: context.revealed(v) for k, v in data.items() if k.startswith("x-")},
        warnings=tuple(context.warnings),
    )
