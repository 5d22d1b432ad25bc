"""Which Docker engine a job runs on: the one the docker provider creates the network on.

A job's container is run with the Docker SDK, in the dynamic provider's process, which sees
none of the docker provider's configuration: left to the environment, it ran on another
engine than its network whenever the provider was configured (``docker:host``, an ``ssh://``
host, TLS certificates, an explicit ``docker.Provider`` given to the Project). The program
reads the provider's settings once, where the provider has them, and hands them to each
``LocalJob`` as its input ``engine``: a setting outside the job's definition, so pointing a
stack at another engine runs no job. No Docker SDK here: a plan never loads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.runtime.config import is_config_secret

from berth.components.provider_config import provider_config

SETTINGS: Mapping[str, str] = {
    "host": "DOCKER_HOST",
    "context": "DOCKER_CONTEXT",
    "certPath": "DOCKER_CERT_PATH",
    "caMaterial": "DOCKER_CA_MATERIAL",
    "certMaterial": "DOCKER_CERT_MATERIAL",
    "keyMaterial": "DOCKER_KEY_MATERIAL",
    "sshOpts": "DOCKER_SSH_OPTS",
}
"""The docker provider's settings that say which engine it talks to, and how, each with the
environment variable it falls back to (terraform-provider-docker, ``internal/provider``)."""
MATERIALS = ("caMaterial", "certMaterial", "keyMaterial")
"""TLS certificates and the client's private key, given as PEM text: ``engine`` is then secret."""
TERRAFORM_CONFIG = "pulumi:providers:docker/terraformConfig"
"""The explicit provider's method that returns its settings, with terraform's key names."""


def engine_input(parent: pulumi.Resource) -> pulumi.Input[dict[str, Any]] | None:
    """The ``engine`` input of the jobs under ``parent``: the settings of the explicit docker
    provider the Project was given, else the ``docker:*`` stack settings; None when neither
    sets any (the runner then reads the environment, as the provider does)."""
    provider = parent.get_provider("docker::Provider")
    if provider is not None:
        config = provider_config(provider)
        return config.apply(lambda c: _marked(_engine(_terraform_reader(c))))
    stack = pulumi.Config("docker")
    engine = _engine(lambda key: stack.get_object(key) if key == "sshOpts" else stack.get(key))
    if not engine:
        return None
    if any(is_config_secret(f"docker:{key}") for key in engine):
        return pulumi.Output.secret(engine)
    return _marked(engine)


def _engine(read: Callable[[str], Any]) -> dict[str, Any]:
    """The settings that are set, in ``SETTINGS``' order (the same inputs every run)."""
    return {key: value for key in SETTINGS if (value := read(key)) not in (None, "", [])}


def _terraform_reader(config: Mapping[str, Any] | None) -> Callable[[str], Any]:
    """Reads ``terraform_config()``'s result (``cert_path``) by the stack config's key name
    (``certPath``)."""
    values = config or {}
    return lambda key: values.get(re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), key))


def _marked(engine: dict[str, Any]) -> pulumi.Input[dict[str, Any]]:
    """Secret when it carries certificate or key material."""
    return pulumi.Output.secret(engine) if any(k in engine for k in MATERIALS) else engine
