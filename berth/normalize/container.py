"""A service's container settings: capabilities, DNS, limits, logging and the like."""

from __future__ import annotations

from typing import Any

from berth.durations import parse_duration
from berth.model import ContainerSettings
from berth.quantities import Fail, host_address, size, sysctl, tmpfs_entry, ulimit


def container(raw: dict[str, Any], fail: Fail) -> ContainerSettings:
    logging = raw.get("logging") or {}
    grace = raw.get("stop_grace_period")
    try:
        stop_grace_period = parse_duration(grace) if grace is not None else None
    except ValueError as error:
        raise fail("stop_grace_period", str(error), "e.g. 30s") from None
    return ContainerSettings(
        cap_add=strings(raw.get("cap_add")),
        cap_drop=strings(raw.get("cap_drop")),
        privileged=bool(raw.get("privileged")),
        read_only=bool(raw.get("read_only")),
        init=raw.get("init"),
        tty=bool(raw.get("tty")),
        stdin_open=bool(raw.get("stdin_open")),
        extra_hosts=dict(host_entry(str(entry), fail) for entry in raw.get("extra_hosts") or ()),
        dns=strings(raw.get("dns")),
        dns_search=strings(raw.get("dns_search")),
        dns_opt=strings(raw.get("dns_opt")),
        domainname=raw.get("domainname"),
        tmpfs=tuple(tmpfs_entry(entry, fail) for entry in strings(raw.get("tmpfs"))),
        shm_size=size(raw.get("shm_size"), "shm_size", fail),
        stop_signal=raw.get("stop_signal"),
        stop_grace_period=stop_grace_period,
        sysctls={sysctl(str(k), fail): str(v) for k, v in (raw.get("sysctls") or {}).items()},
        ulimits={
            str(name): ulimit(str(name), limit, fail)
            for name, limit in (raw.get("ulimits") or {}).items()
        },
        security_opt=strings(raw.get("security_opt")),
        group_add=strings(raw.get("group_add")),
        runtime=raw.get("runtime"),
        log_driver=logging.get("driver"),
        log_options={str(k): str(v) for k, v in (logging.get("options") or {}).items()},
    )


def strings(value: Any) -> tuple[str, ...]:
    """A string or a list of them, as a tuple of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def host_entry(entry: str, fail: Fail) -> tuple[str, str]:
    """``host=ip`` as Compose prints it (``host:ip`` as users may write it)."""
    host, sep, address = entry.partition("=")
    if not sep:
        host, sep, address = entry.partition(":")
    if not sep or not host or not address:
        raise fail("extra_hosts", f"{entry!r} is not HOST=IP", 'e.g. "db.internal=10.0.0.5"')
    return host_address(host, address, fail)
