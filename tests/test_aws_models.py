"""Language models on aws (issue 25): a LiteLLM gateway per model in front of Amazon Bedrock,
its model invoked through the region's geographic inference profile when Bedrock serves it so,
its task role allowed to invoke that model and no other; the services and jobs that use it
given its address, started after it; the OpenAI key set with ``--secret`` a secret throughout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from berth.ai_models import CATALOGUE, CloudModel, Platform
from berth.errors import BerthError
from berth.offline.compare import compare
from berth.offline.diff import plan_version
from berth.offline.plan import Plan, ProgramFailed, Registration, plan_config
from berth.offline.render import as_json
from berth.providers import aws as aws_target
from berth.providers.aws.models import invoke_policy, profile_geography
from tests.aws_support import (
    ECS_SERVICE,
    JOB,
    READY,
    TASK_DEFINITION,
    aws_program,
    containers,
    ecs_validation_errors,
)
from tests.plans import find, of_type, resources_of, waits_on_services
from tests.secrets_check import assert_never_plain, count_wrapped
from tests.test_aws_cfn import findings, report
from tests.test_aws_noop import changed, runs

KEY = "sk-aws-models-7f6e5d4c"
SECRETS = {"OPENAI_API_KEY": KEY}
COMPOSE = """\
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
  index:
    image: app
    restart: "no"
    environment:
      OPENAI_API_KEY: ${OPENAI_API_KEY}
      BATCH: "10"
    models: [embedding]
  report:
    image: app
    environment:
      OPENAI_API_KEY: ${OPENAI_API_KEY}
    depends_on: [assistant]
  assistant:
    provider:
      type: model
      options:
        model: chat-default
  proxy:
    image: litellm/litellm:v1.92.0
    x-defang-llm: true
models:
  llm:
    model: ai/llama3.2
  embedding:
    model: embedding-default
"""
"""The three forms (the long form of a service's ``models:``, its short form, and a
``provider: type: model`` service) and ``x-defang-llm``, every user setting the OpenAI key."""
GATEWAYS = {"llm": "ai/llama3.2", "embedding": "embedding-default", "assistant": "chat-default"}
POLICY = "aws:iam/rolePolicy:RolePolicy"
ACCOUNT, REGION = aws_target.PLAN_ACCOUNT, aws_target.PLAN_REGION
INVOKE = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]


@pytest.fixture
def plan(write) -> Plan:
    write(COMPOSE)
    return aws_program(["compose.yaml"], secrets=SECRETS)


def main_container(plan: Plan, service: str) -> dict[str, Any]:
    (container,) = [c for c in containers(find(plan, TASK_DEFINITION, service)) if c["essential"]]
    return container


def policy(plan: Plan, service: str) -> dict[str, Any]:
    return json.loads(find(plan, POLICY, f"{service}-bedrock").inputs["policy"])


def profile_arn(model: str) -> str:
    return f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/eu.{model}"


def test_the_three_forms_plan_a_gateway_per_model(plan):
    for gateway in GATEWAYS:
        assert {r.type for r in resources_of(plan, gateway)} >= {
            TASK_DEFINITION, ECS_SERVICE, READY, POLICY
        }, gateway  # fmt: skip
    assert [(m["name"], m["id"]) for m in json.loads(as_json(plan))["models"]] == [
        ("embedding", "amazon.titan-embed-text-v2:0"),
        ("llm", "meta.llama3-2-3b-instruct-v1:0"),
        ("assistant", "amazon.nova-lite-v1:0"),
    ]
    assert "assistant" not in {c["name"] for c in containers(find(plan, TASK_DEFINITION, "report"))}


def test_a_gateway_invokes_a_profile_model_through_the_regions_geography(plan):
    """The plan's region is eu-west-1: Bedrock serves Nova Lite and Llama 3.2 3B there on demand
    only as ``eu.<model id>``; Titan embeddings in the region itself."""
    commands = {gateway: main_container(plan, gateway)["command"] for gateway in GATEWAYS}

    assert commands == {
        gateway: ["--port", "4000", "--drop_params", "--model", model, "--alias", alias]
        for gateway, alias, model in [
            ("llm", "ai/llama3.2", "bedrock/eu.meta.llama3-2-3b-instruct-v1:0"),
            ("embedding", "embedding-default", "bedrock/amazon.titan-embed-text-v2:0"),
            ("assistant", "chat-default", "bedrock/eu.amazon.nova-lite-v1:0"),
        ]
    }
    for gateway in GATEWAYS:
        assert ecs_validation_errors(find(plan, TASK_DEFINITION, gateway)) == ""


def test_a_gateway_listens_privately_on_4000_under_its_name(plan):
    for gateway in GATEWAYS:
        container = main_container(plan, gateway)
        definition = find(plan, TASK_DEFINITION, gateway).inputs
        service = find(plan, ECS_SERVICE, gateway).inputs

        assert container["image"].startswith("litellm/litellm@sha256:")
        assert container["portMappings"] == [{"containerPort": 4000, "protocol": "tcp"}]
        assert (definition["cpu"], definition["memory"]) == ("512", "2048")
        assert (
            find(plan, "aws:servicediscovery/service:Service", f"{gateway}-dns").inputs["name"]
            == gateway
        )
        assert not service.get("loadBalancers")
        assert not [r for r in resources_of(plan, gateway) if r.type.startswith("aws:lb/")]
        assert "environment" not in container, "Bedrock needs no location variable"


def test_the_users_get_the_gateways_address_and_wait_for_it(plan):
    def environment(service: str) -> dict[str, str]:
        return {v["name"]: v["value"] for v in main_container(plan, service)["environment"]}

    assert environment("chat") == {"AI_URL": "http://llm:4000/v1/", "AI_MODEL": "ai/llama3.2"}
    assert environment("index") == {
        "BATCH": "10",
        "EMBEDDING_URL": "http://embedding:4000/v1/",
        "EMBEDDING_MODEL": "embedding-default",
    }
    assert environment("report") == {
        "ASSISTANT_URL": "http://assistant:4000/v1/",
        "ASSISTANT_MODEL": "chat-default",
    }
    assert waits_on_services(plan, find(plan, ECS_SERVICE, "chat")) >= {"llm"}
    assert waits_on_services(plan, find(plan, ECS_SERVICE, "report")) >= {"assistant"}
    assert waits_on_services(plan, find(plan, JOB, "index-run")) >= {"embedding"}
    ready = find(plan, READY, "embedding-ready")
    assert ready.urn in find(plan, JOB, "index-run").dependencies


def test_each_gateway_may_invoke_its_model_and_nothing_else(plan):
    nova = profile_arn("amazon.nova-lite-v1:0")
    llama = profile_arn("meta.llama3-2-3b-instruct-v1:0")

    assert policy(plan, "assistant") == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "InferenceProfiles", "Effect": "Allow", "Action": INVOKE, "Resource": [nova]},
            {
                "Sid": "ModelsThroughTheProfiles",
                "Effect": "Allow",
                "Action": INVOKE,
                "Resource": ["arn:aws:bedrock:*::foundation-model/amazon.nova-lite-v1:0"],
                "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": [nova]}},
            },
        ],
    }
    assert policy(plan, "llm")["Statement"][0]["Resource"] == [llama]
    assert policy(plan, "embedding") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ModelsInTheRegion",
                "Effect": "Allow",
                "Action": INVOKE,
                "Resource": [
                    f"arn:aws:bedrock:{REGION}::foundation-model/amazon.titan-embed-text-v2:0"
                ],
            }
        ],
    }
    for gateway in GATEWAYS:
        grant = find(plan, POLICY, f"{gateway}-bedrock")
        assert grant.inputs["role"] == f"shop-{gateway}-task-id", "its own task role"
        assert grant.urn in find(plan, ECS_SERVICE, gateway).dependencies
    assert {g.name for g in of_type(plan, POLICY) if g.name.endswith("-bedrock")} == {
        f"shop-{name}-bedrock" for name in (*GATEWAYS, "proxy")
    }, "no grant for a service that calls no model itself"


def test_an_x_defang_llm_service_may_invoke_the_tables_bedrock_models(plan):
    bedrock = [row[Platform.BEDROCK] for row in CATALOGUE.values() if Platform.BEDROCK in row]
    profiled = sorted(m.id for m in bedrock if "eu" in m.geographies)
    in_region = sorted(m.id for m in bedrock if not m.profile)
    assert "meta.llama3-3-70b-instruct-v1:0" not in profiled, "a us. profile only"
    profiles = [profile_arn(id_) for id_ in profiled]

    statements = policy(plan, "proxy")["Statement"]

    assert [s["Sid"] for s in statements] == [
        "InferenceProfiles",
        "ModelsThroughTheProfiles",
        "ModelsInTheRegion",
    ]
    assert statements[0]["Resource"] == profiles
    assert statements[1]["Resource"] == [
        f"arn:aws:bedrock:*::foundation-model/{id_}" for id_ in profiled
    ]
    assert statements[1]["Condition"] == {"StringEquals": {"bedrock:InferenceProfileArn": profiles}}
    assert statements[2]["Resource"] == [
        f"arn:aws:bedrock:{REGION}::foundation-model/{id_}" for id_ in in_region
    ]
    assert {s["Action"] == INVOKE for s in statements} == {True}
    assert main_container(plan, "proxy")["portMappings"] == [
        {"containerPort": 4000, "protocol": "tcp"}
    ]


def test_the_openai_key_reaches_the_gateway_from_secrets_manager_only(plan):
    def secrets(service: str) -> dict[str, str]:
        return {s["name"]: s["valueFrom"] for s in main_container(plan, service)["secrets"]}

    assert_never_plain(plan, KEY)
    assert count_wrapped(plan, KEY) >= 1
    stored = secrets("chat")["OPENAI_API_KEY"]
    assert stored.startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:berth/")
    for gateway in GATEWAYS:
        assert secrets(gateway) == {"LITELLM_MASTER_KEY": stored}, "the users' key, stored once"
        assert "environment" not in main_container(plan, gateway), "nothing in plain text"


# -- the region -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "geography"),
    [
        ("us-east-1", "us"),
        ("us-west-2", "us"),
        ("us-gov-west-1", "us-gov"),
        ("eu-west-1", "eu"),
        ("eu-central-2", "eu"),
        ("ap-northeast-1", "apac"),
        ("ap-southeast-2", "apac"),
        ("sa-east-1", None),
        ("ca-central-1", None),
        ("me-central-1", None),
        ("cn-north-1", None),
    ],
)
def test_a_regions_profile_geography(region, geography):
    assert profile_geography(region) == geography


NO_GEOGRAPHY = (
    "compose.yaml: service 'assistant', field 'provider.options.model': 'chat-default' is served "
    "on Amazon Bedrock only through the apac/eu/us cross-Region inference profiles, and region "
    "sa-east-1 is in none of their geographies. deploy to a region of apac, eu, us "
    "(aws:region), or use a model Bedrock serves in sa-east-1: embedding-default, ai/gpt-oss."
)


def test_a_region_without_profiles_is_refused_before_anything_is_planned(write):
    write(COMPOSE)

    with pytest.raises(BerthError) as refused:
        aws_program(["compose.yaml"], secrets=SECRETS, config={"aws:region": "sa-east-1"})

    assert refused.value.message == NO_GEOGRAPHY.replace(
        "service 'assistant', field 'provider.options.model': 'chat-default'",
        "model 'llm', field 'model': 'ai/llama3.2'",
    ).replace("apac/eu/us", "eu/us").replace("of apac, eu, us", "of eu, us")


def test_a_model_without_a_profile_in_the_regions_geography_is_refused(write):
    """Llama 3.3 70B has a ``us.`` profile only: the plan's eu-west-1 cannot invoke it."""
    write(COMPOSE.replace("ai/llama3.2", "ai/llama3.3"))

    with pytest.raises(BerthError) as refused:
        aws_program(["compose.yaml"], secrets=SECRETS, config={"aws:region": "eu-west-1"})

    message = refused.value.message
    assert message.startswith("compose.yaml: model 'llm', field 'model': 'ai/llama3.3' is served")
    assert "only through the us cross-Region inference profiles" in message
    assert "use a model Bedrock serves in eu-west-1: chat-default, chat-large" in message


def test_a_region_the_provider_answers_is_refused_in_one_line_too(write, monkeypatch):
    """An explicit provider's region is known only once it answers (``getRegion``)."""
    write(COMPOSE.replace("  llm:\n    model: ai/llama3.2\n", "  llm:\n    model: ai/gpt-oss\n"))
    answers = dict(aws_target._PLAN_ANSWERS)
    answers["aws:index/getRegion:getRegion"] = {"id": "sa-east-1", "region": "sa-east-1"}
    monkeypatch.setattr(aws_target, "_PLAN_ANSWERS", answers)

    with pytest.raises(ProgramFailed) as failed:
        aws_program(["compose.yaml"], secrets=SECRETS)

    assert str(failed.value) == NO_GEOGRAPHY


def test_only_in_region_models_plan_in_a_region_without_profiles(write):
    write(COMPOSE.replace("chat-default", "ai/gpt-oss").replace("ai/llama3.2", "ai/gpt-oss"))

    plan = aws_program(["compose.yaml"], secrets=SECRETS, config={"aws:region": "sa-east-1"})

    assert main_container(plan, "assistant")["command"][4] == "bedrock/openai.gpt-oss-20b-1:0"
    statements = policy(plan, "proxy")["Statement"]
    assert [s["Sid"] for s in statements] == ["ModelsInTheRegion"], "no profile to invoke"


def test_the_policy_is_written_in_the_partition():
    model = CloudModel("amazon.nova-lite-v1:0", geographies=frozenset({"us-gov"}))

    document = invoke_policy(
        [model], geography="us-gov", partition="aws-us-gov", region="us-gov-west-1", account_id="1"
    )

    assert document["Statement"][0]["Resource"] == [
        "arn:aws-us-gov:bedrock:us-gov-west-1:1:inference-profile/us-gov.amazon.nova-lite-v1:0"
    ]
    assert document["Statement"][1]["Resource"] == [
        "arn:aws-us-gov:bedrock:*::foundation-model/amazon.nova-lite-v1:0"
    ]


# -- what AWS accepts ---------------------------------------------------------------------


def test_the_gateways_resources_are_what_aws_accepts(write):
    write(COMPOSE)

    plan, lines = findings(lambda: aws_program(["compose.yaml"], secrets=SECRETS))

    assert len([p for p in of_type(plan, POLICY) if p.name.endswith("-bedrock")]) == 4
    assert lines == [], report(lines)


@mock_aws
def test_iam_accepts_the_bedrock_policies(plan, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    iam = boto3.client("iam")
    grants = [p for p in of_type(plan, POLICY) if p.name.endswith("-bedrock")]
    roles = {r.name: r for r in of_type(plan, "aws:iam/role:Role")}
    for grant in grants:
        role: Registration = roles[grant.inputs["role"].removesuffix("-id")]
        iam.create_role(
            RoleName=role.name, AssumeRolePolicyDocument=role.inputs["assumeRolePolicy"]
        )
        iam.put_role_policy(
            RoleName=role.name, PolicyName=grant.name, PolicyDocument=grant.inputs["policy"]
        )

    assert len(grants) == 4


# -- a second pulumi up ---------------------------------------------------------------------


def version(files: list[str]):
    config, secret_keys = plan_config(files, target="aws", secrets=SECRETS)
    return plan_version(files, config, secret_keys, "dev")


def test_a_second_up_changes_nothing(project_dir: Path, write):
    files = [str(project_dir / write(COMPOSE))]

    first, second = version(files), version(files)

    assert changed(first, second) == {}
    diff = compare(first, second)
    assert {service.change for service in diff.services} == {"none"}
    assert [job.runs for job in diff.jobs] == [False]
    assert runs(first, second) is False


def test_one_changed_variable_of_a_job_that_uses_a_model_reruns_only_it(project_dir: Path, write):
    files = [str(project_dir / write(COMPOSE))]
    before = version(files)
    write(COMPOSE.replace('BATCH: "10"', 'BATCH: "20"'))
    after = version(files)

    assert changed(before, after) == {
        "EcsJob shop-index-run": "index",
        "TaskDefinition shop-index": "index",
    }
    diff = compare(before, after)
    assert [(j.name, j.runs, j.because) for j in diff.jobs] == [("index", True, ("environment",))]
    assert {s.change for s in diff.services} == {"none"}
    assert runs(before, after) is True
