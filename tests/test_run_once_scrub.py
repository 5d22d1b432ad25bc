"""Secret values never leave a job in plain text: log tails, failure messages, stored outputs."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from berth.components.run_once import (
    SCRUB_KEY,
    JobFailed,
    RunOnceProvider,
    job_secrets,
    scrub,
)
from berth.errors import BerthError
from berth.providers.local.run_once import LocalJobProvider
from berth.settings import StackSettings
from tests.conftest import program
from tests.plans import find
from tests.secrets_check import assert_never_plain, count_wrapped

JOB = "pulumi-python:dynamic/berth:LocalJob"
PASSWORD = "pw/9f+8e 7d&6c"
"""Characters that every encoding changes: a slash, a plus, a space, an ampersand."""
URL = f"postgres://app:{PASSWORD}@db/app"


class PrintingProvider(RunOnceProvider):
    """Runs nothing: prints what the test scripted, then fails when told to."""

    def __init__(self, output: str, fail: type[Exception] | None = None) -> None:
        super().__init__()
        self.output = output
        self.fail = fail

    def run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        if self.fail:
            raise self.fail(f"job '{props['job']}' failed. Last log lines:\n{self.output}")
        return {"exitCode": 0, "logTail": self.output}


def props(*secrets: str) -> dict[str, Any]:
    """A run-once resource's inputs as the provider receives them (secrets unwrapped)."""
    return {
        "job": "migrate",
        "definition": {"image": "sha256:aaa"},
        "runAlways": False,
        "timeout": 600,
        SCRUB_KEY: list(secrets),
    }


@pytest.mark.parametrize(
    "printed",
    [
        PASSWORD,
        quote(PASSWORD, safe=""),
        quote(PASSWORD),
        quote_plus(PASSWORD),
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.urlsafe_b64encode(PASSWORD.encode()).decode(),
    ],
    ids=["plain", "quote", "quote-keep-slash", "quote-plus", "base64", "base64-url"],
)
def test_a_secret_is_scrubbed_in_every_encoding_a_program_prints(printed):
    text = scrub(f"connecting with {printed} now", [PASSWORD])
    assert text.startswith("connecting with ") and "[secret]" in text
    assert not any(part in text for part in (PASSWORD, printed.strip('"=')))


@pytest.mark.parametrize("ascii_only", [True, False])
def test_a_secret_is_scrubbed_json_escaped(ascii_only):
    secret = 'pa"ss\\wörd'
    printed = json.dumps({"password": secret}, ensure_ascii=ascii_only)
    assert secret not in printed, "the escaped form differs"

    assert scrub(printed, [secret]) == '{"password": "[secret]"}'


@pytest.mark.parametrize("user", ["app", "ap", "a"])
def test_a_secret_inside_a_longer_base64_text_is_scrubbed(user):
    """``Authorization: Basic base64(user:password)``: the secret at any byte alignment."""
    header = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()

    text = scrub(f"Authorization: Basic {header}", [PASSWORD])

    left = text.removeprefix("Authorization: Basic ").split("[secret]")
    assert len(left) == 2, text
    assert len(left[0]) <= len(f"{user}:") * 4 // 3 + 1, "only the user's characters stay"
    assert len(left[1]) <= 3, "only the last, partial character and the padding stay"


def test_scrubbing_twice_changes_nothing_even_when_a_secret_is_part_of_the_mask():
    once = scrub("token=ecret ok", ["ecret"])
    assert once == "token=[secret] ok"
    assert scrub(once, ["ecret"]) == once


def test_the_job_printing_only_the_password_of_a_url_is_scrubbed():
    outs = PrintingProvider(f"password is {PASSWORD}").create(props(URL, PASSWORD)).outs
    assert outs["logTail"] == "password is [secret]"


@pytest.mark.parametrize("error", [JobFailed, RuntimeError])
def test_a_failure_message_is_scrubbed_whatever_raised_it(error):
    provider = PrintingProvider(f"sh: {quote_plus(PASSWORD)}: not found", fail=error)
    with pytest.raises(JobFailed) as failure:
        provider.create(props(URL, PASSWORD))
    assert "[secret]: not found" in str(failure.value)
    assert quote_plus(PASSWORD) not in str(failure.value)


def test_a_value_too_short_to_hide_is_scrubbed_in_no_form():
    """Two characters occur everywhere in a log: neither they nor a longer encoding of them
    (``a%2F``) is masked (the stack config refuses such a secret; a value reaching the
    provider otherwise must not blank the log)."""
    text = "GET /a/b?next=a%2Fb HTTP/1.1"
    assert scrub(text, ["a/"]) == text


def test_a_target_that_passes_no_scrub_values_keeps_its_own_log_tail():
    outs = PrintingProvider("done").create({**props(), SCRUB_KEY: None}).outs
    assert outs["logTail"] == "done"


def test_new_scrub_values_update_in_place_and_run_nothing():
    provider = PrintingProvider("done")
    old = provider.create(props("old-password")).outs
    diff = provider.diff("id", old, props("new-password"))
    assert diff.changes is True
    assert not diff.replaces, "what a job holds in secret is a setting, not its definition"


def test_job_secrets_are_every_secret_value_and_each_stack_secret_in_it(load):
    project = load(
        """
        services:
          migrate:
            image: migrate/migrate
            entrypoint: ["/migrate", "--token=${API_TOKEN}"]
            command: ["-database", "postgres://app:${DB_PASSWORD}@db/app", "up"]
            environment:
              PLAIN: visible
            restart: "no"
        """,
        secrets={"DB_PASSWORD": "pw-9f8e7d6c", "API_TOKEN": "tok-1a2b3c4d", "OTHER": "unused"},
    )
    stack_secrets = {"DB_PASSWORD": "pw-9f8e7d6c", "API_TOKEN": "tok-1a2b3c4d", "OTHER": "unused"}

    assert job_secrets(project.services["migrate"], stack_secrets) == sorted(
        [
            "--token=tok-1a2b3c4d",
            "tok-1a2b3c4d",
            "postgres://app:pw-9f8e7d6c@db/app",
            "pw-9f8e7d6c",
        ]
    )


COMPOSE = """
services:
  migrate:
    image: migrate/migrate
    command: ["-database", "postgres://app:${DB_PASSWORD}@db/app", "up"]
    restart: "no"
  seed:
    image: busybox
    command: ["echo", "seeded"]
    restart: "no"
"""


def test_a_job_with_secrets_gets_them_as_a_secret_input_and_a_secret_log_tail(project_dir, write):
    """The mock engine does not re-mark outputs: the program itself asks for a secret logTail."""
    write(COMPOSE)
    plan = program(["compose.yaml"], secrets={"DB_PASSWORD": "pw-9f8e7d6c"})

    migrate = find(plan, JOB, "migrate-run")
    assert migrate.secret_outputs == ("logTail",)
    assert migrate.inputs[SCRUB_KEY] == "[secret]"
    assert "scrubValues" not in migrate.inputs["definition"], "never decides a re-run"
    assert count_wrapped(plan, "postgres://app:pw-9f8e7d6c@db/app") >= 2
    assert_never_plain(plan, "pw-9f8e7d6c")
    seed = find(plan, JOB, "seed-run")
    assert seed.secret_outputs == ()
    assert SCRUB_KEY not in seed.inputs


@pytest.mark.parametrize("value", ["x", "pw"])
def test_a_secret_too_short_to_hide_is_refused_naming_its_key(value):
    with pytest.raises(BerthError) as refused:
        StackSettings.from_config({"berth:PIN": value}, secret_keys=["berth:PIN"])
    assert "the secret berth:PIN has" in refused.value.message
    assert "at least 3 characters" in refused.value.message


@pytest.mark.parametrize("value", ["", "abc"])
def test_an_empty_secret_or_one_of_three_characters_is_accepted(value):
    settings = StackSettings.from_config({"berth:PIN": value}, secret_keys=["berth:PIN"])
    assert settings.variables.secrets == {"PIN": value}


def test_a_short_plain_variable_is_accepted():
    settings = StackSettings.from_config({"berth:REPLICAS": "2"})
    assert settings.variables.values == {"REPLICAS": "2"}


@pytest.mark.docker
def test_a_local_job_printing_a_secret_from_its_command_fails_without_it(
    docker_client, busybox_image
):
    """The whole path: a secret in ``command``, printed bare and URL-encoded, on a real engine."""
    network = docker_client.networks.create(f"berth-test-{uuid.uuid4().hex[:8]}")
    script = f'echo "password: $1"; echo "encoded: {quote_plus(PASSWORD)}"; exit 4'
    try:
        with pytest.raises(JobFailed) as failure:
            LocalJobProvider().create(
                {
                    **props(URL, PASSWORD),
                    "definition": {
                        "image": busybox_image,
                        "network": network.name,
                        "command": ["sh", "-c", script, "sh", PASSWORD],
                        "environment": {"DATABASE_URL": URL},
                    },
                    "labels": {"berth.test": "scrub"},
                    "timeout": 60,
                }
            )
    finally:
        network.remove()
    message = str(failure.value)
    assert "exit code 4" in message
    assert "password: [secret]" in message
    assert "encoded: [secret]" in message
    assert PASSWORD not in message and quote_plus(PASSWORD) not in message
