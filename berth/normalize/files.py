"""A service's ``secrets`` and ``configs``: files placed in its container, their content read
now (from ``file:``, ``environment:`` or ``content:``), a secret's always a ``Secret``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from berth.files import CONTENT_LIMIT, FileRefused, read_capped
from berth.model import FileMount, Secret, Text
from berth.normalize.context import Context
from berth.quantities import Fail, file_mode, file_owner


def files(
    context: Context, name: str, raw: dict[str, Any], defined: Mapping[str, Any], fail: Fail
) -> tuple[FileMount, ...]:
    """The service's file mounts; ``defined`` holds the top-level ``secrets`` and ``configs``."""
    mounts: list[FileMount] = []
    for kind in ("secrets", "configs"):
        for ref in raw.get(kind) or ():
            source = ref.get("source")
            spec = (defined.get(kind) or {}).get(source)
            if spec is None:
                raise fail(
                    kind,
                    f"{kind[:-1]} {source!r} is not defined",
                    f"define it under the top-level {kind}: section",
                )
            target = ref.get("target") or (
                f"/run/secrets/{source}" if kind == "secrets" else f"/{source}"
            )
            content = file_content(context, kind, source, spec, fail)
            if ignored := file_owner(ref, kind, fail):
                context.warnings.append(f"service '{name}': {kind[:-1]} '{source}': {ignored}")
            if kind == "secrets" and isinstance(content, str):
                content = Secret(value=content, keys=(f"{kind}.{source}",))
            mounts.append(
                FileMount(
                    name=source,
                    target=str(target),
                    content=content,
                    mode=file_mode(ref.get("mode"), kind, fail),
                    kind=kind,
                )
            )
    return tuple(mounts)


BUILD_TEXT = (
    "the builder takes a build secret by value, as text",
    "base64-encode the file and decode it in the RUN step that mounts it",
)
FILE_TEXT = (
    "its content is deployed as text",
    "base64-encode the file and decode it where the container reads it",
)
"""Why a secret or config file must be UTF-8 text, and what to do when it is not."""


def build_secret(
    context: Context, defined: Mapping[str, Any], fail: Fail
) -> Callable[[str], Secret]:
    """How a build reads a top-level secret by name (``build.secrets``): as Compose does, from
    its ``file:`` or ``environment:`` (a stack variable, as a container's secret), and always a
    ``Secret``. The builder takes a secret by value, as text: a file that is not UTF-8 text is
    refused with what to do."""

    def read(source: str) -> Secret:
        spec = (defined.get("secrets") or {}).get(source)
        if spec is None:
            raise fail(
                "build.secrets",
                f"secret {source!r} is not defined",
                "define it under the top-level secrets: section",
            )
        content = file_content(
            context, "secrets", source, spec, fail, field="build.secrets", text_only=BUILD_TEXT
        )
        return content if isinstance(content, Secret) else Secret(content, (f"secrets.{source}",))

    return read


def file_content(
    context: Context,
    kind: str,
    source: str,
    spec: dict[str, Any],
    fail: Fail,
    *,
    field: str = "",
    text_only: tuple[str, str] = FILE_TEXT,
) -> Text:
    """The content of a top-level secret or config; ``field``: where a failure is told (the
    ``kind`` itself unless said); ``text_only``: why a file must be UTF-8 text, and the hint."""
    field = field or kind
    if spec.get("external"):
        raise fail(
            field,
            f"external {kind[:-1]} {source!r} cannot be read at deploy time",
            "define it with file:, environment: or content: instead",
        )
    if "content" in spec:
        return context.sealed.reveal(str(spec["content"]))
    if not {"environment", "file"} & spec.keys():
        return ""  # Compose drops an empty content: (or environment:) from its output
    if "environment" in spec:
        variable = str(spec["environment"])
        if variable not in context.sealed.values:
            raise fail(
                field,
                f"{kind[:-1]} {source!r} reads {variable}, which is not set",
                lambda terms: f"set it with {terms.how_to_set(variable, secret=True)}",
            )
        value = context.sealed.values[variable]
        return (
            Secret(value=value, keys=(variable,))
            if variable in context.sealed.keys.values()
            else value
        )
    path = Path(str(spec.get("file", "")))
    try:
        return read_capped(path, CONTENT_LIMIT).decode("utf-8")
    except UnicodeDecodeError:
        why, hint = text_only
        raise fail(
            field,
            f"{kind[:-1]} {source!r}: {context.relative(str(path))} is not UTF-8 text, and {why}",
            hint,
        ) from None
    except (OSError, FileRefused) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise fail(
            field,
            f"{kind[:-1]} {source!r}: cannot read {context.relative(str(path))} ({reason})",
            "create the file or fix its path",
        ) from None
