"""Every number, mode, size, duration, name and list Berth reads from compose, proved with a bad
value (issue 21): one line naming the file, service and field, with what to do instead, or a
value the target accepts.

The table goes through the real loader (Compose included) in-process; values that flow to a
target are planned on all four; ``python -m berth plan`` runs as a subprocess for the few that
once ended in a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from berth.components.target import available_targets
from berth.errors import BerthError
from berth.model import ContainerSettings, Healthcheck, Service
from berth.offline.plan import Plan
from berth.providers.gcp import vm
from tests.conftest import program
from tests.conftest import refused as refusal
from tests.plans import of_type
from tests.test_contract_hostile_input import refused_line

TARGETS = available_targets()
SERVICE = "services:\n  app:\n    image: alpine\n"
JOB = SERVICE + "    restart: 'no'\n"
HUGE = "9" * 400
"""A number no float holds (Python's float() of it is infinity, of its int an OverflowError)."""


def secret(mode: str, kind: str = "secrets") -> str:
    return f"    {kind}:\n      - source: s\n        mode: {mode}\n{kind}:\n  s:\n    file: ./x\n"


def check(field: str, value: str) -> str:
    return f"    healthcheck:\n      test: [CMD, 'true']\n      {field}: {value}\n"


def limits(section: str, key: str, value: str) -> str:
    return f"    deploy:\n      resources:\n        {section}:\n          {key}: {value}\n"


BAD = [
    # modes: Compose prints -1 as "0-1", which int(..., 8) refused with a traceback
    ("secrets", secret("-1"), "mode -1 (octal", "secret-mode-minus-one"),
    ("configs", secret("-1", "configs"), "mode -1 (octal", "config-mode-minus-one"),
    ("secrets", secret("99999999999"), "0 to 0777", "secret-mode-past-int32"),
    ("secrets", secret("01000"), "mode 01000", "secret-mode-past-0777"),
    ("secrets", secret("abc"), 'parsing "abc"', "secret-mode-not-a-number"),
    ("secrets", secret("1.5"), "0440", "secret-mode-a-float"),
    # the job's timeout: finite, at least a second, at most what a deployment waits
    ("x-berth-timeout", f"    x-berth-timeout: {HUGE}\n", "(400 characters)", "timeout-400-digits"),
    ("x-berth-timeout", f'    x-berth-timeout: "{HUGE}h"\n', "finite length", "timeout-infinite"),
    ("x-berth-timeout", "    x-berth-timeout: .inf\n", "infinite or not", "timeout-yaml-inf"),
    ("x-berth-timeout", "    x-berth-timeout: 999999h\n", "720h (30 days)", "timeout-114-years"),
    ("x-berth-timeout", "    x-berth-timeout: 1ns\n", "less than a second", "timeout-1ns"),
    ("x-berth-timeout", "    x-berth-timeout: 0.5\n", "less than a second", "timeout-half-second"),
    # health check durations: Docker refuses 0 < d < 1ms; Go's durations end at 2562047h
    ("healthcheck.interval", check("interval", "1ns"), "shorter than 1ms", "health-interval-1ns"),
    ("healthcheck.timeout", check("timeout", "250us"), "shorter than 1ms", "health-timeout-250us"),
    ("healthcheck.start_period", check("start_period", "1ns"), "1ms", "health-start-period-1ns"),
    ("healthcheck.start_interval", check("start_interval", "1ns"), "1ms", "health-start-1ns"),
    ("healthcheck.interval", check("interval", "-1s"), "-1s is not a duration", "health-neg"),
    ("healthcheck.interval", check("interval", "2562048h"), "invalid duration", "health-past-go"),
    ("healthcheck.timeout", check("timeout", HUGE), "(400 digits)", "health-timeout-400-digits"),
    ("healthcheck.retries", check("retries", "1e12"), "2147483647", "health-retries-past-int32"),
    ("healthcheck.retries", check("retries", "-1"), "0 or more", "health-retries-negative"),
    ("healthcheck.retries", check("retries", HUGE), "smaller number", "health-retries-400-digits"),
    ("stop_grace_period", f"    stop_grace_period: {HUGE}\n", "(400 digits)", "grace-400-digits"),
    ("stop_grace_period", "    stop_grace_period: -1s\n", "not a duration", "grace-negative"),
    # sizes: Docker's smallest memory is 6M; Compose prints a size past int64 as -2**63
    ("mem_limit", "    mem_limit: 1\n", "smallest memory limit, 6M", "mem-limit-one-byte"),
    ("mem_limit", "    mem_limit: 1.5k\n", "1536 bytes", "mem-limit-kilobytes"),
    ("mem_reservation", "    mem_reservation: 1k\n", "6M", "mem-reservation-kilobyte"),
    ("deploy.resources.limits.memory", limits("limits", "memory", "1k"), "6M", "limits-memory"),
    (
        "deploy.resources.reservations.memory",
        limits("reservations", "memory", "99999999t"),
        "too large to hold",
        "reservations-memory-overflow",
    ),
    ("mem_limit", "    mem_limit: 99999999t\n", "too large to hold", "mem-limit-overflow"),
    ("mem_limit", f"    mem_limit: {HUGE}\n", "smaller number", "mem-limit-400-digits"),
    ("mem_limit", "    mem_limit: -1\n", "'-1' is not a memory size", "mem-limit-negative"),
    ("shm_size", "    shm_size: 99999999t\n", "too large to hold", "shm-size-overflow"),
    ("shm_size", "    shm_size: 1e400\n", "smaller number", "shm-size-1e400"),
    ("memswap_limit", "    memswap_limit: lots\n", "512M", "memswap-not-a-size"),
    ("tmpfs", '    tmpfs: ["/tmp:size=abc"]\n', "'abc' is not a memory size", "tmpfs-size-word"),
    ("tmpfs", f'    tmpfs: ["/tmp:size={HUGE}"]\n', "too large to hold", "tmpfs-size-huge"),
    ("tmpfs", '    tmpfs: ["/tmp:mode=999"]\n', "mode 999", "tmpfs-mode-not-octal"),
    ("tmpfs", '    tmpfs: ["relative"]\n', "not an absolute path", "tmpfs-relative"),
    (
        "volumes",
        "    volumes:\n      - type: tmpfs\n        target: /t\n        tmpfs:\n"
        "          size: -1\n",
        "0 or more",
        "tmpfs-mount-size-negative",
    ),
    # CPUs: Docker's smallest share is 0.01
    ("cpus", "    cpus: 0.0000001\n", "0.01 to 1024", "cpus-too-few"),
    ("cpus", "    cpus: 2000\n", "0.01 to 1024", "cpus-too-many"),
    ("cpus", f"    cpus: {HUGE}\n", "smaller number", "cpus-400-digits"),
    ("cpus", "    cpus: abc\n", "write a number", "cpus-word"),
    (
        "deploy.resources.reservations.cpus",
        limits("reservations", "cpus", "'-1'"),
        "not a number of CPUs",
        "reservations-cpus-negative",
    ),
    (
        "deploy.resources.limits.cpus",
        limits("limits", "cpus", "'1e400'"),
        "smaller",
        "limits-1e400",
    ),
    # counts
    ("deploy.replicas", "    deploy:\n      replicas: 1001\n", "0 to 1000", "replicas-too-many"),
    ("deploy.replicas", "    scale: -1\n", "0 to 1000", "scale-negative"),
    ("deploy.replicas", f"    deploy:\n      replicas: {HUGE}\n", "smaller", "replicas-400-digits"),
    ("pids_limit", "    pids_limit: abc\n", "whole number", "pids-limit-word"),
    # ports
    ("expose", '    expose: ["0"]\n', "1 to 65535", "expose-zero"),
    ("expose", '    expose: ["70000"]\n', "1 to 65535", "expose-past-65535"),
    ("expose", f'    expose: ["{HUGE}"]\n', "(400 characters)", "expose-400-digits"),
    ("expose", '    expose: ["9000-8000"]\n', "empty port range", "expose-backwards"),
    ("ports", "    ports:\n      - {target: 80, protocol: xyz}\n", "tcp, udp, sctp", "protocol"),
    ("ports", f"    ports:\n      - {{target: {HUGE}}}\n", "(400 digits)", "port-400-digits"),
    # ulimits
    ("ulimits", "    ulimits:\n      nofile: {soft: 10, hard: 5}\n", "above the hard", "soft-hard"),
    ("ulimits.nofile", f"    ulimits:\n      nofile: {HUGE}\n", "smaller", "ulimit-400-digits"),
    # names and addresses
    ("container_name", "    container_name: 'a::b'\n", "letters, digits", "container-name"),
    ("extra_hosts", '    extra_hosts: ["h=1.2.3.4.5"]\n', "not an IP address", "host-not-an-ip"),
    ("extra_hosts", '    extra_hosts: ["h=db"]\n', "host-gateway", "host-a-name"),
    (
        "volumes",
        "    volumes: ['v:/data']\nvolumes:\n  v: {}\n",
        "one-letter volume name as a Windows drive",
        "one-letter-volume",
    ),
    ("x-berth-run", "    x-berth-run: 1\n", "always or on-change", "run-policy-number"),
    # paths and keys Docker checks when it creates the container
    ("working_dir", "    working_dir: app\n", "'app' is not an absolute path", "workdir-relative"),
    ("working_dir", "    working_dir: ./app\n", "e.g. working_dir: /app", "workdir-dot"),
    ("sysctls", "    sysctls:\n      vm.max_map_count: 262144\n", "set it on the host", "vm"),
    ("sysctls", "    sysctls: [kernel.panic=1]\n", "only those of its own namespaces", "kernel"),
    ("sysctls", "    sysctls:\n      kernel.hostname: h\n", "set hostname: instead", "hostname"),
    ("sysctls", "    sysctls:\n      net/ipv4/ip_forward: 1\n", "'net.ipv4.ip_forward'", "slash"),
]


@pytest.mark.parametrize(
    ("field", "snippet", "words"),
    [pytest.param(field, snippet, words, id=case) for field, snippet, words, case in BAD],
)
def test_a_bad_value_is_refused_in_one_line_naming_its_field(load, write, field, snippet, words):
    write("x\n", "x")
    compose = (JOB if field.startswith("x-berth") else SERVICE) + snippet

    error = refusal(load, compose)  # names compose.yaml and says what to do

    assert (error.service, error.field) == ("app", field), error.message
    assert words in error.message
    assert "\n" not in error.message
    assert len(error.message) < 400, "a 400-digit number is cut short"


@pytest.mark.parametrize(
    ("name", "section", "compose"),
    [
        ("a::b", "services", "services:\n  'a::b':\n    image: alpine\n"),
        ("a b", "volumes", SERVICE + "volumes:\n  'a b': {}\n"),
    ],
    ids=["service", "volume"],
)
def test_a_name_compose_refuses_is_told_the_name_rule_not_the_x_prefix(
    load, name, section, compose
):
    """Compose's "additional properties ... prefix it with x-" fits an unknown key, not a name
    its pattern refused (issue 21)."""
    error = refusal(load, compose)

    assert error.field == section
    assert f"name {name!r} is not one Compose allows: letters, digits, '.', '_' and '-'" in (
        error.message
    )
    assert "x-" not in error.message
    assert error.hint == f"rename it, e.g. {name.replace('::', '-').replace(' ', '-')!r}"


@pytest.mark.parametrize("name", ["a", "-data", "my data", "a/b", "dätä"])
def test_an_external_volume_docker_could_not_have_named_is_refused(load, name):
    """Docker names a volume ``[a-zA-Z0-9][a-zA-Z0-9_.-]+``; local found no such volume when
    ``pulumi up`` created the container."""
    mount = "    volumes: ['data:/data']\nvolumes:\n  data:\n    external: true\n"

    error = refusal(load, SERVICE + mount + f"    name: {json.dumps(name)}\n")

    assert error.field == "volumes"
    assert f"the external volume name {name!r} is not one Docker allows" in error.message


@pytest.mark.parametrize(
    ("vm_only", "name", "kind"),
    [
        ("", "My_Data", "Cloud Storage bucket"),
        ("    privileged: true\n", "my.disk", "persistent disk"),
    ],
)
def test_an_external_volume_gcp_could_not_hold_is_refused_there(write, vm_only, name, kind):
    """On gcp an external volume is an existing bucket (Cloud Run) or disk (a VM) of that name:
    Docker's rule lets through names neither can have, which failed at deploy."""
    mount = (
        f"    volumes: ['data:/data']\nvolumes:\n  data:\n    external: true\n    name: {name}\n"
    )
    write(SERVICE + vm_only + mount)

    program(["compose.yaml"], target="local")
    with pytest.raises(BerthError) as caught:
        program(["compose.yaml"], target="gcp")
    assert (caught.value.service, caught.value.field) == ("app", "volumes")
    assert f"external volume 'data' is the {kind} {name!r} on gcp, a name it cannot have" in (
        caught.value.message
    )


def test_the_sysctls_and_working_dir_docker_takes_reach_it(write):
    write(SERVICE + "    working_dir: /srv\n    sysctls: [net.core.somaxconn=1, kernel.shmmax=1]\n")

    plan = program(["compose.yaml"], target="local")

    container = inputs_of(plan, "docker:index/container:Container")
    assert container["workingDir"] == "/srv"
    assert container["sysctls"] == {"kernel.shmmax": "1", "net.core.somaxconn": "1"}


def test_an_unknown_key_still_gets_the_x_prefix_hint(load):
    error = refusal(load, SERVICE + "    imgae: web\n")

    assert error.hint == "remove it, or prefix it with x- to keep it as an extension"


# -- values that reach a target are what it takes ------------------------------------------------


def plan_all(write, compose: str) -> dict[str, Plan]:
    write(compose)
    return {target: program(["compose.yaml"], target=target) for target in TARGETS}


def inputs_of(plan: Plan, type_: str, service: str = "app") -> dict[str, Any]:
    (registration,) = [r for r in of_type(plan, type_) if plan.service_of(r) == service]
    return registration.inputs


def job_timeouts(plans: dict[str, Plan]) -> dict[str, Any]:
    """Where each target holds the job's timeout (App Platform has none)."""
    return {
        "local": inputs_of(plans["local"], "pulumi-python:dynamic/berth:LocalJob")["timeout"],
        "aws": inputs_of(plans["aws"], "pulumi-python:dynamic/berth:EcsJob")["timeout"],
        "gcp": inputs_of(plans["gcp"], "gcp:cloudrunv2/job:Job")["template"]["template"]["timeout"],
    }


def test_the_longest_job_timeout_every_target_takes_plans_on_each(write):
    plans = plan_all(write, JOB + "    x-berth-timeout: 168h\n")

    assert job_timeouts(plans) == {"local": 604800.0, "aws": 604800.0, "gcp": "604800s"}
    assert any("x-berth-timeout is ignored" in w for w in plans["digitalocean"].warnings)


@pytest.mark.parametrize(
    ("timeout", "seconds"), [("1500ms", "2s"), ("2m0.001s", "121s"), ("1s", "1s")]
)
def test_a_cloud_run_job_s_timeout_rounds_up_to_whole_seconds(write, timeout, seconds):
    """Cloud Run takes whole seconds; rounded down, ``1.5s`` gave the job less than asked."""
    write(JOB + f"    x-berth-timeout: {timeout}\n")

    plan = program(["compose.yaml"], target="gcp")

    assert inputs_of(plan, "gcp:cloudrunv2/job:Job")["template"]["template"]["timeout"] == seconds


def test_a_gcp_vm_s_stop_timeout_rounds_up_to_whole_seconds():
    service = Service(name="app", container=ContainerSettings(stop_grace_period=0.5))

    assert ["--stop-timeout", "1"] in vm.settings_words(service)


@pytest.mark.parametrize("target", TARGETS)
def test_a_timeout_past_cloud_run_s_168h_is_refused_on_gcp_only(write, target):
    """Cloud Run runs a job's task for 7 days at most; the other targets wait up to 30 days."""
    write(JOB + "    x-berth-timeout: 169h\n")

    if target != "gcp":
        program(["compose.yaml"], target=target)
        return
    with pytest.raises(BerthError) as caught:
        program(["compose.yaml"], target=target)
    assert caught.value.field == "x-berth-timeout"
    assert "longer than Cloud Run lets a job's task run, 168h (7 days)" in caught.value.message
    assert caught.value.hint == "use x-berth-timeout: 168h or less"


def test_health_check_durations_reach_docker_as_go_durations(write):
    """``%g`` gave ``3.6e+09s`` and ``1e-09s``, which Docker's duration parser refuses."""
    compose = SERVICE + check("interval", "1ms") + "      timeout: 999999h\n"
    compose += "      start_period: 1m30s\n"
    write(compose)

    plan = program(["compose.yaml"], target="local")

    container = inputs_of(plan, "docker:index/container:Container")
    assert container["healthcheck"]["interval"] == "0.001s"
    assert container["healthcheck"]["timeout"] == "3599996400s"
    assert container["healthcheck"]["startPeriod"] == "90s"
    assert container["waitTimeout"] == 30 * 24 * 3600, "the wait ends within a deployment's"


def test_a_gcp_vm_gives_docker_run_go_durations_too():
    check = Healthcheck(test=("CMD", "true"), interval=0.001, timeout=3599996400.0)

    assert vm.health_words(check) == [
        ["--health-cmd", "true"],
        ["--health-interval", "0.001s"],
        ["--health-timeout", "3599996400s"],
    ]


def test_a_tmpfs_entry_with_options_mounts_its_path_on_every_target(write):
    """``/run:size=64m`` is a path and its options: no target mounts a path with a colon."""
    tmpfs = '    tmpfs: ["/run:size=64m,mode=1777"]\n'
    once = "  once:\n    image: alpine\n    restart: 'no'\n"
    plans = plan_all(write, SERVICE + tmpfs + once + tmpfs)

    local = inputs_of(plans["local"], "docker:index/container:Container")
    assert local["tmpfs"] == {"/run": "size=64m,mode=1777"}
    job = inputs_of(plans["local"], "pulumi-python:dynamic/berth:LocalJob", "once")
    assert job["definition"]["container"]["tmpfs"] == {"/run": "size=64m,mode=1777"}
    task = inputs_of(plans["aws"], "aws:ecs/taskDefinition:TaskDefinition")
    (container,) = [c for c in json.loads(task["containerDefinitions"]) if c["name"] == "app"]
    assert [m["containerPath"] for m in container["mountPoints"]] == ["/run"]
    pool = inputs_of(plans["gcp"], "gcp:cloudrunv2/workerPool:WorkerPool")
    assert [m["mountPath"] for m in pool["template"]["containers"][0]["volumeMounts"]] == ["/run"]
    assert any("'tmpfs' is ignored" in w for w in plans["digitalocean"].warnings)


def test_an_sctp_port_gets_no_ecs_port_mapping(write):
    """ECS maps tcp and udp only; an awsvpc task's own address reaches the sctp port."""
    write(SERVICE + "    ports:\n      - {target: 9000, protocol: sctp}\n      - '8080:80'\n")

    plan = program(["compose.yaml"], target="aws")

    task = inputs_of(plan, "aws:ecs/taskDefinition:TaskDefinition")
    (container,) = [c for c in json.loads(task["containerDefinitions"]) if c["name"] == "app"]
    assert container["portMappings"] == [{"containerPort": 80, "protocol": "tcp"}]


# -- as a user runs it: python -m berth plan -----------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    ("compose", "expected"),
    [
        (SERVICE + secret("-1"), "field 'secrets': mode -1 (octal, as Compose reads it)"),
        (JOB + f'    x-berth-timeout: "{HUGE}h"\n', "is not a duration of finite length"),
    ],
    ids=["secret-mode-minus-one", "infinite-timeout"],
)
def test_what_once_was_a_traceback_is_one_line_on_every_target(
    tmp_path: Path, compose: str, expected: str, target: str
) -> None:
    (tmp_path / "x").write_text("x\n")

    line = refused_line(tmp_path, compose, "--target", target)

    assert expected in line


@pytest.mark.parametrize(
    ("target", "timeout", "expected"),
    [
        ("gcp", "999999h", "longer than a deployment waits for a job, 720h (30 days)"),
        ("gcp", "200h", "longer than Cloud Run lets a job's task run, 168h (7 days)"),
        ("aws", "1ns", "less than a second: no job starts that fast. e.g. 30s"),
    ],
)
def test_a_job_timeout_out_of_a_target_s_range_is_one_line(tmp_path, target, timeout, expected):
    line = refused_line(tmp_path, JOB + f"    x-berth-timeout: {timeout}\n", "--target", target)

    assert "service 'app', field 'x-berth-timeout'" in line
    assert expected in line
