"""Managed database clusters of the digitalocean target (issue 20, items 5 to 7): open to the
app only, protected unless the stack's stores are throwaway, and reported as what they are.

DigitalOcean: "By default, every database cluster is publicly accessible" until it has trusted
sources; a ``DatabaseFirewall`` rule of type ``app`` admits an App Platform app by its id.
"""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.fields import Level
from berth.offline.plan import Plan
from berth.providers.digitalocean import FIELD_SUPPORT
from tests.conftest import program
from tests.plans import find, of_type, resource_options

APP = "digitalocean:index/app:App"
CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster"
FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
DATABASE = "digitalocean:index/databaseDb:DatabaseDb"
USER = "digitalocean:index/databaseUser:DatabaseUser"

STORES = """
    services:
      db:
        image: postgres:16
        x-defang-postgres: true
        environment: {POSTGRES_USER: app, POSTGRES_DB: shop}
      cache:
        image: redis:7
        x-defang-redis: true
      scratch:
        image: postgres:16
      web:
        image: nginx
        ports: ["80:80"]
        environment:
          DATABASE_URL: postgres://app:pw@db:5432/shop
          REDIS_URL: redis://cache:6379
"""


def deploy(**variables: str) -> Plan:
    return program(["compose.yaml"], target="digitalocean", variables=variables)


def test_every_managed_cluster_is_open_to_the_app_only(project_dir, write):
    write(STORES)
    plan = deploy()

    (app,) = of_type(plan, APP)
    clusters = {r.name: r for r in of_type(plan, CLUSTER)}
    firewalls = {r.name: r for r in of_type(plan, FIREWALL)}
    assert len(clusters) == 2 and len(firewalls) == 2, "one per managed cluster, none for dev"
    for service in ("db", "cache"):
        cluster = find(plan, CLUSTER, f"{service}-cluster")
        firewall = find(plan, FIREWALL, f"{service}-firewall")
        assert firewall.inputs["clusterId"] == f"{cluster.name}-id"
        assert firewall.inputs["rules"] == [{"type": "app", "value": f"{app.name}-id"}]
        assert {cluster.urn, app.urn} <= set(firewall.dependencies)
    databases = {d["name"]: d for d in app.inputs["spec"]["databases"]}
    assert databases["scratch"]["production"] is False, "a dev database lives inside the app"


def test_managed_clusters_and_their_databases_are_protected(project_dir, write):
    write(STORES)
    with resource_options() as options:
        plan = deploy()

    protected = {r.name for r in plan.registrations if r.custom and options[r.urn].protect}
    assert protected == {
        find(plan, CLUSTER, "db-cluster").name,
        find(plan, CLUSTER, "cache-cluster").name,
        find(plan, DATABASE, "db-name").name,
    }, "the clusters and the database that holds the data; not the user, firewall or app"
    for service in ("db", "cache"):
        cluster = find(plan, CLUSTER, f"{service}-cluster")
        assert list(options[cluster.urn].ignoreChanges) == ["name"], (
            "a new project or stack name must not replace the cluster (name is ForceNew)"
        )
    assert not options[find(plan, USER, "db-user").urn].protect


def test_a_throwaway_stack_drops_the_protection(project_dir, write):
    write(STORES)
    with resource_options() as options:
        plan = deploy(digitaloceanThrowawayStores="true")

    assert [r.urn for r in plan.registrations if r.custom and options[r.urn].protect] == []
    assert len(of_type(plan, FIREWALL)) == 2, "still open to the app only"


def test_the_store_markings_say_what_happens(project_dir, write):
    for marking in ("x-defang-postgres", "x-defang-redis"):
        support = FIELD_SUPPORT[marking]
        assert support.level is Level.SUPPORTED
        assert "managed" in support.note and "open to" in support.note
        assert "protected unless berth:digitaloceanThrowawayStores" in support.note
    write(STORES)

    warnings = deploy().warnings
    assert not [w for w in warnings if "x-defang" in w and "ignored" in w], warnings
    assert any("'db'" in w and "managed PostgreSQL cluster" in w for w in warnings), warnings
    assert any("'cache'" in w and "managed Valkey cluster" in w for w in warnings), warnings


@pytest.mark.parametrize("value", ["yes", "1"])
def test_the_throwaway_setting_is_a_boolean(project_dir, write, value):
    write(STORES)
    with pytest.raises(BerthError, match="digitaloceanThrowawayStores"):
        deploy(digitaloceanThrowawayStores=value)
