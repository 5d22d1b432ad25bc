"""The seed's ``db`` VM rehearsed on a real Docker engine: the boot script exactly as the plan
writes it (its image swapped for a local one, and the metadata server, iptables and the disk
tools faked), run as systemd would run it, then reached from another container as the
migration reaches it, restarted, and started again as a new instance would."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from berth.offline.plan import plan_config, run_plan
from tests.conftest import ROOT
from tests.plans import find

SERVER_IMAGE = "berth-test/tcp-server:1"
CONTAINER = "berth-db"
VOLUME = f"berth-db-data-{hashlib.sha256(b'/data').hexdigest()[:8]}"
VM_OWN_PORT = 7001
"""A port the image exposes that the VM itself listens on, as COS's sshd does on 22."""
SERVER = (
    'FROM {base}\nVOLUME /data\nEXPOSE 5432 7000 7001\nCMD ["sh", "-c", '
    '"echo boot >> /data/boots; exec nc -ll -p 5432 -e cat /data/boots"]\n'
)
"""A server on the image's known port that answers with one line per start of its container,
kept in the image's ``VOLUME``: what postgres's data is to the migration."""
FAKES = {
    "curl": """#!/bin/bash
case "${@: -1}" in
  */network-interfaces/0/ip) echo "$ADDRESS" ;;
  */guest-attributes/berth/state) ;;
  *) exit 22 ;;
esac
""",
    "iptables": '#!/bin/bash\n[ "$1" = -C ]\n',
    "blkid": "#!/bin/bash\n",
    "mountpoint": "#!/bin/bash\n",
}
"""The VM's metadata server (its internal address), and the tools that act on the host's
firewall and disks, which the test must not touch: the state disk is a folder here."""


@pytest.fixture
def server_image(docker_client, busybox_image) -> str:
    dockerfile = io.BytesIO(SERVER.format(base=busybox_image).encode())
    docker_client.images.build(fileobj=dockerfile, tag=SERVER_IMAGE, rm=True)
    return SERVER_IMAGE


@pytest.fixture
def engine(docker_client) -> Iterator:
    """The engine, with no container named like the seed's ``db`` (the script replaces it)."""
    import docker.errors

    if docker_client.containers.list(all=True, filters={"name": f"^{CONTAINER}$"}):
        pytest.skip(f"a container named {CONTAINER} exists here; the boot script would replace it")
    with contextlib.suppress(docker.errors.NotFound):  # an earlier run's, bound elsewhere
        docker_client.volumes.get(VOLUME).remove(force=True)
    yield docker_client
    for remove in (
        lambda: docker_client.containers.get(CONTAINER).remove(force=True),
        lambda: docker_client.volumes.get(VOLUME).remove(force=True),
    ):
        with contextlib.suppress(docker.errors.NotFound):
            remove()


def seed_plan():
    os.chdir(ROOT)
    config, secret_keys = plan_config(["examples/migrate/compose.yaml"], target="gcp")
    return run_plan(config, secret_keys, preview=False)


def boot_script(plan, image: str, disks: Path) -> str:
    """The ``db`` VM's boot script as the plan writes it, its image swapped for ``image`` and
    its disks' mount points moved under ``disks``."""
    instance = find(plan, "gcp:compute/instance:Instance", "migrate-db")
    document = yaml.safe_load(instance.inputs["metadata"]["user-data"])
    script = next(f["content"] for f in document["write_files"] if f["path"].endswith(".sh"))
    script = re.sub(r"(?m)^image=.*$", f"image={image}", script, count=1)
    return script.replace("/mnt/disks/", f"{disks}/")


def gateway(client) -> str:
    """An address of this host that containers reach: the VM's internal address stands in."""
    return client.networks.get("bridge").attrs["IPAM"]["Config"][0]["Gateway"]


def start(script: Path, bin_dir: Path, address: str) -> subprocess.Popen:
    """The unit's ``ExecStart``: the script, in its own session (its reporter loops)."""
    environment = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "ADDRESS": address}
    return subprocess.Popen(
        ["/bin/bash", str(script)],
        env=environment,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=(script.parent / "boot.log").open("a"),
    )


def connect(client, busybox: str, address: str, port: int, boot: subprocess.Popen) -> str:
    """What a client container reads from ``address:port``, once the server answers."""
    deadline = time.monotonic() + 60
    while True:
        log = Path(str(boot.args[-1])).parent / "boot.log"
        assert boot.poll() is None, f"the boot script ended: {log.read_text()}"
        answer = client.containers.run(
            busybox, ["sh", "-c", f"nc {address} {port} </dev/null || true"], remove=True
        ).decode()
        if answer:
            return answer
        assert time.monotonic() < deadline, f"nothing answered on {address}:{port}"
        time.sleep(0.5)


def stop(boot: subprocess.Popen, client) -> None:
    """The container stops (a crash, a reboot): the script, which ``exec``ed docker, ends."""
    client.containers.get(CONTAINER).kill()
    boot.wait(timeout=30)
    os.killpg(boot.pid, signal.SIGTERM)


def test_the_seed_db_vm_serves_the_migration_and_keeps_its_data(
    tmp_path, engine, busybox_image, server_image
):
    plan = seed_plan()
    migrate = find(plan, "gcp:cloudrunv2/job:Job", "migrate-migrate")
    url = migrate.inputs["template"]["template"]["containers"][0]["envs"][0]["value"]
    port = int(re.search(r"@[\d.]+:(\d+)/", url)[1])
    assert port == 5432, url
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in FAKES.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755 | stat.S_IEXEC)
    script = tmp_path / "db.sh"
    script.write_text(boot_script(plan, server_image, tmp_path / "disks"))
    address = gateway(engine)
    own = socket.create_server(("0.0.0.0", VM_OWN_PORT))  # noqa: S104 - as sshd listens
    boot = start(script, bin_dir, address)
    try:
        assert connect(engine, busybox_image, address, port, boot) == "boot\n"
        bindings = engine.containers.get(CONTAINER).attrs["HostConfig"]["PortBindings"]
        assert {key: [b["HostIp"] for b in value] for key, value in bindings.items()} == {
            "5432/tcp": [address],
            "7000/tcp": [address],
        }, "the named port and the image's others but the VM's own, on the VM's address only"
        stop(boot, engine)

        boot = start(script, bin_dir, address)  # systemd's Restart=always
        assert connect(engine, busybox_image, address, port, boot) == "boot\n" * 2, (
            "a restarted container finds the image VOLUME's data"
        )
        stop(boot, engine)

        # A new instance: a new boot disk holds no container and no Docker volume.
        engine.containers.get(CONTAINER).remove(force=True)
        engine.volumes.get(VOLUME).remove(force=True)
        boot = start(script, bin_dir, address)
        assert connect(engine, busybox_image, address, port, boot) == "boot\n" * 3, (
            "a new instance finds the data on the state disk"
        )
        assert (tmp_path / "disks/berth-state/volumes" / VOLUME / "boots").exists()
    finally:
        own.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(boot.pid, signal.SIGKILL)
