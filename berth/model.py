"""The typed compose model every target deploys from.

Values are already interpolated, merged and normalized by the loader; nothing here parses.
A value that carries a stack secret is a ``Secret`` so that targets can keep it secret.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal, TypeVar

DEFAULT_JOB_TIMEOUT = 600.0
"""Seconds a job may run before the deployment fails (``x-berth-timeout`` overrides it)."""


@dataclass(frozen=True)
class Secret:
    """A value that holds one or more stack secrets; it never prints its value."""

    value: str = field(repr=False)
    keys: tuple[str, ...]

    def __str__(self) -> str:
        return "[secret]"


Text = str | Secret
"""A string that may carry a secret: environment values, command arguments, file contents."""


def revealed(text: Text) -> str:
    """What ``text`` says, a secret's value too: where a value is read or handed to a resource
    that keeps it secret itself, not where ``text``'s secrecy must travel with it."""
    return text.value if isinstance(text, Secret) else text


def held_secrets(values: Iterable[Text]) -> str:
    """The secrets ``values`` hold, named for a message (``API_TOKEN, db.POSTGRES_PASSWORD``:
    a stack secret, or a store's password written in the compose file); empty for none."""
    keys = {key for value in values if isinstance(value, Secret) for key in value.keys}
    return ", ".join(sorted(keys))


class Condition(StrEnum):
    STARTED = "service_started"
    HEALTHY = "service_healthy"
    COMPLETED = "service_completed_successfully"


@dataclass(frozen=True)
class Dependency:
    service: str
    condition: Condition = Condition.STARTED
    required: bool = True


@dataclass(frozen=True)
class Port:
    """One container port; compose has already expanded ranges into single ports."""

    target: int
    published: int | None = None
    protocol: str = "tcp"
    host_ip: str | None = None
    mode: Literal["ingress", "host"] = "ingress"
    app_protocol: str | None = None


@dataclass(frozen=True)
class BuildSecret:
    """A secret a build's ``RUN --mount=type=secret,id=<id>`` reads: never an image layer."""

    id: str
    value: Secret


@dataclass(frozen=True)
class SshKey:
    """An SSH agent socket or key a build's ``RUN --mount=type=ssh,id=<id>`` uses; no path:
    the agent of the machine that builds (``$SSH_AUTH_SOCK``)."""

    id: str
    path: str | None = None


@dataclass(frozen=True)
class Build:
    """Compose's ``build``, every field a builder can honour; the rest are in the service's
    ``fields`` and each target's support table says what it does with them."""

    context: str
    dockerfile: str = "Dockerfile"
    args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    dockerfile_inline: str | None = None
    additional_contexts: dict[str, str] = field(default_factory=dict)
    """Named contexts (``COPY --from=<name>``): a local folder as ``context`` is written, or
    ``docker-image://``, an URL."""
    labels: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    no_cache: bool = False
    pull: bool = False
    network: str | None = None
    extra_hosts: tuple[str, ...] = ()
    """``host:ip``, as the builder takes them."""
    secrets: tuple[BuildSecret, ...] = ()
    ssh: tuple[SshKey, ...] = ()
    remote: bool = False
    """The context is an address the builder fetches (git, https), not a local folder."""


@dataclass(frozen=True)
class Healthcheck:
    """A container health check; ``test`` starts with CMD or CMD-SHELL."""

    test: tuple[Text, ...]
    interval: float | None = None
    timeout: float | None = None
    retries: int | None = None
    start_period: float | None = None
    start_interval: float | None = None


_Number = TypeVar("_Number", int, float)


@dataclass(frozen=True)
class Resources:
    """``deploy.resources``: cpus in cores, memory in bytes."""

    cpus: float | None = None
    memory: int | None = None
    reserved_cpus: float | None = None
    reserved_memory: int | None = None

    @property
    def wanted_cpus(self) -> float | None:
        """What a target sizes for: the larger of limit and reservation (one rule everywhere)."""
        return _larger(self.cpus, self.reserved_cpus)

    @property
    def wanted_memory(self) -> int | None:
        """Bytes: the larger of limit and reservation."""
        return _larger(self.memory, self.reserved_memory)


def _larger(limit: _Number | None, reservation: _Number | None) -> _Number | None:
    given = [value for value in (limit, reservation) if value is not None]
    return max(given) if given else None


@dataclass(frozen=True)
class Mount:
    """A volume, bind or tmpfs mount; ``source`` is a project volume name or a host path."""

    type: Literal["volume", "bind", "tmpfs"]
    target: str
    source: str | None = None
    read_only: bool = False


@dataclass(frozen=True)
class FileMount:
    """A compose secret or config, as a file placed in the container."""

    name: str
    target: str
    content: Text
    mode: int | None = None
    kind: Literal["secrets", "configs"] = "secrets"
    """The compose field it comes from: a config's content may carry a stack secret too."""

    @property
    def size(self) -> int:
        """The file's bytes, secret or not: what a cloud's limit on a stored value counts."""
        return len(revealed(self.content).encode())


@dataclass(frozen=True)
class ContainerSettings:
    """Linux container settings: a Docker engine honours them all, cloud runtimes few."""

    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    read_only: bool = False
    init: bool | None = None
    tty: bool = False
    stdin_open: bool = False
    extra_hosts: dict[str, str] = field(default_factory=dict)
    """Host name to IP address."""
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    domainname: str | None = None
    tmpfs: tuple[str, ...] = ()
    shm_size: int | None = None
    """Bytes."""
    stop_signal: str | None = None
    stop_grace_period: float | None = None
    """Seconds."""
    sysctls: dict[str, str] = field(default_factory=dict)
    ulimits: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Name to (soft, hard)."""
    security_opt: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()
    runtime: str | None = None
    log_driver: str | None = None
    log_options: dict[str, str] = field(default_factory=dict)

    @property
    def tmpfs_options(self) -> dict[str, str]:
        """Each ``tmpfs`` path and its options (``size=64m``): compose writes
        ``PATH[:OPTIONS]``, and a mount path holds no options."""
        return {path: options for path, _, options in (t.partition(":") for t in self.tmpfs)}


@dataclass(frozen=True)
class Hook:
    """A ``pre_start`` hook as a run-once step: the service it gates and its place there."""

    service: str
    index: int
    """Compose's ``pre_start[index]``, from 0."""
    service_digest: str
    """The service's definition as Compose hashes it to decide a recreate (its hooks in it;
    ``build``, ``pull_policy``, the replica count, ``depends_on``, ``profiles`` and ``x-*``
    not): the hooks run again when it changes, as Compose runs them when it recreates."""
    shares_image: bool = True
    """Whether the hook runs its service's image (names none of its own): a target builds or
    pulls it once for both."""

    @property
    def label(self) -> str:
        """How Compose names it: ``service "web" pre_start[1]``."""
        return f'service "{self.service}" pre_start[{self.index}]'


class Concurrency(StrEnum):
    """What a schedule does when its previous run has not finished."""

    FORBID = "forbid"
    QUEUE = "queue"


class MissedFires(StrEnum):
    """What a schedule does with the times it missed (the scheduler was down, say)."""

    ONE = "one"
    SKIP = "skip"


@dataclass(frozen=True)
class Schedule:
    """One ``triggers.schedule`` entry; the defaults are Compose's."""

    cron: str
    """Five fields: minute hour day-of-month month day-of-week."""
    timezone: str | None = None
    """An IANA zone (``Europe/Paris``); None: UTC, what a cloud scheduler assumes."""
    concurrency: Concurrency = Concurrency.FORBID
    missed_fires: MissedFires = MissedFires.ONE


@dataclass(frozen=True)
class Triggers:
    """How a job of the top-level ``jobs:`` runs: on demand (``berth run``), on schedules."""

    manual: bool = True
    """Compose's default: a job may be run by hand unless ``manual: false``."""
    schedules: tuple[Schedule, ...] = ()


@dataclass(frozen=True)
class AiModel:
    """A language model the project uses: an entry of the top-level ``models:``, or a service
    with ``provider: type: model`` (Compose's older form), which deploys no container."""

    name: str
    """Its key under ``models:`` (or the provider service's name): what services refer to."""
    model: str
    """What Docker Model Runner pulls (``ai/smollm2``), or a name of ``berth.ai_models``'s
    table (``chat-default``)."""
    context_size: int | None = None
    runtime_flags: tuple[str, ...] = ()
    provider_service: bool = False
    """Declared as a ``provider: type: model`` service rather than under ``models:``."""

    @property
    def kind(self) -> str:
        """What messages call it: a ``model``, or a ``service`` (a provider service)."""
        return "service" if self.provider_service else "model"

    @property
    def label(self) -> str:
        """How messages name it: ``model 'llm'`` or ``service 'llm'`` (a provider service)."""
        return f"{self.kind} '{self.name}'"

    @property
    def use_field(self) -> str:
        """Where a service says it uses the model: ``models``, or ``depends_on`` a provider
        service."""
        return "depends_on" if self.provider_service else "models"


@dataclass(frozen=True)
class ModelUse:
    """A service's use of a model: the two variables Compose sets in its environment."""

    model: str
    """The model's name (``ComposeProject.models``)."""
    endpoint_var: str
    """Given the OpenAI-compatible base URL (``LLM_URL`` by default)."""
    model_var: str
    """Given the model's name as clients send it (``LLM_MODEL`` by default)."""


@dataclass(frozen=True)
class Service:
    """A compose service; ``job`` marks a one-off job that runs once to completion."""

    name: str
    image: str | None = None
    build: Build | None = None
    command: tuple[Text, ...] | None = None
    entrypoint: tuple[Text, ...] | None = None
    environment: dict[str, Text] = field(default_factory=dict)
    ports: tuple[Port, ...] = ()
    expose: tuple[int, ...] = ()
    depends_on: tuple[Dependency, ...] = ()
    healthcheck: Healthcheck | None = None
    restart: str | None = None
    replicas: int | None = None
    resources: Resources = field(default_factory=Resources)
    mounts: tuple[Mount, ...] = ()
    files: tuple[FileMount, ...] = ()
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    container_name: str | None = None
    platform: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    container: ContainerSettings = field(default_factory=ContainerSettings)
    extensions: dict[str, Any] = field(default_factory=dict)
    fields: tuple[str, ...] = ()
    """The compose fields the user set, for each target's support check."""
    job: bool = False
    run_always: bool = False
    """``x-berth-run: always``: run the job on every deployment, not only when it changed."""
    timeout: float = DEFAULT_JOB_TIMEOUT
    hook: Hook | None = None
    """For a ``pre_start`` hook: the service it gates (the hook is a job that service waits on)."""
    triggers: Triggers | None = None
    """For a job of the top-level ``jobs:``: never run by a deployment, only by its triggers."""
    models: tuple[ModelUse, ...] = ()
    """The models it uses (``models:``, or a ``depends_on`` a provider service), by name."""
    model_access: bool = False
    """``x-defang-llm: true``: its own container calls the cloud's model service (a gateway
    image such as LiteLLM), so its identity may invoke the models a target serves."""
    serves_model: str | None = None
    """For a gateway a target deploys in front of its model service: the model it serves."""

    @property
    def display_name(self) -> str:
        """What messages call it: ``job 'migrate'``, ``service "web" pre_start[0]``."""
        if self.hook:
            return self.hook.label
        return f"job '{self.name}'" if self.job else f"service '{self.name}'"

    def texts(self) -> Iterator[Text]:
        """Every value that may carry a secret: where a stack secret may go."""
        yield from self.environment.values()
        yield from self.command or ()
        yield from self.entrypoint or ()
        yield from self.healthcheck.test if self.healthcheck else ()
        yield from (file.content for file in self.files)

    def with_texts(self, change: Callable[[Text], Text]) -> Service:
        """This service with ``change`` applied to each of its ``texts``."""

        def each(values: tuple[Text, ...] | None) -> tuple[Text, ...] | None:
            return None if values is None else tuple(map(change, values))

        check = self.healthcheck
        return replace(
            self,
            environment={key: change(value) for key, value in self.environment.items()},
            command=each(self.command),
            entrypoint=each(self.entrypoint),
            healthcheck=replace(check, test=tuple(map(change, check.test))) if check else None,
            files=tuple(replace(file, content=change(file.content)) for file in self.files),
        )


@dataclass(frozen=True)
class Volume:
    """A named volume of the project; ``external`` ones exist already and are never created."""

    key: str
    name: str
    external: bool = False
    driver: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ComposeProject:
    """A loaded compose project: services in the order the files declare them."""

    name: str
    files: tuple[str, ...]
    services: dict[str, Service]
    volumes: dict[str, Volume] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    triggered: dict[str, Service] = field(default_factory=dict)
    """The top-level ``jobs:``: deployed as definitions that run on demand or on a schedule,
    never by a deployment (``Service.triggers`` says how)."""
    models: dict[str, AiModel] = field(default_factory=dict)
    """The language models services use, by name (``berth.ai_models``)."""

    def model_users(self, model: str) -> list[Service]:
        """The services and jobs (``jobs:`` too) that use ``model``."""
        every = [*self.services.values(), *self.triggered.values()]
        return [s for s in every if any(use.model == model for use in s.models)]

    @property
    def jobs(self) -> list[Service]:
        """The one-off jobs a deployment runs: ``restart: "no"`` services and hooks."""
        return [s for s in self.services.values() if s.job]

    def hooks_of(self, service: str) -> list[Service]:
        """``service``'s ``pre_start`` hooks, in the order they run."""
        return [s for s in self.services.values() if s.hook and s.hook.service == service]

    @property
    def long_running(self) -> list[Service]:
        return [s for s in self.services.values() if not s.job]
