"""examples/extend: a Pulumi program of one's own, the compose app plus a resource of its own."""

from __future__ import annotations

import runpy

import pytest

from berth.components.project import Project
from berth.offline.plan import Plan, plan_config, run_plan
from tests.conftest import EXAMPLES

PROGRAM = EXAMPLES / "extend" / "__main__.py"


@pytest.fixture(scope="module")
def plan() -> Plan:
    def program() -> Project:
        return runpy.run_path(str(PROGRAM))["shop"]

    config, secret_keys = plan_config([], "local")
    return run_plan(config, secret_keys, preview=False, program=program)


def _one(plan: Plan, type_: str, name: str):
    return next(r for r in plan.registrations if r.type == type_ and r.name == name)


def test_the_extra_resource_waits_for_the_migration_and_joins_the_network(plan: Plan) -> None:
    adminer = _one(plan, "docker:index/container:Container", "adminer")
    migration = _one(plan, "pulumi-python:dynamic/berth:LocalJob", "shop-migrate-run")
    network = _one(plan, "docker:index/network:Network", "shop-network")
    assert migration.urn in adminer.dependencies
    assert adminer.inputs["networksAdvanced"] == [{"name": network.inputs["name"]}]


def test_the_compose_app_is_deployed_under_the_programs_name(plan: Plan) -> None:
    web = _one(plan, "docker:index/container:Container", "shop-web")
    assert web.inputs["name"] == "shop-dev-web"
    assert plan.compose.name == "shop"
