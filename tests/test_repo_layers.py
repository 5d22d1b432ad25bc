"""The layers (issue 11, issue 22): each imports only the layers below it, anywhere in a module.

``berth`` (the domain) imports nothing of Pulumi or of the layers above it, but for its
``python -m berth`` entry; ``berth.components`` knows no cloud and no target (it builds images
with Docker, as every target does, and finds targets by name); ``berth.providers`` never
reaches the offline tools; every target is its own package. And the Pulumi SDK internals Berth
relies on are still there.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi.runtime import mocks, rpc, stack
from pulumi.runtime.settings import SETTINGS

from berth.components import pulumi_internals
from berth.components.target import available_targets, load_target
from tests.conftest import ROOT


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


def target_folder(target: str) -> Path:
    """Where the target's package is: under providers/, or wherever the registry found it."""
    return Path(load_target(target).__file__ or "").parent


def target_libraries(target: str) -> set[str]:
    """The top-level modules the target's package imports, but the standard library's."""
    found = {m.split(".")[0] for p in target_folder(target).rglob("*.py") for m in imports(p)}
    return found - set(sys.stdlib_module_names)


GENERAL = {"yaml"}
"""Libraries the lower layers use for themselves, which one target happens to use too: the
rest of what only one target imports is its cloud's SDK, which they must not import (a new
library of a target is taken for one, so the check fails loudly, never silently)."""


def _own_sdks() -> tuple[str, ...]:
    """The third-party modules only one target imports: its cloud's SDKs, a new target's too."""
    found = {target: target_libraries(target) for target in available_targets()}
    own = set().union(
        *(mods.difference(*(m for o, m in found.items() if o != t)) for t, mods in found.items())
    )
    return tuple(sorted(own - {"berth", *GENERAL}))


CLOUD_SDKS = _own_sdks()
FOLDERS = {"berth": ROOT / "berth", **{f"berth.{layer}": ROOT / layer for layer in
           ("components", "providers", "offline")}}  # fmt: skip
UPWARD = {
    "berth": ("pulumi", "pulumi_docker", *CLOUD_SDKS, "berth.components", "berth.providers",
              "berth.offline"),
    "berth.components": (*CLOUD_SDKS, "berth.providers.", "berth.offline"),
    "berth.providers": ("berth.offline",),
}  # fmt: skip
"""What each layer must not import (a name ending in "." only what is inside it: components
find targets in the ``berth.providers`` package, and import none); ``berth.offline`` (the
mock-engine plan, the CLI) may import everything."""
ENTRY_POINTS = {ROOT / "berth" / "__main__.py"}
ROOTS = {"components", "providers", "offline"}
"""The layers' folder names: imported by those names, they would be a user's own folders."""


def reaches(module: str, forbidden: tuple[str, ...]) -> bool:
    return any(
        module.startswith(name)
        if name.endswith(".")
        else module == name or module.startswith(f"{name}.")
        for name in forbidden
    )


def layer_files(layer: str) -> list[Path]:
    """The layer's modules, its subpackages' too, but not a layer nested in its folder."""
    return sorted(FOLDERS[layer].rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(UPWARD))
def test_no_layer_reaches_up(layer):
    reached = {}
    for path in layer_files(layer):
        if path in ENTRY_POINTS:
            continue
        if bad := {m for m in imports(path) if reaches(m, UPWARD[layer])}:
            reached[str(path.relative_to(ROOT))] = sorted(bad)
    assert not reached, f"{layer} imports a layer above it: {reached}"


@pytest.mark.parametrize("target", available_targets())
def test_no_target_reaches_into_another(target):
    others = tuple(f"berth.providers.{other}" for other in available_targets() if other != target)
    reached = {
        str(path.relative_to(ROOT)): sorted(bad)
        for path in sorted(target_folder(target).rglob("*.py"))
        if (bad := {m for m in imports(path) if reaches(m, others)})
    }
    assert not reached, f"the {target} target imports another target: {reached}"


def test_nothing_imports_a_layer_by_its_folder_name():
    """``import components`` works only in this repository, and there it is a second copy of
    the module beside ``berth.components``; installed, it would be the user's own folder."""
    files = [p for folder in ("berth", *ROOTS, "tests", "benchmarks", "examples")
             for p in (ROOT / folder).rglob("*.py")] + [ROOT / "__main__.py"]  # fmt: skip
    bad = {
        str(path.relative_to(ROOT)): sorted(found)
        for path in files
        if (found := {m for m in imports(path) if m.split(".")[0] in ROOTS})
    }
    assert not bad, f"import berth.<layer> instead: {bad}"


def test_the_walk_sees_an_upward_import():
    assert "berth.offline.cli" in imports(ROOT / "berth" / "__main__.py"), "the entry point may"
    assert reaches("berth.providers.aws.target", UPWARD["berth.components"])
    assert not reaches("berth.providers", UPWARD["berth.components"]), "the registry"
    assert not reaches("berth.offline_extra", UPWARD["berth.components"])
    sdks = {"pulumi_aws", "boto3", "pulumi_gcp", "google", "pulumi_digitalocean"}
    assert sdks <= set(CLOUD_SDKS), "the targets' own SDKs, found from their imports"


def test_the_pulumi_internals_berth_relies_on_are_still_there():
    assert pulumi_internals.UNKNOWN == rpc.UNKNOWN, "pulumi.runtime.rpc.UNKNOWN moved"
    assert rpc._special_sig_key == pulumi_internals.SIG_KEY, "the special-value key moved"
    assert rpc._special_secret_sig == pulumi_internals.SECRET_SIG, "the secret signature moved"
    assert pulumi_internals.sync_await(_answer()) == 42, "pulumi.runtime.sync_await moved"
    wrapped = {rpc._special_sig_key: rpc._special_secret_sig, "value": "x"}
    assert pulumi_internals.is_secret(wrapped)
    assert callable(SETTINGS.outputs.clear), "SETTINGS.outputs is gone"
    assert callable(SETTINGS.rpc_manager.clear), "SETTINGS.rpc_manager is gone"
    assert hasattr(mocks.MockMonitor, "RegisterResource"), "the mock monitor changed"
    waits = inspect.getsource(stack.run_pulumi_func)
    assert "wait_for_rpcs" in waits and "_wait_for_shutdown" in waits, "run_settled mirrors it"
    assert "_shutdown_callbacks" in waits, "run_settled mirrors run_pulumi_func"
    assert {"rpcs", "unhandled_exception", "exception_traceback"} <= vars(
        SETTINGS.rpc_manager
    ).keys()
    assert SETTINGS.lock is not None, "SETTINGS.lock is gone"


STACKED = """
from pulumi.dynamic import dynamic
from berth.providers.aws.readiness import EcsServiceReadyProvider
{flatten}
for _ in range(1200):
    dynamic.serialize_provider(EcsServiceReadyProvider())  # a provider with a dict to pickle
print("serialized")
"""


@pytest.mark.parametrize("flat", [True, False])
def test_a_program_may_hold_more_than_a_thousand_dynamic_resources(flat):
    """pulumi's ``serialize_provider`` stacks one sorting wrapper per call on the pickler and
    never unwraps it: the 1,000th dynamic resource of a program raises RecursionError, unless
    ``flat_provider_serialization`` (which every Project calls) keeps it flat. A fresh
    interpreter, since the wrappers of this one's earlier tests would count."""
    flatten = "from berth.components.pulumi_internals import flat_provider_serialization\n"
    flatten += "flat_provider_serialization(); flat_provider_serialization()"
    done = subprocess.run(
        [sys.executable, "-c", STACKED.format(flatten=flatten if flat else "")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if flat:
        assert done.stdout.strip() == "serialized", done.stderr[-2000:]
    else:
        assert "RecursionError" in done.stderr, "the SDK stopped stacking: drop the workaround"


async def _answer() -> int:
    return 42
