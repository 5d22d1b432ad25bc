"""A target's refusal names the compose file that defined what it refuses, not the first file:
with ``-f compose.yaml -f override.yaml``, a service or field the override brings is located
there (``berth.sources.Sources.origin``), on every target that refuses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.errors import BerthError
from tests.conftest import program

BASE = """\
services:
  web:
    image: nginx:1.27
    ports: ["80:80"]
"""
LONG = "a" * 70
"""A service name longer than a DNS label."""
CASES = {
    "aws: a load balancer port taken twice": (
        "aws",
        "services:\n  admin:\n    image: nginx:1.27\n    ports: ['80:8080']\n",
        ("admin", "ports"),
    ),
    "aws: a secret in a command": (
        "aws",
        "services:\n  web:\n    command: ['serve', '--token', '${TOKEN}']\n",
        ("web", "command"),
    ),
    "aws: more than a Fargate task has": (
        "aws",
        "services:\n  web:\n    cpus: 32\n",
        ("web", "cpus"),
    ),
    "aws: a name that is no DNS label": (
        "aws",
        f"services:\n  {LONG}:\n    image: nginx:1.27\n",
        (LONG, None),
    ),
    "aws: a store password RDS refuses": (
        "aws",
        "services:\n  db:\n    image: postgres:16\n    x-defang-postgres: true\n"
        "    environment:\n      POSTGRES_PASSWORD: ${SHORT}\n",
        ("db", "environment"),
    ),
    "aws: a store larger than any class": (
        "aws",
        "services:\n  db:\n    image: postgres:16\n    x-defang-postgres: true\n"
        "    environment:\n      POSTGRES_PASSWORD: ${TOKEN}\n"
        "    deploy:\n      resources:\n        limits:\n          cpus: '512'\n",
        ("db", "deploy.resources"),
    ),
    "digitalocean: a registry App Platform cannot pull from": (
        "digitalocean",
        "services:\n  web:\n    image: quay.io/org/web:1\n",
        ("web", "image"),
    ),
    "digitalocean: a secret in the run command": (
        "digitalocean",
        "services:\n  web:\n    command: ['serve', '--token', '${TOKEN}']\n",
        ("web", "command"),
    ),
    "digitalocean: an order the phases cannot give": (
        "digitalocean",
        "services:\n  seed:\n    image: busybox\n    restart: 'no'\n    depends_on: [web]\n"
        "  api:\n    image: nginx:1.27\n    depends_on: [seed]\n",
        ("seed", "depends_on"),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_refusal_names_the_file_that_defined_it(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    target, override, where = CASES[case]
    monkeypatch.chdir(project_dir)
    Path("compose.yaml").write_text(BASE)
    Path("override.yaml").write_text(override)

    with pytest.raises(BerthError) as refused:
        program(
            ["compose.yaml", "override.yaml"],
            target=target,
            secrets={"TOKEN": "tok-7a8b9c-long-enough", "SHORT": "shortpw"},
        )

    error = refused.value
    assert (error.file, error.service, error.field) == ("override.yaml", *where), error.message
