"""berth/normalize/container.py, fed dicts."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.normalize.container import container, host_entry, strings
from tests.normalize_support import context

FAIL = context().fail("api")


def test_container_settings_are_typed():
    settings = container(
        {
            "cap_add": ["NET_ADMIN"],
            "dns": "1.1.1.1",
            "extra_hosts": ["db.internal=10.0.0.5"],
            "shm_size": "64m",
            "stop_grace_period": "1m",
            "sysctls": {"net.core.somaxconn": 1024},
            "logging": {"driver": "json-file", "options": {"max-size": "10m"}},
            "privileged": True,
        },
        FAIL,
    )
    assert settings.cap_add == ("NET_ADMIN",)
    assert settings.dns == ("1.1.1.1",), "a single string is a list of one"
    assert settings.extra_hosts == {"db.internal": "10.0.0.5"}
    assert settings.shm_size == 64 * 1024 * 1024
    assert settings.stop_grace_period == 60.0
    assert settings.sysctls == {"net.core.somaxconn": "1024"}
    assert (settings.log_driver, settings.log_options) == ("json-file", {"max-size": "10m"})
    assert settings.privileged and not settings.read_only


def test_a_bad_grace_period_is_refused_with_an_example():
    with pytest.raises(BerthError) as refused:
        container({"stop_grace_period": "later"}, FAIL)
    assert refused.value.field == "stop_grace_period"
    assert "e.g. 30s" in refused.value.message


@pytest.mark.parametrize(
    ("entry", "pair"), [("h=10.0.0.1", ("h", "10.0.0.1")), ("h:::1", ("h", "::1"))]
)
def test_a_host_entry_is_compose_s_or_the_user_s_spelling(entry, pair):
    assert host_entry(entry, FAIL) == pair


@pytest.mark.parametrize("entry", ["nohost", "=10.0.0.1", "h="])
def test_a_host_entry_without_both_parts_is_refused(entry):
    with pytest.raises(BerthError, match="is not HOST=IP"):
        host_entry(entry, FAIL)


def test_strings():
    assert (strings(None), strings("ab"), strings(["ab", 1])) == ((), ("ab",), ("ab", "1"))
