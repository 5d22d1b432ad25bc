"""Managed data stores: compose services that a cloud target runs as its managed database or
cache rather than as a container.

The ecosystem Berth comes from marks them with an extension: ``x-defang-postgres: true`` (or
``{allow-downtime: true}``) and ``x-defang-redis: true``. The engine's version comes from the
image tag (``postgres:16``, ``pgvector/pgvector:pg16``, ``redis:7``, ``valkey/valkey:8``); the
database, user and password from the environment the official images read. The local target
keeps the container; each cloud target says what its managed store is. A password written in
the compose file (a development file's) is made a secret for the clouds, with a warning.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from berth.errors import BerthError, written_value
from berth.model import ComposeProject, Port, Secret, Service, Text, revealed
from berth.sources import Sources
from berth.terms import Hint, how_to_set_in_both

EXTENSIONS = {"x-defang-postgres": "postgres", "x-defang-redis": "redis"}
"""The extension that marks a managed store, and the kind it asks for."""


class StoreKind(StrEnum):
    POSTGRES = "postgres"
    REDIS = "redis"


PORTS = {StoreKind.POSTGRES: 5432, StoreKind.REDIS: 6379}
PASSWORDS = {StoreKind.POSTGRES: "POSTGRES_PASSWORD", StoreKind.REDIS: "REDIS_PASSWORD"}
"""The variable each kind of store reads its password from."""
NAMES = ("POSTGRES_USER", "POSTGRES_DB")
"""A postgres store's user and database: names, even when one is also the password (a
development file's ``postgres``/``postgres``), so never made secret for holding it."""
OPTIONS = ("allow-downtime",)
"""What the extension's mapping may say."""
MANAGED_NOTE = "a password written in the file kept secret, ports not published (warnings)"
"""What every cloud target does alike with a managed store, for docs/compatibility.md."""
IMAGES: dict[str, tuple[StoreKind, str]] = {
    "postgres": (StoreKind.POSTGRES, "postgres"),
    "pgvector/pgvector": (StoreKind.POSTGRES, "postgres"),
    "postgis/postgis": (StoreKind.POSTGRES, "postgres"),
    "bitnami/postgresql": (StoreKind.POSTGRES, "postgres"),
    "timescale/timescaledb": (StoreKind.POSTGRES, "postgres"),
    "redis": (StoreKind.REDIS, "redis"),
    "bitnami/redis": (StoreKind.REDIS, "redis"),
    "redis/redis-stack-server": (StoreKind.REDIS, "redis"),
    "valkey/valkey": (StoreKind.REDIS, "valkey"),
    "bitnami/valkey": (StoreKind.REDIS, "valkey"),
}
"""Images compatible with each kind of store (Docker Hub names, ``library/`` left out), and the
engine each one is."""
_MAJOR = re.compile(r"(?:pg)?(\d+)(?:[.\-_].*)?")


@dataclass(frozen=True)
class ImageStore:
    """What a container image says about a store: its kind, engine and major version."""

    kind: StoreKind
    engine: str
    """``postgres``, ``redis`` or ``valkey``."""
    version: str | None
    """The major version of the tag (``16`` for ``postgres:16.3-alpine``), None for ``latest``
    or no tag: the target's default."""


@dataclass(frozen=True)
class ManagedStore:
    """A compose service a cloud target runs as its managed database or cache."""

    service: str
    kind: StoreKind
    engine: str
    version: str | None
    allow_downtime: bool
    """Changes may apply at once (restarting the store); otherwise in the maintenance window."""
    port: int
    database: Text | None
    """Postgres: ``POSTGRES_DB``, else ``POSTGRES_USER``, else ``postgres`` (the image's rule);
    a ``Secret`` when it comes from a stack secret."""
    user: Text | None
    """Postgres: ``POSTGRES_USER``, else ``postgres``."""
    password: Text | None
    """``POSTGRES_PASSWORD`` or ``REDIS_PASSWORD`` as the environment holds it (a ``Secret``
    when it comes from a stack secret), None when unset."""


def image_store(image: str | None) -> ImageStore | None:
    """The store an image is (``postgres:16`` is postgres 16), or None for any other image."""
    if not image:
        return None
    # Only for a managed store: the Docker SDK takes 0.1 s to import, every other plan skips it.
    from docker.utils import parse_repository_tag  # noqa: PLC0415

    repository, tag = parse_repository_tag(image)
    for prefix in ("docker.io/", "index.docker.io/", "library/"):
        repository = repository.removeprefix(prefix)
    if repository not in IMAGES:
        return None
    kind, engine = IMAGES[repository]
    major = _MAJOR.fullmatch(tag or "")
    return ImageStore(kind, engine, major[1] if major else None)


def managed_stores(project: ComposeProject) -> dict[str, ManagedStore]:
    """The project's managed stores, by service name; a BerthError for a marking that cannot
    be one (a job, both kinds at once, a value that is not true, false or a mapping)."""
    stores = {}
    for service in project.services.values():
        if store := _managed_store(service, project.files[0]):
            if hooks := project.hooks_of(service.name):
                raise BerthError(
                    f"a managed {store.kind} runs no container, so its pre_start hooks have "
                    "nothing to run before",
                    file=project.files[0],
                    service=service.name,
                    field="pre_start",
                    hint=f'move {hooks[0].name}\'s work into a service with restart: "no" '
                    f"that depends on {service.name}",
                )
            stores[service.name] = store
    return stores


def check_markings(project: ComposeProject, sources: Sources) -> None:
    """Each service's store markings read as every target reads them: true, false or a mapping
    of known options. Local runs the container as written, but the file it accepts must be the
    one a cloud accepts; what a marking asks of the service is each cloud's to check."""
    for service in project.services.values():
        for key in EXTENSIONS:
            file = sources.origin(service.name, key)
            if (options := _options(service, key, file)) and "allow-downtime" in options:
                _flag(options["allow-downtime"], service, f"{key}.allow-downtime", file)


def store_warnings(project: ComposeProject) -> list[str]:
    """What a user should know about the managed stores: an image the marking does not fit,
    a build that a managed store ignores."""
    warnings = []
    for name, store in managed_stores(project).items():
        service = project.services[name]
        found = image_store(service.image)
        if service.mounts:
            warnings.append(
                f"service '{name}': its volumes are not used: the managed {store.kind} keeps "
                "its own storage"
            )
        if service.build:
            warnings.append(
                f"service '{name}': build is ignored: a managed {store.kind} runs no image"
            )
        elif found is None or found.kind is not store.kind:
            warnings.append(
                f"service '{name}': image {service.image or '(none)'} is not {store.kind}-"
                f"compatible; the managed {store.kind} runs the provider's default version"
            )
        warnings += unpublished_ports(service, store.kind) + commands_not_run(service, store.kind)
    return warnings


@dataclass(frozen=True)
class WrittenPasswords:
    """A project whose managed stores' passwords are kept secret, also where the compose file
    writes them in plain text."""

    project: ComposeProject
    """Each written password, and every value that holds it, a ``Secret``."""
    secrets: dict[str, str]
    """The written passwords by key (``db.POSTGRES_PASSWORD``: no stack config key has a dot),
    to hide them wherever stack secrets are hidden (job logs, health check commands)."""
    warnings: list[str]


def seal_written_passwords(project: ComposeProject) -> WrittenPasswords:
    """The project as a cloud target deploys it: a store's password written in plain text (a
    development file's ``POSTGRES_PASSWORD: password``) is a secret, in the store and in every
    environment value, command, health check or file that holds it, with a warning saying how
    to make it a stack secret."""
    written: dict[str, str] = {}
    warnings = []
    stores = managed_stores(project)
    for name, store in stores.items():
        if isinstance(store.password, str):
            variable = PASSWORDS[store.kind]
            written[f"{name}.{variable}"] = store.password
            warnings.append(
                f"service '{name}': {variable} is in plain text (written in the compose files "
                "or .env, or a config value set without --secret); Berth keeps it and every "
                "value that holds it secret, but it belongs in a stack secret: "
                f"{how_to_set_in_both(variable, '<password>', secret=True)}, then "
                f"{variable}: ${{{variable}}} in the compose file"
            )
    if not written:
        return WrittenPasswords(project, {}, [])
    services = {}
    for name, service in project.services.items():
        sealed = service.with_texts(lambda text: _sealed(text, written))
        if name in stores:  # a store's names stay names: the cloud makes them, in plain text
            names = {key: service.environment[key] for key in NAMES if key in service.environment}
            sealed = dataclasses.replace(sealed, environment={**sealed.environment, **names})
        services[name] = sealed
    triggered = {
        name: job.with_texts(lambda text: _sealed(text, written))
        for name, job in project.triggered.items()
    }
    sealed_project = dataclasses.replace(project, services=services, triggered=triggered)
    return WrittenPasswords(sealed_project, written, warnings)


def _sealed(text: Text, passwords: Mapping[str, str]) -> Text:
    """``text`` as a ``Secret`` when it holds any of ``passwords``, which its keys then name."""
    value = revealed(text)
    found = {key for key, password in passwords.items() if password in value}
    if not found:
        return text
    return Secret(value, tuple(sorted(found.union(text.keys if isinstance(text, Secret) else ()))))


def unpublished_ports(service: Service, kind: StoreKind) -> list[str]:
    """A warning for the ``ports`` of a service a cloud runs as its managed store: they are
    dropped, and a user who published one to reach the store from their machine must know."""
    if not service.ports:
        return []
    written = ", ".join(_port(port) for port in service.ports)
    return [
        f"service '{service.name}': ports {written} are not published: a managed {kind} is "
        f"private to the project, reached by its services and jobs as "
        f"{service.name}:{PORTS[kind]}; to query it, run a job of the project (e.g. a "
        f"{'psql' if kind is StoreKind.POSTGRES else 'redis-cli'} command), or use the local "
        "target, where the container publishes them"
    ]


def commands_not_run(service: Service, kind: StoreKind) -> list[str]:
    """A warning for the command or entrypoint of a service a cloud runs as its managed store:
    no container runs them, so a password one sets (``--requirepass``) is not the store's."""
    written = [field for field in ("command", "entrypoint") if getattr(service, field)]
    if not written:
        return []
    warning = (
        f"service '{service.name}': {' and '.join(written)} "
        f"{'is' if len(written) == 1 else 'are'} not run: a managed {kind} runs no container"
    )
    run = (*(service.command or ()), *(service.entrypoint or ()))
    if any("--requirepass" in revealed(t) for t in run):
        password = PASSWORDS[kind]
        warning += (
            ", so its --requirepass sets no password: Berth reads the store's password from "
            + password
            + ("" if password in service.environment else "; set it to the one the services use")
        )
    return [warning]


def _port(port: Port) -> str:
    return f"{port.published}:{port.target}" if port.published is not None else str(port.target)


def _managed_store(service: Service, file: str) -> ManagedStore | None:
    marked = {
        kind: options
        for key, kind in EXTENSIONS.items()
        if (options := _options(service, key, file)) is not None
    }
    if not marked:
        return None
    if len(marked) > 1:
        raise BerthError(
            "a service is one managed store: it cannot be both x-defang-postgres and "
            "x-defang-redis",
            file=file,
            service=service.name,
            field="x-defang-postgres",
            hint="split it into two services, one per store",
        )
    (kind_name, options), *_ = marked.items()
    kind = StoreKind(kind_name)
    extension = next(key for key, value in EXTENSIONS.items() if value == kind_name)
    if service.job:
        raise BerthError(
            f"a one-off job cannot be a managed {kind}",
            file=file,
            service=service.name,
            field=extension,
            hint=f'remove {extension}, or remove restart: "no"',
        )
    found = image_store(service.image)
    same = found if found and found.kind is kind else None
    environment = service.environment
    if kind is StoreKind.POSTGRES:
        user: Text | None = environment.get("POSTGRES_USER") or "postgres"
        database = environment.get("POSTGRES_DB") or user
    else:
        user = database = None
    password = environment.get(PASSWORDS[kind])
    downtime = options.get("allow-downtime", False)
    return ManagedStore(
        service=service.name,
        kind=kind,
        engine=same.engine if same else kind.value,
        version=same.version if same else None,
        allow_downtime=_flag(downtime, service, f"{extension}.allow-downtime", file),
        port=PORTS[kind],
        database=database,
        user=user,
        password=password or None,
    )


def _options(service: Service, key: str, file: str) -> dict[str, Any] | None:
    """The extension's options: None when absent or false, {} when true."""
    value = service.extensions.get(key)
    if isinstance(value, dict) and all(k in OPTIONS for k in value):
        return value
    if value is None or _boolean(value) is False:
        return None
    if _boolean(value):
        return {}
    raise BerthError(
        f"{key} must be true, false or a mapping such as {{allow-downtime: true}}, got "
        + written_value(value),
        file=file,
        service=service.name,
        field=key,
        hint=f"e.g. {key}: true",
    )


def _flag(value: object, service: Service, field: str, file: str) -> bool:
    """A yes-or-no option, read strictly: a string such as "false" is not true."""
    found = _boolean(value)
    if found is None:
        raise BerthError(
            f"must be true or false, got {written_value(value)}",
            file=file,
            service=service.name,
            field=field,
            hint=f'write {field.rpartition(".")[2]}: true or false (or "true"/"false")',
        )
    return found


def _boolean(value: object) -> bool | None:
    """True or False for a YAML boolean or the strings "true"/"false" in any case (as YAML 1.1
    users quote them), None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def secret_password(value: Text | None, service: Service, key: str, file: str) -> str:
    """A managed store's password, which a cloud keeps as a resource input, so always a
    ``Secret``: a stack secret, or a written one ``seal_written_passwords`` made secret (a
    target given a project that was not sealed refuses it rather than send plain text)."""
    if not isinstance(value, Secret):
        raise BerthError(
            f"a managed store's password must come from a stack secret; {key} is "
            + ("not set" if value is None else "written in the compose file"),
            file=file,
            service=service.name,
            field="environment",
            hint=lambda terms: (
                f"set {key}: ${{{key}}} and " + terms.how_to_set(key, "<password>", secret=True)
            ),
        )
    return value.value


@dataclass(frozen=True)
class PasswordRule:
    """What a cloud's managed store accepts as a password, and how to say so."""

    allowed: re.Pattern[str]
    says: str
    """The rule in words, for the hint: ``8 to 128 printable ASCII characters``."""


def store_password(
    value: Text | None, service: Service, key: str, file: str, rule: PasswordRule
) -> str:
    """The store's password (``secret_password``), and one the store accepts: refused here,
    before anything is created, rather than half-way through ``pulumi up``."""
    password = secret_password(value, service, key, file)
    if not rule.allowed.fullmatch(password):
        raise BerthError(
            f"{key} is not a password the managed store accepts (its value is not shown)",
            file=file,
            service=service.name,
            field="environment",
            hint=password_hint(value, key, rule.says),
        )
    return password


def password_hint(value: Text | None, key: str, rule: str) -> Hint:
    """How to give a store a password it accepts. One written in plain text (sealed: its only
    key has a dot) is the compose file's own value, which wins over any secret of that name, so
    setting a secret alone changes nothing: it is changed where it is written, or replaced."""
    stack = [k for k in value.keys if "." not in k] if isinstance(value, Secret) else []
    if isinstance(value, Secret) and not stack:
        return lambda terms: (
            "a written value wins over any secret of its name: change it where it is written "
            "(the compose file, .env, or a value set without --secret), or write "
            f"{key}: ${{{key}}} in the compose file and set it with "
            f"{terms.how_to_set(key, '<password>', secret=True)}; a password is {rule}"
        )
    variable = stack[0] if len(stack) == 1 else key
    return lambda terms: (
        f"set another value with {terms.how_to_set(variable, '<password>', secret=True)}: {rule}"
    )
