"""The parts of the app spec that come from the compose model alone: image references, run
commands, environment (database references rewritten to bindable variables), health checks.

Kept out of the Pulumi resources so every refusal is raised before anything is registered.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_digitalocean as do
from docker.auth import resolve_repository_name
from docker.errors import InvalidRepository
from docker.utils import parse_repository_tag

from berth.errors import BerthError
from berth.model import ComposeProject, Healthcheck, Secret, Service, Text
from components.values import text_input
from providers.digitalocean.deployed import SPEC_DIGEST
from providers.digitalocean.layout import Component, Kind, Layout
from providers.digitalocean.secrets import DIGESTS

DOCKER_HUB = "docker.io"
GHCR = "ghcr.io"
_HTTP_CHECK = re.compile(
    r"\b(?:curl|wget)\b[^|;&]*?(?:https?://)?(?:localhost|127\.0\.0\.1|0\.0\.0\.0)"
    r"(?::\d+)?(?P<path>/[^\s'\"|;&)]*)?(?:[\s'\"|;&)]|$)"
)
"""A health check that fetches a URL of the container itself, with curl or wget."""
ENV_KEY = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")
"""An App Platform variable's name (DigitalOcean API, app_variable_definition.yml: ``key``,
``pattern: ^[_A-Za-z][_A-Za-z0-9]*$``): a spec with any other is refused whole."""


@dataclass(frozen=True)
class Pulled:
    """An ``image:`` App Platform pulls itself: from Docker Hub or GHCR."""

    registry_type: str
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    def args(self) -> dict[str, Any]:
        return {
            "registry_type": self.registry_type,
            "registry": self.registry,
            "repository": self.repository,
            **({"digest": self.digest} if self.digest else {"tag": self.tag or "latest"}),
        }


def pulled(service: Service, file: str) -> Pulled:
    """Where App Platform pulls ``service.image`` from; a BerthError for other registries."""
    image = service.image or ""
    name, _, digest = image.partition("@")
    repository, tag = parse_repository_tag(name)
    try:
        registry, path = resolve_repository_name(repository)
    except InvalidRepository as error:
        raise BerthError(
            f"image {image!r} is not an image reference: {error}",
            file=file,
            service=service.name,
            field="image",
            hint="e.g. image: nginx:1.27",
        ) from None
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if registry not in (DOCKER_HUB, GHCR) or "/" not in path:
        raise BerthError(
            f"App Platform pulls images from Docker Hub, GHCR and DigitalOcean Container "
            f"Registry only, not {registry}",
            file=file,
            service=service.name,
            field="image",
            hint="push the image to one of them, or give the service a build: to push it to "
            "the project's registry",
        )
    owner, rest = path.split("/", 1)
    return Pulled(
        "DOCKER_HUB" if registry == DOCKER_HUB else "GHCR", owner, rest, tag, digest or None
    )


def run_command(service: Service, file: str) -> str | None:
    """Entrypoint and command as App Platform's one run command; the spec stores it in plain
    text, so a secret in it is refused."""
    parts = [*(service.entrypoint or ()), *(service.command or ())]
    for field, values in (("entrypoint", service.entrypoint), ("command", service.command)):
        if any(isinstance(value, Secret) for value in values or ()):
            raise BerthError(
                f"a stack secret in {field}: App Platform keeps the run command in plain text",
                file=file,
                service=service.name,
                field=field,
                hint="read the secret from an environment variable instead",
            )
    return shlex.join(str(part) for part in parts) if parts else None


RESERVED_KEYS = frozenset({SPEC_DIGEST, DIGESTS})
"""Variables Berth adds to every component: what it deployed, and which secrets changed."""


def check_env_keys(service: Service, file: str) -> None:
    """Environment keys App Platform takes: letters, digits and underscores, no digit first."""
    odd = sorted(key for key in service.environment if not ENV_KEY.fullmatch(key))
    if odd:
        raise BerthError(
            f"environment {', '.join(map(repr, odd))}: App Platform's variable names are "
            "letters, digits and underscores, not starting with a digit",
            file=file,
            service=service.name,
            field="environment",
            hint="rename the variable; many images read a setting under another name too "
            "(Elasticsearch's discovery.type as ES_SETTING_DISCOVERY_TYPE)",
        )
    reserved = sorted(key for key in service.environment if key in RESERVED_KEYS)
    if reserved:
        raise BerthError(
            f"environment {', '.join(map(repr, reserved))}: Berth sets this variable itself on "
            "digitalocean (what it deployed, and which secrets changed)",
            file=file,
            service=service.name,
            field="environment",
            hint="rename the variable",
        )


def envs(service: Service, layout: Layout) -> list[dict[str, pulumi.Input[str]]]:
    """Run-time variables in key order: stack secrets as ``SECRET`` variables, references to
    a database as its bindable variables."""
    result = []
    for key in sorted(service.environment):
        value = _database_reference(service.environment[key], layout)
        kind = "SECRET" if isinstance(value, Secret) else "GENERAL"
        result.append({"key": key, "value": text_input(value), "scope": "RUN_TIME", "type": kind})
    return result


def _database_reference(value: Text, layout: Layout) -> Text:
    """``postgres://u:p@db:5432/x`` -> ``${db.DATABASE_URL}``; ``db`` -> ``${db.HOSTNAME}``;
    ``db:5432`` -> ``${db.HOSTNAME}:${db.PORT}``; the database's password -> ``${db.PASSWORD}``.

    App Platform's databases have their own host, port and credentials: the compose file's
    only work against the local container."""
    raw = value.value if isinstance(value, Secret) else value
    for component in layout.components.values():
        database = component.database
        if database is None:
            continue
        service, name = component.service, component.name
        if raw == service:
            return f"${{{name}.HOSTNAME}}"
        if raw == f"{service}:{database.port}":
            return f"${{{name}.HOSTNAME}}:${{{name}.PORT}}"
        try:
            host = urlsplit(raw).hostname if "://" in raw else None
        except ValueError:
            host = None
        if host == service.lower():
            return f"${{{name}.DATABASE_URL}}"
        password = database.password
        if password and raw == (password.value if isinstance(password, Secret) else password):
            return f"${{{name}.PASSWORD}}"
    return value


def health_check(
    service: Service, component: Component, warnings: list[str]
) -> dict[str, Any] | None:
    """A curl/wget of localhost: an HTTP check of its path; any other check a TCP check of
    the service's port (App Platform runs no commands); none: App Platform's default, or a TCP
    check of the first internal port of a service with no HTTP port."""
    check = service.healthcheck
    port = component.http_port or next(iter(component.internal_ports), None)
    if check is None or check.test[:1] == ("NONE",):
        # Without an HTTP port App Platform checks its default one, 8080: a service that
        # listens only on other ports is checked on the first of them instead.
        return {"port": port} if port is not None and component.http_port is None else None
    path = _http_path(check)
    if port is None:
        warnings.append(
            f"service '{service.name}': healthcheck is ignored: App Platform checks workers "
            "only over HTTP"
        )
        return None
    if path is None:
        warnings.append(
            f"service '{service.name}': healthcheck runs a command, which App Platform cannot; "
            f"a TCP check of port {port} instead"
        )
    timing = {
        "period_seconds": _clamp(check.interval or 10, 1, 300),
        "timeout_seconds": _clamp(check.timeout or 1, 1, 120),
        "failure_threshold": _clamp(check.retries if check.retries is not None else 3, 1, 50),
        "initial_delay_seconds": _clamp(check.start_period or 0, 0, 3600),
    }
    return {"port": port, **({"http_path": path} if path else {}), **timing}


def _http_path(check: Healthcheck) -> str | None:
    if any(isinstance(part, Secret) for part in check.test):
        return None
    match = _HTTP_CHECK.search(" ".join(str(part) for part in check.test[1:]))
    return (match["path"] or "/") if match else None


def _clamp(value: float, low: int, high: int) -> int:
    return int(min(max(round(value), low), high))


def ingress(layout: Layout) -> do.AppSpecIngressArgs | None:
    """The app's one URL: the first public service at ``/``, the next ones at ``/<name>``."""
    rules = [
        do.AppSpecIngressRuleArgs(
            component=do.AppSpecIngressRuleComponentArgs(name=component.name),
            match=do.AppSpecIngressRuleMatchArgs(
                path=do.AppSpecIngressRuleMatchPathArgs(prefix=prefix)
            ),
        )
        for component, prefix in routes(layout).items()
    ]
    return do.AppSpecIngressArgs(rules=rules) if rules else None


def routes(layout: Layout) -> dict[Component, str]:
    public = [c for c in layout.components.values() if c.kind is Kind.SERVICE and c.http_port]
    return {c: "/" if index == 0 else f"/{c.name}" for index, c in enumerate(public)}


def check_project(project: ComposeProject, layout: Layout) -> None:
    """Every refusal the spec can give, before anything is registered."""
    file = project.files[0]
    for service in project.services.values():
        if layout.components[service.name].kind is Kind.DATABASE:
            continue
        run_command(service, file)
        check_env_keys(service, file)
        if not service.build:
            pulled(service, file)
