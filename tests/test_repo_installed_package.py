"""Berth installed as users take a Pulumi component (issue 22).

A wheel is built from the repository's sources and installed into a folder of its own. A
fresh interpreter then runs in another folder, a user's program folder with its own
``components/`` and ``providers/`` packages, with only the installed Berth on its path: it
unpickles every dynamic provider the program makes, as the engine's provider process does
(started in the program's folder), and the ``berth`` command plans a project there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pulumi.dynamic import ResourceProvider

from berth import LAYERS
from berth.components.pulumi_internals import PROVIDER_KEY, is_secret
from berth.components.target import available_targets
from berth.offline.plan import Plan
from tests.conftest import ROOT, copy_example, program
from tests.plans import dynamic_provider, provider_inputs

MANAGED = ("compose.yaml", "compose.managed.yaml")
"""The migrate example with its stores managed: every kind of dynamic resource Berth makes."""
SOURCES = ("berth", *LAYERS, "setup.py", "pyproject.toml", "requirements.txt")
USER_PACKAGES = ("components", "providers")
"""The folders a user's own Pulumi program very often has."""


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip wheel .`` builds from a copy of the repository's sources."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    dist = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(dist)], source)
    (built,) = dist.glob("berth-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed into a folder of its own (its dependencies are this venv's)."""
    site = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], site)
    return site


@pytest.fixture
def user_folder(tmp_path: Path) -> Path:
    """A Pulumi program's folder with its own ``components`` and ``providers`` packages."""
    for package in USER_PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(f"OWNER = 'user:{package}'\n")
    return tmp_path


def _installed_env(site: Path) -> dict[str, str]:
    """Only the installed Berth on the path; the repository is nowhere on it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "PYTHONPATH": str(site)}


def test_the_wheel_holds_every_layer_under_berth_and_nothing_of_the_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    folders = {name.rsplit("/", 1)[0] for name in names if name.endswith(".py")}
    expected = {"berth", *(f"berth/{layer}" for layer in LAYERS)}
    expected |= {f"berth/providers/{target}" for target in available_targets()}
    assert expected <= folders, sorted(expected - folders)
    assert not {f for f in folders if f.split("/")[0] != "berth"}, "only berth is top level"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "berth = berth.offline.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def _serialized_providers(plan: Plan) -> dict[str, str]:
    """Each dynamic resource's pickled provider, as the engine stores it (``__provider``)."""
    found: dict[str, str] = {}
    for registration in plan.registrations:
        serialized = registration.raw_inputs.get("__provider")
        if serialized is None:
            continue
        found[registration.type] = serialized["value"] if is_secret(serialized) else serialized
    return found


UNPICKLE = """
import base64, inspect, json, sys, dill
import components, providers
found = {}
for type_, serialized in json.load(sys.stdin).items():
    provider = dill.loads(base64.b64decode(serialized))
    found[type_] = [type(provider).__module__, inspect.getfile(type(provider))]
print(json.dumps({"providers": found, "own": [components.OWNER, providers.OWNER]}))
"""


@pytest.mark.parametrize("target", available_targets())
def test_every_dynamic_provider_unpickles_in_a_users_folder_from_the_installed_package(
    target: str, installed: Path, user_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """What Pulumi's dynamic-provider process does for a program of one's own: it starts in
    the program's folder, where only installed packages (and the user's own) import."""
    project = tmp_path_factory.mktemp("project")
    plan = program([str(project / copy_example("migrate", project))], target=target)
    serialized = _serialized_providers(plan)
    assert serialized, f"the {target} plan pickles no provider: nothing was checked"
    done = subprocess.run(
        [sys.executable, "-c", UNPICKLE],
        input=json.dumps(serialized),
        cwd=user_folder,
        env=_installed_env(installed),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout)
    assert loaded["own"] == ["user:components", "user:providers"], "the user's own packages"
    for type_, (module, file) in loaded["providers"].items():
        assert module.startswith(("berth.components.", f"berth.providers.{target}.")), module
        assert Path(file).is_relative_to(installed), (type_, file, "not the installed package")


def test_the_berth_command_plans_a_project_in_a_users_folder(
    installed: Path, user_folder: Path
) -> None:
    copy_example("migrate", user_folder)
    env = _installed_env(installed)
    command = str(installed / "bin" / "berth")
    shown = _run(
        [command, "plan", "-f", "examples/migrate/compose.yaml", "--format", "json"],
        user_folder,
        env,
    )
    workflow = json.loads(shown)["workflow"]
    assert {"db", "migrate", "web"} <= set(json.dumps(workflow).split('"'))
    module = _run([sys.executable, "-m", "berth", "compatibility"], user_folder, env)
    assert "| `restart` |" in module or "restart" in module


EARLIER = """
import base64, sys, dill
sys.path.insert(0, ".")  # what an earlier Berth's provider process had: the program's folder
import providers.local.run_once as earlier  # the module name an earlier Berth pickled
print(base64.b64encode(dill.dumps(earlier.LocalJobProvider())).decode())
"""
LOAD = """
import base64, sys, dill
provider = dill.loads(base64.b64decode(sys.stdin.read()))
print(type(provider).__module__, type(provider).__name__)
"""


def test_a_provider_an_earlier_berth_pickled_still_loads_in_the_repository() -> None:
    """Stacks deployed before the layers moved under ``berth`` hold providers pickled as
    ``providers.local.run_once``: ``pulumi up`` deletes a replaced job's old run with it, in a
    provider process started in the repository, where that name still imports."""
    pickled = _run([sys.executable, "-c", EARLIER], ROOT)
    done = subprocess.run(
        [sys.executable, "-c", LOAD],
        input=pickled,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["providers.local.run_once", "LocalJobProvider"]


@pytest.mark.parametrize("target", available_targets())
def test_a_moved_provider_module_alone_changes_nothing_in_a_deployed_stack(
    target: str, tmp_path: Path
) -> None:
    """Every dynamic provider's ``diff`` leaves ``__provider`` out: it names the provider's
    module, which this move (``providers`` to ``berth.providers``) changed for every stack. A
    provider without its own ``diff`` gets the engine's comparison, which would count it."""
    copy_example("migrate", tmp_path)
    files = [str(tmp_path / "examples/migrate" / name) for name in MANAGED]
    plan = program(files, target=target)
    checked = set()
    for registration in plan.registrations:
        if PROVIDER_KEY not in registration.raw_inputs:
            continue
        provider = dynamic_provider(registration)
        assert type(provider).diff is not ResourceProvider.diff, f"{registration.type}: no diff"
        inputs = provider_inputs(registration.raw_inputs)
        olds = {**inputs, PROVIDER_KEY: "an earlier module"}
        news = {**inputs, PROVIDER_KEY: "this module"}
        assert not provider.diff("id", olds, news).changes, registration.type
        checked.add(registration.type)
    assert checked, f"the {target} plan makes no dynamic resource: nothing was checked"
