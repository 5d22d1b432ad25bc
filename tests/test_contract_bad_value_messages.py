"""A bad value's message quotes what the user wrote, in YAML's spelling, says once what a good
one looks like, and points at the fix; what one target refuses, every target refuses
(issue 21's review: modes, timeouts, names, ports, ulimits, store markings, file owners)."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from tests.conftest import program
from tests.conftest import refused as refusal
from tests.test_contract_bad_values import JOB, SERVICE, TARGETS, secret

OPTIONS: dict[str, dict[str, str]] = {"gcp": {"gcpProject": "p", "gcpRegion": "europe-west1"}}
"""Settings a target is planned with here, beside its defaults."""


def owner(ids: str, kind: str = "configs") -> str:
    return (
        f"    {kind}:\n      - {{source: s, target: /etc/s/s, {ids}}}\n{kind}:\n  s:\n"
        "    file: ./x\n"
    )


BAD = [
    # a mode: as Compose reads it, and as the user wrote it
    (
        "secrets",
        secret("777"),
        "mode 01411 (octal, as Compose reads it) is not a file mode: a mode written without a "
        "leading 0 is a decimal number, and 777 is octal 01411. write 0777 for rwxrwxrwx.",
        "mode-decimal-777",
    ),
    ("configs", secret("440777", "configs"), "0 to 0777, e.g. 0440.", "mode-decimal-too-big"),
    ("secrets", secret('"rw"'), 'parsing "rw": invalid syntax. write an octal file mode', "rw"),
    # a timeout, spelled as YAML spells it, its example given once
    ("x-berth-timeout", "    x-berth-timeout: true\n", "': true is not a duration. write", "bool"),
    ("x-berth-timeout", "    x-berth-timeout: 1e9\n", "': 1e9 is not a duration. write", "1e9"),
    ("x-berth-timeout", "    x-berth-timeout: 'true'\n", "': 'true' is not a duration.", "str"),
    ("x-berth-timeout", "    x-berth-timeout: 0.5\n", "': 0.5 is less than a second", "half"),
    # a container port of 0
    ("ports", '    ports: ["80:0"]\n', 'after the host port, e.g. "8080:80".', "port-0"),
    # ulimits as Docker and Linux take them
    ("ulimits", "    ulimits: {nofile: -1}\n", "nofile: -1 is not a number of open", "nofile-1"),
    ("ulimits", "    ulimits: {nofile: 2000000}\n", "(0 to 1048576; never", "nofile-2M"),
    ("ulimits", "    ulimits: {core: -2}\n", "or -1 for unlimited.", "core-2"),
    (
        "ulimits",
        "    ulimits: {memlock: {soft: -1, hard: 4096}}\n",
        "memlock: the soft limit unlimited (-1) is above the hard limit 4096",
        "unlimited-soft",
    ),
    ("ulimits", "    ulimits: {bogus: 5}\n", "'bogus' is not a ulimit Docker sets", "name"),
    # a store marking's syntax, whatever the target
    ("x-defang-postgres", "    x-defang-postgres: 1\n", "mapping such as", "marking-1"),
    ("x-defang-postgres", "    x-defang-postgres: {bogus: 1}\n", "got {bogus: 1}", "options"),
    # a file's owner: Compose's numeric ids only
    ("configs", owner('uid: "abc"'), "uid 'abc' is not a number", "uid-word"),
    ("secrets", owner('gid: "wheel"', "secrets"), 'the group id, e.g. gid: "1000"', "gid-name"),
]


@pytest.mark.parametrize(
    ("field", "snippet", "words"),
    [pytest.param(field, snippet, words, id=case) for field, snippet, words, case in BAD],
)
def test_a_bad_value_says_what_was_written_and_what_to_write(load, write, field, snippet, words):
    write("x\n", "x")
    compose = (JOB if field.startswith("x-berth") else SERVICE) + snippet

    error = refusal(load, compose)

    assert (error.service, error.field) == ("app", field), error.message
    assert words in error.message, error.message
    assert "True" not in error.message and "such as 90s" not in error.message


@pytest.mark.parametrize("target", TARGETS)
def test_the_ulimits_docker_takes_plan_unlimited_included(write, target):
    """``memlock: -1`` is Docker's unlimited (Elasticsearch's compose files ask for it)."""
    write(SERVICE + "    ulimits: {nofile: 65536, memlock: -1}\n")

    program(["compose.yaml"], target=target, variables=OPTIONS.get(target))


@pytest.mark.parametrize("marking", ["1", "{bogus: 1}", "{allow-downtime: maybe}"])
def test_local_refuses_the_store_marking_the_clouds_refuse(write, marking):
    write(f"services:\n  db:\n    image: postgres\n    x-defang-postgres: {marking}\n")

    with pytest.raises(BerthError) as refused:
        program(["compose.yaml"], target="local")

    assert refused.value.service == "db"
    assert refused.value.field.startswith("x-defang-postgres")


@pytest.mark.parametrize("target", ["local", "gcp"])
def test_a_files_owner_is_warned_about_where_it_is_placed_without_one(write, target):
    write("x\n", "x")
    write(SERVICE + owner('uid: "1000", gid: "1000"'))

    plan = program(["compose.yaml"], target=target, variables=OPTIONS.get(target))

    assert (
        "service 'app': config 's': uid and gid ignored: the file is placed owned by root; give "
        "it a mode the service's user can read, e.g. mode: 0444"
    ) in plan.warnings


@pytest.mark.parametrize("target", ["aws", "gcp", "digitalocean"])
def test_a_managed_stores_command_is_warned_about_and_its_password_not_taken(write, target):
    write(
        "services:\n  cache:\n    image: redis:7\n    x-defang-redis: true\n"
        '    command: ["redis-server", "--requirepass", "hunter2-hunter2-hunter2"]\n'
        "  db:\n    image: postgres:16\n    x-defang-postgres: true\n"
        "    entrypoint: [docker-entrypoint.sh]\n    command: [postgres, -c, max_connections=200]\n"
        '    environment: {POSTGRES_PASSWORD: "${PW}"}\n'
    )

    plan = program(
        ["compose.yaml"], target=target, variables=OPTIONS.get(target), secrets={"PW": "pw-0123456"}
    )

    assert (
        "service 'cache': command is not run: a managed redis runs no container, so its "
        "--requirepass sets no password: Berth reads the store's password from REDIS_PASSWORD; "
        "set it to the one the services use"
    ) in plan.warnings
    assert (
        "service 'db': command and entrypoint are not run: a managed postgres runs no container"
    ) in plan.warnings


@pytest.mark.parametrize(
    ("name", "problem", "hint"),
    [
        ("-x", "it starts with '-'", "rename it: letters, digits, '-' and '_', a letter"),
        ("web-", "it ends with '-'", "rename it, e.g. 'web'"),
        ("a..b", "it holds '.': a label holds only letters, digits", "rename it, e.g. 'a-b'"),
    ],
)
def test_on_aws_a_service_name_that_is_no_dns_label_says_why(write, name, problem, hint):
    write(f"services:\n  '{name}':\n    image: nginx\n")

    with pytest.raises(BerthError) as refused:
        program(["compose.yaml"], target="aws")

    assert f"could not reach it by name: {problem}" in refused.value.message
    assert refused.value.hint.startswith(hint)


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("Ünï", "rename it, e.g. 'Uni'"),
        ("n!", "rename it with letters, digits and '-'"),  # 'n' is too short for App Platform
        ("日本", "rename it with letters, digits and '-'"),
    ],
)
def test_a_name_compose_refuses_is_given_one_every_target_takes(load, name, hint):
    error = refusal(load, f"services:\n  '{name}':\n    image: alpine\n")

    assert error.hint == hint
