"""Every target's modules: none imports another that imports it back (issue 11), even under
``TYPE_CHECKING`` or inside a function, each imports on its own in a fresh interpreter, and
none grows past one concern's size."""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from berth.components.target import available_targets
from tests.conftest import ROOT


def module_name(package: str, path: Path) -> str:
    return package if path.name == "__init__.py" else f"{package}.{path.stem}"


def modules(target: str) -> dict[str, Path]:
    package = f"berth.providers.{target}"
    folder = ROOT / "providers" / target
    return {module_name(package, path): path for path in sorted(folder.glob("*.py"))}


def imported(package: str, modules: dict[str, Path], path: Path) -> set[str]:
    """The package's modules that ``path`` imports anywhere in it: ``from berth.providers.gcp
    import vm`` names the module ``vm``, ``from berth.providers.gcp import NAME`` the package."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == package:
            found |= {
                name if (name := f"{package}.{alias.name}") in modules else package
                for alias in node.names
            }
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return (found & modules.keys()) - {module_name(package, path)}


def import_graph(target: str) -> dict[str, set[str]]:
    found = modules(target)
    return {
        name: imported(f"berth.providers.{target}", found, path) for name, path in found.items()
    }


PACKAGE = "berth.providers.gcp"


def test_the_walk_sees_the_imports_it_must():
    graph = import_graph("gcp")
    assert "berth.providers.gcp.target" in graph[PACKAGE], "create() imports the target lazily"
    assert "berth.providers.gcp.vm" in graph["berth.providers.gcp.machines"], (
        "from berth.providers.gcp import vm"
    )
    assert "berth.providers.gcp.shared" in graph["berth.providers.gcp.registry"]


@pytest.mark.parametrize("target", available_targets())
def test_no_module_of_a_target_imports_itself_back(target):
    try:
        order = list(TopologicalSorter(import_graph(target)).static_order())
    except CycleError as error:
        raise AssertionError(f"import cycle in {target}: {' -> '.join(error.args[1])}") from None
    assert set(order) == modules(target).keys()


def test_a_cycle_is_found():
    """The check itself: machines importing target back (as it once did) is a cycle."""
    graph = import_graph("gcp")
    graph["berth.providers.gcp.machines"].add("berth.providers.gcp.target")
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError:
        return
    raise AssertionError("the cycle machines -> target -> machines went unseen")


@pytest.mark.parametrize("target", available_targets())
def test_each_module_imports_on_its_own_in_a_fresh_interpreter(target):
    """Each module first, with none of the package loaded yet: a cycle at import time fails
    with a partly initialized module."""
    script = (
        "import importlib, sys\n"
        f"for name in {sorted(modules(target))!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'providers' or "
        "m.startswith('providers.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("target", available_targets())
def test_no_module_grows_past_400_lines(target):
    """One concern per module (issue 11): a module past this has started mixing again."""
    long = {
        name: n
        for name, path in modules(target).items()
        if (n := len(path.read_text().splitlines())) > 400
    }
    assert not long, long
