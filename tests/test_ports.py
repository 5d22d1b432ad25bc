"""The shared rule of which ports speak HTTP (berth/ports.py), used by the aws and gcp targets."""

from __future__ import annotations

import pytest

from berth.ports import image_name, not_http, plain_tcp_image


@pytest.mark.parametrize(
    ("target", "name"),
    [(5432, "PostgreSQL"), (6379, "Redis"), (3306, "MySQL"), (27017, "MongoDB"), (22, "SSH")],
)
def test_well_known_database_and_cache_ports_are_not_http(target, name):
    assert not_http(target, "tcp", None) == (
        f"the {name} port; set app_protocol: http if it serves HTTP"
    )


def test_udp_is_never_http():
    assert not_http(53, "udp", None) == "a UDP port"
    assert not_http(8080, "udp", "http") == "a UDP port"


def test_app_protocol_decides_over_the_port_number():
    assert not_http(5432, "tcp", "http") is None
    assert not_http(8080, "tcp", "grpc") is None
    assert not_http(8080, "tcp", "postgresql") == "app_protocol postgresql"


def test_an_ordinary_port_is_http():
    assert not_http(8080, "tcp", None) is None
    assert not_http(80, "tcp", None, image="nginx:1.27") is None


def test_any_port_of_a_database_image_is_not_http():
    """A postgres moved to 5433 is still postgres."""
    reason = not_http(5433, "tcp", None, image="docker.io/library/postgres:16")
    assert reason and reason.startswith("a port of postgres, which serves plain TCP")
    assert not_http(5433, "tcp", "http", image="postgres:16") is None


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("postgres", "postgres"),
        ("docker.io/library/redis:7@sha256:abc", "redis"),
        ("bitnami/mongodb:7", "mongodb"),
        ("ghcr.io/example/api:1.2", None),
        (None, None),
    ],
)
def test_plain_tcp_images_are_known_by_their_last_path_segment(image, name):
    assert plain_tcp_image(image) == name


def test_image_name_drops_registry_tag_and_digest():
    assert image_name("quay.io/prometheus/prometheus:v2.53.0@sha256:abc") == "prometheus"
