"""Managed stores in the domain: which services, which engine and version, which credentials."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.model import Secret
from berth.stores import ImageStore, StoreKind, image_store, managed_stores, store_warnings


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


def test_marked_services_are_managed_stores(load):
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


def test_an_image_that_is_not_the_store_is_warned_about(load):
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
