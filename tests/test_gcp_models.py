"""Language models on gcp (issue 25): a LiteLLM gateway per model on a VM with an internal
address only, its users given that address and waiting for it, Vertex AI's API enabled, and a
custom role of one permission held by the accounts that call Vertex AI and by no other; the
OpenAI key set with ``--secret`` stays a secret; a second ``up`` changes nothing, and one
changed variable of a job that uses a model re-runs that job alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from berth.components.models import with_gateways
from berth.load import load_project
from berth.offline.compare import compare
from berth.offline.plan import Plan, Registration
from berth.offline.render import as_json, as_text
from berth.providers.gcp import MODEL_GATEWAY, PLAN_PROJECT
from berth.providers.gcp.models import (
    PERMISSIONS,
    residency_warnings,
    role_id,
    with_vertex_project,
)
from berth.providers.gcp.names import account_id, cloud_name
from berth.providers.gcp.placement import Kind, place
from berth.providers.gcp.sizing import machine_type
from berth.sizing import Request
from berth.sources import read_sources
from tests.conftest import program
from tests.plans import find, of_type, waits_on_services
from tests.secrets_check import assert_never_plain, count_wrapped
from tests.test_gcp_noop import assert_known, changed, dynamic_diffs, quiet, version

INSTANCE = "gcp:compute/instance:Instance"
SERVICE = "gcp:cloudrunv2/service:Service"
POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
JOB = "gcp:cloudrunv2/job:Job"
API = "gcp:projects/service:Service"
ROLE = "gcp:projects/iAMCustomRole:IAMCustomRole"
MEMBER = "gcp:projects/iAMMember:IAMMember"
SUFFIX = "random:index/randomId:RandomId"
RUN = "pulumi-python:dynamic/berth:CloudRunJobExecution"
ADDRESS = "gcp:compute/address:Address"
FIREWALL = "gcp:compute/firewall:Firewall"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
KEY = "sk-gcp-models-7c6b5a49"
COMPOSE = """
    name: shop
    services:
      chat:
        image: app
        ports: ["8080:8080"]
        environment:
          OPENAI_API_KEY: ${OPENAI_API_KEY}
        models:
          llm:
            endpoint_var: AI_URL
            model_var: AI_MODEL
      search:
        image: app
        models: [embedding]
      index:
        image: app
        restart: "no"
        depends_on: [assistant]
      assistant:
        provider: {type: model, options: {model: chat-default}}
      proxy:
        image: litellm/litellm:v1.92.0
        x-defang-llm: true
      agent:
        image: app
        ports: ["8000:8000"]
        x-defang-llm: true
    models:
      llm:
        model: ai/llama3.3
      embedding:
        model: embedding-default
    """
"""The three forms (top-level ``models:`` long and short, a ``provider: type: model``
service) used by a Cloud Run service, a worker pool and a job, and two ``x-defang-llm``
services: a LiteLLM image that names no port (a VM) and one that publishes one (Cloud Run)."""
GATEWAYS = {
    "llm": ("vertex_ai/meta/llama-3.3-70b-instruct-maas", "ai/llama3.3", "us-central1"),
    "embedding": ("vertex_ai/gemini-embedding-001", "embedding-default", "us-central1"),
    "assistant": ("vertex_ai/gemini-2.5-flash", "chat-default", "us-central1"),
}
"""Each gateway: the model LiteLLM calls, the alias it serves it as, its location."""
USERS = {
    (SERVICE, "chat"): ("llm", "AI_URL", "AI_MODEL"),
    (POOL, "search"): ("embedding", "EMBEDDING_URL", "EMBEDDING_MODEL"),
    (JOB, "index"): ("assistant", "ASSISTANT_URL", "ASSISTANT_MODEL"),
}
"""Each user's workload: the model it uses and the two variables it is given."""
CALLERS = ("llm", "embedding", "assistant", "proxy", "agent")
"""The workloads that call Vertex AI: the gateways and the ``x-defang-llm`` services."""


@pytest.fixture
def plan(project_dir: Path, write) -> Plan:
    write(COMPOSE)
    return program(["compose.yaml"], target="gcp", secrets={"OPENAI_API_KEY": KEY})


def internal_ip(plan: Plan, service: str) -> str:
    (interface,) = find(plan, INSTANCE, service).inputs["networkInterfaces"]
    return str(interface["networkIp"])


def containers(registration: Registration) -> list[dict]:
    template = registration.inputs["template"]
    return template.get("template", template)["containers"]


def env(registration: Registration) -> dict[str, object]:
    (container,) = containers(registration)
    return {e["name"]: e.get("value", e.get("valueSource")) for e in container.get("envs", [])}


def prefix(plan: Plan) -> str:
    return cloud_name(plan.compose.name, plan.stack, limit=30)


def member_of(plan: Plan, workload: str) -> str:
    email = f"{account_id(prefix(plan), workload)}@{PLAN_PROJECT}.iam.gserviceaccount.com"
    return f"serviceAccount:{email}"


def test_each_model_is_a_litellm_vm_with_an_internal_address_only(plan):
    placements = place(plan.compose)
    for name, (model, alias, location) in GATEWAYS.items():
        assert placements[name].kind is Kind.VM
        assert placements[name].reason == "it exposes ports inside the project only"
        instance = find(plan, INSTANCE, name).inputs
        (interface,) = instance["networkInterfaces"]
        assert "accessConfigs" not in interface, "no external address: private to the network"
        assert re.fullmatch(r"10\.\d+\.\d+\.\d+", interface["networkIp"])
        script = instance["metadata"]["user-data"]
        run = script.split("exec docker run", 1)[1]
        assert f'"$image" --port 4000 --drop_params --model {model} --alias {alias}\n' in run
        assert "docker.io/litellm/litellm@sha256:" in script, "LiteLLM's image, by digest"
        assert f"--env VERTEXAI_LOCATION={location} " in run
        assert f"--env VERTEXAI_PROJECT={PLAN_PROJECT} " in run
        assert "publish 4000 4000 tcp" in script, "on its internal address, for its users"
        assert find(plan, ADDRESS, f"{name}-address").inputs["addressType"] == "INTERNAL"
    (firewall,) = of_type(plan, FIREWALL)
    assert firewall.inputs["sourceRanges"] == [find(plan, SUBNET, "subnet").inputs["ipCidrRange"]]
    assert "VERTEXAI_PROJECT" not in find(plan, INSTANCE, "proxy").inputs["metadata"]["user-data"]


def test_users_are_given_the_gateways_internal_address_and_wait_for_it(plan):
    for (type_, user), (model, url_var, model_var) in USERS.items():
        workload = find(plan, type_, user)
        variables = env(workload)
        assert variables[url_var] == f"http://{internal_ip(plan, model)}:4000/v1/"
        assert variables[model_var] == GATEWAYS[model][1]
        template = workload.inputs["template"]
        assert template.get("template", template)["vpcAccess"], "reaches the VM's address"
        waited = waits_on_services(plan, workload)
        if type_ == JOB:  # its execution waits, the definition need not
            waited = waits_on_services(plan, find(plan, RUN, f"{user}-run"))
        assert model in waited, f"{user} waits for {model}"


def test_only_the_callers_of_vertex_ai_hold_its_one_permission(plan):
    (role,) = of_type(plan, ROLE)
    assert role.inputs["permissions"] == ["aiplatform.endpoints.predict"] == list(PERMISSIONS)
    assert re.fullmatch(r"berth_shop_dev_[0-9a-f]{8}", role.inputs["roleId"])
    (suffix,) = of_type(plan, SUFFIX)
    assert suffix.urn in role.dependencies, "a random part, drawn once per stack"
    grants = [
        m
        for m in of_type(plan, MEMBER)
        if m.inputs["role"] == f"projects/{PLAN_PROJECT}/roles/{role.inputs['roleId']}"
    ]
    assert sorted(g.inputs["member"] for g in grants) == sorted(member_of(plan, n) for n in CALLERS)
    assert not [m for m in of_type(plan, MEMBER) if "aiplatform" in m.inputs["role"]]
    (api,) = [a for a in of_type(plan, API) if a.inputs["service"] == "aiplatform.googleapis.com"]
    iam = next(a for a in of_type(plan, API) if a.inputs["service"] == "iam.googleapis.com")
    assert iam.urn in role.dependencies
    for grant in grants:
        assert api.urn in grant.dependencies, "granted once Vertex AI's API is enabled"
        assert role.urn in grant.dependencies
    workloads = {n: find(plan, INSTANCE, n) for n in ("llm", "embedding", "assistant", "proxy")}
    workloads["agent"] = find(plan, SERVICE, "agent")
    for name, workload in workloads.items():
        (grant,) = [g for g in grants if g.inputs["member"] == member_of(plan, name)]
        assert grant.urn in workload.dependencies, f"{name} starts once it may call Vertex AI"


def test_the_role_id_fits_from_the_longest_prefix():
    longest = role_id("a" * 14 + "-" + "b" * 15, "0123abcd")
    assert re.fullmatch(r"[a-zA-Z0-9_.]{3,64}", longest)
    assert longest == f"berth_{'a' * 14}_{'b' * 15}_0123abcd"


@pytest.mark.parametrize(
    ("text", "callers"),
    [
        ("services:\n  web: {image: app, ports: ['80:80']}\n", []),
        ("services:\n  own: {image: app, ports: ['80:80'], x-defang-llm: true}\n", ["own"]),
    ],
    ids=["no-models", "x-defang-llm-alone"],
)
def test_vertex_ai_is_enabled_and_granted_only_where_something_calls_it(
    project_dir, write, text, callers
):
    write(text)
    plan = program(["compose.yaml"], target="gcp")

    apis = {a.inputs["service"] for a in of_type(plan, API)}
    assert ("aiplatform.googleapis.com" in apis) is bool(callers)
    assert len(of_type(plan, ROLE)) == len(of_type(plan, SUFFIX)) == (1 if callers else 0)
    granted = [
        m.inputs["member"] for m in of_type(plan, MEMBER) if "/roles/berth_" in m.inputs["role"]
    ]
    assert granted == [member_of(plan, name) for name in callers]


def test_the_openai_key_set_as_a_secret_is_the_gateways_key_and_stays_one(plan):
    assert_never_plain(plan, KEY)
    assert count_wrapped(plan, KEY) >= 2, "chat's key and the gateway's master key"
    script = find(plan, INSTANCE, "llm").inputs["metadata"]["user-data"]
    assert re.search(r"\$\(secret \S+-llm-LITELLM_MASTER_KEY-id/versions/\d+\)", script)
    assert (
        "LITELLM_MASTER_KEY"
        not in find(plan, INSTANCE, "embedding").inputs["metadata"]["user-data"]
    )
    for rendered in (as_text(plan), as_json(plan)):
        assert KEY not in rendered


def test_a_second_up_changes_nothing(project_dir, write):
    write(COMPOSE)
    first = version(["compose.yaml"], {"OPENAI_API_KEY": KEY})
    second = version(["compose.yaml"], {"OPENAI_API_KEY": KEY})

    assert_known(first)
    assert changed(first, second, weighed=False) == {}
    assert quiet(dynamic_diffs(first, second)) == []
    assert [job.runs for job in compare(first, second).jobs] == [False]


def test_one_changed_variable_of_a_job_that_uses_a_model_reruns_only_it(project_dir, write):
    write(COMPOSE)
    before = version(["compose.yaml"], {"OPENAI_API_KEY": KEY})
    marker = '    restart: "no"\n'
    text = (project_dir / "compose.yaml").read_text()
    assert text.count(marker) == 1
    (project_dir / "compose.yaml").write_text(
        text.replace(marker, marker + '    environment:\n      INDEX_VERBOSE: "1"\n')
    )
    after = version(["compose.yaml"], {"OPENAI_API_KEY": KEY})

    assert changed(before, after) == {
        "Job shop-index": "index",
        "CloudRunJobExecution shop-index-run": "index",
    }
    assert quiet(dynamic_diffs(before, after)) == ["CloudRunJobExecution shop-index-run"]
    diff = compare(before, after)
    assert [(j.name, j.runs, j.because) for j in diff.jobs] == [("index", True, ("environment",))]
    assert {s.change for s in diff.services} == {"none"}


def test_a_gateway_calls_vertex_ai_in_the_region_unless_its_model_is_served_elsewhere(
    project_dir, write
):
    write(COMPOSE)
    project = load_project(["compose.yaml"])
    gateways = with_gateways(project, MODEL_GATEWAY, read_sources(["compose.yaml"])).services

    told = {
        name: with_vertex_project(gateways[name], "shop-prod", "europe-west1") for name in GATEWAYS
    }

    assert {name: s.environment["VERTEXAI_LOCATION"] for name, s in told.items()} == {
        "llm": "us-central1",
        "embedding": "europe-west1",
        "assistant": "europe-west1",
    }
    assert {s.environment["VERTEXAI_PROJECT"] for s in told.values()} == {"shop-prod"}
    assert machine_type(Request.of(told["llm"].resources)) == "e2-medium", "room for the OS"
    assert residency_warnings(project, read_sources(["compose.yaml"]), "europe-west1") == [
        "model 'llm': Vertex AI serves 'ai/llama3.3' in us-central1 only, so its prompts "
        "leave europe-west1"
    ]
    assert residency_warnings(project, read_sources(["compose.yaml"]), "us-central1") == []
