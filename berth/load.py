"""Loading a compose project: read, interpolate and merge (Compose), normalize, classify, check."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from berth.binary import run_config
from berth.errors import BerthError
from berth.fields import Support, check_fields
from berth.model import ComposeProject
from berth.normalize import Normalizer
from berth.sources import Sources, read_sources
from berth.stores import check_markings
from berth.validate import classify_jobs, validate
from berth.variables import Sealed, Variables

_UNLOCATED = [
    (
        re.compile(r"invalid (?:hostPort|containerPort|port|proto|IP address): (?P<value>\S+)"),
        "ports",
    ),
    (re.compile(r"invalid ranges specified for .* Ports: (?P<value>\S+) and"), "ports"),
    (re.compile(r"(?:env file|failed to read) (?P<value>[^\s:]+)"), "env_file"),
    (re.compile(r"invalid spec: (?P<value>\S+?): "), "volumes"),
]
"""Compose errors that name no service: the field they are about, and the offending value."""
_NOT_FINITE = re.compile(r"json: unsupported value: [-+]?(?:Inf|NaN)")
"""Compose v5 prints its output through JSON, which has no infinity: a YAML .inf stops it."""
_NOT_FINITE_WRITTEN = re.compile(r"(?<![\w.])-?(?:inf|nan)(?!\w)")
"""How YAML's .inf and .nan read once loaded (``str(float)``)."""
_TOP_LEVEL_INTERPOLATION = re.compile(r"error while interpolating (?P<key>[^.\s]+)\.")
_SECRET_FIELDS = ("environment", "command", "entrypoint", "healthcheck")


def load_project(
    files: Sequence[str],
    variables: Variables | None = None,
    profiles: Sequence[str] = (),
    *,
    target: str | None = None,
    support: Mapping[str, Support] | None = None,
    base_dir: Path | None = None,
    project_name: str = "",
) -> ComposeProject:
    """The typed, validated project; a BerthError naming file, service and field otherwise.

    With a ``target`` and its ``support`` table, fields the target ignores become warnings
    and fields it refuses stop the load.
    """
    sources = read_sources(list(files))
    sealed = (variables or Variables()).seal()
    try:
        output = run_config(sources.files, profiles, sealed.env, project_name)
    except BerthError as error:
        raise _pinpoint(error, sources, sealed) from None
    try:
        project = Normalizer(sources, sealed, base_dir).project(output.yaml, output.warnings)
    except BerthError as error:
        raise error.located(sources.files[0]) from None
    project = validate(classify_jobs(project), sources)
    check_markings(project, sources)
    if target is None:
        return project
    warnings = check_fields(project, sources, support or {}, target)
    return dataclasses.replace(project, warnings=project.warnings + tuple(warnings))


def _pinpoint(error: BerthError, sources: Sources, sealed: Sealed) -> BerthError:
    """Compose's error, naming the service and field when Compose did not, and no placeholder.

    Some messages (a bad port, a missing env file) carry only the offending value; the files
    as written say which service holds it. A secret's placeholder means a secret was used
    where Compose parses it, never a place a secret may go.
    """
    if sealed.contains_secret(error.problem):
        names = sealed.secret_names(error.problem)
        mention = re.compile(r"\$\{?(?:" + "|".join(map(re.escape, names)) + r")(?!\w)")
        found = sources.locate(mention, error.field) if error.field else None
        service, field = (
            found or sources.locate(mention, skip=_SECRET_FIELDS) or (error.service, error.field)
        )
        return BerthError(
            f"the secret {', '.join(names)} is used where it would be stored in plain text",
            file=sources.origin(service, field) if service else error.file,
            service=service,
            field=field,
            hint="use secrets only in environment, command, entrypoint or healthcheck",
        )
    if error.service:
        section = "jobs" if error.kind == "job" else "services"
        return error.located(sources.origin(error.service, error.field, section))
    if _NOT_FINITE.search(error.problem):
        service, field = sources.locate(_NOT_FINITE_WRITTEN) or (None, None)
        return BerthError(
            "a value is infinite or not a number (.inf or .nan), which Compose cannot read",
            file=sources.origin(service, field) if service else sources.files[0],
            service=service,
            field=field,
            hint="write a finite number",
        )
    for pattern, field in _UNLOCATED:
        if match := pattern.search(error.problem):
            value = match["value"]
            if field == "env_file":  # named by its absolute path, written relative
                value = Path(value).name
            if found := sources.locate(re.compile(re.escape(value)), field):
                service = found[0]
                return BerthError(
                    error.problem,
                    file=sources.origin(service, field),
                    service=service,
                    field=field,
                    hint=error.advice,
                )
    if match := _TOP_LEVEL_INTERPOLATION.search(error.problem):
        return error.located(sources.declaring(match["key"]))
    return error.located(sources.files[0])
