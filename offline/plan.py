"""The offline plan: the real Pulumi program run under Pulumi's mock engine, recorded.

No Pulumi CLI, no credentials: every resource registration is recorded with its parent, its
inputs (secrets as ``[secret]``) and the URNs it waits on, exactly as the engine would see them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks, rpc
from pulumi.runtime.proto import provider_pb2

from berth.components.program import deploy, settings_from_config
from berth.components.project import Project
from berth.components.pulumi_internals import (
    UNKNOWN,
    forget_earlier_runs,
    is_secret,
    run_settled,
    sync_await,
)
from berth.components.target import TargetModule, load_target
from berth.errors import BerthError
from berth.graph import deployment_order
from berth.model import ComposeProject
from berth.settings import DEFAULT_TARGET, NAMESPACE, StackSettings

COMPONENT_TYPES = {"berth:index:Service", "berth:index:Job", "berth:index:TriggeredJob"}
Failure = Callable[[str, str], str | None]
"""Given a resource's type and name, the error its creation fails with, or None."""
Outputs = Callable[[str, Mapping[str, Any]], dict[str, Any]]
"""Given a resource's type and inputs, what it reports once created (``plan_outputs``)."""


@dataclass(frozen=True)
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    dependencies: tuple[str, ...]
    inputs: dict[str, Any]
    raw_inputs: dict[str, Any] = field(repr=False, default_factory=dict)
    """The inputs as sent to the engine, secret wrappers included (for tests that prove it)."""
    secret_outputs: tuple[str, ...] = ()
    """Outputs the program asks the engine to store as secrets (``additional_secret_outputs``)."""
    aliases: tuple[str, ...] = ()
    """The URNs of the resource's explicit aliases, as the engine resolves them."""
    provider: str = ""
    """The provider reference given (``urn::id``), empty for the default provider."""


@dataclass(frozen=True)
class Invocation:
    """A provider function the program called, and the provider reference it passed."""

    token: str
    provider: str


@dataclass
class Plan:
    compose: ComposeProject
    target: str
    stack: str
    registrations: list[Registration]
    warnings: list[str] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)

    def service_of(self, registration: Registration) -> str | None:
        """The compose service a resource belongs to; None for shared resources."""
        return _service_of(self._by_urn, registration.urn)

    @functools.cached_property
    def _by_urn(self) -> dict[str, Registration]:
        """Built once: rebuilt per lookup, it made rendering a plan quadratic in its size."""
        return {r.urn: r for r in self.registrations}

    def engine_urn(self, urn: str) -> str:
        """The URN ``pulumi up`` gives the resource the mock engine named ``urn``: the mock puts
        only the parent's own type before the resource's, the engine every ancestor's type
        below the stack (``resource.NewURN``), as in ``Project$Service$Container``."""
        resource = self._by_urn.get(urn)
        if resource is None:
            return urn
        types: list[str] = []
        ancestor: Registration | None = resource
        while ancestor is not None:
            types.append(ancestor.type)
            ancestor = self._by_urn.get(ancestor.parent)
        stack, project = urn.split("::")[:2]
        return "::".join([stack, project, "$".join(reversed(types)), resource.name])

    def resources(self) -> list[Registration]:
        """Shared resources first, then each service's in deployment order, then each job's
        of ``jobs:`` (no deployment runs them), components first."""
        names = [*deployment_order(self.compose), *self.compose.triggered]
        order = {name: index for index, name in enumerate(names)}

        def key(r: Registration) -> tuple[int, bool, str]:
            service = self.service_of(r)
            return (-1 if service is None else order.get(service, len(order)), r.custom, r.urn)

        return sorted(self.registrations, key=key)


class RecordingMonitor(mocks.MockMonitor):
    """The mock monitor, keeping what every RegisterResource asked for.

    It refuses a second resource with the same URN, as the engine does (the mock engine
    itself accepts it, so a plan would pass that ``pulumi up`` refuses).
    """

    def __init__(self, mock: mocks.Mocks) -> None:
        super().__init__(mock)
        self.registrations: list[Registration] = []
        self.invocations: list[Invocation] = []
        self.urns: set[str] = set()
        self.by_urn: dict[str, Registration] = {}

    def Invoke(self, request: Any) -> Any:
        self.invocations.append(Invocation(request.tok, request.provider))
        return super().Invoke(request)

    def Call(self, request: Any) -> Any:
        """A provider method (e.g. ``aws.Provider.terraform_config()``), answered by the mocks'
        ``call`` like a function: the mock monitor has no ``Call`` of its own."""
        self.invocations.append(Invocation(request.tok, request.provider or _receiver(request)))
        return _call_response(self.mocks, request)

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if urn in self.urns:
            raise BerthError(
                f"duplicate resource URN '{urn}': two {request.type} resources are both named "
                f"{request.name!r}, which `pulumi up` refuses",
                service=_service_of(self.by_urn, request.parent),
                hint="rename one of the compose services or volumes whose names make it",
            )
        self.urns.add(urn)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            raw = json_format.MessageToDict(request.object)
            registration = Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=request.custom,
                dependencies=tuple(sorted(set(request.dependencies))),
                inputs=_displayed(raw),
                raw_inputs=raw,
                secret_outputs=tuple(request.additionalSecretOutputs),
                aliases=tuple(self._alias_urn(request, alias) for alias in request.aliases),
                provider=request.provider,
            )
            self.registrations.append(registration)
            self.by_urn[registration.urn] = registration
        return response

    def _alias_urn(self, request: Any, alias: Any) -> str:
        """An alias as the engine resolves it (``collapseAliasToUrn``): what the spec leaves
        out is the resource's own type, name and parent."""
        if not alias.HasField("spec"):
            return str(alias.urn)
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return self.make_urn(parent, spec.type or request.type, spec.name or request.name)


def _receiver(request: Any) -> str:
    """The provider reference (``urn::id``) of a method's receiver: the SDK sends a provider
    method's provider as the ``__self__`` argument, not as the request's provider."""
    receiver = request.args.fields.get("__self__")
    if receiver is None or not receiver.HasField("struct_value"):
        return ""
    fields = receiver.struct_value.fields
    return f"{fields['urn'].string_value}::{fields['id'].string_value}"


def _call_response(mock: mocks.Mocks, request: Any) -> Any:
    """The method's answer; its receiver (``__self__``) is left out of the arguments: read
    back, it would rebuild the provider resource from this executor thread, which can wait
    forever for a thread the engine has no more of."""
    receiverless = struct_pb2.Struct()
    receiverless.CopyFrom(request.args)
    if "__self__" in receiverless.fields:
        del receiverless.fields["__self__"]
    args = rpc.deserialize_properties(receiverless, keep_unknowns=True)
    answer, _ = mock.call(mocks.MockCallArgs(request.tok, args, request.provider))
    serialized = sync_await(rpc.serialize_properties(answer, {}))
    return provider_pb2.CallResponse(**{"return": serialized})


def _service_of(by_urn: Mapping[str, Registration], urn: str) -> str | None:
    """The compose service whose component is, or holds, the resource ``urn``; None for
    shared resources. A component's name is its Project's name, ``-`` and the service's."""
    current = by_urn.get(urn)
    while current is not None and current.type not in COMPONENT_TYPES:
        current = by_urn.get(current.parent)
    if current is None:
        return None
    project = by_urn.get(current.parent)
    prefix = f"{project.name}-" if project else ""
    return current.name.removeprefix(prefix)


class PlanMocks(mocks.Mocks):
    """Resources report what their target says they would; in a preview, as unknowns."""

    def __init__(
        self,
        target: TargetModule,
        preview: bool,
        fail: Failure | None,
        outputs: Outputs | None = None,
    ) -> None:
        self.target = target
        self.preview = preview
        self.fail = fail
        self.outputs = outputs or target.plan_outputs

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if self.fail and (message := self.fail(args.typ, args.name)):
            raise RuntimeError(message)
        outputs = self.outputs(args.typ, args.inputs)
        if self.preview:
            outputs = dict.fromkeys(outputs, UNKNOWN)
        return f"{args.name}-id", {**args.inputs, **outputs}

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return self.target.plan_call(args.token, args.args), []


class ProgramFailed(Exception):
    """The program stopped on a resource's failure; ``registrations`` says how far it got."""

    def __init__(self, error: BaseException, registrations: list[Registration]) -> None:
        super().__init__(str(error))
        self.registrations = registrations


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


PULUMI_PROJECT = "berth"
"""The Pulumi project's name in Berth's Pulumi.yaml (tests/test_repo_pulumi_yaml.py holds them
equal): the engine puts it in every URN. Written here, so an installed Berth, which has no
Pulumi.yaml, plans the same URNs."""


def plan_config(
    files: Sequence[str],
    target: str = DEFAULT_TARGET,
    profiles: Sequence[str] = (),
    variables: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Stack config, as ``pulumi config`` would hold it, and its secret keys: what a test
    gives ``run_plan`` to plan a stack as ``pulumi up`` reads it."""
    config = {
        "berth:composeFiles": json.dumps(list(files)),
        "berth:target": target,
        "berth:profiles": json.dumps(list(profiles)),
    }
    config.update({f"berth:{k}": v for k, v in (variables or {}).items()})
    config.update({f"berth:{k}": v for k, v in (secrets or {}).items()})
    return config, [f"berth:{k}" for k in secrets or {}]


def plan_settings(
    files: Sequence[str],
    target: str = DEFAULT_TARGET,
    profiles: Sequence[str] = (),
    values: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> StackSettings:
    """The settings ``python -m berth plan`` gives: files, target and profiles as they are;
    ``values`` (``--set``) and ``secrets`` (``--secret``) are variables or target settings,
    read as the stack config's are."""
    given = {f"{NAMESPACE}:{k}": v for k, v in {**(values or {}), **(secrets or {})}.items()}
    parsed = settings_from_config(
        {**given, f"{NAMESPACE}:target": target}, [f"{NAMESPACE}:{k}" for k in secrets or {}]
    )
    return dataclasses.replace(parsed, compose_files=tuple(files), profiles=tuple(profiles))


def run_plan(
    config: Mapping[str, str],
    secret_keys: Sequence[str] = (),
    *,
    settings: StackSettings | None = None,
    stack: str = "dev",
    preview: bool = True,
    fail: Failure | None = None,
    outputs: Outputs | None = None,
    program: Callable[[], Project] | None = None,
) -> Plan:
    """Run the program under mocks: ``deploy(settings)``, or ``program`` (one that builds on a
    Project, returning it). ``config`` is a stack's config as ``pulumi config`` holds it: the
    providers' keys (``aws:region``) are given to the mock engine, Berth's are read into the
    settings, as ``main()`` reads them, unless ``settings`` are given. BerthError for bad
    input, the mock's error for ``fail``; ``outputs`` replaces the target's ``plan_outputs``
    (``berth diff`` digests built images)."""
    prefix = f"{NAMESPACE}:"
    settings = settings or settings_from_config(config, secret_keys)
    provider_config = {k: v for k, v in config.items() if not k.startswith(prefix)}
    provider_secrets = [k for k in secret_keys if not k.startswith(prefix)]
    target = load_target(settings.target)
    monitor = RecordingMonitor(PlanMocks(target, preview, fail, outputs))
    logger = logging.getLogger(f"berth.offline.plan.{id(monitor)}")
    logger.propagate = False
    collected = _Collect()
    logger.addHandler(collected)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(_ClosingExecutor())
    loop.set_exception_handler(_report_unless_reraised)
    asyncio.set_event_loop(loop)
    deployed: list[Project] = []
    try:
        mocks.set_mocks(
            monitor.mocks,
            project=PULUMI_PROJECT,
            stack=stack,
            preview=preview,
            logger=logger,
            monitor=monitor,
        )
        forget_earlier_runs()
        pulumi.runtime.set_all_config(provider_config, provider_secrets)
        run = program or (lambda: deploy(settings))
        loop.run_until_complete(run_settled(lambda: deployed.append(run())))
    except BerthError:
        raise
    except Exception as error:
        raise ProgramFailed(error, monitor.registrations) from error
    finally:
        _close(loop)
    return Plan(
        compose=deployed[0].compose,
        target=target.NAME,
        stack=stack,
        registrations=monitor.registrations,
        warnings=collected.messages,
        invocations=monitor.invocations,
    )


class _ClosingExecutor(ThreadPoolExecutor):
    """The threads Pulumi registers resources in, each with an event loop this closes.

    The mock monitor answers in executor threads, where Pulumi's ``_sync_await`` makes an
    event loop per thread and never closes it. Left to the garbage collector at interpreter
    exit, such a loop's ``close`` could find its self-pipe socket already gone and print
    ``Exception ignored ... Invalid file descriptor: -1``. Here each worker starts with its
    loop, and shutting the executor down (as closing the main loop does) closes them all.
    """

    def __init__(self) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []
        super().__init__(thread_name_prefix="berth-plan", initializer=self._start)

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loops.append(loop)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=True, cancel_futures=cancel_futures)
        for loop in self.loops:
            loop.close()


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a failed run left pending, then close the loop (as ``asyncio.run`` does)."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    asyncio.set_event_loop(None)


def _report_unless_reraised(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A failed registration's error reaches every dependent's future; it is raised once as
    ProgramFailed, so the copies nobody retrieved are not worth a second report."""
    if not str(context.get("message", "")).startswith("Future exception was never retrieved"):
        loop.default_exception_handler(context)


def _displayed(node: Any) -> Any:
    """Inputs for display: secrets as ``[secret]``, unknowns as ``(known after apply)``."""
    if isinstance(node, dict):
        if is_secret(node):
            return "[secret]"
        return {k: _displayed(v) for k, v in sorted(node.items()) if k != "__provider"}
    if isinstance(node, list):
        return [_displayed(v) for v in node]
    if node == UNKNOWN:
        return "(known after apply)"
    return node
