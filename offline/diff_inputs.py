"""What ``berth diff`` is given: a stack's config, and the deployed files as a base.

The two versions must be one project at one place: the deployed files in a checkout of the
deployed commit, at the same path in it as the new files in theirs (``--base-root``), read
under the new files' project name (a project is named after its folder, and a checkout's
folder need not be named as the deployed one was). A base whose build contexts are not the
deployed ones would make every image look rebuilt, or none; a base that is the new files
themselves would say, falsely, that nothing changes. Both are refused.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from berth.builds import MissingBuildInput
from berth.errors import BerthError
from berth.model import ComposeProject
from berth.names import normalised
from berth.offline.contexts import REMOTE
from berth.offline.diff_report import Reason
from berth.settings import NAMESPACE
from berth.sources import read_sources

HOW_TO_BASE = (
    "give the deployed files at their place in a checkout of the deployed commit: "
    "--base-root DIR -f FILE (e.g. after `git worktree add DIR <commit>`)"
)
_HOW_TO_CONFIG = "give the output of `pulumi config --json --show-secrets --stack <stack>`"
_SHAPE = '{"value": "<text>", "secret": true|false}'
_NEW_FILE = "{} is not in the deployed checkout: the deployed version is planned without it"
_JSON_KINDS = {
    type(None): "JSON null",
    bool: "a JSON boolean",
    int: "a JSON number",
    float: "a JSON number",
    str: "a JSON string",
    list: "a JSON array",
}


def read_stack_config(file: str) -> tuple[dict[str, str], list[str]]:
    """A stack's config and its secret keys, from ``pulumi config --json --show-secrets``
    (``-``: standard input), as ``plan_config`` gives them. No value is ever quoted: any may be
    a secret."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
        entries = json.loads(text)
    except (OSError, UnicodeError, ValueError) as error:
        problem = f"the stack config cannot be read ({type(error).__name__}: {error})"
        raise BerthError(problem, file=file, hint=_HOW_TO_CONFIG) from None
    if not isinstance(entries, dict):
        problem = f"the stack config is {_JSON_KINDS[type(entries)]}, not an object of entries"
        raise BerthError(problem, file=file, hint=_HOW_TO_CONFIG)
    for key, entry in entries.items():
        if isinstance(entry, dict) and entry.get("secret") is True and "value" not in entry:
            raise BerthError(
                f"entry {key!r} is a secret without its value",
                file=file,
                hint="add --show-secrets to `pulumi config --json`",
            )
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
            raise BerthError(
                f"entry {key!r} is not of the shape {_SHAPE}", file=file, hint=_HOW_TO_CONFIG
            )
    config = {str(key): entry["value"] for key, entry in entries.items()}
    return config, [key for key, entry in entries.items() if entry.get("secret") is True]


def given_base(base: Sequence[str]) -> list[str]:
    """The ``--base`` files, each there: a missing one is named by its flag, not as an ``-f``."""
    for file in base:
        if not os.path.isfile(file):
            state = "is not a file" if os.path.exists(file) else "does not exist"
            hint = f"check the --base paths (relative to the current directory), or {HOW_TO_BASE}"
            raise BerthError(f"the --base file {file} {state}", hint=hint)
    return list(base)


def deployed_files(base_root: str, files: Sequence[str]) -> tuple[list[str], list[Reason]]:
    """The ``files`` as they are in ``base_root``, a checkout of the deployed commit: each at its
    path relative to the working directory, the root of this checkout. A file after the first
    that the checkout lacks is new in this commit: the deployed version is planned without it,
    and a note says so. Without the first there is no deployed project to compare with."""
    if not os.path.isdir(base_root):
        state = "is a file, not a checkout" if os.path.exists(base_root) else "does not exist"
        raise BerthError(f"the --base-root directory {base_root} {state}", hint=HOW_TO_BASE)
    here = os.getcwd()
    deployed, notes = [], []
    for index, file in enumerate(files):
        relative = os.path.relpath(os.path.abspath(file), here)
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            raise BerthError(
                f"{file} is outside the working directory ({here}), so its place in the "
                "deployed checkout is not known",
                hint="run berth diff from the root of the checkout the files are in",
            )
        path = os.path.join(base_root, relative)
        if os.path.exists(path) or not os.path.exists(file):
            deployed.append(path)  # a new file that is missing too is refused as an -f
        elif index:
            notes.append(Reason(_NEW_FILE, (file,)))
        else:
            raise BerthError(
                f"{file} is not in the deployed checkout {base_root} (there is no {path})",
                hint="run berth diff from the root of the checkout the -f files are in, with "
                "--base-root the root of the deployed one (a project new in this commit has "
                "no deployed version to compare with)",
            )
    return deployed, notes


def refuse_the_same_files(base: Sequence[str], files: Sequence[str]) -> None:
    """A base that resolves to the new files would compare them with themselves."""
    if [os.path.realpath(file) for file in base] == [os.path.realpath(file) for file in files]:
        raise BerthError(
            f"the base is the new files themselves ({', '.join(files)}): nothing would be compared",
            hint=HOW_TO_BASE,
        )


def refuse_another_place(old: tuple[ComposeProject, str], new: tuple[ComposeProject, str]) -> None:
    """Refuse a base (a project and its folder) that is not the new files' project at the same
    place: with build contexts that are the new files' own (what the deployed images were built
    from is unknown). One without its contexts is refused as it is planned (``not_a_checkout``)."""
    (old_project, old_root), (new_project, new_root) = old, new
    for name, now in new_project.services.items():
        before = old_project.services.get(name)
        if before is None or before.build is None or now.build is None:
            continue
        if before.build.context.startswith(REMOTE):
            continue
        was, is_ = os.path.abspath(before.build.context), os.path.abspath(now.build.context)
        if was == is_ and (_within(was, old_root) or _within(was, new_root)):
            raise BerthError(
                f"service '{name}' is built from {is_} in both versions, so what the deployed "
                "image was built from is not known",
                hint=HOW_TO_BASE,
            )


def not_a_checkout(error: BerthError) -> BerthError:
    """The base's refusal as it is planned: a build context or Dockerfile it lacks (the new
    files have theirs: they were planned first) means it is not a checkout of the project."""
    if not isinstance(error, MissingBuildInput):
        return error
    return BerthError(
        f"the base is not a checkout of the project: {error.problem}",
        file=error.file,
        service=error.service,
        field=error.field,
        hint=HOW_TO_BASE,
    )


def as_deployed(
    base: Sequence[str], files: Sequence[str], config: Mapping[str, str]
) -> dict[str, str]:
    """The stack ``config`` that reads ``base`` as it was deployed from this checkout: a project
    without ``name:`` (and no ``berth:projectName``) is named after its folder, and the
    deployed checkout's folder (``git worktree add ../old``) need not be named as this one is,
    where ``files`` are."""
    key = f"{NAMESPACE}:projectName"
    if config.get(key) or any("name" in doc for doc in read_sources(list(base)).documents):
        return dict(config)
    return {**config, key: folder_project_name(os.path.dirname(os.path.abspath(files[0])))}


def folder_project_name(folder: str) -> str:
    """The project name Compose gives a folder's files when they declare none (compose-go's
    ``loader.NormalizeProjectName``): lowercased, only ``a-z0-9_-``, no leading ``_`` or ``-``."""
    return normalised(os.path.basename(folder), "a-z0-9_-", by="", start="_-", end="")


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)
