"""The VM's cloud-init: valid YAML, a boot script bash accepts, and ``docker run`` arguments
that arrive exactly as compose wrote them, secrets read from a (fake) Secret Manager."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import shlex
import shutil
import signal
import stat
import subprocess
import textwrap
import time
from pathlib import Path

import pulumi
import pytest
import yaml

from benchmarks.plan_time import vm_project
from berth.model import Healthcheck, Port, Service
from berth.offline.plan import Plan, plan_config, run_plan
from berth.providers.gcp import cloud_init, vm
from tests.plans import find, of_type

BASH = "/bin/bash"
SECRETS = {
    "projects/1/secrets/db-PASSWORD/versions/1": "p@ss word'\"$x %s \\n = end",
    "projects/1/secrets/db-API_KEY/versions/1": "  key-77c1=with=equals ",
    "projects/1/secrets/db-file-token/versions/1": "token-42",
}
MARKERS = ("p@ss word", "key-77c1", "token-42", "ya29.fake")
"""A part of each secret value (and of the VM's access token) that a trace of the boot script
prints unescaped."""
FAKE_CURL = """#!/bin/bash
url="${@: -1}"
case "$url" in
  */guest-attributes/berth/state)
    while [ "$1" != --data ]; do shift; done
    echo "$2" >> "$REPORT" ;;
  */token) echo '{"access_token":"ya29.fake","expires_in":3599,"token_type":"Bearer"}' ;;
  */network-interfaces/0/ip) echo 10.20.0.7 ;;
  *:access)
    read -r header; [ "$header" = "Authorization: Bearer ya29.fake" ] || exit 22  # on stdin
    name="${url#https://secretmanager.googleapis.com/v1/}"; name="${name%:access}"
    printf '{\\n  "name": "%s",\\n  "payload": {\\n    "data": "%s"\\n  }\\n}\\n' \\
      "$name" "$(grep -F "$name " "$SECRETS_FILE" | cut -d' ' -f2)" ;;
  *) exit 22 ;;
esac
"""
FAKE_DOCKER = """#!/bin/bash
case "$1" in
  rm) ;;
  inspect) echo running/healthy ;;
  image)
    case "$*" in
      *ExposedPorts*) printf '5432/tcp\\n6000/udp\\n' ;;
      *Volumes*) printf '/var/lib/postgresql/data\\n/run/secrets/token\\n' ;;
    esac ;;
  volume) [ "$2" = create ] ;;
  *)
    printf '%s\\0' "$@" > "$DOCKER_ARGS"
    while [ $# -gt 0 ]; do
      if [ "$1" = --env-file ]; then cp "$2" "$ENV_COPY"; stat -c %a "$2" > "$ENV_MODE"; fi
      shift
    done ;;
esac
"""
FAKE_IPTABLES = """#!/bin/bash
[ "$1" = -C ] && exit 1
printf '%s\\n' "$*" >> "$IPTABLES"
"""


def spec(files_dir: Path) -> dict:
    db = Service(
        name="db",
        image="postgres:16",
        ports=(Port(5432, 5433),),
        healthcheck=Healthcheck(("CMD", "pg_isready", "--host", "db; x"), retries=5),
        user="postgres",
    )
    run: list[vm.Group] = [["--name", "berth-db"]]
    run += [["--env", 'GREETING=hello world; it\'s "quoted" $HOME']]
    run += vm.settings_words(db)
    run += vm.health_words(db.healthcheck)
    run += [["--volume", f"{files_dir}/db/0:/run/secrets/token:ro"]]
    return {
        "name": "db",
        "registry": "europe-west1-docker.pkg.dev",
        "secrets": [
            {"var": "s0", "version": "projects/1/secrets/db-PASSWORD/versions/1"},
            {"var": "s1", "version": "projects/1/secrets/db-API_KEY/versions/1"},
        ],
        "env": [{"key": "PASSWORD", "var": "s0"}, {"key": "API_KEY", "var": "s1"}],
        "files": [
            {
                "version": "projects/1/secrets/db-file-token/versions/1",
                "path": f"{files_dir}/db/0",
                "mode": "444",
            }
        ],
        "disks": [],
        "state": str(files_dir / "state"),
        "ports": vm.ports(db),
        "anonymous": ["/scratch"],
        "covered": ["/run/secrets/token"],
        "run": run,
        "image": "docker.io/library/postgres:16",
        "command": ["-c", "max_connections=200"],
    }


def test_the_user_data_is_cloud_config_with_a_unit_and_a_script(tmp_path):
    text = cloud_init.cloud_config(spec(tmp_path))
    assert text.startswith("#cloud-config\n")
    document = yaml.safe_load(text)
    files = {f["path"]: f for f in document["write_files"]}
    unit = files["/etc/systemd/system/berth-db.service"]["content"]
    assert "ExecStart=/bin/bash /etc/berth/db.sh" in unit
    assert (
        "ExecStartPre=/usr/bin/docker-credential-gcr configure-docker "
        "--registries=europe-west1-docker.pkg.dev"
    ) in unit
    assert "Restart=always" in unit
    assert document["runcmd"][-1] == "systemctl start berth-db.service"
    assert "p@ss" not in text, "the metadata names secret versions, never values"
    run = files["/etc/berth/db.sh"]["content"].split("exec docker run", 1)[1]
    assert "$s" not in run, "no secret, nor the variable holding it, is a docker run argument"
    assert f"--env-file {cloud_init.FILES_DIR}/db.env" in run


def path_hash(path: str) -> str:
    """What tells two volumes' paths apart in their names (``/a_b`` and ``/a/b``)."""
    return hashlib.sha256(path.encode()).hexdigest()[:8]


def run_boot_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trace: Path | None) -> dict:
    """Run the boot script with fake curl, docker and iptables; what each of them saw."""
    monkeypatch.setattr(cloud_init, "FILES_DIR", str(tmp_path))
    document = yaml.safe_load(cloud_init.cloud_config(spec(tmp_path)))
    script = next(f["content"] for f in document["write_files"] if f["path"].endswith(".sh"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("curl", FAKE_CURL), ("docker", FAKE_DOCKER), ("iptables", FAKE_IPTABLES)):
        path = bin_dir / name
        path.write_text(body)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    secrets_file = tmp_path / "secrets"
    secrets_file.write_text(
        "".join(f"{k} {base64.b64encode(v.encode()).decode()}\n" for k, v in SECRETS.items())
    )
    (tmp_path / "db.sh").write_text(script)
    seen = {n: tmp_path / n for n in ("args", "report", "env", "mode", "iptables")}
    environment = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SECRETS_FILE": str(secrets_file),
        "DOCKER_ARGS": str(seen["args"]),
        "REPORT": str(seen["report"]),
        "ENV_COPY": str(seen["env"]),
        "ENV_MODE": str(seen["mode"]),
        "IPTABLES": str(seen["iptables"]),
    }
    subprocess.run([BASH, "-n", str(tmp_path / "db.sh")], check=True)
    tracer = [STRACE, "-f", "-qq", "-e", "trace=execve", "-s", "4096", "-o", str(trace)]
    boot = subprocess.Popen(
        [*(tracer if trace else []), BASH, str(tmp_path / "db.sh")],
        env=environment,
        start_new_session=True,
    )
    try:
        if not trace:  # strace waits for the reporter loop too, which never ends
            assert boot.wait(timeout=30) == 0
        deadline = time.monotonic() + 30
        while not (seen["report"].exists() and seen["args"].exists()):
            assert time.monotonic() < deadline, "the boot script ran docker and reported"
            time.sleep(0.2)
    finally:
        os.killpg(boot.pid, signal.SIGTERM)  # the state reporter loops until the VM stops
    return seen


@pytest.mark.skipif(not Path(BASH).exists(), reason="the boot script is a bash script")
def test_the_boot_script_passes_every_argument_through_exactly(tmp_path, monkeypatch):
    seen = run_boot_script(tmp_path, monkeypatch, trace=None)
    assert seen["report"].read_text() == "healthy\n", "the container's state reached the deployment"

    argv = seen["args"].read_text().split("\0")[:-1]
    assert argv[:3] == ["run", "--env-file", str(tmp_path / "db.env")]
    pairs = list(itertools.pairwise(argv))
    assert ("--name", "berth-db") in pairs
    published = [value for flag, value in pairs if flag == "--publish"]
    assert published == [
        "10.20.0.7:5433:5432/tcp",
        "10.20.0.7:5432:5432/tcp",
        "10.20.0.7:6000:6000/udp",
    ], "compose's ports, then the image's that are not published yet, on the VM's address"
    kept = [value for flag, value in pairs if flag == "--volume" and value.startswith("berth-")]
    data = f"berth-db-var_lib_postgresql_data-{path_hash('/var/lib/postgresql/data')}"
    assert kept == [
        f"berth-db-scratch-{path_hash('/scratch')}:/scratch",
        f"{data}:/var/lib/postgresql/data",
    ], "anonymous volumes on the state disk, but where compose mounts a file"
    assert (tmp_path / "state/volumes" / data).is_dir()
    assert ("--env", 'GREETING=hello world; it\'s "quoted" $HOME') in pairs
    assert ("--user", "postgres") in pairs
    health = argv[argv.index("--health-cmd") + 1]
    assert shlex.split(health) == ["pg_isready", "--host", "db; x"]
    assert ("--health-retries", "5") in pairs
    assert argv[-3:] == ["docker.io/library/postgres:16", "-c", "max_connections=200"]
    assert (tmp_path / "db" / "0").read_text() == "token-42"
    assert oct((tmp_path / "db" / "0").stat().st_mode & 0o777) == "0o444"


@pytest.mark.skipif(not Path(BASH).exists(), reason="the boot script is a bash script")
def test_secret_environment_reaches_docker_through_a_root_only_env_file(tmp_path, monkeypatch):
    """Docker reads each line of an env file as KEY=value, the value exactly as written."""
    seen = run_boot_script(tmp_path, monkeypatch, trace=None)

    argv = "\0".join(seen["args"].read_text().split("\0"))
    for value in SECRETS.values():
        assert value not in argv
    assert seen["env"].read_text() == (
        f"PASSWORD={SECRETS['projects/1/secrets/db-PASSWORD/versions/1']}\n"
        f"API_KEY={SECRETS['projects/1/secrets/db-API_KEY/versions/1']}\n"
    )
    assert seen["mode"].read_text() == "600\n", "only its owner (root on the VM) reads it"


STRACE = shutil.which("strace") or "strace"


@pytest.mark.skipif(not shutil.which("strace"), reason="needs strace to see every command line")
@pytest.mark.skipif(not Path(BASH).exists(), reason="the boot script is a bash script")
def test_no_command_the_boot_script_starts_sees_a_secret(tmp_path, monkeypatch):
    """Every program the script runs (curl, docker, sed, base64, ...), traced: no secret value,
    nor the access token that reads them, is ever an argument, so ``ps`` and
    ``/proc/*/cmdline`` never show one."""
    trace = tmp_path / "trace"
    run_boot_script(tmp_path, monkeypatch, trace=trace)

    commands = [line for line in trace.read_text().splitlines() if "execve(" in line]
    assert any("docker" in line and '"run"' in line for line in commands), "it was traced"
    for marker in MARKERS:
        assert not [line for line in commands if marker in line], marker


@pytest.mark.skipif(not Path(BASH).exists(), reason="the boot script is a bash script")
def test_containers_are_refused_the_metadata_server_but_its_dns(tmp_path, monkeypatch):
    seen = run_boot_script(tmp_path, monkeypatch, trace=None)

    rules = seen["iptables"].read_text().splitlines()
    assert rules == [
        "-I DOCKER-USER -d 169.254.169.254/32 -p tcp ! --dport 53 -j REJECT "
        "--reject-with tcp-reset",
        "-I DOCKER-USER -d 169.254.169.254/32 -p udp ! --dport 53 -j REJECT",
    ], "forwarded traffic (containers, not the VM) to the metadata server, DNS excepted"


def bare(name: str, image: str, **settings) -> dict:
    """The spec of a VM service with nothing but ``settings``."""
    empty = {"secrets": [], "env": [], "files": [], "disks": [], "ports": [], "anonymous": []}
    return {
        **empty,
        "name": name,
        "registry": None,
        "state": f"/mnt/disks/{cloud_init.STATE_DEVICE}",
        "covered": [],
        "run": [["--name", vm.container_name(name)]],
        "image": image,
        "command": [],
        **settings,
    }


def test_a_service_with_no_port_stays_on_the_bridge_network():
    """Never the host's network, where the container would reach the metadata server as the
    VM (its service account's token) past the DOCKER-USER rules."""
    quiet = Service(name="worker", image="example/worker")
    assert vm.ports(quiet) == []
    text = cloud_init.cloud_config(bare("worker", "example/worker"))
    assert "--network" not in text
    assert "iptables -I DOCKER-USER" in text


def test_a_vm_publishes_compose_ports_and_those_others_name_it_by():
    """The seed's ``db`` publishes nothing, yet the migration connects to ``db:5432``."""
    exposed = Service(name="db", image="postgres", expose=(5432,))
    assert vm.ports(exposed) == [(5432, 5432, "tcp", False)]
    seed = Service(name="db", image="postgres")
    assert vm.ports(seed, named=[5432]) == [(5432, 5432, "tcp", True)]
    udp = Service(name="dns", image="coredns", ports=(Port(53, 1053, protocol="udp"),))
    assert vm.ports(udp, named=[8080]) == [
        (1053, 53, "udp", False),
        (53, 53, "udp", True),
        (8080, 8080, "tcp", True),
    ], "compose's own ports must be published; the others, unless the VM listens there"
    local = Service(name="admin", image="x", ports=(Port(80, 8080, host_ip="127.0.0.1"),))
    assert vm.ports(local) == [], "bound to loopback in compose: only the VM could reach it"
    script = cloud_init.cloud_config(bare("db", "postgres", ports=vm.ports(seed, named=[5432])))
    assert "publish 5432 5432 tcp optional\n" in script


def test_disks_are_formatted_once_and_mounted_at_every_boot():
    text = cloud_init.cloud_config(
        bare(
            "db",
            "postgres",
            disks=[{"device": "data", "path": "/mnt/disks/data"}],
            run=[["--volume", "/mnt/disks/data:/var/lib/postgresql/data"]],
        )
    )
    script = textwrap.dedent(text)
    assert "blkid /dev/disk/by-id/google-data >/dev/null || mkfs.ext4" in script
    assert "mountpoint -q /mnt/disks/data || mount -o discard,defaults" in script
    assert "secretmanager" not in script, "no secret, no token"
    assert "docker-credential-gcr" not in script, "no image of the project's registry"
    assert "--rm" not in script, "removing the container would remove its anonymous volumes"


INSTANCE = "gcp:compute/instance:Instance"


def vm_plan(folder: Path, services: int, preview: bool = False) -> Plan:
    """A plan of ``services`` VM services (``benchmarks.plan_time.vm_project``)."""
    (folder / "compose.yaml").write_text(yaml.safe_dump(vm_project(services)))
    config, secret_keys = plan_config(["compose.yaml"], target="gcp")
    return run_plan(config, secret_keys, preview=preview)


def test_each_vm_resolves_every_other_vm_by_its_compose_name(project_dir):
    plan = vm_plan(project_dir, 4)
    instances = {r.name.rsplit("-", 1)[1]: r.inputs for r in of_type(plan, INSTANCE)}
    ips = {name: i["networkInterfaces"][0]["networkIp"] for name, i in instances.items()}
    assert len(set(ips.values())) == 4
    for name, inputs in instances.items():
        words = inputs["metadata"]["user-data"].split("exec docker run", 1)[1].split()
        hosts = [words[i + 1] for i, word in enumerate(words) if word == "--add-host"]
        assert hosts == [f"{other}:{ip}" for other, ip in sorted(ips.items()) if other != name]
        last_env = max((i for i, word in enumerate(words) if word == "--env"), default=0)
        assert last_env < words.index("--add-host"), "after the environment, as compose lists"


def test_a_preview_shows_a_lone_vms_user_data_before_its_address_exists(project_dir):
    """Its user-data names no other VM, so its own unknown address does not hide it."""
    lone = find(vm_plan(project_dir, 1, preview=True), INSTANCE, "vm000").inputs
    assert lone["metadata"]["user-data"].startswith("#cloud-config"), lone["metadata"]
    two = of_type(vm_plan(project_dir, 2, preview=True), INSTANCE)
    unknown = "(known after apply)"
    assert {r.inputs["metadata"]["user-data"] for r in two} == {unknown}, "each names the other"


def test_the_outputs_a_plan_makes_grow_linearly_with_the_vms(project_dir, monkeypatch):
    """Each VM's hosts list names every other VM: built from an Output per VM and other VM,
    a plan of 170 VMs spent 12 of its 22 s on them. Counted, not timed: every Output Pulumi
    makes is tracked once (``Output._track``)."""
    made = itertools.count()
    track = pulumi.Output._track
    monkeypatch.setattr(pulumi.Output, "_track", lambda self: (next(made), track(self))[1])

    def outputs(services: int) -> int:
        start = next(made)
        vm_plan(project_dir, services)
        return next(made) - start - 1

    small, medium, large = outputs(6), outputs(12), outputs(24)
    growth = (large - medium) / (medium - small)
    assert growth < 2.3, f"6, 12, 24 VMs: {small}, {medium}, {large} Outputs (2 when linear)"
