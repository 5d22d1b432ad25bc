"""What a built image takes from its build context: the stand-in for its digest in ``berth diff``.

Offline a built image has no digest. What decides it is what its Dockerfile takes from the
context as Docker sends it: the sources of COPY and ADD (not ``COPY --from`` another stage or
image, nor ADD of a URL) in the stages the target stage is built from, after
``<Dockerfile>.dockerignore`` or else ``.dockerignore`` (pulumi-docker sends the Dockerfile and
the ``.dockerignore`` even when they ignore themselves, as the Docker CLI does), and the
Dockerfile's instructions, build args and target. Builds are taken as reproducible: the same
instructions on the same copied files give the same image (BuildKit's cache does; a build
without it stamps new times, and a job would then run on every deployment whatever this says).

A file is taken with its mode (COPY keeps it) unless every COPY of it sets one (``--chmod``). A
source Docker does not send (not in the context, or left out by ``.dockerignore``) fails the
build: it is told as such, not as a changed file.

Where Berth cannot tell what the image takes (a variable in a source, ``COPY --exclude``, a RUN
that bind-mounts the context, a Dockerfile it cannot parse, a remote context), every file sent
may be taken: a change of one of them says the job *may* run, and why, never that it runs.
The Dockerfile is read with the ``dockerfile`` package (BuildKit's own parser: heredocs, JSON
forms, escapes and flags exactly as Docker reads them); ``.dockerignore`` is matched by the
Docker SDK's port of Docker's pattern matcher (a pattern without a slash matches at the root
only, unlike ``.gitignore``).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import json
import os
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from berth.components.offline_images import IMAGE, IMAGE_SETTINGS, inputs_digest
from berth.model import Build
from berth.offline.diff_report import Reason

REMOTE = ("http://", "https://", "git://", "git@", "ssh://")
"""How a remote build context or an ADD of a URL starts: nothing Berth can read."""
_KNOWN_INSTRUCTIONS = frozenset(
    {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL"}
    | {"MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
)
_COPY_FLAGS = frozenset({"from", "chown", "chmod", "link", "parents", "checksum", "keep-git-dir"})
"""COPY and ADD flags that change nothing of which context files are taken."""
_DIRECTIVE = re.compile(r"#\s*[A-Za-z]+\s*=.*")
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Sources:
    """What an image built from a context takes from it, each file with its digest."""

    recipe: str
    """The Dockerfile's parser directives and instructions (comments aside: they change no
    image), or its text when it cannot be parsed, or a remote context's address."""
    taken: Mapping[str, str]
    """Files that COPY or ADD put into the image."""
    read: Mapping[str, str] = field(default_factory=dict)
    """Files the image may hold or be made from, when Berth cannot tell."""
    why: Mapping[str, Reason] = field(default_factory=dict)
    """For each of ``read``, why Berth cannot tell."""
    remote: bool = False
    dockerfile: str = "Dockerfile"
    unsent: tuple[str, ...] = ()
    """Sources COPY or ADD takes that Docker does not send: the build fails."""


@dataclass(frozen=True)
class Rebuild:
    """How a built image's sources differ between two versions of a service."""

    taken: tuple[str, ...] = ()
    """Changed files the image takes; the Dockerfile among them when its instructions changed."""
    read: tuple[str, ...] = ()
    """Changed files the image may take or be made from (``unsure`` says why it may)."""
    unsure: Reason | None = None
    remote: bool = False
    """Built from a remote context: it may have changed, whatever else did."""
    unsent: tuple[str, ...] = ()
    """Sources the new version's Dockerfile copies that Docker does not send."""

    def __bool__(self) -> bool:
        return bool(self.taken or self.read or self.remote or self.unsent)


def image_sources(
    context: str, dockerfile: str, target: str | None, inline: str | None = None
) -> Sources:
    """What a build of ``context`` (a folder, relative to the working directory, or a remote
    address) with ``dockerfile`` (relative to the context; ``inline``: its text, given in
    compose instead) and ``target`` takes from it."""
    if context.startswith(REMOTE):
        why = Reason(
            "it is built from the remote context {}, which Berth does not read", (context,)
        )
        return Sources(context, {}, why={context: why}, remote=True)
    return dataclasses.replace(
        _sources(os.path.abspath(context), dockerfile, target, inline), dockerfile=dockerfile
    )


def _rebuild(before: Sources, now: Sources) -> Rebuild:
    """The files whose change may change the image, and whether it certainly does (a remote
    context always may have changed); files of sources no longer sent are told as unsent."""
    if now.remote:
        return Rebuild(unsure=now.why[now.recipe], remote=True)
    old_files = {*before.taken, *before.read}
    gone = {path for path in old_files if any(_under(path, source) for source in now.unsent)}
    taken = [path for path in _changed(before.taken, now.taken) if path not in gone]
    if before.recipe != now.recipe:
        taken.insert(0, now.dockerfile)
    old_all, new_all = {**before.read, **before.taken}, {**now.read, **now.taken}
    read = [path for path in _changed(old_all, new_all) if path not in {*taken, *gone}]
    reasons = [now.why.get(path) or before.why.get(path) for path in read]
    return Rebuild(tuple(taken), tuple(read), next(filter(None, reasons), None), unsent=now.unsent)


def build_digest(inputs: Mapping[str, Any]) -> str:
    """The stand-in digest of the image pulumi-docker-build builds from its ``inputs``: what it
    takes from the context and from each local named context, and ``IMAGE_SETTINGS``; never
    its tags, its cache, its secrets or the Dockerfile's name."""
    context = inputs.get("context") or {}
    location = str(context.get("location") or ".")
    dockerfile = inputs.get("dockerfile") or {}
    inline = dockerfile.get("inline")
    name = os.path.relpath(str(dockerfile.get("location") or "Dockerfile"), location)
    sources = image_sources(
        location, "Dockerfile" if inline else name, inputs.get("target"), inline
    )
    named = {
        key: _folder_digest(str(spec.get("location")))
        for key, spec in sorted((context.get("named") or {}).items())
    }
    settings = {key: inputs.get(key) for key in IMAGE_SETTINGS}
    return inputs_digest([sources.recipe, dict(sources.taken), dict(sources.read), settings, named])


def _folder_digest(location: str) -> str:
    """A named context's files (all may be taken: ``COPY --from=<name>`` says which), or its
    address when it is not a local folder."""
    root = Path(location)
    if not root.is_dir():
        return location
    files = [p for p in _sent(root, "Dockerfile") if (root / p).is_file()]
    return inputs_digest({path: _file_digest(root / path) for path in files})


def build_changes(before: Build | None, now: Build | None) -> Rebuild:
    """How a service's image changes between two versions, by what it takes from its context."""
    if before is None or now is None:
        return Rebuild()
    return _rebuild(
        *(
            image_sources(b.context, b.dockerfile, b.target, b.dockerfile_inline)
            for b in (before, now)
        )
    )


def digest_outputs(
    outputs: Callable[[str, Mapping[str, Any]], dict[str, Any]],
) -> Callable[[str, Mapping[str, Any]], dict[str, Any]]:
    """A target's ``plan_outputs`` for the offline diff: a built image's digest stands for what
    it takes from its contexts (``build_digest``)."""

    def with_digests(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if type_ != IMAGE or not isinstance(inputs.get("context"), Mapping):
            return outputs(type_, inputs)
        # What the mock hashes of a context, its location, stands for what the build takes.
        stand_in = {"context": {"digest": build_digest(inputs)}, "tags": inputs.get("tags")}
        return outputs(type_, stand_in)

    return with_digests


def forget() -> None:
    """Drop what was read: a context may have changed since an earlier diff."""
    _sources.cache_clear()


def _changed(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    return sorted(path for path in old.keys() | new.keys() if old.get(path) != new.get(path))


# -- the context as Docker sends it ----------------------------------------------------------


def _sent(root: Path, dockerfile: str) -> list[str]:
    """What Docker sends of ``root`` (files, symlinks and folders), relative to it, in order."""
    from docker.utils.build import exclude_paths  # noqa: PLC0415 - only diffs read contexts

    if not root.is_dir():
        return []
    patterns: list[str] = []
    for ignore in (Path(os.path.join(root, dockerfile) + ".dockerignore"), root / ".dockerignore"):
        if ignore.is_file():
            lines = (line.strip() for line in ignore.read_text(errors="replace").splitlines())
            patterns = [line for line in lines if line and not line.startswith("#")]
            break
    return sorted(exclude_paths(str(root), patterns, dockerfile))


def _file_digest(path: Path, mode: bool = True) -> str:
    """The SHA-256 of a file's content, read in chunks (a context may hold files larger than
    memory), with its ``mode`` unless COPY sets one; a symlink by where it points, as Docker
    copies it."""
    try:
        if path.is_symlink():
            return f"-> {os.readlink(path)}"
        with path.open("rb") as file:
            content = hashlib.file_digest(file, "sha256").hexdigest()
        return f"{content} {path.stat().st_mode & 0o777:o}" if mode else content
    except OSError as error:  # gone since the walk, or unreadable: Docker cannot send it either
        return f"unreadable: {type(error).__name__}"


# -- the Dockerfile ----------------------------------------------------------------------------


@dataclass
class _Stage:
    """One stage: its name, the context paths it takes or reads, the stages it is built from."""

    name: str
    taken: list[tuple[str, bool]] = field(default_factory=list)
    """COPY and ADD sources, each with whether its files keep their mode (no ``--chmod``)."""
    read: dict[str, Reason] = field(default_factory=dict)
    """Context paths a RUN mounts, or that Berth cannot evaluate, with why."""
    needs: list[tuple[str, Reason | None]] = field(default_factory=list)
    """Stage references (a name, a number, or one with a variable), each with why it only
    may go into this stage (a RUN mount), None when it surely does (FROM, COPY --from)."""


@functools.cache
def _sources(root: str, dockerfile: str, target: str | None, inline: str | None) -> Sources:
    context = Path(root)
    try:
        text = (
            inline
            if inline is not None
            else Path(os.path.join(root, dockerfile)).read_text(errors="replace")
        )
        everything = _sent(context, dockerfile)
    except OSError as error:  # no image can be built (`pulumi up` fails): it takes nothing
        return Sources(f"unreadable: {type(error).__name__}", {})
    sent = [p for p in everything if (context / p).is_symlink() or (context / p).is_file()]
    import dockerfile as parser  # noqa: PLC0415 - only diffs parse Dockerfiles

    try:
        commands = parser.parse_string(text)
        stages = _stages(commands)
    except (parser.GoParseError, ValueError) as error:
        why = Reason("its Dockerfile cannot be parsed ({})", (str(error),))
        return _unknown(context, sent, text, why)
    recipe = json.dumps([list(_leading(text)), [command.original for command in commands]])
    named = [i for i, stage in enumerate(stages) if stage.name == (target or "").lower()]
    if target and not named:
        return _unknown(context, sent, recipe, Reason("its Dockerfile has no stage {}", (target,)))
    taken: dict[str, bool] = {}
    """Each file taken, with whether its mode counts (a COPY without ``--chmod`` takes it)."""
    why: dict[str, Reason] = {}
    unsent: list[str] = []
    for index, only_may in _built_from(stages, named[-1] if target else len(stages) - 1).items():
        stage = stages[index]
        for source, mode in stage.taken:
            files = _matching(sent, source, context)
            if only_may:
                why.update(dict.fromkeys(files, only_may))
                continue
            taken.update({path: mode or taken.get(path, False) for path in files})
            path = _normalized(source)
            if path and not _GLOB.search(path) and not any(_under(p, path) for p in everything):
                unsent.append(path)  # COPY fails ("not found"); a pattern may match nothing
        for source, reason in stage.read.items():
            why.update(dict.fromkeys(_matching(sent, source, context), only_may or reason))
    why = {path: reason for path, reason in sorted(why.items()) if path not in taken}
    return Sources(
        recipe,
        {path: _file_digest(context / path, mode) for path, mode in sorted(taken.items())},
        {path: _file_digest(context / path) for path in why},
        why,
        unsent=tuple(sorted(set(unsent))),
    )


def _normalized(source: str) -> str:
    """A COPY source as a path in the context: ``""`` for the context itself."""
    return posixpath.normpath("/" + source).lstrip("/")


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


def _unknown(context: Path, sent: Sequence[str], recipe: str, why: Reason) -> Sources:
    """Sources when Berth cannot tell what the image takes: every file sent may be taken."""
    return Sources(
        recipe, {}, {path: _file_digest(context / path) for path in sent}, dict.fromkeys(sent, why)
    )


def _leading(text: str) -> Iterable[str]:
    """The parser directives: the lines before the first that is not one (BuildKit reads them
    there only)."""
    for line in text.splitlines():
        if not _DIRECTIVE.fullmatch(line.strip()):
            return
        yield line.strip()


def _stages(commands: Sequence[Any]) -> list[_Stage]:
    """Each stage of a parsed Dockerfile, with what it takes from the context; a ValueError
    for an instruction Docker does not know, or no FROM (the build fails on them)."""
    stages: list[_Stage] = []
    for command in commands:
        if command.cmd not in _KNOWN_INSTRUCTIONS:
            raise ValueError(f"unknown instruction {command.cmd}")
        values = tuple(command.value)
        flags = [_flag(flag) for flag in command.flags]
        if command.cmd == "FROM":
            stages.append(_Stage(values[2].lower() if len(values) > 2 else str(len(stages))))
            stages[-1].needs.append((values[0] if values else "", None))
        elif stages and command.cmd in ("COPY", "ADD"):
            _copy(stages[-1], command.cmd, values, dict(flags), bool(command.heredocs))
        elif stages and command.cmd == "RUN":
            for mount in (value for key, value in flags if key == "mount"):
                _mount(stages[-1], mount)
    if not stages:
        raise ValueError("no FROM")
    return stages


def _flag(text: str) -> tuple[str, str]:
    key, _, value = text.removeprefix("--").partition("=")
    return key, value


def _copy(
    stage: _Stage, name: str, values: tuple[str, ...], flags: Mapping[str, str], heredoc: bool
) -> None:
    """A COPY or ADD: its sources from the context, or the stage it copies from."""
    if "from" in flags:
        stage.needs.append((flags["from"], None))
        return
    odd = sorted(set(flags) - _COPY_FLAGS)
    for source in values[:-1]:
        if heredoc and source.startswith("<<"):
            continue  # its content is in the Dockerfile
        if name == "ADD" and source.startswith(REMOTE):
            continue  # fetched, not from the context
        if "$" in source:
            why = Reason("{} {} names a variable, which Berth does not evaluate", (name, source))
            stage.read["."] = why
        elif odd:
            why = Reason("{} {}, which Berth does not evaluate", (name, f"--{odd[0]}"))
            stage.read[source] = why
        else:
            stage.taken.append((source, "chmod" not in flags))


def _mount(stage: _Stage, text: str) -> None:
    """A RUN --mount: a bind mount reads the context or another stage, a cache mount may start
    from another stage; secrets, ssh and tmpfs read nothing of either."""
    options = dict(_flag(item) for item in next(csv.reader([text]), []))
    kind = options.get("type", "bind")
    if kind not in ("bind", "cache"):
        return
    if "from" in options:
        stage.needs.append((options["from"], Reason("a RUN mounts {}", (options["from"],))))
    elif kind == "bind":
        source = options.get("source") or options.get("src") or "."
        if "$" in source:
            why = Reason("a RUN mounts {}, a variable Berth does not evaluate", (source,))
            stage.read["."] = why
        else:
            stage.read[source] = Reason("a RUN mounts {} from the context", (source,))


def _built_from(stages: Sequence[_Stage], chosen: int) -> dict[int, Reason | None]:
    """The stages ``chosen`` is built from, itself included, each with why it only may be
    (None: it surely is). References point back only, so one pass from the end suffices."""
    why: dict[int, Reason | None] = {chosen: None}
    for index in range(chosen, -1, -1):
        if index not in why:
            continue
        for reference, only_may in stages[index].needs:
            for earlier in _referred(stages, index, reference):
                reason = why[index] or only_may
                if "$" in reference:
                    maybe = Reason("{} may name stage {}", (reference, stages[earlier].name))
                    reason = reason or maybe
                if earlier not in why or (why[earlier] and not reason):
                    why[earlier] = reason
    return why


def _referred(stages: Sequence[_Stage], index: int, reference: str) -> list[int]:
    """The earlier stages ``reference`` may name: by name or number; a variable may name any."""
    if "$" in reference:
        return list(range(index))
    named = [i for i in range(index) if stages[i].name == reference.lower()]
    if named:
        return named[-1:]
    return [int(reference)] if reference.isdigit() and int(reference) < index else []


def _matching(sent: Sequence[str], source: str, root: Path, follow: bool = True) -> list[str]:
    """The sent files a source takes: a file, a folder's files, or what a pattern matches (as
    Go's filepath.Match, which COPY uses: ``*`` stays within one path segment). A source that
    is a symlink is followed once, as COPY follows it."""
    path = _normalized(source)
    if not path:
        return list(sent)
    parts = path.split("/")
    if _GLOB.search(path):
        patterns = [part.replace("[^", "[!") for part in parts]
        hits = [
            p for p in sent
            if len(segments := p.split("/")) >= len(parts)
            and all(map(fnmatchcase, segments, patterns))
        ]  # fmt: skip
    else:
        hits = [p for p in sent if p == path or p.startswith(path + "/")]
    for link in (p for p in hits if follow and p.count("/") == len(parts) - 1):
        if (root / link).is_symlink():
            pointed = posixpath.join(posixpath.dirname(link), os.readlink(root / link))
            hits += _matching(sent, pointed, root, follow=False)
    return hits
