"""The parts of the app spec that come from the compose model alone: image references, run
commands, environment (database references rewritten to bindable variables), health checks.

Kept out of the Pulumi resources so every refusal is raised before anything is registered.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from operator import attrgetter
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_digitalocean as do
from docker.auth import resolve_repository_name
from docker.errors import InvalidRepository
from docker.utils import parse_repository_tag

from berth.components.values import text_input
from berth.errors import BerthError
from berth.model import ComposeProject, Healthcheck, Secret, Service, held_secrets, revealed
from berth.providers.digitalocean.deployed import SPEC_DIGEST
from berth.providers.digitalocean.layout import Component, Kind, Layout
from berth.providers.digitalocean.secrets import DIGESTS
from berth.sources import Sources

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
_HOST_KEY = re.compile(
    r"HOST(?:NAME)?S?(?:_|$)|(?:^|_)(?:SERVERS?|ADDR|ADDRESS|ENDPOINT|UR[LI]|DSN)(?:_|$)", re.I
)
"""A variable that means a host: ``DB_HOST``, ``PGHOST``, ``REDIS_HOSTNAME``, ``DB_SERVER``,
``CACHE_ADDR``, ``*_URL``."""
_PASSWORD_KEY = re.compile(r"PASSW(?:OR)?D|PWD|SECRET|(?:^|_)(?:PASS|PW|AUTH)(?:_|$)", re.I)
"""A variable that means a password: ``*PASSWORD*``, ``*_PASS``, ``*SECRET*``, ``REDIS_AUTH``."""
_USER_KEY = re.compile(r"(?:^|_|PG)(?:USER(?:_?NAME)?|LOGIN)$", re.I)
"""A variable that means a database user: ``DB_USER``, ``PGUSER``, ``*_USERNAME``, ``*_LOGIN``."""
_NAME_KEY = re.compile(r"(?:^|_|PG)(?:DB|DATABASE)(?:_?NAME)?$", re.I)
"""A variable that means a database's name: ``PGDATABASE``, ``POSTGRES_DB``, ``DB_NAME``,
``*_DATABASE``."""
_CREDENTIALS = (
    (_USER_KEY, "USERNAME", "user", attrgetter("user")),
    (_NAME_KEY, "DATABASE", "database name", attrgetter("database")),
)
"""Each name a database is reached by: the key that means it, its bindable variable, what it
is, and where a ``Database`` holds the compose file's."""


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


def pulled(service: Service, sources: Sources) -> Pulled:
    """Where App Platform pulls ``service.image`` from; a BerthError for other registries."""
    image = service.image or ""
    name, _, digest = image.partition("@")
    repository, tag = parse_repository_tag(name)
    try:
        registry, path = resolve_repository_name(repository)
    except InvalidRepository as error:
        raise BerthError(
            f"image {image!r} is not an image reference: {error}",
            file=sources.origin(service.name, "image"),
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
            file=sources.origin(service.name, "image"),
            service=service.name,
            field="image",
            hint="push the image to one of them, or give the service a build: to push it to "
            "the project's registry",
        )
    owner, rest = path.split("/", 1)
    return Pulled(
        "DOCKER_HUB" if registry == DOCKER_HUB else "GHCR", owner, rest, tag, digest or None
    )


def run_command(service: Service, sources: Sources) -> str | None:
    """Entrypoint and command as App Platform's one run command; the spec stores it in plain
    text, so a secret in it is refused."""
    parts = [*(service.entrypoint or ()), *(service.command or ())]
    for field, values in (("entrypoint", service.entrypoint), ("command", service.command)):
        if held := held_secrets(values or ()):
            raise BerthError(
                f"a secret ({held}) in {field}: App Platform keeps the run command in plain text",
                file=sources.origin(service.name, field),
                service=service.name,
                field=field,
                hint="read the secret from an environment variable instead",
            )
    return shlex.join(str(part) for part in parts) if parts else None


RESERVED_KEYS = frozenset({SPEC_DIGEST, DIGESTS})
"""Variables Berth adds to every component: what it deployed, and which secrets changed."""


def check_env_keys(service: Service, sources: Sources) -> None:
    """Environment keys App Platform takes: letters, digits and underscores, no digit first."""
    odd = sorted(key for key in service.environment if not ENV_KEY.fullmatch(key))
    if odd:
        raise BerthError(
            f"environment {', '.join(map(repr, odd))}: App Platform's variable names are "
            "letters, digits and underscores, not starting with a digit",
            file=sources.origin(service.name, "environment"),
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
            file=sources.origin(service.name, "environment"),
            service=service.name,
            field="environment",
            hint="rename the variable",
        )


def envs(
    service: Service, layout: Layout, warnings: list[str]
) -> list[dict[str, pulumi.Input[str]]]:
    """Run-time variables in key order: stack secrets as ``SECRET`` variables, references to
    a database as its bindable variables."""
    databases = [c for c in layout.components.values() if c.database is not None]
    raw = {key: revealed(value) for key, value in service.environment.items()}
    addressed = [c for c in databases if any(_address(k, v, c) for k, v in raw.items())]
    result = []
    for key in sorted(service.environment):
        reference = next((r for c in databases if (r := _address(key, raw[key], c))), None)
        if reference is None:
            reference = _credential(
                service.name, key, raw[key], databases, addressed, warnings=warnings
            )
        value = reference or service.environment[key]
        kind = "SECRET" if isinstance(value, Secret) else "GENERAL"
        result.append({"key": key, "value": text_input(value), "scope": "RUN_TIME", "type": kind})
    return result


def _address(key: str, raw: str, component: Component) -> str | None:
    """``postgres://u:p@db:5432/x`` -> ``${db.DATABASE_URL}``; ``db:5432`` ->
    ``${db.HOSTNAME}:${db.PORT}``; ``db`` in a host variable -> ``${db.HOSTNAME}``; the
    database's password in a password variable -> ``${db.PASSWORD}``; None for a value that
    does not point at ``component``'s database.

    App Platform's databases have their own host, port and credentials: the compose file's
    only work against the local container. A bare name or password is rewritten only where the
    key says what it is: ``postgres`` is as often a user or database name (``DB_USER``)."""
    database = component.database
    if database is None:
        return None
    service, name = component.service, component.name
    if raw == service and _HOST_KEY.search(key):
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
    if password and raw == revealed(password) and _PASSWORD_KEY.search(key):
        return f"${{{name}.PASSWORD}}"
    return None


def _credential(
    service: str,
    key: str,
    raw: str,
    databases: list[Component],
    addressed: list[Component],
    *,
    warnings: list[str],
) -> str | None:
    """The compose file's database user or name, in a variable that means one, ->
    ``${db.USERNAME}`` or ``${db.DATABASE}``: App Platform's user and database are its own (a
    dev database's, a cluster's ``doadmin``/``defaultdb`` or the ones Berth makes), so the
    compose file's log in to the local container only. Of several databases with that name,
    the one the service's other variables point at; else the value is kept, with a warning."""
    for pattern, variable, what, held in _CREDENTIALS:
        if not pattern.search(key):
            continue
        owners = [
            c for c in databases if (name := held(c.database)) is not None and revealed(name) == raw
        ]
        if len(owners) > 1:
            owners = [c for c in owners if c in addressed] or owners
        if len(owners) == 1:
            return f"${{{owners[0].name}.{variable}}}"
        if owners:
            warnings.append(
                f"service '{service}': {key} is the {what} of the databases "
                f"{', '.join(repr(c.service) for c in owners)}, and its other variables point "
                "at none or several of them: kept as written, which App Platform's databases "
                f"do not know; write $${{{owners[0].name}.{variable}}} (or another's) for the "
                "one it means"
            )
    return None


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


def check_project(project: ComposeProject, layout: Layout, sources: Sources) -> None:
    """Every refusal the spec can give, before anything is registered; ``sources`` say which
    file defined what."""
    for service in project.services.values():
        if layout.components[service.name].kind is Kind.DATABASE:
            continue
        run_command(service, sources)
        check_env_keys(service, sources)
        if not service.build:
            pulled(service, sources)
