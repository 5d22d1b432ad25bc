"""The user's compose files as written: read, syntax-checked, and asked where things are.

Docker Compose does the real loading; this step exists for what its output loses: a precise
line for a YAML syntax error, the order services are declared in, and which file set a field.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from berth.errors import BerthError


class _ComposeYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, also accepting compose's ``!reset`` and ``!override`` tags.

    Booleans are YAML 1.2's, as Compose reads them: a service named ``on`` or ``no`` stays that
    name instead of becoming ``True`` or ``False``.
    """


_BOOL = "tag:yaml.org,2002:bool"
_ComposeYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ComposeYamlLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_ComposeYamlLoader.add_multi_constructor("!", _untagged)


@dataclass(frozen=True)
class Sources:
    files: tuple[str, ...]
    documents: tuple[dict[str, Any], ...]

    def service_order(self) -> list[str]:
        """Service names in the order the files first declare them."""
        seen: dict[str, None] = {}
        for document in self.documents:
            services = document.get("services")
            if isinstance(services, dict):
                seen.update(dict.fromkeys(str(name) for name in services))
        return list(seen)

    def origin(self, service: str | None = None, field: str | None = None) -> str:
        """The file that last set ``field`` of ``service`` (the one that wins the merge).

        For a field no file sets (a missing image), the last file that declares the service.
        """
        declaring = None
        for file, document in reversed(self.pairs()):
            services = document.get("services")
            definition = services.get(service) if isinstance(services, dict) else None
            if service is None or not isinstance(definition, dict):
                continue
            declaring = declaring or file
            if field is None or field.split(".")[0] in definition:
                return file
        return declaring or self.files[0]

    def declaring(self, key: str) -> str:
        """The last file with the top-level ``key`` (an ``x-`` block, ``volumes``, ...)."""
        return next((f for f, d in reversed(self.pairs()) if key in d), self.files[0])

    def pairs(self) -> list[tuple[str, dict[str, Any]]]:
        return list(zip(self.files, self.documents, strict=True))

    def locate(
        self, needle: re.Pattern[str], field: str | None = None, skip: Collection[str] = ()
    ) -> tuple[str, str] | None:
        """The service and field whose value, as written, matches ``needle`` (last file first).

        For Compose errors that quote a value but name no service.
        """
        for document in reversed(self.documents):
            services = document.get("services")
            for name, definition in services.items() if isinstance(services, dict) else ():
                for key, value in definition.items() if isinstance(definition, dict) else ():
                    if key in skip or (field is not None and key != field):
                        continue
                    if needle.search(str(value)):
                        return str(name), str(key)
        return None


def read_sources(files: list[str] | tuple[str, ...]) -> Sources:
    """Read and syntax-check every file; one clear error for the first that is unusable."""
    if not files:
        raise BerthError(
            "no compose file given",
            hint="set berth:composeFiles, e.g. "
            '`pulumi config set --path "composeFiles[0]" compose.yaml`',
        )
    documents = tuple(_read_one(file) for file in files)
    return Sources(files=tuple(files), documents=documents)


def _read_one(file: str) -> dict[str, Any]:
    path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BerthError(
            "the compose file does not exist",
            file=file,
            hint="check berth:composeFiles in the stack config (paths are relative to the project)",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise BerthError(
            f"the compose file cannot be read ({reason})",
            file=file,
            hint="make it a readable UTF-8 text file",
        ) from None
    try:
        document = yaml.load(text, Loader=_ComposeYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise _syntax_error(file, error) from None
    if document is None:
        raise BerthError("the compose file is empty", file=file, hint="add a services: section")
    if not isinstance(document, dict):
        raise BerthError(
            f"the file must be a mapping of top-level keys, not a {type(document).__name__}",
            file=file,
            hint="start it with services:",
        )
    return document


def _syntax_error(file: str, error: yaml.YAMLError) -> BerthError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return BerthError(
        f"YAML syntax error at {where}{problem}",
        file=file,
        hint="fix the indentation or quoting there",
    )
