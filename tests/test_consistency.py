"""Berth refuses what Docker Compose's own consistency pass refuses.

Berth loads with ``config --no-consistency`` and checks consistency itself (with messages that
say what to do, and ``required: false`` dependencies dropped with a warning). Each case here
runs the pinned Compose binary twice on the same file: without ``--no-consistency`` it must
refuse, with it accept (so the refusal is the consistency pass's). Berth must refuse it too,
naming service and field. Files Compose accepts, Berth accepts.
"""

from __future__ import annotations

import subprocess

import pytest

from berth.binary import compose_command
from tests.conftest import refused

BASE = (
    "services:\n  base:\n    image: alpine\n    networks: [back]\n    container_name: shared\n"
    "networks:\n  back: {}\n"
)

REFUSED = {
    "duplicate container_name": (
        "services:\n  a:\n    image: x\n    container_name: same\n"
        "  b:\n    image: x\n    container_name: same\n",
        "container_name",
    ),
    "container_name from extends twice": (
        "services:\n  a:\n    extends: {file: base.yaml, service: base}\n"
        "    networks: !reset []\n  b:\n    extends: {file: base.yaml, service: base}\n"
        "    networks: !reset []\n",
        "container_name",
    ),
    "healthcheck test of another kind": (
        "services:\n  a:\n    image: x\n    healthcheck:\n      test: [curl, -f, http://localhost]\n",
        "healthcheck.test",
    ),
    "undefined network": ("services:\n  a:\n    image: x\n    networks: [back]\n", "networks"),
    "network only in the extended file": (
        "services:\n  a:\n    extends: {file: base.yaml, service: base}\n"
        "    container_name: !reset null\n",
        "networks",
    ),
    "network_mode with networks": (
        "services:\n  a:\n    image: x\n    network_mode: host\n    networks: [back]\n"
        "networks:\n  back: {}\n",
        "network_mode",
    ),
    "network_mode of an undefined service": (
        "services:\n  a:\n    image: x\n    network_mode: service:ghost\n",
        "network_mode",
    ),
    "volumes_from an undefined service": (
        "services:\n  a:\n    image: x\n    volumes_from: [ghost]\n",
        "volumes_from",
    ),
    "undefined volume": ("services:\n  a:\n    image: x\n    volumes: [data:/data]\n", "volumes"),
    "undefined secret": ("services:\n  a:\n    image: x\n    secrets: [s]\n", "secrets"),
    "undefined config": ("services:\n  a:\n    image: x\n    configs: [c]\n", "configs"),
    "undefined build secret": (
        "services:\n  a:\n    build:\n      context: .\n      secrets: [s]\n",
        "build",
    ),
    "neither image nor build": ("services:\n  a:\n    command: [x]\n", "image"),
    "scale and replicas differ": (
        "services:\n  a:\n    image: x\n    scale: 2\n    deploy:\n      replicas: 3\n",
        "scale",
    ),
    "cpus twice": (
        "services:\n  a:\n    image: x\n    cpus: 1\n"
        "    deploy:\n      resources:\n        limits:\n          cpus: '2'\n",
        "cpus",
    ),
    "mem_limit twice": (
        "services:\n  a:\n    image: x\n    mem_limit: 1g\n"
        "    deploy:\n      resources:\n        limits:\n          memory: 2g\n",
        "mem_limit",
    ),
    "mem_reservation twice": (
        "services:\n  a:\n    image: x\n    mem_reservation: 1g\n"
        "    deploy:\n      resources:\n        reservations:\n          memory: 2g\n",
        "mem_reservation",
    ),
    "pids_limit twice": (
        "services:\n  a:\n    image: x\n    pids_limit: 10\n"
        "    deploy:\n      resources:\n        limits:\n          pids: 20\n",
        "pids_limit",
    ),
    "container_name with replicas": (
        "services:\n  a:\n    image: x\n    container_name: one\n    deploy:\n      replicas: 2\n",
        "container_name",
    ),
    "watch without target": (
        "services:\n  a:\n    image: x\n    develop:\n      watch:\n"
        "        - {path: ./src, action: sync}\n",
        "develop.watch",
    ),
    "dockerfile and dockerfile_inline": (
        "services:\n  a:\n    build:\n      context: .\n      dockerfile: Dockerfile\n"
        "      dockerfile_inline: FROM x\n",
        "build",
    ),
    "platform outside build.platforms": (
        "services:\n  a:\n    platform: linux/arm64\n    build:\n      context: .\n"
        "      platforms: [linux/amd64]\n",
        "platform",
    ),
    "dependency cycle": (
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n"
        "    depends_on: [a]\n",
        "depends_on",
    ),
}

ACCEPTED = {
    "healthcheck kinds": (
        "services:\n  a:\n    image: x\n    healthcheck:\n      test: [CMD, 'true']\n"
        "  b:\n    image: x\n    healthcheck:\n      test: [CMD-SHELL, 'true']\n"
        "  c:\n    image: x\n    healthcheck:\n      test: [NONE]\n"
        "  d:\n    image: x\n    healthcheck:\n      test: curl -f http://localhost\n"
    ),
    "the same value twice": (
        "services:\n  a:\n    image: x\n    cpus: 2\n    mem_limit: 1g\n"
        "    deploy:\n      resources:\n        limits:\n          cpus: '2'\n"
        "          memory: 1024m\n"
    ),
    "networks that are defined": (
        "services:\n  a:\n    extends: {file: base.yaml, service: base}\nnetworks:\n  back: {}\n"
    ),
    "dockerfile_inline alone": (
        "services:\n  a:\n    build:\n      context: .\n      dockerfile_inline: FROM x\n"
    ),
}


def compose_config(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose_command(), "-f", "compose.yaml", "config", "--quiet", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_composes_consistency_pass_refuses_berth_refuses(case, load, write):
    compose, field = REFUSED[case]
    write(BASE, "base.yaml")
    write(compose)
    assert compose_config("--no-consistency").returncode == 0, "a consistency case"
    strict = compose_config()
    assert strict.returncode != 0, "Compose's consistency pass refuses it"

    error = refused(load, compose)

    assert error.service in ("a", "b"), error.message
    assert error.field == field, error.message


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_what_compose_accepts_berth_accepts(case, load, write):
    write(BASE, "base.yaml")
    write(ACCEPTED[case])
    assert compose_config().returncode == 0, compose_config().stderr

    assert load(ACCEPTED[case]).services
