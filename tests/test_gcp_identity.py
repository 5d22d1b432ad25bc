"""Berth's own GCP resources act as the program's gcp provider does: each identity setting of the
stack (and each environment variable the provider honours) reaches the credentials used, and
travels as a secret that never decides a job's re-run; a change of it alone changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import google.auth
import google.oauth2.credentials
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import impersonated_credentials
from google.oauth2 import service_account

from berth.offline.plan import plan_config, run_plan
from berth.providers.gcp.api import ApiError
from berth.providers.gcp.identity import IDENTITY, IdentityError, credentials
from berth.providers.gcp.readiness import VmServiceReadyProvider
from berth.providers.gcp.run_once import CloudRunJobExecutionProvider
from tests.conftest import copy_example
from tests.plans import find, provider_inputs
from tests.secrets_check import assert_never_plain, count_wrapped

DEPLOYER = "deployer@shop-prod.iam.gserviceaccount.com"
TARGET = "berth-deploy@shop-prod.iam.gserviceaccount.com"
TOKEN = "ya29.token-5f4e3d2c"
DELEGATE = "middle@shop-prod.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def key_json() -> str:
    """A service account key file's JSON, with a real (throwaway) private key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "shop-prod",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": DEPLOYER,
            "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


def test_gcp_access_token_is_used_as_is():
    made = credentials({"accessToken": TOKEN}, {})
    assert isinstance(made, google.oauth2.credentials.Credentials)
    assert made.token == TOKEN


def test_gcp_credentials_as_json_or_as_a_key_file_path(key_json, tmp_path: Path):
    made = credentials({"credentials": key_json}, {})
    assert isinstance(made, service_account.Credentials)
    assert made.service_account_email == DEPLOYER
    path = tmp_path / "key.json"
    path.write_text(key_json)
    assert credentials({"credentials": str(path)}, {}).service_account_email == DEPLOYER


def test_an_access_token_wins_over_credentials_as_in_the_provider(key_json):
    made = credentials({"credentials": key_json, "accessToken": TOKEN}, {})
    assert made.token == TOKEN


@pytest.mark.parametrize(
    "variable", ["GOOGLE_CREDENTIALS", "GOOGLE_CLOUD_KEYFILE_JSON", "GCLOUD_KEYFILE_JSON"]
)
def test_the_provider_s_credential_variables_count_when_the_stack_sets_none(variable, key_json):
    assert credentials(None, {variable: key_json}).service_account_email == DEPLOYER


def test_the_access_token_variable_counts_when_the_stack_sets_none():
    assert credentials({}, {"GOOGLE_OAUTH_ACCESS_TOKEN": TOKEN}).token == TOKEN


def test_the_stack_s_settings_beat_the_environment(key_json):
    made = credentials({"credentials": key_json}, {"GOOGLE_OAUTH_ACCESS_TOKEN": TOKEN})
    assert made.service_account_email == DEPLOYER


def test_impersonation_acts_as_the_target_account_from_the_configured_source(key_json):
    made = credentials(
        {
            "accessToken": TOKEN,
            "impersonateServiceAccount": TARGET,
            "impersonateServiceAccountDelegates": [DELEGATE],
        },
        {},
    )
    assert isinstance(made, impersonated_credentials.Credentials)
    assert made.service_account_email == TARGET
    assert made._source_credentials.token == TOKEN
    assert made._delegates == [DELEGATE]
    from_env = credentials(
        {"credentials": key_json}, {"GOOGLE_IMPERSONATE_SERVICE_ACCOUNT": TARGET}
    )
    assert from_env.service_account_email == TARGET
    assert from_env._source_credentials.service_account_email == DEPLOYER


def test_without_any_setting_application_default_credentials_are_used(monkeypatch):
    adc = google.oauth2.credentials.Credentials("adc-token")
    asked: list[Any] = []

    def default(scopes: Any = None) -> tuple[Any, str]:
        asked.append(scopes)
        return adc, "shop-prod"

    monkeypatch.setattr(google.auth, "default", default)
    assert credentials(None, {}) is adc
    assert asked == [["https://www.googleapis.com/auth/cloud-platform"]]


def test_an_unusable_key_fails_naming_the_setting_not_its_value():
    with pytest.raises(IdentityError) as error:
        credentials({"credentials": "{not json secret-6a7b"}, {})
    assert "gcp:credentials cannot be used (not a JSON key)" in str(error.value)
    assert "secret-6a7b" not in str(error.value)


@pytest.mark.parametrize(
    ("provider", "props"),
    [
        (CloudRunJobExecutionProvider, {"job": "migrate"}),
        (VmServiceReadyProvider, {"service": "db"}),
    ],
)
def test_the_dynamic_providers_act_as_the_identity_input(provider, props):
    api = provider().api({**props, "identity": {"accessToken": TOKEN}})
    assert api.session.credentials.token == TOKEN


@pytest.fixture
def migrate(project_dir: Path) -> list[str]:
    """The migrate example's compose files, in the project folder."""
    return [copy_example("migrate", project_dir)]


def deploy(files: list[str], config: dict[str, str], secret: list[str]):
    base, secret_keys = plan_config(files, target="gcp")
    return run_plan({**base, **config}, [*secret_keys, *secret], preview=False)


RUN = "pulumi-python:dynamic/berth:CloudRunJobExecution"
READY = "pulumi-python:dynamic/berth:VmServiceReady"


def test_the_stack_s_identity_reaches_the_providers_as_a_secret(migrate, key_json):
    plan = deploy(
        migrate,
        {
            # set without --secret: Berth passes it as a secret all the same
            "gcp:credentials": key_json,
            "gcp:accessToken": TOKEN,
            "gcp:impersonateServiceAccount": TARGET,
            "gcp:impersonateServiceAccountDelegates": json.dumps([DELEGATE]),
        },
        secret=["gcp:accessToken"],
    )

    run = find(plan, RUN, "migrate-run").inputs
    ready = find(plan, READY, "db-running").inputs
    assert run["identity"] == ready["identity"] == "[secret]"
    assert "identity" not in json.dumps(run["definition"]), "it never decides a re-run"
    assert_never_plain(plan, TOKEN, DEPLOYER, TARGET, DELEGATE)
    assert count_wrapped(plan, TOKEN) == 2
    assert count_wrapped(plan, TARGET) == 2
    assert count_wrapped(plan, DELEGATE) == 2


def test_without_identity_settings_no_identity_input_is_sent(migrate):
    plan = deploy(migrate, {}, secret=[])
    assert "identity" not in find(plan, RUN, "migrate-run").inputs
    assert "identity" not in find(plan, READY, "db-running").inputs


@pytest.mark.parametrize(
    ("provider", "kind", "name"),
    [
        (CloudRunJobExecutionProvider, RUN, "migrate-run"),
        (VmServiceReadyProvider, READY, "db-running"),
    ],
)
def test_an_access_token_renewed_for_the_next_run_changes_nothing(migrate, provider, kind, name):
    """Issue 11: CI sets a fresh ``gcp:accessToken`` for each run; the second ``up`` must not
    differ (no update, no replacement, no execution)."""
    first, second = (
        provider_inputs(
            find(deploy(migrate, {"gcp:accessToken": token}, []), kind, name).raw_inputs
        )
        for token in ("ya29.first-0a1b2c", TOKEN)
    )
    assert first[IDENTITY] != second[IDENTITY]
    diff = provider().diff("id", first, second)
    assert diff.changes is False
    assert not diff.replaces


@pytest.mark.parametrize(
    ("provider", "props"),
    [
        (CloudRunJobExecutionProvider, {"job": "migrate", "jobName": "j", "definition": {}}),
        (VmServiceReadyProvider, {"service": "db", "instanceId": "1", "want": "running"}),
    ],
)
def test_what_acts_again_acts_as_the_newest_identity(provider, props):
    """Ignored by diff, the identity is still the newest wherever the resource acts: another
    change records it (``update``), a run or a check calls the API as it (``create``)."""
    old = {**props, "timeout": 600, IDENTITY: {"accessToken": "old"}}
    new = {**old, "timeout": 1800, IDENTITY: {"accessToken": TOKEN}}
    moved = provider().diff("id", old, new)
    assert moved.changes is True
    assert not moved.replaces
    assert provider().update("id", old, new).outs[IDENTITY] == {"accessToken": TOKEN}

    used: list[Any] = []

    class Recording(provider):  # type: ignore[misc, valid-type]
        def api(self, props: Any) -> Any:
            used.append(props[IDENTITY])
            raise ApiError("stop here")

    with pytest.raises(Exception, match="stop here"):
        Recording().create(new)
    assert used == [{"accessToken": TOKEN}]
