"""What Berth relies on inside the Pulumi SDK that is not its public API, in one place.

Each name says which SDK internal it stands for; tests/test_repo_layers.py fails, naming
it, when an SDK upgrade changes one, instead of the plan or the re-run rule going quietly wrong.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pulumi.dynamic import dynamic
from pulumi.runtime import stack
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.sync_await import _sync_await

T = TypeVar("T")

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How the engine passes a value that is not known yet (``pulumi.runtime.rpc.UNKNOWN``): a
dynamic provider's diff sees it in a preview."""
SIG_KEY = "4dabf18193072939515e22adb298388d"
"""The key marking a special value in a registration (``pulumi.runtime.rpc._special_sig_key``)."""
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - a marker, not a password
"""Its value for a secret (``pulumi.runtime.rpc._special_secret_sig``): a secret travels as
``{SIG_KEY: SECRET_SIG, "value": ...}``."""

PROVIDER_KEY = "__provider"
"""The input holding a dynamic resource's pickled provider (``pulumi.dynamic.dynamic``). The
pickle names the provider's module, which moves when Berth's code does: no Berth diff counts
it, so an upgrade of Berth alone changes nothing in a deployed stack."""


def changed_inputs(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """The inputs a dynamic provider's ``diff`` sees changed, as the engine's own comparison
    would (which a provider without ``diff`` gets), but for ``PROVIDER_KEY``."""
    return sorted(k for k, v in news.items() if k != PROVIDER_KEY and olds.get(k) != v)


def is_secret(node: object) -> bool:
    """Whether a serialized value is a wrapped secret."""
    return isinstance(node, dict) and node.get(SIG_KEY) == SECRET_SIG


def forget_earlier_runs() -> None:
    """Drop the output tasks and RPCs an earlier mocked run in this process left behind: they
    belong to its closed event loop. Pulumi's own test decorator does the same
    (``SETTINGS.outputs``, ``SETTINGS.rpc_manager``)."""
    SETTINGS.outputs.clear()
    SETTINGS.rpc_manager.clear()


def sync_await(awaitable: Awaitable[T]) -> T:
    """Wait for ``awaitable`` from the engine's executor thread, as the mock monitor's own
    ``Invoke`` does (``pulumi.runtime.sync_await._sync_await``): the offline plan answers
    provider method calls, which the mock monitor does not."""
    return _sync_await(awaitable)


def flat_provider_serialization() -> None:
    """Keep ``pulumi.dynamic.dynamic.serialize_provider`` from stacking a wrapper on
    ``pickle._Pickler._batch_setitems`` at every call (it sorts dictionaries that way, and never
    unwraps): about 1,000 dynamic resources in one program, the 1,000th provider with a
    dictionary to pickle raises RecursionError. Each call now leaves the method as it found it;
    calling this again changes nothing."""
    if getattr(dynamic.serialize_provider, "flat", False):
        return
    stacking = dynamic.serialize_provider

    def serialize_provider(provider: Any) -> str:
        kept = pickle._Pickler._batch_setitems
        try:
            return stacking(provider)
        finally:
            pickle._Pickler._batch_setitems = kept

    serialize_provider.flat = True  # type: ignore[attr-defined]
    dynamic.serialize_provider = serialize_provider


async def run_settled(program: Callable[[], object]) -> None:
    """``pulumi.runtime.stack.run_pulumi_func`` for the mock engine, the same steps in the
    same order (the program, its RPCs, its outputs, shutdown), but waiting on the outputs once
    per round: the SDK's ``wait_for_rpcs`` waits for the first of all pending outputs again
    after each one finishes, a time quadratic in their number that was a third of an offline
    plan. An error is raised as the SDK raises it: the program's own, else the first one."""
    error: BaseException | None = None
    try:
        program()
    except BaseException as raised:
        error = raised
    try:
        await _settle()
        if error is None:
            await stack._wait_for_shutdown()
    finally:
        await stack._shutdown_callbacks()
    if error is not None:
        raise error


async def _settle() -> None:
    """Until no RPC is outstanding: await each RPC, then every output task, round by round."""
    rpcs = SETTINGS.rpc_manager
    while True:
        while rpcs.rpcs:
            await asyncio.sleep(0)
            try:
                await rpcs.rpcs.pop()
            except Exception as failed:
                if rpcs.unhandled_exception is not None:
                    raise failed from rpcs.unhandled_exception.with_traceback(
                        rpcs.exception_traceback
                    )
                raise
        if rpcs.unhandled_exception is not None:
            raise rpcs.unhandled_exception.with_traceback(rpcs.exception_traceback)
        while True:
            with SETTINGS.lock:
                pending = list(SETTINGS.outputs)
                SETTINGS.outputs.clear()
            if not pending:
                break
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                await task
        if not rpcs.rpcs:
            return
