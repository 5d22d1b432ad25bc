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
from berth.model import Build, BuildSecret, Secret, SshKey
from berth.quantities import Fail

DEFAULT_DOCKERFILE = "Dockerfile"


class MissingBuildInput(BerthError):
    """A local build context or Dockerfile that is not there: in ``berth diff``'s base, the
    sign of files that are not a checkout of the deployed commit."""


def read_build(
    raw: Mapping[str, Any],
    shown: Callable[[str], str],
    fail: Fail,
    secret: Callable[[str], Secret],
) -> Build:
    """The build of ``raw`` (Compose's normalized ``build``), its local paths written as
    ``shown`` gives them (relative to the project folder); ``secret`` reads a top-level secret
    by name. A BerthError when it cannot build."""
    context = str(raw.get("context") or ".")
    dockerfile = str(raw.get("dockerfile") or DEFAULT_DOCKERFILE)
    remote = not os.path.isabs(context)  # Compose gives a local context as an absolute path
    if not remote:
        # An inline Dockerfile has no file to check.
        _check_local(context, None if "dockerfile_inline" in raw else dockerfile, shown, fail)
        context = shown(context)
    elif dockerfile != DEFAULT_DOCKERFILE and "dockerfile_inline" not in raw:
        raise fail(
            "build.dockerfile",
            f"the builder reads the Dockerfile {dockerfile!r} from this machine, not from the "
            f"remote context {context!r}",
            "name the remote context's Dockerfile in its address (#ref:folder), or give it "
            "as dockerfile_inline",
        )
    return Build(
        context=context,
        dockerfile=dockerfile,
        args=_strings(raw.get("args")),
        target=raw.get("target"),
        dockerfile_inline=raw.get("dockerfile_inline"),
        additional_contexts=_named_contexts(raw.get("additional_contexts") or {}, shown, fail),
        labels=_strings(raw.get("labels")),
        tags=tuple(map(str, raw.get("tags") or ())),
        platforms=tuple(map(str, raw.get("platforms") or ())),
        cache_from=tuple(map(str, raw.get("cache_from") or ())),
        cache_to=tuple(map(str, raw.get("cache_to") or ())),
        no_cache=bool(raw.get("no_cache")),
        pull=bool(raw.get("pull")),
        network=_network(raw.get("network"), fail),
        # Sorted where order means nothing to the builder: Compose prints some from Go maps,
        # in any order, and the same file must give the same resource inputs.
        extra_hosts=tuple(sorted(_host(entry) for entry in _entries(raw.get("extra_hosts")))),
        secrets=tuple(
            sorted(
                (
                    BuildSecret(str(ref.get("target") or ref["source"]), secret(ref["source"]))
                    for ref in raw.get("secrets") or ()
                ),
                key=lambda build_secret: build_secret.id,
            )
        ),
        ssh=tuple(
            sorted((_ssh_key(str(e), shown) for e in raw.get("ssh") or ()), key=lambda k: k.id)
        ),
        remote=remote,
    )


BUILD_NETWORKS = ("default", "none")
"""The networks a RUN step can have as Compose means them, in the builder Berth uses (a BuildKit
container): its own, or none. ``host`` there is the builder container's network, not the
machine's, and a compose network is not joined."""


def _network(network: str | None, fail: Fail) -> str | None:
    if network is None or network in BUILD_NETWORKS:
        return network
    raise fail(
        "build.network",
        f"the build cannot join the network {network!r}: the builder runs RUN steps in a "
        "BuildKit container, on its network (default) or none, never this machine's or a "
        "compose network",
        "remove build.network, or build the image yourself and give it as the service's image",
    )


def _strings(mapping: Mapping[str, Any] | None) -> dict[str, str]:
    """A map of build args or labels; Compose prints an unset arg as null: empty, as Docker."""
    return {str(k): "" if v is None else str(v) for k, v in (mapping or {}).items()}


def _entries(value: Any) -> list[str]:
    """``extra_hosts`` as a list of ``host=ip``, whichever form Compose printed."""
    if isinstance(value, Mapping):
        return [f"{host}={ip}" for host, ips in value.items() for ip in _listed(ips)]
    return [str(entry) for entry in value or ()]


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _host(entry: str) -> str:
    """``host=ip`` (Compose's form) as ``host:ip`` (the builder's); an IPv6 address keeps its
    colons, and loses the brackets Compose allows around it."""
    host, _, ip = entry.partition("=") if "=" in entry else entry.partition(":")
    return f"{host}:{ip.strip('[]')}"


def _ssh_key(entry: str, shown: Callable[[str], str]) -> SshKey:
    """``default``, ``id=path`` or Compose's printed ``id: path`` (made absolute by Compose):
    the path written as ``shown`` gives it, as a context is, so that the same project on
    another machine gives the same build inputs."""
    for separator in ("=", ": "):
        if separator in entry:
            key, _, path = entry.partition(separator)
            path = path.strip()
            return SshKey(key.strip(), (shown(path) if os.path.isabs(path) else path) or None)
    return SshKey(entry.strip())


def _named_contexts(
    named: Mapping[str, Any], shown: Callable[[str], str], fail: Fail
) -> dict[str, str]:
    """Each named context as the builder takes it; a local folder must be there, and another
    service's image (``service:<name>``) is refused: Berth builds each image on its own."""
    contexts = {}
    for name, written in named.items():
        location = str(written)
        if location.startswith("service:"):
            raise fail(
                "build.additional_contexts",
                f"the context {name!r} is the image of the service {location[8:]!r}, which "
                "Berth builds separately and cannot hand to this build",
                "name a folder, or that service's image as docker-image://<image>",
            )
        if os.path.isabs(location) and not os.path.isdir(location):
            raise _missing(
                fail,
                "build.additional_contexts",
                f"the context {name!r} ({shown(location)!r}) is not a folder",
                "create it, or correct the path (relative to the compose file)",
            )
        contexts[str(name)] = shown(location) if os.path.isabs(location) else location
    return contexts


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
