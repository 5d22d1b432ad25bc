"""berth/normalize/service.py: one service of Compose's output, field by field, fed a dict."""

from __future__ import annotations

from dataclasses import replace

import pytest

from berth.errors import BerthError
from berth.model import Condition, Dependency
from berth.normalize.service import present_fields, restart, service
from tests.normalize_support import context


def test_a_service_as_compose_prints_it(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    raw = {
        "image": "python:3.12",
        "build": {"context": f"{tmp_path}/app", "dockerfile": "Dockerfile"},
        "command": ["./migrate.sh", 3],
        "depends_on": {
            "db": {"condition": "service_healthy", "required": True},
            "cache": {"condition": "service_started", "required": False},
        },
        "restart": "no",
        "user": 1000,
        "labels": {"tier": 1},
        "x-berth-timeout": "5m",
        "networks": {"default": None},
    }
    ctx = replace(context({"services": {"migrate": {"x-berth-timeout": "5m"}}}), base_dir=tmp_path)

    migrate = service(ctx, "migrate", raw, {})

    assert migrate.build is not None and migrate.build.context == "app"
    assert migrate.command == ("./migrate.sh", "3")
    assert migrate.depends_on == (
        Dependency("db", Condition.HEALTHY),
        Dependency("cache", Condition.STARTED, required=False),
    )
    assert (migrate.restart, migrate.user, migrate.labels) == ("no", "1000", {"tier": "1"})
    assert (migrate.timeout, migrate.run_always) == (300.0, False)
    assert migrate.fields == (
        "build", "build.context", "build.dockerfile", "command", "depends_on", "image",
        "labels", "restart", "user",
    )  # fmt: skip


@pytest.mark.parametrize("policy", ["no", "always", "unless-stopped", "on-failure", "on-failure:3"])
def test_restart_policies_docker_knows(policy):
    assert restart(policy, context().fail("a")) == policy


@pytest.mark.parametrize("policy", ["never", "on-failure:x", "on-failure:1234567890"])
def test_other_restart_policies_are_refused(policy):
    with pytest.raises(BerthError, match="is not a restart policy"):
        restart(policy, context().fail("a"))


def test_present_fields_leave_out_defaults_and_extensions_but_store_markings():
    raw = {
        "image": "postgres",
        "x-defang-postgres": True,
        "x-note": "mine",
        "privileged": False,
        "deploy": {"replicas": 1, "resources": {}},
        "networks": {"default": None},
    }
    assert present_fields(raw) == ("deploy", "deploy.replicas", "image", "x-defang-postgres")
    assert "networks" in present_fields({"networks": {"back": None}})


def test_the_first_problem_is_named_in_the_file_that_set_the_field():
    ctx = context(
        {"services": {"api": {"image": "x"}}}, {"services": {"api": {"restart": "never"}}}
    )
    with pytest.raises(BerthError) as refused:
        service(ctx, "api", {"image": "x", "restart": "never"}, {})
    assert (refused.value.file, refused.value.field) == ("compose1.yaml", "restart")
