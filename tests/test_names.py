"""Names that one cloud name would stand for are refused at plan time, as duplicate URNs are."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_docker as docker
import pytest

from berth.errors import BerthError
from berth.names import cloud_slug, shortened
from berth.offline.plan import plan_config, run_plan
from berth.providers.gcp.names import cloud_name
from tests.conftest import refused


@pytest.mark.parametrize(
    ("first", "second", "slug"),
    [("web", "Web", "web"), ("my_api", "my-api", "my-api"), ("a.b", "a-b", "a-b")],
)
def test_services_one_cloud_name_would_stand_for_are_refused(load, first, second, slug):
    error = refused(
        load,
        f"services:\n  {first}:\n    image: nginx\n  {second}:\n    image: nginx\n",
    )

    assert error.service == second
    assert f"services '{first}' and '{second}' would both be named '{slug}'" in error.message
    assert "rename one of them: service names must differ" in error.message


def test_a_job_and_a_service_share_the_namespace(load):
    error = refused(
        load,
        'services:\n  seed_db:\n    image: a\n    restart: "no"\n  seed-db:\n    image: b\n',
    )
    assert "'seed_db' and 'seed-db'" in error.message


def test_volumes_one_cloud_name_would_stand_for_are_refused(load):
    error = refused(
        load,
        "services:\n  db:\n    image: postgres\n    volumes: [data_1:/a, data-1:/b]\n"
        "volumes:\n  data_1: {}\n  data-1: {}\n",
    )
    assert "volumes 'data-1' and 'data_1' would both be named 'data-1'" in error.message
    assert "volume names must differ" in error.message


def test_names_that_stay_distinct_are_accepted(load):
    project = load(
        "services:\n  api:\n    image: a\n  api2:\n    image: b\n  ap-i:\n    image: c\n"
    )
    assert list(project.services) == ["api", "api2", "ap-i"]


@pytest.mark.parametrize("name", ["web", "Web", "my_api", "a.b", "x__y", "-a-", "Ab.C_d-e"])
def test_the_slug_is_what_gcp_names_are_made_of(name):
    """Two names with one slug make one GCP name; ``providers/gcp/names.py`` normalises alike."""
    assert cloud_name("p", name) == cloud_name("p", cloud_slug(name))


def test_the_offline_plan_refuses_a_duplicate_urn_as_the_engine_does(project_dir, write):
    write("services:\n  web:\n    image: nginx\n")

    def deploy_twice() -> Any:
        """Two resources of one type and name, as a target with a naming bug would make."""
        component = pulumi.ComponentResource("berth:index:Service", "web")
        opts = pulumi.ResourceOptions(parent=component)
        docker.Network("web-network", opts=opts)
        docker.Network("web-network", opts=opts)

    config, secret_keys = plan_config(["compose.yaml"])

    with pytest.raises(BerthError) as duplicate:
        run_plan(config, secret_keys, preview=False, program=deploy_twice)

    assert "duplicate resource URN" in duplicate.value.message
    assert "docker:index/network:Network::web-network" in duplicate.value.message
    assert duplicate.value.service == "web"


@pytest.mark.parametrize("limit", [30, 63, 255])
def test_a_name_is_shortened_only_beyond_its_limit_and_always_alike(limit):
    """A name within its limit never changes (a deployed stack keeps it); a longer one fits,
    keeps its start without a separator last, and ends in a hash of the whole."""
    within = "p" * limit
    beyond = [f"{'p' * (limit - 10)}-/{tail}" for tail in ("a" * 20, "b" * 20)]

    assert shortened(within, limit) == within
    cut = [shortened(name, limit) for name in beyond]
    assert all(len(name) <= limit and name.startswith("p" * (limit - 10)) for name in cut)
    assert all(re.fullmatch(r"p+-[0-9a-f]{8}", name) for name in cut), cut
    assert cut[0] != cut[1] and cut == [shortened(name, limit) for name in beyond]
