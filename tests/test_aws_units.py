"""The AWS target's pure parts: Fargate sizes, settings, health checks, ports."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.model import Healthcheck, Port, Resources, Secret, Service
from berth.providers.aws.containers import health_check, health_command
from berth.providers.aws.ingress import Ingress, http_check_path, ingress_ports
from berth.providers.aws.options import AwsOptions
from berth.providers.aws.sizing import TaskSize, size_table, task_size
from berth.sources import Sources
from tests.conftest import ROOT

ONE_FILE = Sources(files=("compose.yaml",), documents=({},))
"""A project of one file, ``compose.yaml``, which every message names."""

GIB = 1024**3


@pytest.mark.parametrize(
    ("cpus", "memory", "size"),
    [
        (None, None, TaskSize(256, 512)),
        (0.25, 0.5 * GIB, TaskSize(256, 512)),
        (0.3, None, TaskSize(512, 1024)),
        (None, 3 * GIB, TaskSize(512, 3072)),
        (None, 5 * GIB, TaskSize(1024, 5120)),
        (1, 1 * GIB, TaskSize(1024, 2048)),
        (2, 20 * GIB, TaskSize(4096, 20480)),
        (4, 31 * GIB, TaskSize(8192, 32768)),
        (9, 8 * GIB, TaskSize(16384, 32768)),
        (16, 120 * GIB, TaskSize(16384, 122880)),
    ],
)
def test_a_request_gets_the_smallest_fargate_size_that_holds_it(cpus, memory, size):
    service = Service(name="api", image="api", resources=Resources(cpus=cpus, memory=memory))
    assert task_size(service, ONE_FILE) == size


def test_reservations_count_like_limits():
    service = Service(
        name="api", image="api", resources=Resources(cpus=0.25, reserved_memory=2 * GIB)
    )
    assert task_size(service, ONE_FILE) == TaskSize(256, 2048)


def test_more_cpus_than_fargate_has_name_the_service_and_field():
    service = Service(name="big", image="x", resources=Resources(cpus=32), fields=("cpus",))
    with pytest.raises(BerthError) as error:
        task_size(service, ONE_FILE)
    assert error.value.message.startswith(
        "compose.yaml: service 'big', field 'cpus': asks for 32 CPUs, more than a Fargate task "
        "has (16 vCPU, 120 GiB)"
    )


def test_the_documented_size_table_is_the_one_in_the_code():
    assert size_table() in (ROOT / "docs" / "aws.md").read_text()


def test_settings_accept_lists_as_json_or_commas():
    as_json = AwsOptions.parse({"awsVpcId": "vpc-1", "awsSubnetIds": '["subnet-a", "subnet-b"]'})
    as_text = AwsOptions.parse({"awsVpcId": "vpc-1", "awsSubnetIds": "subnet-a, subnet-b"})
    assert as_json == as_text
    assert as_json.subnet_ids == ("subnet-a", "subnet-b")
    defaults = AwsOptions.parse({})
    assert (defaults.vpc_id, defaults.subnet_ids, defaults.assign_public_ip) == (None, (), True)


def test_a_shell_health_check_reads_its_secret_from_the_environment():
    check = Healthcheck(
        test=("CMD-SHELL", Secret("PGPASSWORD=pw-1 psql -U app -c 'select 1'", ("DB_PASSWORD",)))
    )
    command, keys = health_command(check, "db", ONE_FILE, {"DB_PASSWORD": "pw-1"})
    assert command == [
        "CMD-SHELL",
        "PGPASSWORD=${BERTH_SECRET_DB_PASSWORD} psql -U app -c 'select 1'",
    ]
    assert keys == {"DB_PASSWORD"}


def test_an_exec_form_health_check_with_a_secret_is_refused():
    check = Healthcheck(test=("CMD", "check", Secret("--token=t-1", ("TOKEN",))))
    with pytest.raises(BerthError, match="service 'db', field 'healthcheck'"):
        health_command(check, "db", ONE_FILE, {"TOKEN": "t-1"})


def test_a_health_check_keeps_dockers_defaults_within_what_ecs_accepts():
    warnings: list[str] = []
    check = Healthcheck(test=("CMD", "true"), interval=1.0, timeout=90.0, start_period=10.0)
    assert health_check(check, ["CMD", "true"], warnings.append) == {
        "command": ["CMD", "true"],
        "interval": 5,
        "timeout": 60,
        "retries": 3,
        "startPeriod": 10,
    }
    assert warnings == [
        "healthcheck interval 1 is outside what ECS accepts; using 5",
        "healthcheck timeout 90 is outside what ECS accepts; using 60",
    ]


@pytest.mark.parametrize(
    ("test", "port", "path"),
    [
        (("CMD", "curl", "-f", "http://localhost:8080/health"), 8080, "/health"),
        (
            ("CMD-SHELL", "curl --fail localhost:9200/_cluster/health || exit 1"),
            9200,
            "/_cluster/health",
        ),
        (("CMD-SHELL", "wget -qO- http://127.0.0.1/ping"), 80, "/ping"),
        (("CMD-SHELL", "curl -f http://localhost:3000"), 3000, "/"),
        (("CMD-SHELL", "curl -f http://localhost:3000/x"), 80, None),
        (("CMD", "pg_isready"), 5432, None),
        (("CMD", "curl", "-X", "GET", "http://localhost:8080/ok"), 8080, "/ok"),
        # A check that writes is never the load balancer's path: it requests it every interval.
        (("CMD", "curl", "-X", "POST", "http://localhost:8080/reset"), 8080, None),
        (("CMD-SHELL", "curl -fsS -d '{}' http://localhost:8080/warm"), 8080, None),
        (("CMD-SHELL", "wget --post-data=x http://localhost:8080/touch"), 8080, None),
        (("CMD-SHELL", "curl --request=PUT localhost:8080/p"), 8080, None),
    ],
)
def test_an_http_health_check_is_recognised_on_its_port(test, port, path):
    assert http_check_path(Healthcheck(test=test), port) == path


def test_ports_the_load_balancer_serves():
    warnings: list[str] = []
    service = Service(
        name="app",
        image="app",
        ports=(
            Port(target=80, published=80),
            Port(target=80, published=80),
            Port(target=9000, mode="host"),
            Port(target=5432, published=5432),
            Port(target=5433, published=5433, app_protocol="postgresql"),
            Port(target=6379, published=6379, app_protocol="http"),
            Port(target=53, published=53, protocol="udp"),
            Port(target=3000),
        ),
    )
    assert ingress_ports(service, False, warnings.append) == [
        Ingress(target=80, listener=80),
        Ingress(target=3000, listener=3000),
        Ingress(target=6379, listener=6379),
    ]
    assert len(warnings) == 3
    assert ingress_ports(service, True, [].append)[0] == Ingress(target=80, listener=443)


def test_a_database_images_port_stays_internal_whatever_its_number():
    """One rule for every target (berth/ports.py): a port of a database image is not HTTP."""
    warnings: list[str] = []
    service = Service(name="db", image="postgres:16", ports=(Port(target=6000, published=6000),))

    assert ingress_ports(service, https=False, warn=warnings.append) == []
    assert "reachable only inside the project" in warnings[0]


def test_every_target_sizes_by_the_larger_of_limit_and_reservation():
    """One sizing rule (issue 11): a reservation above the limit is what the service needs."""
    from berth.providers.gcp.sizing import machine_type
    from berth.sizing import Request

    resources = Resources(cpus=1.0, memory=2 * 1024**3, reserved_cpus=4.0, reserved_memory=None)
    service = Service(name="api", image="a", resources=resources)

    assert (resources.wanted_cpus, resources.wanted_memory) == (4.0, 2 * 1024**3)
    assert task_size(service, ONE_FILE).cpu == 4096
    assert machine_type(Request.of(resources)) == "e2-standard-4"
