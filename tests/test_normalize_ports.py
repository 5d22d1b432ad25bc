"""berth/normalize/ports.py, fed Compose's long syntax."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.model import Port
from berth.normalize.ports import port, ports
from berth.sources import MAX_PORTS
from tests.normalize_support import context

FAIL = context().fail("web")


def test_a_long_syntax_port_becomes_a_port():
    raw = {"target": 80, "published": "8080", "protocol": "udp", "host_ip": "127.0.0.1"}
    assert port(raw, FAIL) == Port(
        target=80, published=8080, protocol="udp", host_ip="127.0.0.1", mode="ingress"
    )
    assert port({"target": 80, "mode": "host"}, FAIL) == Port(target=80, mode="host")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"target": 80, "published": "8080-8081"}, "'8080-8081' is not a single port number"),
        ({"target": 70000}, "70000 is not a port number"),
        ({"target": 80, "published": 0}, "0 is not a port number"),
        ({"target": 80, "protocol": "icmp"}, "'icmp' is not a protocol Docker publishes"),
    ],
)
def test_what_docker_cannot_publish_is_refused(raw, problem):
    with pytest.raises(BerthError, match=problem) as refused:
        port(raw, FAIL)
    assert refused.value.field == "ports"


def test_exposed_ranges_are_each_port():
    ctx = context()
    assert ports(ctx.sources, "web", {"expose": ["80", "90-92"]}, FAIL) == ((), (80, 90, 91, 92))


def test_more_ports_than_a_target_takes_are_refused():
    ctx = context({"services": {"web": {"expose": ["1-9999"]}}})
    with pytest.raises(BerthError) as refused:
        ports(ctx.sources, "web", {"expose": [f"1-{MAX_PORTS + 1}"]}, FAIL)
    assert refused.value.field == "expose"
