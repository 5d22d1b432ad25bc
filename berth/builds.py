"""A service's ``build:``: the context and Dockerfile every target builds, checked at plan time.

A local context or Dockerfile that is not there plans cleanly and fails only at ``pulumi up``
(and ``berth diff`` would reason from files that are not the build's), so it is refused here,
once for every target. Compose gives a local context as an absolute path; anything else (an
``https://`` or git address) is fetched by the builder and not checked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from berth.errors import BerthError
from berth.model import Build
from berth.quantities import Fail

DEFAULT_DOCKERFILE = "Dockerfile"


class MissingBuildInput(BerthError):
    """A local build context or Dockerfile that is not there: in ``berth diff``'s base, the
    sign of files that are not a checkout of the deployed commit."""


def read_build(raw: Mapping[str, Any], shown: Callable[[str], str], fail: Fail) -> Build:
    """The build of ``raw`` (Compose's normalized ``build``), its local context written as
    ``shown`` gives it (relative to the project folder); a BerthError when it cannot build."""
    context = str(raw.get("context") or ".")
    dockerfile = str(raw.get("dockerfile") or DEFAULT_DOCKERFILE)
    if os.path.isabs(context):
        # An inline Dockerfile has no file to check: each target's field support decides it.
        _check_local(context, None if "dockerfile_inline" in raw else dockerfile, shown, fail)
        context = shown(context)
    return Build(
        context=context,
        dockerfile=dockerfile,
        args={str(k): "" if v is None else str(v) for k, v in (raw.get("args") or {}).items()},
        target=raw.get("target"),
    )


def _check_local(
    context: str, dockerfile: str | None, shown: Callable[[str], str], fail: Fail
) -> None:
    """Refuse a context that is not a folder, or a ``dockerfile`` (relative to the context, or
    absolute) that is not a file."""
    if not os.path.isdir(context):
        problem = "does not exist" if not os.path.exists(context) else "is not a folder"
        raise _missing(
            fail,
            "build",
            f"the build context {shown(context)!r} {problem}",
            "create that folder with the Dockerfile and the files it copies, or set "
            "build.context to the folder that has them",
        )
    # Docker cleans the joined path as text: sub/../Dockerfile needs no folder sub.
    if dockerfile is None or os.path.isfile(os.path.normpath(os.path.join(context, dockerfile))):
        return
    if dockerfile == DEFAULT_DOCKERFILE:
        raise _missing(
            fail,
            "build",
            f"the build context {shown(context)!r} has no {DEFAULT_DOCKERFILE}",
            "add one there, or name yours in build.dockerfile (relative to the context)",
        )
    where = "" if os.path.isabs(dockerfile) else f" in the build context {shown(context)!r}"
    raise _missing(
        fail,
        "build.dockerfile",
        f"the Dockerfile {dockerfile!r} does not exist{where}",
        "create it, or correct build.dockerfile: a path relative to the context, or absolute",
    )


def _missing(fail: Fail, field: str, problem: str, hint: str) -> MissingBuildInput:
    """``fail``'s error (it knows the file), as a ``MissingBuildInput``."""
    error = fail(field, problem, hint)
    return MissingBuildInput(
        problem, file=error.file, service=error.service, field=field, hint=hint
    )
