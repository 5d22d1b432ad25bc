"""Managed stores in the domain: which services, which engine and version, which credentials."""

from __future__ import annotations

import re

import pytest

from berth.errors import BerthError
from berth.model import Secret, Service
from berth.stores import (
    ImageStore,
    PasswordRule,
    StoreKind,
    image_store,
    managed_stores,
    seal_written_passwords,
    secret_password,
    store_password,
    store_warnings,
)


@pytest.mark.parametrize(
    ("image", "store"),
    [
        ("postgres:16", ImageStore(StoreKind.POSTGRES, "postgres", "16")),
        ("postgres:16.3-alpine", ImageStore(StoreKind.POSTGRES, "postgres", "16")),
        ("docker.io/library/postgres:15", ImageStore(StoreKind.POSTGRES, "postgres", "15")),
        ("pgvector/pgvector:pg17", ImageStore(StoreKind.POSTGRES, "postgres", "17")),
        ("postgres", ImageStore(StoreKind.POSTGRES, "postgres", None)),
        ("postgres:latest", ImageStore(StoreKind.POSTGRES, "postgres", None)),
        ("redis:7-alpine", ImageStore(StoreKind.REDIS, "redis", "7")),
        ("valkey/valkey:8", ImageStore(StoreKind.REDIS, "valkey", "8")),
        ("mysql:8", None),
        ("ghcr.io/acme/postgres:16", None),
        (None, None),
    ],
)
def test_an_image_says_which_store_and_version_it_is(image, store):
    assert image_store(image) == store


SEED = """
    services:
      db:
        image: postgres:16
        x-defang-postgres: true
        environment:
          POSTGRES_USER: app
          POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
      cache:
        image: redis:7
        x-defang-redis: true
      migrate:
        build: .
        command: ["./migrate.sh"]
        restart: "no"
        depends_on: [db]
      web:
        image: nginx
    """


def test_marked_services_are_managed_stores(load, write):
    write("FROM busybox\n", "Dockerfile")
    project = load(SEED, secrets={"POSTGRES_PASSWORD": "pw-123456"})

    stores = managed_stores(project)

    assert sorted(stores) == ["cache", "db"]
    db = stores["db"]
    assert (db.kind, db.engine, db.version, db.port) == (StoreKind.POSTGRES, "postgres", "16", 5432)
    assert (db.user, db.database) == ("app", "app"), "POSTGRES_DB defaults to the user"
    assert isinstance(db.password, Secret)
    assert db.allow_downtime is False
    cache = stores["cache"]
    assert (cache.kind, cache.version, cache.port, cache.password) == (
        StoreKind.REDIS,
        "7",
        6379,
        None,
    )
    assert store_warnings(project) == []


def test_allow_downtime_and_postgres_defaults(load):
    project = load(
        """
        services:
          db:
            image: postgres
            x-defang-postgres:
              allow-downtime: true
        """
    )

    db = managed_stores(project)["db"]
    assert db.allow_downtime is True
    assert (db.user, db.database, db.version) == ("postgres", "postgres", None)


def test_an_image_that_is_not_the_store_is_warned_about(load, write):
    write("FROM busybox\n", "Dockerfile")
    project = load(
        """
        services:
          db:
            image: mysql:8
            x-defang-postgres: true
          cache:
            build: .
            x-defang-redis: true
        """
    )

    assert managed_stores(project)["db"].version is None
    assert store_warnings(project) == [
        "service 'db': image mysql:8 is not postgres-compatible; the managed postgres runs the "
        "provider's default version",
        "service 'cache': build is ignored: a managed redis runs no image",
    ]


def test_false_is_not_a_store(load):
    project = load("services:\n  db:\n    image: postgres\n    x-defang-postgres: false\n")

    assert managed_stores(project) == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "services:\n  db:\n    image: postgres\n    x-defang-postgres: yes-please\n",
            "x-defang-postgres must be true, false or a mapping",
        ),
        (
            "services:\n  db:\n    image: postgres\n    x-defang-postgres: true\n"
            "    x-defang-redis: true\n",
            "cannot be both",
        ),
        (
            "services:\n  db:\n    image: postgres\n    x-defang-postgres: true\n"
            '    restart: "no"\n',
            "a one-off job cannot be a managed postgres",
        ),
    ],
)
def test_markings_that_cannot_be_a_store_are_refused(load, text, problem):
    with pytest.raises(BerthError) as caught:
        managed_stores(load(text))

    error = caught.value
    assert problem in error.message
    assert error.file == "compose.yaml"
    assert error.service == "db"
    assert error.hint


@pytest.mark.parametrize(
    ("written", "allowed"),
    [("true", True), ("false", False), ('"false"', False), ('"TRUE"', True), ("'False'", False)],
)
def test_allow_downtime_is_a_boolean_or_the_string_true_or_false(load, written, allowed):
    project = load(
        f"services:\n  db:\n    image: postgres\n    x-defang-postgres:\n"
        f"      allow-downtime: {written}\n"
    )

    assert managed_stores(project)["db"].allow_downtime is allowed


@pytest.mark.parametrize("written", ['"yes"', "1", '"0"', '""', "[true]", '"false "'])
def test_any_other_allow_downtime_is_refused_in_one_line(load, written):
    """Refused as the file is loaded, on every target: local too, which runs the container."""
    with pytest.raises(BerthError) as caught:
        load(
            f"services:\n  db:\n    image: postgres\n    x-defang-redis:\n"
            f"      allow-downtime: {written}\n"
        )

    error = caught.value
    assert (error.service, error.field) == ("db", "x-defang-redis.allow-downtime")
    assert "must be true or false, got" in error.message
    assert 'allow-downtime: true or false (or "true"/"false")' in error.message
    assert "\n" not in error.message


@pytest.mark.parametrize(("written", "store"), [('"true"', True), ('"False"', False)])
def test_a_marking_may_be_the_string_true_or_false(load, written, store):
    project = load(f"services:\n  db:\n    image: postgres\n    x-defang-postgres: {written}\n")

    assert ("db" in managed_stores(project)) is store


def test_a_stores_published_ports_are_warned_about(load):
    project = load(
        """
        services:
          db:
            image: postgres:16
            x-defang-postgres: true
            ports: ["5432:5432", "127.0.0.1:15432:5432"]
          cache:
            image: redis:7
            x-defang-redis: true
            ports: ["6379"]
          web:
            image: nginx
            ports: ["80:80"]
        """
    )

    assert store_warnings(project) == [
        "service 'db': ports 5432:5432, 15432:5432 are not published: a managed postgres is "
        "private to the project, reached by its services and jobs as db:5432; to query it, run "
        "a job of the project (e.g. a psql command), or use the local target, where the "
        "container publishes them",
        "service 'cache': ports 6379 are not published: a managed redis is private to the "
        "project, reached by its services and jobs as cache:6379; to query it, run a job of the "
        "project (e.g. a redis-cli command), or use the local target, where the container "
        "publishes them",
    ]


def test_a_target_never_takes_a_password_in_plain_text(load):
    project = load(
        "services:\n  db:\n    image: postgres\n    x-defang-postgres: true\n"
        "    environment: {POSTGRES_PASSWORD: written-here}\n"
    )
    service = project.services["db"]

    with pytest.raises(BerthError, match="POSTGRES_PASSWORD is written in the compose file"):
        secret_password(managed_stores(project)["db"].password, service, "POSTGRES_PASSWORD", "f")
    sealed = seal_written_passwords(project).project
    password = managed_stores(sealed)["db"].password
    assert secret_password(password, service, "POSTGRES_PASSWORD", "f") == "written-here"


RULE = PasswordRule(re.compile(r"[a-z]{8,}"), "8 or more small letters")


def test_a_password_the_store_accepts_is_given_as_it_is():
    password = Secret(value="abcdefgh", keys=("PW",))
    assert (
        store_password(password, Service(name="db"), "POSTGRES_PASSWORD", "f", RULE) == "abcdefgh"
    )


@pytest.mark.parametrize("value", ["short", "UPPERCASE", "abcdefgh and-more"])
def test_a_password_the_store_refuses_is_refused_before_anything_is_made(value):
    with pytest.raises(BerthError) as refused:
        store_password(Secret(value, ("PW",)), Service(name="db"), "POSTGRES_PASSWORD", "f", RULE)
    error = refused.value
    assert "POSTGRES_PASSWORD is not a password the managed store accepts" in error.message
    assert value not in error.message, "the value is never shown"
    assert (error.file, error.service, error.field) == ("f", "db", "environment")
    assert "8 or more small letters" in error.message
