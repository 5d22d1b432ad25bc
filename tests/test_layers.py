"""The layers (issue 11): ``berth/`` is the domain and imports nothing of Pulumi, ``components/``,
``providers/`` or ``offline/``, anywhere in a module, but for its command-line entry point;
``components/`` knows no cloud (it builds images with Docker, as every target does). And the
Pulumi SDK internals Berth relies on are still there."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi.runtime import mocks, rpc
from pulumi.runtime.settings import SETTINGS

from components import pulumi_internals
from tests.conftest import ROOT

UPWARD = {
    "berth": ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_docker", "pulumi_digitalocean",
              "components", "providers", "offline"),
    "components": ("pulumi_aws", "pulumi_gcp", "pulumi_digitalocean", "boto3", "google",
                   "offline"),
}  # fmt: skip
"""What each layer must not import."""
ENTRY_POINTS = {"berth/cli.py", "berth/__main__.py"}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(UPWARD))
def test_no_layer_reaches_up(layer):
    reached = {}
    for path in sorted((ROOT / layer).glob("*.py")):
        if str(path.relative_to(ROOT)) in ENTRY_POINTS:
            continue
        bad = {m for m in imports(path) if m.split(".")[0] in UPWARD[layer]}
        if bad:
            reached[path.name] = sorted(bad)
    assert not reached, f"{layer}/ imports a layer above it: {reached}"


def test_the_walk_sees_an_upward_import():
    assert "components.target" in imports(ROOT / "berth" / "cli.py"), "the entry point may"


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


STACKED = """
from pulumi.dynamic import dynamic
from providers.aws.readiness import EcsServiceReadyProvider
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
    flatten = "from components.pulumi_internals import flat_provider_serialization\n"
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
