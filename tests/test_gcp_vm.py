"""The VM's cloud-init: valid YAML, a boot script bash accepts, and ``docker run`` arguments
that arrive exactly as compose wrote them, secrets read from a (fake) Secret Manager."""

from __future__ import annotations

import base64
import itertools
import os
import shlex
import signal
import stat
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from berth.model import Healthcheck, Port, Secret, Service
from providers.gcp import vm

BASH = "/bin/bash"
SECRETS = {
    "projects/1/secrets/db-PASSWORD/versions/1": "p@ss word'\"$x",
    "projects/1/secrets/db-health-1/versions/1": "s3cr3t;",
    "projects/1/secrets/db-file-token/versions/1": "token-42",
}
FAKE_CURL = """#!/bin/bash
url="${@: -1}"
case "$url" in
  */guest-attributes/berth/state)
    while [ "$1" != --data ]; do shift; done
    echo "$2" >> "$REPORT" ;;
  */token) echo '{"access_token":"ya29.fake","expires_in":3599,"token_type":"Bearer"}' ;;
  *:access)
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
  *) printf '%s\\0' "$@" > "$DOCKER_ARGS" ;;
esac
"""


def spec(files_dir: Path) -> dict:
    def word_of(text, label: str):
        if isinstance(text, Secret):
            return vm.secret_word("s1")
        return text

    db = Service(
        name="db",
        image="postgres:16",
        ports=(Port(5432, 5433),),
        healthcheck=Healthcheck(
            ("CMD", "pg_isready", "--password", Secret("x", ("P",))), retries=5
        ),
        user="postgres",
    )
    run: list[vm.Group] = [["--name", "db"], *vm.ports(db)]
    run += [["--env", 'GREETING=hello world; it\'s "quoted" $HOME']]
    run += [["--env", vm.secret_word("s0", "PASSWORD=")]]
    run += vm.settings_words(db)
    run += vm.health_words(db.healthcheck, word_of)
    run += [["--volume", f"{files_dir}/db/0:/run/secrets/token:ro"]]
    run += [["docker.io/library/postgres:16", "-c", "max_connections=200"]]
    return {
        "name": "db",
        "registry": "europe-west1-docker.pkg.dev",
        "secrets": [
            {"var": "s0", "version": "projects/1/secrets/db-PASSWORD/versions/1"},
            {"var": "s1", "version": "projects/1/secrets/db-health-1/versions/1"},
        ],
        "files": [
            {
                "version": "projects/1/secrets/db-file-token/versions/1",
                "path": f"{files_dir}/db/0",
                "mode": "444",
            }
        ],
        "disks": [],
        "run": run,
    }


def test_the_user_data_is_cloud_config_with_a_unit_and_a_script(tmp_path):
    text = vm.cloud_config(spec(tmp_path))
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


@pytest.mark.skipif(not Path(BASH).exists(), reason="the boot script is a bash script")
def test_the_boot_script_passes_every_argument_through_exactly(tmp_path, monkeypatch):
    monkeypatch.setattr(vm, "FILES_DIR", str(tmp_path))
    document = yaml.safe_load(vm.cloud_config(spec(tmp_path)))
    script = next(f["content"] for f in document["write_files"] if f["path"].endswith(".sh"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("curl", FAKE_CURL), ("docker", FAKE_DOCKER)):
        path = bin_dir / name
        path.write_text(body)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    secrets_file = tmp_path / "secrets"
    secrets_file.write_text(
        "".join(f"{k} {base64.b64encode(v.encode()).decode()}\n" for k, v in SECRETS.items())
    )
    (tmp_path / "db.sh").write_text(script)
    args_file = tmp_path / "args"
    report = tmp_path / "report"
    environment = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SECRETS_FILE": str(secrets_file),
        "DOCKER_ARGS": str(args_file),
        "REPORT": str(report),
    }

    subprocess.run([BASH, "-n", str(tmp_path / "db.sh")], check=True)
    boot = subprocess.Popen(
        [BASH, str(tmp_path / "db.sh")], env=environment, start_new_session=True
    )
    try:
        assert boot.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while not report.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        os.killpg(boot.pid, signal.SIGTERM)  # the state reporter loops until the VM stops
    assert report.read_text() == "healthy\n", "the container's state reached the deployment"

    argv = args_file.read_text().split("\0")[:-1]
    assert argv[:4] == ["run", "--rm", "--name", "db"]
    pairs = list(itertools.pairwise(argv))
    assert ("--publish", "5432:5432") in pairs
    assert ("--publish", "5433:5432") in pairs
    assert ("--env", 'GREETING=hello world; it\'s "quoted" $HOME') in pairs
    assert ("--env", "PASSWORD=p@ss word'\"$x") in pairs
    assert ("--user", "postgres") in pairs
    health = argv[argv.index("--health-cmd") + 1]
    assert shlex.split(health) == ["pg_isready", "--password", "s3cr3t;"]
    assert ("--health-retries", "5") in pairs
    assert argv[-3:] == ["docker.io/library/postgres:16", "-c", "max_connections=200"]
    assert (tmp_path / "db" / "0").read_text() == "token-42"
    assert oct((tmp_path / "db" / "0").stat().st_mode & 0o777) == "0o444"


def test_a_service_with_no_port_shares_the_vm_network():
    assert vm.ports(Service(name="db", image="postgres")) == [["--network", "host"]]
    exposed = Service(name="db", image="postgres", expose=(5432,))
    assert vm.ports(exposed) == [["--publish", "5432:5432"]]


def test_disks_are_formatted_once_and_mounted_at_every_boot():
    text = vm.cloud_config(
        {
            "name": "db",
            "registry": None,
            "secrets": [],
            "files": [],
            "disks": [{"device": "data", "path": "/mnt/disks/data"}],
            "run": [["--volume", "/mnt/disks/data:/var/lib/postgresql/data"], ["postgres"]],
        }
    )
    script = textwrap.dedent(text)
    assert "blkid /dev/disk/by-id/google-data >/dev/null || mkfs.ext4" in script
    assert "mountpoint -q /mnt/disks/data || mount -o discard,defaults" in script
    assert "secretmanager" not in script, "no secret, no token"
    assert "docker-credential-gcr" not in script, "no image of the project's registry"
