"""The user's compose files as written: read, syntax-checked, and asked where things are.

Docker Compose does the real loading; this step exists for what its output loses: a precise
line for a YAML syntax error, the order services are declared in, and which file set a field.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from berth.errors import BerthError
from berth.files import COMPOSE_FILE_LIMIT, FileRefused, check_readable, read_capped

MAX_DEPTH = 100
"""Nesting deeper than this is no compose file (real ones nest under ten levels); it only
exhausts the recursion of every YAML reader after this one."""
_ALIAS_RATIO_LOW, _ALIAS_RATIO_HIGH = 400_000, 4_000_000
MAX_PORTS = 1000
"""Ports one service may publish, or expose: each is a listener of its own (on local Docker, a
proxy process), so a range like 1-65535 is a mistake that would take minutes to plan."""
_PORT_RANGE = re.compile(r"(\d+)-(\d+)")
_FIELD_KEY = re.compile(r"[.\[]")
"""Where a field path's first key ends: ``deploy.replicas``, ``pre_start[1].user``."""
_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://|^git@|^oci:")


_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it: about ten times faster than the Python one."""


class _ComposeYamlLoader(_SAFE_LOADER):  # type: ignore[misc, valid-type]
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

    def service_order(self, section: str = "services") -> list[str]:
        """Service names (``section`` ``jobs``: job names) in the order the files first
        declare them."""
        seen: dict[str, None] = {}
        for document in self.documents:
            entries = document.get(section)
            if isinstance(entries, dict):
                seen.update(dict.fromkeys(str(name) for name in entries))
        return list(seen)

    def origin(
        self, service: str | None = None, field: str | None = None, section: str = "services"
    ) -> str:
        """The file that last set ``field`` of ``service`` (the one that wins the merge);
        ``section``: ``jobs`` for a job of the top-level ``jobs:``.

        For a field no file sets (a missing image), the last file that declares the service.
        """
        declaring = None
        for file, document in reversed(self.pairs()):
            entries = document.get(section)
            definition = entries.get(service) if isinstance(entries, dict) else None
            if service is None or not isinstance(definition, dict):
                continue
            declaring = declaring or file
            if field is None or _FIELD_KEY.split(field)[0] in definition:
                return file
        return declaring or self.files[0]

    def written(self, service: str, field: str, section: str = "services") -> Any:
        """``field`` of ``service`` as the last file that sets it spells it (before any
        interpolation), for a message that quotes the user's own value; None where no file
        does (it comes from ``extends``)."""
        for document in reversed(self.documents):
            entries = document.get(section)
            definition = entries.get(service) if isinstance(entries, dict) else None
            if isinstance(definition, dict) and field in definition:
                return definition[field]
        return None

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
    """Read and syntax-check every file, and the files they include or read variables from
    (which Compose would otherwise hang on); one clear error for the first that is unusable."""
    if not files:
        raise BerthError(
            "no compose file given",
            hint=lambda terms: f"e.g. {terms.how_to_set_list('composeFiles', 'compose.yaml')}",
        )
    documents = tuple(_read_one(file) for file in files)
    seen: set[Path] = set()
    for file, document in zip(files, documents, strict=True):
        _check_referenced(file, document, Path(files[0]).parent, seen)
    return Sources(files=tuple(files), documents=documents)


def _read_one(file: str) -> dict[str, Any]:
    if file == "-":
        raise BerthError(
            "a compose file cannot be read from standard input here",
            file=file,
            hint=lambda terms: (
                "save it to a file and name that file: " + terms.how_to_set("composeFiles", "FILE")
            ),
        )
    path = Path(file)
    try:
        text = read_capped(path, COMPOSE_FILE_LIMIT).decode("utf-8")
    except FileNotFoundError:
        raise BerthError(
            "the compose file does not exist",
            file=file,
            hint=lambda terms: f"check {terms.compose_files()}",
        ) from None
    except FileRefused as error:
        raise BerthError(
            f"the compose file cannot be read: {error}",
            file=file,
            hint="make it a readable UTF-8 text file",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise BerthError(
            f"the compose file cannot be read ({reason})",
            file=file,
            hint="make it a readable UTF-8 text file",
        ) from None
    try:
        document = copy.deepcopy(_parsed(text))
    except yaml.YAMLError as error:
        raise _syntax_error(file, error) from None
    except _Unreasonable as error:
        raise BerthError(str(error), file=file, hint=error.hint) from None
    if document is None:
        raise BerthError("the compose file is empty", file=file, hint="add a services: section")
    if not isinstance(document, dict):
        raise BerthError(
            f"the file must be a mapping of top-level keys, not a {type(document).__name__}",
            file=file,
            hint="start it with services:",
        )
    return document


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> Any:
    """``text`` checked and parsed once per process: a target that reads the sources again
    (gcp does) gets a copy, not a second parse.

    Documents separated by ``---`` are merged, as Compose merges them: each must then be a
    mapping (Compose's "top-level object must be a mapping" names neither file nor document).
    """
    _check_shape(text)
    documents = list(yaml.load_all(text, Loader=_ComposeYamlLoader))
    if len(documents) < 2:
        return documents[0] if documents else None
    for number, document in enumerate(documents, start=1):
        if not isinstance(document, dict):
            what = "empty" if document is None else f"a {type(document).__name__}"
            raise _Unreasonable(
                f"YAML document {number} of {len(documents)} (documents are separated by ---) "
                f"is {what}, not a mapping of top-level keys",
                "remove the --- that starts it"
                if document is None
                else "make each document a mapping of top-level keys such as services",
            )
    return functools.reduce(_merged, documents)


def _merged(base: Any, override: Any) -> Any:
    """Two documents of one file merged near enough to Compose's merge to say where things
    are: mappings key by key, lists appended, any other value the later document's."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: _merged(base[k], v) if k in base else v for k, v in override.items()}}
    if isinstance(base, list) and isinstance(override, list):
        return base + override
    return override


class _Unreasonable(Exception):
    """YAML that is valid but that Berth does not read: too deep, an alias bomb, or a document
    that is not a mapping among several."""

    def __init__(self, problem: str, hint: str) -> None:
        super().__init__(problem)
        self.hint = hint


def _check_shape(text: str) -> None:
    """Refuse nesting past MAX_DEPTH and excessive alias expansion, from the parser's events.

    The events come from an iterative parser and aliases are counted, never expanded, so this
    takes time linear in the text. Expansion is bounded as Docker Compose's YAML library
    (go-yaml v3) bounds it: once over 1,000 nodes, at most 99% of them may come from aliases,
    falling to 10% between 400,000 and 4,000,000 nodes.
    """
    sizes: dict[str, int] = {}
    frames: list[tuple[str | None, int]] = []  # (anchor, decoded count when it opened)
    decoded = aliased = 0
    for event in yaml.parse(text, Loader=_ComposeYamlLoader):
        if isinstance(event, yaml.AliasEvent):
            size = sizes.get(str(event.anchor), 1)
            decoded += size + 1
            aliased += size
            if aliased > 100 and decoded > 1000 and aliased / decoded > _allowed_ratio(decoded):
                raise _Unreasonable(
                    "the YAML expands its aliases (*name) excessively",
                    "write the repeated values out, or anchor fewer nested copies",
                )
        elif isinstance(event, yaml.CollectionStartEvent):
            decoded += 1
            frames.append((event.anchor, decoded))
            if len(frames) > MAX_DEPTH:
                raise _Unreasonable(
                    f"the YAML nests deeper than {MAX_DEPTH} levels",
                    "flatten it: no compose field nests that deep",
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, opened = frames.pop()
            if anchor is not None:
                sizes[anchor] = decoded - opened + 1
        elif isinstance(event, yaml.ScalarEvent):
            decoded += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1


def _allowed_ratio(decoded: int) -> float:
    """go-yaml v3's allowedAliasRatio."""
    if decoded <= _ALIAS_RATIO_LOW:
        return 0.99
    if decoded >= _ALIAS_RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - _ALIAS_RATIO_LOW) / (_ALIAS_RATIO_HIGH - _ALIAS_RATIO_LOW)


def _check_referenced(file: str, document: dict[str, Any], base: Path, seen: set[Path]) -> None:
    """Check the local files ``document`` includes or extends (recursively) and its env files.

    Docker Compose would block on a FIFO or read ``/dev/zero`` until it runs out of memory,
    and its error for an included file that is not a compose file does not name the file.
    Env files are relative to ``base`` (the project folder; an included file's own folder).
    Paths with a variable are Compose's to resolve; a missing file is Compose's to report.
    """
    here = Path(file).parent
    services = document.get("services")
    definitions = services if isinstance(services, dict) else {}
    extended = [d.get("extends") for d in definitions.values() if isinstance(d, dict)]
    for included in _paths(document.get("include"), "path") + _paths(extended, "file"):
        path = here / included
        if path.resolve() in seen or not path.exists():
            continue
        seen.add(path.resolve())
        name = os.path.normpath(path)
        _check_referenced(name, _read_one(name), path.parent, seen)
    env_files = [(None, p) for p in _paths(document.get("include"), "env_file")]
    for service, definition in definitions.items():
        if isinstance(definition, dict):
            env_files += [(str(service), p) for p in _paths(definition.get("env_file"), "path")]
            _check_port_count(file, str(service), definition)
    for service, env_file in env_files:
        try:
            check_readable(base / env_file, COMPOSE_FILE_LIMIT)
        except FileRefused as error:
            raise BerthError(
                f"env file {env_file} cannot be read: {error}",
                file=file,
                service=service,
                field="env_file" if service else "include",
                hint="make it a readable file of KEY=VALUE lines",
            ) from None
        except OSError:
            continue


def _check_port_count(file: str, service: str, definition: dict[str, Any]) -> None:
    """Refuse port ranges past MAX_PORTS as written, before Compose spends seconds and
    gigabytes expanding them (ranges that come from a variable are counted after it)."""
    for field in ("ports", "expose"):
        entries = definition.get(field)
        count = sum(map(_port_span, entries)) if isinstance(entries, list) else 0
        if count > MAX_PORTS:
            raise too_many_ports(count, file, service, field)


def too_many_ports(count: int, file: str, service: str, field: str) -> BerthError:
    return BerthError(
        f"{count} ports: a service may have at most {MAX_PORTS}",
        file=file,
        service=service,
        field=field,
        hint="list only the ports the service listens on, or a smaller range",
    )


def _port_span(entry: Any) -> int:
    """How many ports one entry stands for: its widest range (host or container side)."""
    texts = [entry.get("published"), entry.get("target")] if isinstance(entry, dict) else [entry]
    spans = [int(b) - int(a) + 1 for t in texts for a, b in _PORT_RANGE.findall(str(t))]
    return max(spans, default=1)


def _paths(value: Any, key: str) -> list[str]:
    """The local paths of an ``include`` or ``env_file`` value, in any of its syntaxes."""
    entries = value if isinstance(value, list) else [value]
    paths: list[str] = []
    for entry in entries:
        found = entry.get(key) if isinstance(entry, dict) else entry if key == "path" else None
        paths += [p for p in (found if isinstance(found, list) else [found]) if isinstance(p, str)]
    return [p for p in paths if "$" not in p and not _REMOTE.match(p)]


def _syntax_error(file: str, error: yaml.YAMLError) -> BerthError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return BerthError(
        f"YAML syntax error at {where}{problem}",
        file=file,
        hint="fix the indentation or quoting there",
    )
