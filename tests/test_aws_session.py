"""The run-once resources' AWS session is built from the same ``aws:*`` stack config the aws
provider uses: static keys, profiles from the given shared files, chains of assumed roles, web
identity, the STS region, endpoints and retries. STS is moto's: assumed roles are real there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from berth.providers.aws.identity import identity_config
from berth.providers.aws.run_once import EcsJobProvider
from berth.providers.aws.session import aws_clients, aws_session
from tests.aws_support import JOB, READY, aws_program
from tests.conftest import copy_example
from tests.plans import find

ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch, tmp_path):
    """Nothing from the machine: only what the identity says may reach the session."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def caller(identity: dict[str, Any], region: str = "eu-west-1") -> str:
    with mock_aws():
        return aws_session(identity, region).client("sts").get_caller_identity()["Arn"]


def test_static_keys_and_token_reach_the_session():
    credentials = aws_session(
        {"accessKey": "AKIASTATIC", "secretKey": "s3cret", "token": "tok"}, "eu-west-1"
    ).get_credentials()

    assert (credentials.access_key, credentials.secret_key, credentials.token) == (
        "AKIASTATIC",
        "s3cret",
        "tok",
    )


def test_the_profile_is_read_from_the_given_shared_files(tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text("[deploy]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = x\n")
    config = tmp_path / "config"
    config.write_text("[profile deploy]\nregion = ap-south-1\n")
    identity = {
        "profile": "deploy",
        "sharedCredentialsFiles": [str(credentials)],
        "sharedConfigFiles": [str(config)],
    }

    session = aws_session(identity, "eu-west-1")

    assert session.get_credentials().access_key == "AKIAPROFILE"
    assert session.region_name == "eu-west-1", "the provider's region, not the profile's"


def test_a_chain_of_assumed_roles_ends_in_the_last_role():
    identity = {
        "accessKey": "AKIASTATIC",
        "secretKey": "s3cret",
        "assumeRoles": [
            {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/jump", "sessionName": "ci"},
            {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/deploy", "externalId": "ext-1"},
        ],
    }

    assert caller(identity) == f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/berth"


def test_the_older_single_assume_role_is_honoured():
    identity = {
        "accessKey": "AKIASTATIC",
        "secretKey": "s3cret",
        "assumeRole": {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/deploy", "sessionName": "up"},
    }

    assert caller(identity) == f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/up"


def test_web_identity_is_assumed_with_the_token_file(tmp_path):
    token = tmp_path / "token"
    token.write_text("eyJ.token\n")
    identity = {
        "assumeRoleWithWebIdentity": {
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/github",
            "sessionName": "gha",
            "webIdentityTokenFile": str(token),
        }
    }

    assert caller(identity) == f"arn:aws:sts::{ACCOUNT}:assumed-role/github/gha"


def test_endpoints_retries_and_region_reach_the_clients():
    identity = {
        "endpoints": [{"ecs": "http://localhost:4566"}],
        "maxRetries": 3,
        "retryMode": "adaptive",
    }

    ecs, logs = aws_clients(identity, "us-east-2", ("ecs", "logs"))

    assert ecs.meta.endpoint_url == "http://localhost:4566"
    assert logs.meta.endpoint_url == "https://logs.us-east-2.amazonaws.com"
    assert ecs.meta.region_name == "us-east-2"
    assert ecs.meta.config.retries == {"total_max_attempts": 4, "mode": "adaptive"}


def test_identity_config_keeps_what_is_set():
    config = {"region": "eu-west-3", "profile": "", "assumeRoles": [], "accessKey": "AKIA"}

    assert identity_config(config.get) == {"region": "eu-west-3", "accessKey": "AKIA"}


# -- the program hands the stack's aws:* config to every run-once resource --------------------

AWS_CONFIG = {
    "aws:region": "us-east-2",
    "aws:profile": "deploy",
    "aws:sharedCredentialsFiles": json.dumps(["/ci/credentials"]),
    "aws:assumeRoles": json.dumps([{"roleArn": f"arn:aws:iam::{ACCOUNT}:role/deploy"}]),
    "aws:accessKey": "AKIASTACK",
    "aws:secretKey": "stack-secret-key",
    "aws:token": "stack-session-token",
}


def test_the_program_passes_the_stacks_aws_config_as_one_secret(project_dir):
    plan = aws_program(
        [copy_example("migrate", project_dir)], config=AWS_CONFIG, secret_config=["aws:secretKey"]
    )

    for registration in (find(plan, JOB, "migrate-run"), find(plan, READY, "db-ready")):
        assert registration.inputs["identity"] == "[secret]"
        assert registration.inputs["region"] == "us-east-2"
        assert "identity" in registration.secret_outputs
        raw = json.dumps(registration.raw_inputs)
        assert "stack-secret-key" in raw, "inside the secret wrapper, for the provider"
        identity = registration.raw_inputs["identity"]["value"]
        assert identity == {
            "region": "us-east-2",
            "profile": "deploy",
            "accessKey": "AKIASTACK",
            "secretKey": "stack-secret-key",
            "token": "stack-session-token",
            "sharedCredentialsFiles": ["/ci/credentials"],
            "assumeRoles": [{"roleArn": f"arn:aws:iam::{ACCOUNT}:role/deploy"}],
        }


def test_new_credentials_run_no_job(project_dir):
    plan = aws_program([copy_example("migrate", project_dir)])
    credentials = {k: v for k, v in AWS_CONFIG.items() if k != "aws:region"}
    again = aws_program(["examples/migrate/compose.yaml"], config=credentials)
    old = find(plan, JOB, "migrate-run").inputs
    new = find(again, JOB, "migrate-run").inputs

    assert old["definition"] == new["definition"]
    assert EcsJobProvider().diff("id", old, new).replaces == []


def test_the_region_is_the_stacks_and_known_in_a_preview(project_dir):
    """The region comes from the stack config (or the provider's getRegion), never from a
    resource's ARN, which is unknown until the resource exists."""
    files = [copy_example("migrate", project_dir)]
    preview = aws_program(files, config={"aws:region": "us-east-2"}, preview=True)
    up = aws_program(files, config={"aws:region": "us-east-2"})

    assert find(preview, JOB, "migrate-run").inputs["region"] == "us-east-2"
    assert find(preview, READY, "db-ready").inputs["region"] == "us-east-2"
    for container in find(up, JOB, "migrate-run").inputs["definition"]["containers"]:
        assert container["logConfiguration"]["options"]["awslogs-region"] == "us-east-2"


def test_without_aws_region_the_providers_own_region_is_used(project_dir, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    plan = aws_program([copy_example("migrate", project_dir)])

    assert find(plan, JOB, "migrate-run").inputs["region"] == "eu-west-1"


def test_the_provider_reads_its_identity_from_its_inputs(monkeypatch, tmp_path: Path):
    made: list[tuple[dict[str, Any], str]] = []

    def clients(identity: dict[str, Any], region: str, services: tuple[str, ...]) -> list[Any]:
        made.append((identity, region))
        raise RuntimeError("stop here")

    monkeypatch.setattr("berth.providers.aws.session.aws_clients", clients)
    with pytest.raises(RuntimeError):
        EcsJobProvider().run({"identity": {"profile": "deploy"}, "region": "us-east-2"})

    assert made == [({"profile": "deploy"}, "us-east-2")]
