"""The local target's language models: Docker Model Runner of the engine serves them, as under
``docker compose up``, which pulls each model that is missing, configures it (``docker model
configure [--context-size N] MODEL [-- FLAGS]``) and gives each service that uses it the
runner's endpoint and the model's name (Compose's ``pkg/compose/model.go``).

One ``berth:LocalModel`` per model, ``<project>-<model>-model``, does that through the runner's
REST API (``berth.providers.local.model_runner``). Its ``check``, which the engine calls at
``pulumi preview`` as at ``up``, finds the runner, refusing in one line an engine that has none
this machine can use, and records in its inputs what it found: the endpoint containers reach
the runner at, the host entry they need for it, and whether the runner still holds the model
as configured (it forgets a configuration when it restarts, and a model may be removed), so a
deployment configures it again then and otherwise changes nothing. Deleting it keeps the
pulled model, as images are kept.

A Pulumi dynamic provider, pickled by reference: this module imports cleanly, with no side
effects; the Docker SDK only where the runner is called.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from berth.ai_models import Platform, cloud_model, model_refusal
from berth.components.names import Names
from berth.components.pulumi_internals import UNKNOWN, changed_inputs
from berth.components.values import env_input, env_list_input
from berth.model import AiModel, ComposeProject, Service
from berth.providers.local.model_runner import (
    DESKTOP_ENDPOINT,
    ModelSettings,
    NoRunner,
    Runner,
    RunnerApi,
    RunnerError,
)
from berth.sources import Sources

MODEL_TYPE = "pulumi-python:dynamic/berth:LocalModel"
FOUND = ("endpoint", "extraHosts", "onRunner")
"""The inputs ``check`` fills in from the runner (None as the program registers them)."""
SERVED = {"pulled": True, "configured": True}
"""``onRunner`` of a model the runner holds as configured: what a deployment leaves."""
OFFLINE_OUTPUTS: dict[str, Any] = {
    "endpoint": DESKTOP_ENDPOINT,
    "extraHosts": {},
    "onRunner": SERVED,
}
"""What a model reports in the offline plan: Docker Desktop's runner, which needs no host
entry (a Docker Engine runner's endpoint is its bridge gateway's address)."""


class LocalModelProvider(ResourceProvider):
    """Pulls and configures one model on the engine's runner (the input ``engine``)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        if _unknown(news.get("engine")):  # a preview whose engine settings are not known yet
            return CheckResult({**news, **dict.fromkeys(FOUND, UNKNOWN)}, [])
        try:
            with runner_of(news) as runner:
                found = {
                    "endpoint": runner.endpoint,
                    "extraHosts": runner.extra_hosts,
                    "onRunner": on_runner(runner.api, news),
                }
        except (NoRunner, RunnerError) as error:
            return CheckResult(news, [CheckFailure("model", f"{news.get('label')}: {error}")])
        return CheckResult({**news, **found}, [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=str(props["model"]), outs=serve(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A change of the model, its settings, the engine, or of what the runner holds (a
        restarted runner, a removed model) is an update: pull and configure again."""
        return DiffResult(changes=bool(changed_inputs(olds, news)), replaces=[])

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=serve(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """The pulled model stays on the engine, as pulled images do (``docker model rm``
        removes it)."""


class LocalModel(Resource, module="berth", name="LocalModel"):
    """A model on the engine's Docker Model Runner; its users wait on it."""

    endpoint: pulumi.Output[str]
    """The OpenAI-compatible base URL containers reach the runner at."""
    extraHosts: pulumi.Output[dict[str, str]]
    """Host entries containers need for ``endpoint`` (``host.docker.internal``)."""

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        """``props``: ``label`` (how messages name it), ``model`` (what the runner pulls),
        ``contextSize``, ``runtimeFlags`` and, when the docker provider is configured,
        ``engine`` (``berth.providers.local.engine``)."""
        super().__init__(LocalModelProvider(), name, {**props, **dict.fromkeys(FOUND)}, opts)


@contextlib.contextmanager
def runner_of(props: Mapping[str, Any]) -> Iterator[Runner]:
    """The runner of the engine ``props["engine"]`` names; NoRunner or RunnerError in one
    line when there is none this machine can use."""
    # The Docker SDK only here: a plan never imports it.
    import docker.errors  # noqa: PLC0415

    from berth.components.run_once import JobFailed  # noqa: PLC0415
    from berth.providers.local.engine_client import engine_client, engine_host  # noqa: PLC0415
    from berth.providers.local.model_runner import locate  # noqa: PLC0415
    from berth.providers.local.runner import error_reason  # noqa: PLC0415

    engine = props.get("engine")
    host = "the docker provider's settings name"
    try:
        host = engine_host(engine)
        with engine_client(engine) as client:
            runner = locate(client, host)
            yield runner
    except JobFailed as error:
        raise NoRunner(str(error)) from None
    except docker.errors.DockerException as error:
        raise NoRunner(f"the Docker engine at {host}: {error_reason(error)}") from None


def settings_of(props: Mapping[str, Any]) -> ModelSettings:
    """How the model is to be served (numbers reach a dynamic provider as floats)."""
    size = props.get("contextSize")
    return ModelSettings(
        context_size=int(size) if size else None,
        runtime_flags=tuple(str(flag) for flag in props.get("runtimeFlags") or ()),
    )


def on_runner(api: RunnerApi, props: Mapping[str, Any]) -> dict[str, bool]:
    """Whether the runner holds the model, and holds it as configured (assumed so when it
    cannot tell)."""
    model = str(props["model"])
    if not api.has(model):
        return {"pulled": False, "configured": False}
    return {"pulled": True, "configured": api.configured(model, settings_of(props)) is not False}


def serve(props: Mapping[str, Any]) -> dict[str, Any]:
    """Pull the model when the runner lacks it, then configure it, as ``docker compose up``
    does; the outputs."""
    model, settings = str(props["model"]), settings_of(props)
    with runner_of(props) as runner:
        if not runner.api.has(model):
            runner.api.pull(model)
        runner.api.configure(model, settings)
        found = {"endpoint": runner.endpoint, "extraHosts": runner.extra_hosts}
    return {**props, **found, "onRunner": SERVED}


def _unknown(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(_unknown(item) for item in value)
    return value == UNKNOWN


def _check_same_settings(model: AiModel, other: AiModel, served: str, sources: Sources) -> None:
    """The runner holds one configuration per model: two models of the project that serve
    the same one with other settings would each undo the other's on every ``up``."""
    if (model.context_size, model.runtime_flags) == (other.context_size, other.runtime_flags):
        return
    raise model_refusal(
        model,
        sources,
        f"it serves {served!r} as {other.label} does, with other context_size or "
        "runtime_flags, and Docker Model Runner holds one configuration per model",
        f"give both the same settings, or use {other.label} for both",
    )


class LocalModels:
    """The project's models on the engine, and what each service or job that uses one gets:
    Compose's two variables and the host entry the endpoint needs."""

    def __init__(
        self,
        project: ComposeProject,
        sources: Sources,
        names: Names,
        engine: Callable[[pulumi.Resource], pulumi.Input[dict[str, Any]] | None],
        parent: pulumi.Resource,
    ) -> None:
        """``sources``: the compose files, for refusals; ``engine``: the engine settings of the
        docker provider under a resource, read only for a project with models."""
        self.resources: dict[str, LocalModel] = {}
        """Each model's resource, by its compose name."""
        self.served: dict[str, str] = {}
        """What the runner serves for each model (``chat-default``: ``ai/llama3.2``)."""
        if not project.models:
            return
        settings = engine(parent)
        configured: dict[str, AiModel] = {}
        for model in project.models.values():
            self.served[model.name] = cloud_model(model, Platform.DOCKER, sources).id
            if (other := configured.setdefault(self.served[model.name], model)) is not model:
                _check_same_settings(model, other, self.served[model.name], sources)
            props: dict[str, Any] = {
                "label": model.label,
                "model": self.served[model.name],
                "contextSize": model.context_size,
                "runtimeFlags": list(model.runtime_flags),
            }
            if settings is not None:
                props["engine"] = settings
            self.resources[model.name] = LocalModel(
                names(model.name, "model"), props, opts=pulumi.ResourceOptions(parent=parent)
            )

    def variables(self, service: Service) -> dict[str, pulumi.Input[str]]:
        """``<endpoint_var>`` and ``<model_var>`` of each model ``service`` uses; they replace
        its own variables of those names, as Compose's do. The endpoint is the model's output,
        so its users wait on it: they start once it is pulled and configured."""
        variables: dict[str, pulumi.Input[str]] = {}
        for use in service.models:
            variables[use.endpoint_var] = self.resources[use.model].endpoint
            variables[use.model_var] = self.served[use.model]
        return variables

    def env_list(self, service: Service) -> list[pulumi.Input[str]]:
        """A container's ``KEY=value`` entries, the models' variables among them."""
        wired = self.variables(service)
        kept = {key: value for key, value in service.environment.items() if key not in wired}
        return env_list_input(kept) + [
            pulumi.Output.concat(f"{key}=", wired[key]) for key in sorted(wired)
        ]

    def env(self, service: Service) -> dict[str, pulumi.Input[str]]:
        """A job definition's environment, the models' variables among it."""
        return dict(sorted({**env_input(service.environment), **self.variables(service)}.items()))

    def extra_hosts(self, service: Service) -> pulumi.Output[dict[str, str]]:
        """``service``'s own ``extra_hosts`` and those its models' endpoints need (its own win)."""
        needed = [self.resources[use.model].extraHosts for use in service.models]
        return pulumi.Output.all(*needed).apply(
            lambda found: {
                **{host: ip for hosts in found for host, ip in (hosts or {}).items()},
                **service.container.extra_hosts,
            }
        )
