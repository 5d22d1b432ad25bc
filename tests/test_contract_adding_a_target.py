"""README's "Adding a target" holds: a target is its package, its docs page, its column on the
compatibility page and its requirement line, and nothing else names it.

Every target is held to the four parts; and a fifth, fake target package (the local one under
another name, put in the registry by a pytest plugin in a fresh interpreter) shows up in every
test module that lists targets, and is refused by the docs tests until it has its page.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from berth.components.target import available_targets
from tests.conftest import ROOT
from tests.test_repo_layers import target_libraries

LISTS_TARGETS = re.compile(r"\b(available_targets|ordered_targets)\(")
"""How a test module lists the targets: the registry, or the registry by ordering."""
NOT_A_LIST = {"test_settings.py": "reads the default target, the registry's first"}
"""Modules that call the registry without listing its targets."""
REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)", re.MULTILINE)


def _requirements() -> set[str]:
    text = (ROOT / "requirements.in").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {_normal(match[1]) for line in lines if (match := REQUIREMENT.match(line))}


def _normal(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


@pytest.mark.parametrize("target", available_targets())
def test_a_target_has_its_docs_page_and_compatibility_column(target: str) -> None:
    page = ROOT / "docs" / f"{target}.md"
    assert page.is_file(), f"docs/{target}.md: the target's page"
    compatibility = (ROOT / "docs" / "compatibility.md").read_text()
    header = next(line for line in compatibility.splitlines() if line.startswith("| field |"))
    assert f" {target} |" in header, "regenerate docs/compatibility.md"


@pytest.mark.parametrize("target", available_targets())
def test_a_target_s_libraries_are_requirements(target: str) -> None:
    """Each library the package imports is a direct requirement, a line of requirements.in."""
    providing = importlib.metadata.packages_distributions()
    modules = target_libraries(target) - {"berth"}
    missing = {
        module: providing.get(module)
        for module in sorted(modules)
        if not {_normal(d) for d in providing.get(module, [])} & _requirements()
    }
    assert missing == {}, "add their lines to requirements.in, then lock (README)"


FAKE = {
    "__init__.py": '''
        """A fifth target for the test: the local one under another name."""
        from berth.providers.local import *  # noqa: F403
        from berth.providers.local import FIELD_SUPPORT, Options  # noqa: F401

        NAME = "fake"
        MANAGES_STORES = True  # a cloud's, so the tests of managed stores list it too
    ''',
    "roles.py": "from berth.providers.local.roles import *  # noqa: F403\n",
}
PLUGIN = '''
    """Puts the fake target's folder in the registry before any test module is collected."""
    import berth.providers

    berth.providers.__path__.append({folder!r})
'''


def _with_a_fake_target(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """pytest, in a fresh interpreter whose registry holds a fifth target, ``fake``."""
    (tmp_path / "fake").mkdir()
    for name, text in FAKE.items():
        (tmp_path / "fake" / name).write_text(textwrap.dedent(text))
    (tmp_path / "fake_target.py").write_text(textwrap.dedent(PLUGIN.format(folder=str(tmp_path))))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "fake_target", "-p", "no:cacheprovider", *arguments],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": f"{ROOT}:{tmp_path}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_new_target_is_in_every_list_of_targets(tmp_path: Path) -> None:
    listing = sorted(
        path
        for path in (ROOT / "tests").glob("test_*.py")
        if LISTS_TARGETS.search(path.read_text()) and path.name not in NOT_A_LIST
    )
    names = {path.name for path in listing}
    assert {"test_contract_sequencing.py", "test_diff.py", "test_repo_layers.py"} <= names
    assert {"test_project_names.py", "test_roles.py", "test_contract_corpus.py"} <= names

    done = _with_a_fake_target(tmp_path, "--collect-only", "-q", *map(str, listing))

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    fake = re.compile(r"\[(?:[^\]]*-)?fake(?:-[^\]]*)?\]")
    found = {line.split("::")[0] for line in done.stdout.splitlines() if fake.search(line)}
    assert {f"tests/{name}" for name in names} - found == set()


def test_a_new_target_without_its_page_and_column_is_refused(tmp_path: Path) -> None:
    done = _with_a_fake_target(
        tmp_path,
        "-q",
        "-n",
        "0",
        "tests/test_repo_compatibility_doc.py",
        "tests/test_contract_adding_a_target.py::test_a_target_has_its_docs_page_and_compatibility_column",
    )

    failed = set(re.findall(r"^FAILED (\S+)", done.stdout, re.MULTILINE))
    assert failed >= {
        "tests/test_repo_compatibility_doc.py::test_the_compatibility_page_matches_the_code",
        "tests/test_contract_adding_a_target.py::test_a_target_has_its_docs_page_and_compatibility_column[fake]",
    }, done.stdout[-3000:]
    assert not any("[local]" in test for test in failed)
