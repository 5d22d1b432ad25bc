"""The gcp target's rules, each on its own: where a service runs, how names resolve, sizes,
probes, cloud names and stack options."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.model import ComposeProject, Healthcheck, Port, Resources, Service
from berth.providers.gcp.cloudrun import probes
from berth.providers.gcp.names import CLOUD_RUN_NAME, cloud_name, secret_id
from berth.providers.gcp.options import GcpOptions
from berth.providers.gcp.placement import Kind, place
from berth.providers.gcp.references import Endpoint, references, rewrite
from berth.providers.gcp.sizing import TooLarge, cloud_run_limits, machine_type
from berth.sizing import GIB, MIB, Request
from tests.conftest import program
from tests.plans import find

ENDPOINTS = {
    "db": Endpoint("10.20.0.7"),
    "api": Endpoint("shop-dev-api-123456789012.europe-west1.run.app", https_only=True),
}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("DATABASE_URL", "postgres://u:p@db:5432/app", "postgres://u:p@10.20.0.7:5432/app"),
        ("DATABASE_URL", "postgres://db/app", "postgres://10.20.0.7/app"),
        ("REDIS", "db:6379", "10.20.0.7:6379"),
        ("DB_HOST", "db", "10.20.0.7"),
        (
            "API",
            "http://api:8080/v1?x=1",
            "https://shop-dev-api-123456789012.europe-west1.run.app/v1?x=1",
        ),
        ("API_WS", "ws://api:8080", "wss://shop-dev-api-123456789012.europe-west1.run.app"),
        ("UPSTREAM", "api:8080", "shop-dev-api-123456789012.europe-west1.run.app:443"),
        ("NODES", "db:1,db:2", "10.20.0.7:1,10.20.0.7:2"),
        ("POSTGRES_USER", "db", "db"),
        ("GREETING", "db is the database", "db is the database"),
        ("PATH", "/srv/db:5432", "/srv/db:5432"),
        ("HOST", "mydb:5432", "mydb:5432"),
        ("HOST", "db.example.com:5432", "db.example.com:5432"),
    ],
)
def test_references_to_services_are_rewritten_and_nothing_else(key, value, expected):
    found = references(key, value, ENDPOINTS)
    assert rewrite(value, found, ENDPOINTS) == expected


def test_a_service_never_rewrites_itself_and_the_longest_name_wins():
    assert references("URL", "http://db:80", ["db"], own="db") == []
    found = references("URL", "http://db-replica:5432", ["db", "db-replica"])
    assert [r.service for r in found] == ["db-replica"]


def service(name: str, **fields: object) -> Service:
    return Service(name=name, **fields)  # type: ignore[arg-type]


def project(*services: Service) -> ComposeProject:
    return ComposeProject(
        name="shop", files=("compose.yaml",), services={s.name: s for s in services}
    )


def test_placement_rules():
    placements = place(
        project(
            service("migrate", image="app", job=True, restart="no"),
            service("db", image="postgres:latest"),
            service("cache", image="redislabs/redismod", ports=(Port(6379, 6379),)),
            service("game", image="itzg/minecraft-server", ports=(Port(25565, 25565),)),
            service("dns", image="pihole/pihole", ports=(Port(53, 53, "udp"),)),
            service("host", image="app", ports=(Port(80, 80, mode="host"),)),
            service("two", image="app", ports=(Port(80, 80), Port(443, 443))),
            service("internal", image="app", expose=(3000,)),
            service("backend", build=None, image="app", environment={"X": "1"}),
            service(
                "proxy", image="nginx", ports=(Port(80, 8080),), environment={"UP": "backend:9091"}
            ),
            service("worker", image="app"),
            service("web", image="app", ports=(Port(8000, 80),)),
        )
    )
    kinds = {name: p.kind for name, p in placements.items()}
    assert kinds == {
        "migrate": Kind.JOB,
        "db": Kind.VM,
        "cache": Kind.VM,
        "game": Kind.VM,
        "dns": Kind.VM,
        "host": Kind.VM,
        "two": Kind.VM,
        "internal": Kind.VM,
        "backend": Kind.VM,
        "proxy": Kind.HTTP,
        "worker": Kind.WORKER,
        "web": Kind.HTTP,
    }
    assert placements["web"].port == 8000
    assert "reaches it by port" in placements["backend"].reason
    assert placements["db"].reason == "its image postgres serves plain TCP"


@pytest.mark.parametrize(
    ("cpus", "memory", "limits"),
    [
        (None, None, {"cpu": "1", "memory": "512Mi"}),
        (0.25, 256 * MIB, {"cpu": "1", "memory": "512Mi"}),
        (1.5, 700 * MIB, {"cpu": "2", "memory": "768Mi"}),
        (3, None, {"cpu": "4", "memory": "2048Mi"}),
        (None, 6 * GIB, {"cpu": "2", "memory": "6144Mi"}),
        (None, 20 * GIB, {"cpu": "6", "memory": "20480Mi"}),
        (7, 1 * GIB, {"cpu": "8", "memory": "4096Mi"}),
    ],
)
def test_cloud_run_sizes_round_up_to_what_cloud_run_accepts(cpus, memory, limits):
    assert cloud_run_limits(Request(cpus, memory)) == limits


def test_sizes_beyond_the_offer_are_refused():
    with pytest.raises(TooLarge, match="at most 8 CPUs"):
        cloud_run_limits(Request(9, None))
    with pytest.raises(TooLarge, match="at most 32 GiB"):
        cloud_run_limits(Request(None, 40 * GIB))
    with pytest.raises(TooLarge, match="e2-standard-32"):
        machine_type(Request(64, None))


def test_vm_machine_types_fit_the_request():
    assert machine_type(Request.of(Resources())) == "e2-small"
    assert machine_type(Request.of(Resources(memory=3 * GIB))) == "e2-medium"
    assert machine_type(Request.of(Resources(reserved_cpus=3))) == "e2-standard-4"


def test_probes_follow_the_health_check():
    curl = Healthcheck(
        ("CMD-SHELL", "curl -f localhost:8000/ready || exit 1"), interval=5, timeout=9
    )
    startup = probes(curl, 8000)["startup_probe"]
    assert startup["http_get"] == {"path": "/ready", "port": 8000}
    assert startup["period_seconds"] == 5
    assert startup["timeout_seconds"] == 5, "a probe's timeout fits in its period"
    wget = Healthcheck(("CMD", "wget", "-qO-", "http://127.0.0.1:3000/"))
    assert probes(wget, 3000)["liveness_probe"]["http_get"]["path"] == "/"
    pg = Healthcheck(("CMD", "pg_isready"), retries=7)
    assert probes(pg, 80) == {"startup_probe": {"tcp_socket": {"port": 80}, **_timing(7)}}
    assert probes(None, 80) == {"startup_probe": {"tcp_socket": {"port": 80}}}


def _timing(retries: int) -> dict[str, int]:
    return {
        "period_seconds": 30,
        "timeout_seconds": 30,
        "failure_threshold": retries,
        "initial_delay_seconds": 0,
    }


def test_cloud_names_are_valid_short_and_stable():
    assert cloud_name("My_Shop", "dev", "web.1") == "my-shop-dev-web-1"
    assert cloud_name("1shop", "dev") == "b-1shop-dev"
    long = cloud_name(
        "a-very-long-compose-project-name", "production", "worker", limit=CLOUD_RUN_NAME
    )
    assert len(long) == CLOUD_RUN_NAME
    assert long == cloud_name("a-very-long-compose-project-name", "production", "worker", limit=49)
    assert long != cloud_name("a-very-long-compose-project-name", "production", "worker2", limit=49)
    deterministic_url_label = f"{long}-123456789012"
    assert len(deterministic_url_label) <= 63
    assert secret_id("shop-dev", "web", "DATABASE_URL") == "shop-dev-web-DATABASE_URL"


def test_stack_options_parse_and_refuse_bad_values():
    options = GcpOptions.parse(
        {
            "gcpDeletionProtection": "False",
            "gcpDiskSizeGb": "50",
            "gcpZone": "europe-west1-c",
            "gcpSubnetRange": "10.9.0.0/24",
        }
    )
    assert options.deletion_protection is False
    assert options.public_services is True
    assert (options.disk_size_gb, options.zone, options.subnet_range) == (
        50,
        "europe-west1-c",
        "10.9.0.0/24",
    )
    for key, value in (
        ("gcpDiskSizeGb", "5"),
        ("gcpSubnetRange", "8.8.8.0/24"),
        ("gcpSubnetRange", "10.0.0.0/28"),
        ("gcpMachineType", "E2 Small"),
    ):
        with pytest.raises(BerthError, match=f"berth:{key}"):
            GcpOptions.parse({key: value})


@pytest.mark.parametrize(
    ("compose", "message"),
    [
        (
            "services:\n  git:\n    image: gitea/gitea\n    ports: ['22:22', '3000:3000']\n",
            r"service 'git'.*port 22 of its VM is the VM's own SSH server.*\"2222:22\"",
        ),
        (
            "services:\n  db:\n    image: postgres\n    volumes: [db_state:/x]\n"
            "volumes:\n  db_state: {}\n",
            r"named volume 'db_state' would be named like service 'db'.s own state disk",
        ),
        (
            "services:\n  db:\n    image: postgres\n    volumes: [berth-state:/x]\n"
            "volumes:\n  berth-state: {}\n",
            r"named volume 'berth-state' would be named like a VM's own state disk device",
        ),
    ],
)
def test_what_would_collide_on_a_vm_is_refused_naming_it(project_dir, write, compose, message):
    write(compose)
    with pytest.raises(BerthError, match=message):
        program(["compose.yaml"], target="gcp")


def test_a_vm_port_compose_binds_to_loopback_is_not_published_with_a_warning(project_dir, write):
    write(
        "services:\n  admin:\n    image: example/admin\n"
        "    ports: ['127.0.0.1:8080:80', '9090:9090', '9091:9091']\n"
    )
    plan = program(["compose.yaml"], target="gcp")
    user_data = find(plan, "gcp:compute/instance:Instance", "admin").inputs["metadata"]["user-data"]
    assert "publish 8080" not in user_data and "publish 80 " not in user_data
    assert "publish 9090 9090 tcp\n" in user_data
    assert any("port 8080 is bound to 127.0.0.1" in w for w in plan.warnings)
    firewall = find(plan, "gcp:compute/firewall:Firewall", "admin-public").inputs
    assert firewall["allows"] == [{"protocol": "tcp", "ports": ["9090", "9091"]}]
