"""``berth:AppDeployed`` against a scripted DigitalOcean API (issue 20, item 2): after ``pulumi up``
the app's active deployment is the one for this spec, else ``up`` fails naming the failed job or
component; a re-run after a failure deploys again.

The requests and answers are the API's (godo ``apps.go`` paths, ``apps.gen.go`` fields: ``App``'s
``active_deployment``, ``in_progress_deployment``, ``pending_deployment``; ``Deployment``'s
``phase`` and ``progress.steps`` with ``status``, ``component_name``, ``message_base``,
``reason.message``). The clock is fake (sleeping advances it), so the deadlines are the real ones
and nothing waits.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from berth.components.pulumi_internals import is_secret
from berth.offline.plan import plan_config, run_plan
from berth.providers.digitalocean import api as api_module
from berth.providers.digitalocean import deployed as deployed_module
from berth.providers.digitalocean.api import ACCESS, AppsApi, settings
from berth.providers.digitalocean.deployed import (
    SPEC_DIGEST,
    TIMEOUT,
    AppDeployedProvider,
    DeploymentFailed,
)
from tests.plans import find, of_type, provider_inputs
from tests.test_gcp_run_once_executions import Clock, ScriptedSession

API = "https://api.digitalocean.com/v2/apps"
APP_ID = "6f1c1a4e-app"
WANT = "4684d47e306b48af32d7fd4d2a7fc9a4"
OLD = "0123456789abcdef0123456789abcdef"
GET_APP = ("GET", f"{API}/{APP_ID}")
DEPLOY = ("POST", f"{API}/{APP_ID}/deployments")
TOKEN = "dop_v1_token-never-printed"


def spec(digest: str) -> dict[str, Any]:
    """An app spec as the API answers it, Berth's spec digest in every component."""
    marker = {"key": SPEC_DIGEST, "value": digest, "scope": "RUN_TIME", "type": "GENERAL"}
    return {
        "name": "shop-dev",
        "services": [{"name": "web", "envs": [marker]}],
        "jobs": [{"name": "migrate", "kind": "PRE_DEPLOY", "envs": [marker]}],
    }


def deployment(id_: str, digest: str, phase: str, **fields: Any) -> dict[str, Any]:
    return {"id": id_, "spec": spec(digest), "phase": phase, **fields}


def app(active: dict | None = None, **fields: Any) -> dict[str, Any]:
    return {"app": {"id": APP_ID, "spec": spec(WANT), "active_deployment": active, **fields}}


def get_deployment(id_: str) -> tuple[str, str]:
    return ("GET", f"{API}/{APP_ID}/deployments/{id_}")


JOB_FAILED = {
    "error_steps": 1,
    "steps": [
        {"name": "build", "status": "SUCCESS"},
        {
            "name": "deploy",
            "status": "ERROR",
            "steps": [
                {"name": "initialize", "status": "SUCCESS"},
                {
                    "name": "pre-deploy-jobs",
                    "status": "ERROR",
                    "steps": [
                        {
                            "name": "run-job",
                            "status": "ERROR",
                            "component_name": "migrate",
                            "message_base": "Running job",
                            "reason": {"code": "JobFailed", "message": "exited with code 1"},
                        }
                    ],
                },
            ],
        },
    ],
}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    fake_time = SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep)
    monkeypatch.setattr(deployed_module, "time", fake_time)
    monkeypatch.setattr(api_module, "time", fake_time)
    return fake


def deploy(session: ScriptedSession, action: str = "create", **changes: Any) -> dict[str, Any]:
    """``create`` (or ``update``) of the resource, as the engine calls it, over ``session``."""

    class Provider(AppDeployedProvider):
        def api(self, props: Any) -> AppsApi:
            return AppsApi(session)

    props = {"app": APP_ID, "spec": WANT, "timeout": TIMEOUT, ACCESS: {"token": TOKEN}, **changes}
    provider = Provider()
    if action == "create":
        return provider.create(props).outs or {}
    return provider.update(APP_ID, {**props, "spec": OLD}, props).outs or {}


def test_the_deployment_the_provider_waited_for_is_checked_and_recorded(clock):
    session = ScriptedSession([(GET_APP, 200, app(deployment("d-2", WANT, "ACTIVE")))])

    outs = deploy(session, "update")
    assert outs["deploymentId"] == "d-2"
    assert ACCESS not in outs, "the token stays out of the state's outputs"
    assert session.done() and clock.slept == []


def test_a_deployment_in_progress_is_waited_for(clock):
    session = ScriptedSession([
        (GET_APP, 200, app(None, in_progress_deployment=deployment("d-1", WANT, "BUILDING"))),
        (get_deployment("d-1"), 200, {"deployment": deployment("d-1", WANT, "DEPLOYING")}),
        (get_deployment("d-1"), 200, {"deployment": deployment("d-1", WANT, "ACTIVE")}),
    ])  # fmt: skip

    assert deploy(session)["deploymentId"] == "d-1"
    assert session.done() and clock.slept == [10.0, 10.0]


def test_a_failed_job_fails_up_naming_it_and_its_logs(clock):
    session = ScriptedSession([
        (GET_APP, 200, app(None, pending_deployment=deployment("d-1", WANT, "PENDING_BUILD"))),
        (get_deployment("d-1"), 200,
         {"deployment": deployment("d-1", WANT, "ERROR", progress=JOB_FAILED)}),
    ])  # fmt: skip

    with pytest.raises(DeploymentFailed) as failed:
        deploy(session)
    message = str(failed.value)
    assert (
        "deployment d-1 failed: job 'migrate' failed (Running job: exited with code 1)" in message
    )
    assert f"doctl apps logs {APP_ID} migrate --deployment d-1 --type deploy" in message
    assert f"https://cloud.digitalocean.com/apps/{APP_ID}/deployments/d-1" in message
    assert TOKEN not in message


def test_a_failed_hook_fails_up_naming_its_service_and_place(clock):
    """A ``pre_start`` hook's PRE_DEPLOY job is named as Compose names the hook; its logs are
    still its component's."""
    hook_failed = {
        "steps": [
            {
                "name": "run-job",
                "status": "ERROR",
                "component_name": "web-pre-start-0",
                "message_base": "Running job",
                "reason": {"message": "exited with code 3"},
            }
        ]
    }
    session = ScriptedSession([
        (GET_APP, 200, app(None, pending_deployment=deployment("d-1", WANT, "PENDING_BUILD"))),
        (get_deployment("d-1"), 200,
         {"deployment": deployment("d-1", WANT, "ERROR", progress=hook_failed)}),
    ])  # fmt: skip

    with pytest.raises(DeploymentFailed) as failed:
        deploy(session, hooks={"web-pre-start-0": 'service "web" pre_start[0]'})
    message = str(failed.value)
    assert 'failed: service "web" pre_start[0] failed (Running job: exited with code 3)' in message
    assert f"doctl apps logs {APP_ID} web-pre-start-0 --deployment d-1" in message


def test_a_cancelled_deployment_names_the_component_that_failed(clock):
    progress = {
        "steps": [
            {
                "name": "deploy",
                "status": "ERROR",
                "component_name": "web",
                "message_base": "Deploying service",
                "reason": {"message": "health checks failed"},
            }
        ]
    }
    session = ScriptedSession([
        (GET_APP, 200,
         app(None, in_progress_deployment=deployment("d-1", WANT, "CANCELED", progress=progress))),
    ])  # fmt: skip

    with pytest.raises(DeploymentFailed, match="was cancelled: service 'web' failed"):
        deploy(session)


def test_a_rerun_after_a_failure_deploys_again(clock):
    """The last ``up`` failed in the deployment: the app's spec is this one, its active
    deployment the previous spec's (or none, after a failed create), nothing in progress. The
    provider finds nothing to change; this resource starts a deployment and waits for it."""
    for active in (deployment("d-0", OLD, "ACTIVE"), None):
        session = ScriptedSession([
            (GET_APP, 200, app(active)),
            (DEPLOY, 200, {"deployment": deployment("d-3", WANT, "PENDING_BUILD")}),
            (get_deployment("d-3"), 200, {"deployment": deployment("d-3", WANT, "ACTIVE")}),
        ])  # fmt: skip

        assert deploy(session)["deploymentId"] == "d-3"
        assert session.done()


def test_a_failed_run_records_nothing_so_the_next_up_waits_again():
    """``create`` failed: no state, the next ``up`` creates it again. ``update`` failed: the
    state keeps the previous spec, so the next ``up``'s diff finds this one again. A new token
    alone is no change."""
    provider = AppDeployedProvider()
    olds = {"app": APP_ID, "spec": OLD, "timeout": TIMEOUT, "deploymentId": "d-0"}
    news = {"app": APP_ID, "spec": WANT, "timeout": TIMEOUT, ACCESS: {"token": TOKEN}}
    assert provider.diff(APP_ID, olds, news).changes is True
    same = {**news, "spec": OLD, ACCESS: {"token": "renewed"}}
    assert provider.diff(APP_ID, olds, same).changes is False
    assert provider.diff(APP_ID, olds, same).replaces == []


def test_transient_errors_are_tried_again(clock):
    session = ScriptedSession([
        (GET_APP, 503, {"id": "service_unavailable", "message": "try later"}),
        (GET_APP, 429, {"id": "too_many_requests", "message": "API Rate limit exceeded."}),
        (GET_APP, 200, app(None, in_progress_deployment=deployment("d-1", WANT, "DEPLOYING"))),
        (get_deployment("d-1"), 0, requests.ConnectionError("reset by peer")),
        (get_deployment("d-1"), 200, {"deployment": deployment("d-1", WANT, "ACTIVE")}),
    ])  # fmt: skip

    assert deploy(session)["deploymentId"] == "d-1"
    assert clock.slept == [1.0, 2.0, 10.0, 1.0]


def test_an_error_that_lasts_fails_without_the_token(clock):
    session = ScriptedSession(
        [(GET_APP, 401, {"id": "unauthorized", "message": "Unable to authenticate you."})]
    )

    with pytest.raises(DeploymentFailed, match="HTTP 401: Unable to authenticate you") as failed:
        deploy(session)
    assert TOKEN not in str(failed.value)


def test_a_deployment_past_the_timeout_fails_and_the_next_up_waits_for_it(clock):
    running = {"deployment": deployment("d-1", WANT, "DEPLOYING")}
    polls = int(600 / 10)
    session = ScriptedSession([
        (GET_APP, 200, app(None, in_progress_deployment=deployment("d-1", WANT, "DEPLOYING"))),
        *[(get_deployment("d-1"), 200, running)] * polls,
    ])  # fmt: skip

    with pytest.raises(
        DeploymentFailed, match=r"d-1 is still DEPLOYING after 10m; `pulumi up` again"
    ):
        deploy(session, timeout=600)
    assert clock.now == 600


def test_a_spec_that_is_not_this_one_fails_with_the_way_out(clock):
    """A failed update can leave the provider's state ahead of the app (its update saves the
    spec it meant to send): the app's spec is still the old one."""
    answer = app(deployment("d-0", OLD, "ACTIVE"))
    answer["app"]["spec"] = spec(OLD)
    session = ScriptedSession([(GET_APP, 200, answer)])

    with pytest.raises(DeploymentFailed, match="run `pulumi refresh`, then `pulumi up`"):
        deploy(session)


def test_a_superseded_deployment_counts_only_if_the_active_one_is_this_spec(clock):
    session = ScriptedSession([
        (GET_APP, 200, app(None, in_progress_deployment=deployment("d-1", WANT, "SUPERSEDED"))),
        (GET_APP, 200, app(deployment("d-2", WANT, "ACTIVE"))),
    ])  # fmt: skip
    assert deploy(session)["deploymentId"] == "d-2"

    session = ScriptedSession([
        (GET_APP, 200, app(None, in_progress_deployment=deployment("d-1", WANT, "SUPERSEDED"))),
        (GET_APP, 200, app(deployment("d-9", OLD, "ACTIVE"))),
    ])  # fmt: skip
    with pytest.raises(DeploymentFailed, match="superseded by d-9, which is not of this spec"):
        deploy(session)


def test_the_token_comes_from_the_input_else_the_environment():
    env = {"DIGITALOCEAN_ACCESS_TOKEN": "from-env", "DIGITALOCEAN_API_URL": "https://do.test/"}
    assert settings({"token": "given"}, env) == ("given", "https://do.test")
    assert settings(None, env) == ("from-env", "https://do.test")
    assert settings(None, {"DIGITALOCEAN_TOKEN": "first", **env})[0] == "first"
    assert settings(None, {}) == ("", "https://api.digitalocean.com")
    with pytest.raises(api_module.ApiError, match="no DigitalOcean token"):
        AppsApi.acting_as({})


# -- in the program ------------------------------------------------------------------------------

DEPLOYED = "pulumi-python:dynamic/berth:AppDeployed"


def test_the_app_is_followed_by_its_deployment_check(project_dir: Path, write):
    write("""
        services:
          migrate: {image: busybox, restart: "no"}
          web: {image: nginx, ports: ["80:80"], depends_on: [migrate]}
    """)
    config, secret_keys = plan_config(["compose.yaml"], target="digitalocean")
    config["digitalocean:token"] = "dop_v1_stack-token"
    secret_keys.append("digitalocean:token")
    plan = run_plan(config, secret_keys, preview=False)

    app = find(plan, "digitalocean:index/app:App", "app")
    (check,) = of_type(plan, DEPLOYED)
    assert app.urn in check.dependencies
    inputs = provider_inputs(check.raw_inputs)
    assert inputs["app"] == f"{app.name}-id", "the app's id"
    components = [*app.inputs["spec"]["services"], *app.inputs["spec"]["jobs"]]
    digests = {e["value"] for c in components for e in c["envs"] if e["key"] == SPEC_DIGEST}
    assert digests == {inputs["spec"]}, "every component carries the digest the check waits for"
    assert inputs[ACCESS] == {"token": "dop_v1_stack-token"}
    assert is_secret(check.raw_inputs[ACCESS]), "a secret input: encrypted in the state"
    assert "dop_v1_stack-token" not in str(check.inputs)
