"""A Docker SDK client of the engine the docker provider talks to (``berth.providers.local
.engine`` reads the provider's settings; this connects with them): a job's run and ``berth run``
use it, in processes that see none of the provider's configuration."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.tls import TLSConfig

from berth.components.run_once import JobFailed
from berth.providers.local.engine import SETTINGS
from berth.providers.local.runner import error_reason

DEFAULT_HOST = "unix:///var/run/docker.sock"


@contextlib.contextmanager
def engine_client(
    engine: Mapping[str, Any] | None, environ: Mapping[str, str] = os.environ
) -> Iterator[docker.DockerClient]:
    """A client of the engine the docker provider talks to, from the job's ``engine`` input
    (``berth.providers.local.engine``); certificate material lives in a private temporary folder
    while the client is used."""
    with tempfile.TemporaryDirectory(prefix="berth-engine-") as folder:
        arguments: dict[str, Any] = {}
        try:
            arguments = client_arguments(engine or {}, environ, Path(folder))
            client = docker.DockerClient(**arguments)
        except docker.errors.DockerException as error:  # unreachable, or a certificate missing
            where = arguments.get("base_url", "the docker provider's settings name")
            raise JobFailed(
                f"cannot reach the Docker engine at {where}: {error_reason(error)}"
            ) from None
        with contextlib.closing(client):
            yield client


def client_arguments(
    engine: Mapping[str, Any], environ: Mapping[str, str], folder: Path
) -> dict[str, Any]:
    """``DockerClient`` arguments that connect where the docker provider does: each setting
    from ``engine``, else from its environment variable; then, in the provider's order (its
    ``MakeClient``), certificate material, a certificate folder, an ``ssh://`` host, or the
    host as it is. Material files are written to ``folder``."""
    settings = _settings(engine, environ)
    host = _host(settings)
    cert, key, ca = settings["certMaterial"], settings["keyMaterial"], settings["caMaterial"]
    if cert or key:
        if not (cert and key):
            raise JobFailed("docker:certMaterial and docker:keyMaterial must be set together")
        if settings["certPath"]:
            raise JobFailed("docker:certPath must not be set with docker:certMaterial")
        files = {name: folder / f"{name}.pem" for name in ("cert", "key", "ca")}
        for name, text in (("cert", cert), ("key", key), ("ca", ca)):
            if text:
                files[name].write_text(str(text))
        # Without a CA the provider skips verifying the engine's certificate: so does this.
        tls = TLSConfig(
            client_cert=(str(files["cert"]), str(files["key"])),
            ca_cert=str(files["ca"]) if ca else None,
            verify=bool(ca),
        )
        return {"base_url": host, "tls": tls}
    if path := settings["certPath"]:
        certs = Path(str(path)).expanduser()
        tls = TLSConfig(
            client_cert=(str(certs / "cert.pem"), str(certs / "key.pem")),
            ca_cert=str(certs / "ca.pem"),
            verify=True,
        )
        return {"base_url": host, "tls": tls}
    if str(host).startswith("ssh://"):
        if settings["sshOpts"]:
            raise JobFailed(
                "docker:sshOpts cannot reach the job runner (the Docker SDK runs plain `ssh`): "
                f"put those options in ~/.ssh/config for {host} and unset docker:sshOpts"
            )
        return {"base_url": host, "use_ssh_client": True}
    return {"base_url": host}


def engine_host(engine: Mapping[str, Any] | None, environ: Mapping[str, str] = os.environ) -> str:
    """The engine's address as the client connects to it (``unix:///var/run/docker.sock``,
    ``ssh://user@box``, ``tcp://10.0.0.9:2376``): where messages say the engine is, and whether
    it is this machine's."""
    return _host(_settings(engine or {}, environ))


def _settings(engine: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Each setting from ``engine``, else from its environment variable."""
    return {key: engine.get(key) or environ.get(variable) for key, variable in SETTINGS.items()}


def _host(settings: Mapping[str, Any]) -> str:
    if settings["context"]:
        return _context_host(settings["context"])
    return str(settings["host"] or DEFAULT_HOST)


def _context_host(name: str) -> str:
    """The host of the Docker context ``name``, found as the provider finds it (its
    ``getContextHost``): the ``meta.json`` under ``~/.docker/contexts/meta`` that bears the name.
    (The SDK's ``ContextAPI`` looks beside a config file that may not exist.)"""
    for meta in sorted((Path.home() / ".docker" / "contexts" / "meta").glob("*/meta.json")):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            context = json.loads(meta.read_text())
            if context.get("Name") == name and (host := context["Endpoints"]["docker"]["Host"]):
                return str(host)
    raise JobFailed(f"Docker context {name!r} not found in ~/.docker/contexts (docker:context)")
