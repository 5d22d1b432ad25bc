"""berth/normalize/deploy.py: resources and replicas, from ``deploy`` or the legacy fields."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.model import Resources
from berth.normalize.deploy import deploy
from berth.quantities import MAX_REPLICAS
from tests.normalize_support import context

FAIL = context().fail("api")
MIB = 1024 * 1024


def test_deploy_resources_and_replicas():
    raw = {
        "deploy": {
            "replicas": 2,
            "resources": {
                "limits": {"cpus": "0.5", "memory": "512M"},
                "reservations": {"cpus": "0.25", "memory": "256M"},
            },
        }
    }
    assert deploy(raw, FAIL) == (
        Resources(cpus=0.5, memory=512 * MIB, reserved_cpus=0.25, reserved_memory=256 * MIB),
        2,
    )


def test_the_legacy_fields_count_when_deploy_does_not_set_them():
    raw = {"cpus": 1.5, "mem_limit": "1g", "mem_reservation": "128m", "scale": 3}
    assert deploy(raw, FAIL) == (
        Resources(cpus=1.5, memory=1024 * MIB, reserved_memory=128 * MIB),
        3,
    )
    both = {"cpus": 4, "scale": 5, "deploy": {"replicas": 1, "resources": {"limits": {"cpus": 2}}}}
    assert deploy(both, FAIL) == (Resources(cpus=2.0), 1)


def test_no_replicas_is_none():
    assert deploy({}, FAIL) == (Resources(), None)


@pytest.mark.parametrize("replicas", [-1, MAX_REPLICAS + 1, "2", 1.5])
def test_replicas_out_of_range_are_refused(replicas):
    with pytest.raises(BerthError) as refused:
        deploy({"deploy": {"replicas": replicas}}, FAIL)
    assert refused.value.field == "deploy.replicas"


def test_a_bad_limit_names_the_field_it_was_written_in():
    with pytest.raises(BerthError) as refused:
        deploy({"mem_limit": "lots"}, FAIL)
    assert refused.value.field == "mem_limit"
