"""The container registry of the digitalocean target (issue 20, items 3 and 4): in a region
that has registries, on a plan that holds every repository the project pushes.

DigitalOcean's own numbers, as its documentation gives them: registries exist in nyc3, sfo3,
sfo2, ams3, sgp1, fra1, blr1 and syd1 (API reference, POST /v2/registries, ``region``); the
starter plan holds 1 repository (500 MiB, no extra storage), basic 5 (5 GiB), professional any
number (100 GiB) (Container Registry pricing page).
"""

from __future__ import annotations

from typing import Any

import pytest

from berth.errors import BerthError
from berth.offline.plan import Plan
from berth.providers.digitalocean.options import (
    DATACENTERS,
    NEAREST_REGISTRY,
    REGISTRY_REGIONS,
    REGISTRY_TIERS,
)
from tests.conftest import program
from tests.plans import find, of_type

REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
IMAGE = "docker-build:index:Image"


def built(write: Any, count: int) -> None:
    """A compose file of ``count`` built services (one repository each) and a database."""
    services = "".join(
        f"  s{index}:\n    build: ./s{index}\n    ports: ['{8000 + index}:80']\n"
        for index in range(count)
    )
    write(f"services:\n{services}  db:\n    image: postgres:16\n")
    for index in range(count):
        write("FROM busybox\n", f"s{index}/Dockerfile")


def deploy(**variables: str) -> Plan:
    return program(["compose.yaml"], target="digitalocean", variables=variables)


def registry(plan: Plan) -> dict[str, Any]:
    (found,) = of_type(plan, REGISTRY)
    return found.inputs


def test_every_app_region_has_a_registry_region():
    assert set(REGISTRY_REGIONS) == {"nyc3", "sfo3", "sfo2", "ams3", "sgp1", "fra1", "blr1", "syd1"}
    assert NEAREST_REGISTRY.keys() == DATACENTERS.keys()
    assert set(NEAREST_REGISTRY.values()) <= set(REGISTRY_REGIONS)
    kept = {r: NEAREST_REGISTRY[r] for r in DATACENTERS if DATACENTERS[r] in REGISTRY_REGIONS}
    assert kept == {r: DATACENTERS[r] for r in kept}, (
        "where the app's datacenter has registries, the registry stays there: a registry's "
        "region cannot change (the provider replaces it, and every image with it)"
    )
    assert {r: NEAREST_REGISTRY[r] for r in ("lon", "tor", "atl")} == {
        "lon": "ams3",
        "tor": "nyc3",
        "atl": "nyc3",
    }


@pytest.mark.parametrize(
    ("region", "expected"), [("lon", "ams3"), ("tor", "nyc3"), ("atl", "nyc3")]
)
def test_an_app_where_there_is_no_registry_gets_the_nearest_one(
    project_dir, write, region, expected
):
    built(write, 1)

    plan = deploy(digitaloceanRegion=region)
    assert registry(plan)["region"] == expected
    (app,) = of_type(plan, "digitalocean:index/app:App")
    assert app.inputs["spec"]["region"] == region


def test_the_registry_region_is_a_setting(project_dir, write):
    built(write, 1)

    chosen = registry(deploy(digitaloceanRegion="lon", digitaloceanRegistryRegion="fra1"))
    assert chosen["region"] == "fra1"
    with pytest.raises(BerthError, match="digitaloceanRegistryRegion") as refused:
        deploy(digitaloceanRegion="lon", digitaloceanRegistryRegion="lon1")
    assert "\n" not in refused.value.message
    assert "ams3" in refused.value.hint, "the hint names the nearest one"


def test_the_plan_holds_every_repository_the_project_pushes(project_dir, write):
    built(write, 5)
    plan = deploy()
    assert registry(plan)["subscriptionTierSlug"] == "basic"
    tags = [find(plan, IMAGE, f"s{i}-image").inputs["tags"] for i in range(5)]
    assert [len(tag) for tag in tags] == [1] * 5, "each image pushed under one tag"
    repositories = {tag for (tag,) in tags}
    assert len({name.rsplit(":", 1)[0] for name in repositories}) == 5, "one repository each"
    assert not [w for w in plan.warnings if w.startswith("registry")]

    built(write, 6)
    plan = deploy()
    assert registry(plan)["subscriptionTierSlug"] == "professional"
    assert any(
        w.startswith("registry: professional") and "6 built images" in w for w in plan.warnings
    ), plan.warnings


def test_a_plan_too_small_for_the_project_is_refused_at_plan_time(project_dir, write):
    built(write, 2)

    with pytest.raises(BerthError, match="starter, which holds 1 repository") as refused:
        deploy(digitaloceanRegistryTier="starter")
    assert "2 built images" in refused.value.message and "\n" not in refused.value.message
    assert "digitaloceanRegistryTier basic" in refused.value.hint
    assert registry(deploy(digitaloceanRegistryTier="professional"))["subscriptionTierSlug"] == (
        "professional"
    )
    with pytest.raises(BerthError, match="container registry plan"):
        deploy(digitaloceanRegistryTier="free")


def test_the_accounts_registry_is_checked_against_the_plan_it_is_said_to_have(project_dir, write):
    built(write, 6)

    plan = deploy(digitaloceanRegistry="acme")
    assert not of_type(plan, REGISTRY), "Berth changes nothing of the account's registry"
    assert any(w.startswith("registry 'acme'") and "professional" in w for w in plan.warnings)
    with pytest.raises(BerthError, match="basic, which holds 5 repositories"):
        deploy(digitaloceanRegistry="acme", digitaloceanRegistryTier="basic")


def test_starter_is_never_chosen_for_the_user(project_dir, write):
    """Starter's 500 MiB take no extra storage: two versions of one image fill them, and the
    next push fails. It is a choice to make, not a default."""
    assert REGISTRY_TIERS == {"starter": 1, "basic": 5, "professional": None}
    built(write, 1)

    assert registry(deploy())["subscriptionTierSlug"] == "basic"
    assert registry(deploy(digitaloceanRegistryTier="starter"))["subscriptionTierSlug"] == (
        "starter"
    )
