"""The test of a module is found by its name (issue 22).

``tests/test_<module>[_<aspect>].py`` tests one module: ``<module>`` is its dotted path under
its layer with ``_`` for ``.`` (``berth/normalize/ports.py``: ``test_normalize_ports``;
``providers/aws/readiness.py``: ``test_aws_readiness``), or a target's name for what holds its
whole program (``test_aws_noop``). Tests that hold every target to one rule are
``test_contract_*``; tests of the repository itself (README, layers, packaging, CI) are
``test_repo_*``.
"""

from __future__ import annotations

from pathlib import Path

from berth import LAYERS
from tests.conftest import ROOT

KINDS = ("contract_", "repo_")


def module_names() -> set[str]:
    """Every name a test file may start with: each module of the domain and the layers, each
    target, and each module of a target prefixed with the target's name."""
    names: set[str] = set()
    for folder in ("berth", *(layer for layer in LAYERS if layer != "providers")):
        for path in (ROOT / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts]
            if parts := [p for p in parts if p != "__init__"]:
                names.add("_".join(parts))
    for target in (p for p in (ROOT / "providers").iterdir() if (p / "__init__.py").is_file()):
        names.add(target.name)
        names |= {f"{target.name}_{p.stem}" for p in target.glob("*.py") if p.stem != "__init__"}
    return names


def subject(test_file: Path, names: set[str]) -> str | None:
    """The module (or kind) a test file's name says it tests, the longest that fits."""
    stem = test_file.stem.removeprefix("test_")
    if stem.startswith(KINDS):
        return stem.split("_", 1)[0]
    fits = [name for name in names if stem == name or stem.startswith(f"{name}_")]
    return max(fits, key=len, default=None)


def test_every_test_file_names_what_it_tests() -> None:
    names = module_names()
    unnamed = sorted(p.name for p in (ROOT / "tests").glob("test_*.py") if not subject(p, names))
    assert not unnamed, f"name these after the module they test, or contract_/repo_: {unnamed}"


def test_the_rule_reads_names_as_they_are_meant() -> None:
    names = module_names()
    assert subject(ROOT / "tests/test_normalize_ports.py", names) == "normalize_ports"
    assert subject(ROOT / "tests/test_aws_readiness.py", names) == "aws_readiness"
    assert subject(ROOT / "tests/test_aws_noop.py", names) == "aws"
    assert subject(ROOT / "tests/test_contract_secrets.py", names) == "contract"
    assert subject(ROOT / "tests/test_deploy_things.py", names) is None
