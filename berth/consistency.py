"""Docker Compose's consistency pass, redone on its normalized output.

Berth loads with ``config --no-consistency`` because Compose's pass refuses what Berth handles
better (an optional or profiled-out dependency, which ``validate`` words clearly). Every other
check of that pass (compose-go's ``checkConsistency``, plus the healthcheck and container-name
checks of Compose v2.40) is made here, so that nothing Compose refuses deploys. Dependencies,
named volumes, secrets and configs are checked where they are read (``validate``,
``normalize``). ``tests/test_consistency.py`` runs Compose's own pass on the same files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from berth.errors import BerthError
from berth.sources import Sources

HEALTHCHECK_KINDS = ("CMD", "CMD-SHELL", "NONE")
_DISTINCT = (
    ("scale", ("deploy", "replicas")),
    ("cpus", ("deploy", "resources", "limits", "cpus")),
    ("mem_limit", ("deploy", "resources", "limits", "memory")),
    ("mem_reservation", ("deploy", "resources", "reservations", "memory")),
    ("pids_limit", ("deploy", "resources", "limits", "pids")),
)
"""A short field and its ``deploy`` twin: both may be set only to the same value."""

Fail = Callable[[str, str, str], BerthError]


def check_consistency(data: Mapping[str, Any], sources: Sources) -> None:
    """Refuse what Compose's consistency pass refuses, naming service and field."""
    networks = data.get("networks") or {}
    secrets = data.get("secrets") or {}
    container_names: dict[str, str] = {}
    for name, raw in (data.get("services") or {}).items():

        def fail(field: str, problem: str, hint: str, name: str = str(name)) -> BerthError:
            return BerthError(
                problem, file=sources.origin(name, field), service=name, field=field, hint=hint
            )

        _check_service(raw, networks, secrets, fail)
        container = raw.get("container_name")
        if container and (other := container_names.setdefault(str(container), name)) != name:
            raise fail(
                "container_name",
                f"container name {container!r} is already used by service {other!r}",
                "container names are unique on an engine: rename one, or remove it",
            )


def _check_service(
    raw: Mapping[str, Any], networks: Mapping[str, Any], secrets: Mapping[str, Any], fail: Fail
) -> None:
    for network in raw.get("networks") or {}:
        if network not in networks:
            raise fail(
                "networks",
                f"network {network!r} is not defined in the project",
                "declare it under the top-level networks: (of the file that is loaded, "
                "not only of a file it extends), or remove it from the service",
            )
    if raw.get("network_mode") and raw.get("networks"):
        raise fail(
            "network_mode",
            "network_mode and networks cannot both be set",
            "keep one of them",
        )
    test = (raw.get("healthcheck") or {}).get("test")
    if isinstance(test, list) and test and test[0] not in HEALTHCHECK_KINDS:
        raise fail(
            "healthcheck.test",
            f"the test starts with {test[0]!r}, not with CMD, CMD-SHELL or NONE",
            'write ["CMD", "curl", "-f", "http://localhost"], ["CMD-SHELL", "curl -f '
            'http://localhost"] or the command as one string',
        )
    _check_build(raw, secrets, fail)
    for short, path in _DISTINCT:
        twin = _get(raw, path)
        if raw.get(short) is not None and twin is not None and not _same(raw[short], twin):
            raise fail(
                short,
                f"{short} is {raw[short]} but {'.'.join(path)} is {twin}",
                "set only one of them, or both to the same value",
            )
    replicas = _get(raw, ("deploy", "replicas"))
    scale = raw.get("scale") if raw.get("scale") is not None else replicas
    if raw.get("container_name") and isinstance(scale, int) and scale > 1:
        raise fail(
            "container_name",
            f"a container name is unique, but the service runs {scale} replicas",
            "remove container_name, or run one replica",
        )
    for watch in _get(raw, ("develop", "watch")) or ():
        if watch.get("action") != "rebuild" and not watch.get("target"):
            raise fail(
                "develop.watch",
                f"the {watch.get('action')} of {watch.get('path')} has no target",
                "give it a target path in the container",
            )


def _check_build(raw: Mapping[str, Any], secrets: Mapping[str, Any], fail: Fail) -> None:
    build = raw.get("build")
    if not isinstance(build, dict):
        return
    if build.get("dockerfile") and build.get("dockerfile_inline"):
        raise fail(
            "build",
            "dockerfile and dockerfile_inline cannot both be set",
            "keep one of them",
        )
    platforms = build.get("platforms") or ()
    if platforms and raw.get("platform") and raw["platform"] not in platforms:
        raise fail(
            "platform",
            f"platform {raw['platform']} is not one of build.platforms",
            "add it to build.platforms, or change platform",
        )
    for secret in build.get("secrets") or ():
        if secret.get("source") not in secrets:
            raise fail(
                "build",
                f"build secret {secret.get('source')!r} is not defined",
                "define it under the top-level secrets: section",
            )


def _get(raw: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = raw
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _same(one: Any, other: Any) -> bool:
    """Compose prints some numbers as strings (sizes in bytes), others as numbers."""
    try:
        return float(one) == float(other)
    except (TypeError, ValueError):
        return str(one) == str(other)
