"""Numbers, sizes, modes, durations, paths and names read from compose, held to what every
target accepts.

Docker Compose checks their types; their ranges are Berth's to check, because each value goes
on to a Docker engine or a cloud API that would refuse it halfway through ``pulumi up``, or to
a Python call that overflows. Out of range is one line naming the field and what is allowed.
"""

from __future__ import annotations

import ipaddress
import math
import re
import stat
from collections.abc import Callable, Mapping
from typing import Any

from berth.durations import format_duration, parse_duration
from berth.errors import BerthError, shown_value, written_value
from berth.model import DEFAULT_JOB_TIMEOUT

Fail = Callable[..., BerthError]
"""A service's error: ``fail(field, problem, hint)``."""

DURATION_HINT = "write a duration such as 30s, 10m or 1h30m"
MIN_CPUS = 0.01
"""Docker's smallest CPU limit."""
MAX_CPUS = 1024
MAX_REPLICAS = 1000
MIN_MEMORY = 6 * 1024 * 1024
"""Docker's smallest memory limit and reservation (6 MiB); every cloud's smallest is larger."""
MAX_FILE_MODE = 0o777
MAX_TMPFS_MODE = 0o7777
"""A tmpfs mode may carry the sticky bit (``mode=1777``, as ``/tmp`` has)."""
MIN_JOB_TIMEOUT = 1.0
LONGEST_WAIT = 30 * 24 * 3600.0
"""30 days: the longest a deployment waits for one job to finish or one service to be healthy;
longer is a typo, not a plan."""
MIN_HEALTH_DURATION = 0.001
"""Docker's rule for a health check's interval, timeout and start times: 0 (its default) or
at least 1ms."""
MAX_COUNT = 2**31 - 1
"""The largest count every target's API holds (Cloud Run's probe threshold is an int32)."""
ULIMITS = frozenset(
    {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
     "rss", "rtprio", "rttime", "sigpending", "stack"}
)  # fmt: skip
"""The ulimits Docker sets (go-units ``ulimitNameMapping``; ECS names the same): any other
fails when the container starts."""
UNLIMITED = -1
"""Docker's unlimited, which Linux's setrlimit reads as RLIM_INFINITY."""
MAX_NOFILE = 1024 * 1024
"""Open files: Linux's default most (``fs.nr_open``, which refuses unlimited) and Fargate's."""
PORT_PROTOCOLS = ("tcp", "udp", "sctp")
"""What Docker publishes; anything else it refuses when the container is created."""
NAMESPACED_SYSCTLS = frozenset(
    {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
     "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}
)  # fmt: skip
NAMESPACED_SYSCTL_PREFIXES = ("net.", "fs.mqueue.")
"""The sysctls a container may set, as Docker checks them (docker/cli ``opts.ValidateSysctl``,
what ``docker run --sysctl`` on a gcp VM goes through; the engine's own check, runc's, takes
these too): those of the container's own IPC and network namespaces. Any other is the host's."""
_VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
"""Docker's rule for a volume name (moby ``names.RestrictedNamePattern``)."""
_SIZE = re.compile(r"(?i)^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$")
_TOO_LARGE = 2**63
"""Bytes no size holds: Compose prints a size past its int64 as ``-2**63``."""


def cpus(value: Any, field: str, fail: Fail) -> float | None:
    """CPUs from Docker's smallest share to more than any machine a target offers."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not MIN_CPUS <= number <= MAX_CPUS:
        raise fail(
            field,
            f"{value!r} is not a number of CPUs",
            f"use a number from {MIN_CPUS:g} to {MAX_CPUS}, e.g. cpus: 0.5",
        )
    return number


def size(value: Any, field: str, fail: Fail, *, memory: bool = False) -> int | None:
    """Bytes in a size as Compose prints it (bytes) or as written (``512M``); 0 is unset. A
    ``memory`` limit or reservation is at least Docker's smallest."""
    if value is None:
        return None
    text = str(value).strip()
    match = _SIZE.match(text)
    number = float(match[1]) * 1024 ** " kmgt".index(match[2].lower() or " ") if match else 0.0
    if number >= _TOO_LARGE or text == str(-_TOO_LARGE):
        raise fail(field, "the size is too large to hold (8 EiB or more)", "e.g. 512M or 2G")
    if not match:
        raise fail(field, f"{shown_value(value)} is not a memory size", "e.g. 512M or 2G")
    amount = int(number)
    if memory and 0 < amount < MIN_MEMORY:
        raise fail(
            field,
            f"{amount} bytes is less than Docker's smallest memory limit, 6M",
            "ask for 6M or more, e.g. 512M",
        )
    return amount


def file_mode(value: Any, field: str, fail: Fail, largest: int = MAX_FILE_MODE) -> int | None:
    """Permission bits: octal text as Compose prints them (``"0440"``, ``"0-1"`` for -1)."""
    if value is None:
        return None
    text = str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        mode: int | None = value
    else:
        mode = int(text, 8) if re.fullmatch(r"[0-7]{1,12}", text) else None
    if mode is not None and 0 <= mode <= largest:
        return mode
    hint = f"use an octal mode from 0 to 0{largest:o}, e.g. 0440"
    positive = mode is not None and mode > 0
    shown = f"0{mode:o}" if positive else "-" + text[2:] if text.startswith("0-") else text
    problem = f"mode {shown} (octal, as Compose reads it) is not a file mode"
    # ``mode: 777`` under secrets or configs is YAML's decimal 777 (a tmpfs option is octal text)
    if positive and field != "tmpfs" and re.fullmatch(r"[0-7]+", str(mode)):
        problem += (
            f": a mode written without a leading 0 is a decimal number, and {mode} is octal {shown}"
        )
        if (meant := int(str(mode), 8)) <= largest:
            hint = f"write 0{mode} for {stat.filemode(meant)[1:]}"
    raise fail(field, problem, hint)


def file_owner(ref: Mapping[str, Any], kind: str, fail: Fail) -> str | None:
    """What a user should know of a secret's or config's ``uid`` and ``gid``, Compose's strings
    of digits (any other refused): no target sets a placed file's owner."""
    written = {key: ref[key] for key in ("uid", "gid") if ref.get(key) is not None}
    for key, value in written.items():
        if not re.fullmatch(r"\d+", str(value)):
            raise fail(
                kind,
                f"{key} {shown_value(value)} is not a number: Compose takes a numeric id only",
                f'write the {"user" if key == "uid" else "group"} id, e.g. {key}: "1000"',
            )
    if not written:
        return None
    return (
        f"{' and '.join(written)} ignored: the file is placed owned by root; give it a mode "
        "the service's user can read, e.g. mode: 0444"
    )


def count(value: Any, field: str, fail: Fail) -> int | None:
    """A whole number of times (health check retries) no target's API overflows on."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise fail(field, f"{value!r} is not a count", f"use a whole number from 0 to {MAX_COUNT}")
    return value


def health_duration(value: Any, field: str, fail: Fail) -> float | None:
    """A health check's interval, timeout or start time, in seconds Docker accepts (Compose
    already refused what is no Go duration)."""
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as error:
        raise fail(field, str(error), DURATION_HINT) from None
    if 0 < seconds < MIN_HEALTH_DURATION:
        raise fail(
            field,
            f"{value} is shorter than 1ms, which Docker refuses",
            "use 0 for Docker's default, or 1ms or more, e.g. 10s",
        )
    return seconds


def job_timeout(value: Any, fail: Fail, written: Any = None) -> float:
    """``x-berth-timeout``: long enough for a job to start, short of a deployment forever.
    A message quotes ``written``, the value as the file spells it (Compose spells ``1e9``
    ``1e+09``), unless that is a variable the value was interpolated from."""
    if value is None:
        return DEFAULT_JOB_TIMEOUT
    field = "x-berth-timeout"
    if isinstance(written, str) and "$" in written:
        written = None
    shown = written_value(value if written is None else written)
    try:
        seconds = parse_duration(value, written=written)
    except ValueError as error:
        raise fail(field, str(error), DURATION_HINT) from None
    if seconds <= 0:
        raise fail(field, "the timeout must be longer than zero", "e.g. 30m")
    if seconds < MIN_JOB_TIMEOUT:
        raise fail(field, f"{shown} is less than a second: no job starts that fast", "e.g. 30s")
    if seconds > LONGEST_WAIT:
        most = format_duration(LONGEST_WAIT)
        raise fail(
            field,
            f"{shown} is longer than a deployment waits for a job, {most} (30 days)",
            f"use {most} or less, e.g. 2h",
        )
    return seconds


def port_range(spec: Any, fail: Fail) -> list[int]:
    """The ports of one ``expose`` entry: ``5432`` or ``8000-8010``, each 1 to 65535."""
    text = str(spec).split("/")[0]
    match = re.fullmatch(r"(\d{1,9})(?:-(\d{1,9}))?", text)
    if not match:
        raise fail(
            "expose",
            f"{shown_value(spec)} is not a port or port range",
            'e.g. "5432" or "8000-8010"',
        )
    low, high = int(match[1]), int(match[2] or match[1])
    if not 0 < low <= high < 65536:
        problem = (
            f"{spec!r} is an empty port range"  # it would drop the field without a word
            if high < low
            else f"{spec!r} is not within the ports 1 to 65535"
        )
        raise fail("expose", problem, 'use ports from 1 to 65535, lower first, e.g. "8000-8010"')
    return list(range(low, high + 1))


def ulimit(name: str, limit: Any, fail: Fail) -> tuple[int, int]:
    """(soft, hard) of one ulimit as Docker sets it: a name it knows, each limit 0 or more or
    -1 for unlimited (never for nofile), soft at most hard (unlimited above any number)."""
    example = "e.g. nofile: {soft: 1024, hard: 4096}"
    if name not in ULIMITS:
        raise fail(
            "ulimits",
            f"{shown_value(name)} is not a ulimit Docker sets",
            f"use one of {', '.join(sorted(ULIMITS))}",
        )
    if isinstance(limit, dict):
        soft, hard = limit.get("soft"), limit.get("hard")
    else:
        soft = hard = limit
    try:
        pair = int(soft), int(hard)
    except (TypeError, ValueError):
        raise fail("ulimits", f"{limit!r} is not a limit", example) from None
    if name == "nofile" and (bad := [v for v in pair if not 0 <= v <= MAX_NOFILE]):
        raise fail(
            "ulimits",
            f"nofile: {bad[0]} is not a number of open files Linux allows (0 to {MAX_NOFILE}; "
            "never unlimited)",
            f"use {MAX_NOFILE} or less, e.g. nofile: 65536",
        )
    if min(pair) < UNLIMITED:
        raise fail(
            "ulimits",
            f"{name}: {min(pair)} is not a limit",
            "use 0 or more, or -1 for unlimited",
        )
    if _unsigned(pair[0]) > _unsigned(pair[1]):
        soft_shown = "unlimited (-1)" if pair[0] == UNLIMITED else pair[0]
        raise fail(
            "ulimits",
            f"{name}: the soft limit {soft_shown} is above the hard limit {pair[1]}",
            "make soft at most hard, " + example,
        )
    return pair


def _unsigned(limit: int) -> float:
    """A limit as Linux compares them: -1 is unlimited, above every number."""
    return math.inf if limit == UNLIMITED else limit


def tmpfs_entry(entry: str, fail: Fail) -> str:
    """A ``tmpfs:`` entry, ``PATH[:OPTIONS]``, whose path and size and mode Docker takes."""
    path, _, options = entry.partition(":")
    if not path.startswith("/"):
        raise fail("tmpfs", f"{path!r} is not an absolute path", "e.g. /tmp or /run:size=64m")
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        if key == "size" and not re.fullmatch(r"\d{1,3}%", value):  # a share of memory
            size(value, "tmpfs", fail)
        elif key == "mode":
            file_mode(value, "tmpfs", fail, largest=MAX_TMPFS_MODE)
    return entry


def host_address(host: str, address: str, fail: Fail) -> tuple[str, str]:
    """An ``extra_hosts`` entry whose address Docker takes: an IP, or ``host-gateway``."""
    try:
        ipaddress.ip_address(address.removeprefix("[").removesuffix("]"))
    except ValueError:
        if address != "host-gateway":
            raise fail(
                "extra_hosts",
                f"{address!r} ({host}) is not an IP address",
                'give an IPv4 or IPv6 address, or host-gateway, e.g. "db.internal=10.0.0.5"',
            ) from None
    return host, address


def working_dir(value: Any, fail: Fail) -> str | None:
    """``working_dir``: Docker refuses a relative one when it creates the container."""
    if value is None:
        return None
    path = str(value)
    if not path.startswith("/"):
        raise fail(
            "working_dir",
            f"{shown_value(path)} is not an absolute path, which Docker needs",
            "start it with /, e.g. working_dir: /app",
        )
    return path


def sysctl(key: str, fail: Fail) -> str:
    """A ``sysctls`` key Docker sets in a container (``NAMESPACED_SYSCTLS``)."""

    def namespaced(name: str) -> bool:
        return name in NAMESPACED_SYSCTLS or name.startswith(NAMESPACED_SYSCTL_PREFIXES)

    if namespaced(key):
        return key
    hint = "set it on the host, or remove it"
    if key in ("kernel.hostname", "kernel.domainname"):
        hint = f"set {key.removeprefix('kernel.')}: instead"
    elif namespaced(dotted := key.replace("/", ".")):
        hint = f"write it with dots: {shown_value(dotted)}"
    raise fail(
        "sysctls",
        f"{shown_value(key)} is not a sysctl Docker lets a container set: only those of its own "
        "namespaces are (net.*, fs.mqueue.*, kernel.msgmax, kernel.msgmnb, kernel.msgmni, "
        "kernel.sem, kernel.shmall, kernel.shmmax, kernel.shmmni, kernel.shm_rmid_forced)",
        hint,
    )


def volume_name(name: str, fail: Fail) -> str:
    """An external volume's ``name``, which Docker looks up: one it could have created."""
    if not _VOLUME_NAME.fullmatch(name):
        raise fail(
            "volumes",
            f"the external volume name {shown_value(name)} is not one Docker allows: two "
            "characters or more, letters, digits, '_', '.' and '-', a letter or digit first",
            "use the name `docker volume ls` shows",
        )
    return name
