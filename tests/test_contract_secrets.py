"""One contract for every target: a stack secret never appears in plain text in a resource
input, a warning or any form of the offline plan's output, and it does reach the resources that
need it, inside Pulumi's secret wrapper. A new target under providers/ is held to it at once."""

from __future__ import annotations

import pytest

from berth.components.names import Names
from berth.components.pulumi_internals import is_secret
from berth.components.target import Phased, available_targets, load_target
from berth.offline.render import as_json, as_mermaid, as_text
from tests.conftest import program
from tests.secrets_check import assert_never_plain, count_wrapped

PASSWORD, TOKEN = "pw-contract-7f6e5d4c", "tok-contract-3b2a1908"
COMPOSE = """
    name: shop
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: ${DB_PASSWORD}
      migrate:
        image: migrate/migrate
        environment:
          DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app
          API_TOKEN: ${API_TOKEN}
        restart: "no"
        depends_on: [db]
      web:
        image: nginx
        ports: ["80:80"]
        environment:
          - API_TOKEN
        depends_on: [migrate]
    """


@pytest.mark.parametrize("target", available_targets())
def test_secrets_reach_resources_only_as_secrets(project_dir, write, target):
    write(COMPOSE)

    plan = program(
        ["compose.yaml"], target=target, secrets={"DB_PASSWORD": PASSWORD, "API_TOKEN": TOKEN}
    )

    assert_never_plain(plan, PASSWORD, TOKEN)
    assert count_wrapped(plan, TOKEN) >= 1, "the token reached a resource, wrapped"
    for rendered in (as_text(plan), as_json(plan), as_mermaid(plan)):
        assert PASSWORD not in rendered
        assert TOKEN not in rendered


@pytest.mark.parametrize("target", available_targets())
def test_a_jobs_log_tail_is_a_secret_output_when_the_job_holds_secrets(project_dir, write, target):
    """Found by what it is (the job's run-once resource: a dynamic resource with a definition)
    and named as the program names it, never skipped: a target that runs jobs inside its one
    unit must have no run-once resource to check, a sequenced one exactly the job's."""
    write(COMPOSE)
    plan = program(
        ["compose.yaml"], target=target, secrets={"DB_PASSWORD": PASSWORD, "API_TOKEN": TOKEN}
    )

    runs = {
        r.name: r
        for r in plan.registrations
        if r.type.startswith("pulumi-python:dynamic/")
        and "definition" in r.raw_inputs
        and plan.service_of(r) == "migrate"
    }
    if isinstance(load_target(target).ORDERING, Phased):
        assert runs == {}, f"{target} runs jobs inside its unit, with no log tail of their own"
        return
    run_name = Names(plan.compose.name)("migrate", "run")
    assert set(runs) == {run_name}, f"{target}: no run-once resource named {run_name}"
    run = runs[run_name]
    assert "logTail" in run.secret_outputs
    assert run.inputs["scrubValues"] == "[secret]"
    scrubbed = run.raw_inputs["scrubValues"]
    assert is_secret(scrubbed)
    assert {PASSWORD, TOKEN} <= set(scrubbed["value"]), "the job's log is scrubbed of both"
