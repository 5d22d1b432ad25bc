"""A VM service's cloud-init: the systemd unit and the boot script that run its container
(the ``docker run`` words are ``vm``'s).

Container-Optimized OS applies cloud-config at every boot (its ``/etc`` is stateless). The
script formats (once), mounts and grows the persistent disks, reads the service's secrets from
Secret Manager with the VM's service account (the instance metadata holds only the names of
secret versions), reports the container's state, refuses containers the metadata server (but
its DNS), publishes the container's ports on the VM's internal address and keeps its anonymous
volumes on the VM's own state disk, then runs the container.

Secrets never reach a command line (``ps`` and ``/proc/*/cmdline`` show those to every user of
the VM): secret environment values go through a root-only env file on tmpfs (``--env-file``),
secret files through files there, the access token to curl through its standard input.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from berth.providers.gcp.vm import Published, container_name

FILES_DIR = "/run/berth"
"""Secret and config files of a service, and its env file: tmpfs, so they never reach a disk."""
DISKS_DIR = "/mnt/disks"
METADATA_IP = "169.254.169.254"
"""The metadata server, which is also the VM's DNS resolver (port 53)."""
STATE_DEVICE = "berth-state"
"""The device name of a VM's own state disk: where its anonymous volumes live."""


def cloud_config(spec: Mapping[str, Any]) -> str:
    """The instance's ``user-data``: cloud-config writing the unit and the script, then starting
    the unit. ``spec`` is resolved (no Outputs): ``name``, ``registry``, ``secrets`` (``var``,
    ``version``), ``env`` (``key``, ``var``: secret environment values), ``files``
    (``version``, ``path``, ``mode``), ``disks`` (``device``, ``path``), ``state`` (where the
    state disk is mounted), ``ports`` (``Published``), ``anonymous`` (compose's anonymous
    volumes), ``covered`` (every path compose mounts something on), ``run`` (the
    ``docker run`` Groups), ``image`` and ``command``."""
    name = spec["name"]
    document = {
        "write_files": [
            {"path": f"/etc/berth/{name}.sh", "permissions": "0700", "content": _script(spec)},
            {
                "path": f"/etc/systemd/system/berth-{name}.service",
                "permissions": "0644",
                "content": _unit(name, spec.get("registry")),
            },
        ],
        "runcmd": ["systemctl daemon-reload", f"systemctl start berth-{name}.service"],
    }
    return "#cloud-config\n" + yaml.dump(document, Dumper=_BlockDumper, sort_keys=False, width=4096)


def _script(spec: Mapping[str, Any]) -> str:
    name = spec["name"]
    lines = [
        "#!/bin/bash",
        f"# Written by Berth: compose service {name!r}, started by berth-{name}.service.",
        "set -euo pipefail",
        "metadata=http://metadata.google.internal/computeMetadata/v1",
    ]
    if spec["secrets"] or spec["files"]:
        lines += [
            "token=$(curl -sSf -H 'Metadata-Flavor: Google' "
            '"$metadata/instance/service-accounts/default/token" '
            '| sed -E \'s/.*"access_token" *: *"([^"]+)".*/\\1/\')',
            "secret() {",
            "  printf 'Authorization: Bearer %s\\n' \"$token\" | curl -sSf -H @- "
            '"https://secretmanager.googleapis.com/v1/$1:access" '
            '| sed -nE \'s/.*"data" *: *"([^"]*)".*/\\1/p\' | base64 -d',
            "}",
        ]
    lines += [f"{s['var']}=$(secret {shlex.quote(s['version'])})" for s in spec["secrets"]]
    if spec["files"]:
        lines.append(f"install -d -m 0755 {FILES_DIR}/{name}")
    for file in spec["files"]:
        path = shlex.quote(file["path"])
        lines.append(
            f"secret {shlex.quote(file['version'])} > {path} && chmod {file['mode']} {path}"
        )
    for disk in spec["disks"]:
        device = f"/dev/disk/by-id/google-{disk['device']}"
        lines += [
            f"blkid {device} >/dev/null || mkfs.ext4 -q -m 0 -E "
            f"lazy_itable_init=0,lazy_journal_init=0,discard {device}",
            f"mkdir -p {disk['path']}",
            f"mountpoint -q {disk['path']} || mount -o discard,defaults {device} {disk['path']}",
            f"resize2fs {device} >/dev/null 2>&1 || true",
        ]
    run = ["exec docker run"]
    if spec["env"]:
        env_file = shlex.quote(env_path(name))
        pairs = " ".join(f'{shlex.quote(e["key"])} "${e["var"]}"' for e in spec["env"])
        lines += [
            f"install -d -m 0755 {FILES_DIR}",
            f"rm -f {env_file}",
            f"(umask 077 && printf '%s=%s\\n' {pairs} > {env_file})",
        ]
        run.append(f"--env-file {env_file}")
    lines += _reporter(name)
    lines.append(f"docker rm -f {container_name(name)} >/dev/null 2>&1 || true")
    lines += _metadata_blocked()
    lines += [
        f"image={shlex.quote(spec['image'])}",
        'docker image inspect "$image" >/dev/null 2>&1 || docker pull -q "$image" >/dev/null',
    ]
    lines += _published(spec["ports"])
    lines += _kept(name, spec["state"], spec["anonymous"], spec["covered"])
    run += [" ".join(shlex.quote(word) for word in group) for group in spec["run"]]
    run += ['"${published[@]}" "${kept[@]}"', '"$image"']
    if spec["command"]:
        run[-1] += " " + " ".join(shlex.quote(word) for word in spec["command"])
    lines.append(" \\\n  ".join(run))
    return "\n".join(lines) + "\n"


def _published(ports: Iterable[Published]) -> list[str]:
    """``--publish`` on the VM's internal address for compose's ports and those other
    services name, then for every port the image exposes (postgres's 5432 with no ``ports:``
    in compose): each port number once per protocol. A port the VM itself listens on (its SSH
    server on 22, read from ``/proc/net``) is skipped, but compose's own, which the checks
    kept off 22."""
    inspect = "{{range $p, $_ := .Config.ExposedPorts}}{{println $p}}{{end}}"
    return [
        "address=$(curl -sSf -H 'Metadata-Flavor: Google' "
        '"$metadata/instance/network-interfaces/0/ip")',
        "listening() {",
        "  local port state table _ local st",
        "  port=$(printf '%04X' \"$1\") state=0A",
        '  [ "$2" = udp ] && state=07',
        '  for table in "/proc/net/$2" "/proc/net/${2}6"; do',
        '    [ -r "$table" ] || continue',
        "    while read -r _ local _ st _; do",
        '      [ "${local##*:}" = "$port" ] && [ "$st" = "$state" ] && return 0',
        '    done < "$table"',
        "  done",
        "  return 1",
        "}",
        "published=()",
        "declare -A bound=()",
        "publish() {",
        '  [ -z "${bound[$1/$3]:-}" ] || return 0',
        '  if [ "${4:-}" = optional ] && listening "$1" "$3"; then',
        '    echo "port $1/$3 is the VM\'s own: not published" >&2',
        "    return 0",
        "  fi",
        "  bound[$1/$3]=1",
        '  published+=(--publish "$address:$1:$2/$3")',
        "}",
        *(
            f"publish {host} {container} {protocol}" + (" optional" if optional else "")
            for host, container, protocol, optional in ports  # plain tuples, once resolved
        ),
        f"exposed=$(docker image inspect -f '{inspect}' \"$image\")",
        "while read -r port; do",
        '  [ -z "$port" ] || publish "${port%/*}" "${port%/*}" "${port#*/}" optional',
        'done <<< "$exposed"',
    ]


def _kept(name: str, state: str, anonymous: Iterable[str], covered: Iterable[str]) -> list[str]:
    """Anonymous volumes (compose's, and every ``VOLUME`` of the image that compose mounts
    nothing on) as Docker volumes bound to folders of the VM's state disk: a restart, a reboot
    or a new instance finds the data again, where ``--rm`` or a new boot disk lost it. Docker
    fills a new one from the image, as it does an anonymous volume. Each is named from its
    path and a hash of it: ``/srv/app_data`` and ``/srv/app/data`` never share one."""
    inspect = "{{range $p, $_ := .Config.Volumes}}{{println $p}}{{end}}"
    paths = " ".join(f"[{shlex.quote(path)}]=1" for path in covered)
    volume = (
        f"berth-{name}-"
        + "$(printf '%s' \"${1#/}\" | tr -c 'A-Za-z0-9_.-' _)-"
        + "$(printf '%s' \"$1\" | sha256sum | cut -c1-8)"
    )
    return [
        "kept=()",
        f"declare -A covered=({paths})",
        "keep() {",
        '  [ -z "${covered[$1]:-}" ] || return 0',
        "  covered[$1]=1",
        f'  local volume="{volume}"',
        f'  local folder="{state}/volumes/$volume"',
        '  mkdir -p "$folder"',
        '  docker volume inspect "$volume" >/dev/null 2>&1 || docker volume create --driver local '
        '--opt type=none --opt o=bind --opt "device=$folder" "$volume" >/dev/null',
        '  kept+=(--volume "$volume:$1")',
        "}",
        *(f"keep {shlex.quote(path)}" for path in anonymous),
        f"declared=$(docker image inspect -f '{inspect}' \"$image\")",
        "while IFS= read -r path; do",
        '  [ -z "$path" ] || keep "$path"',
        'done <<< "$declared"',
    ]


def env_path(name: str) -> str:
    """The service's env file: root's, mode 0600, on tmpfs; printf (a bash builtin) writes it,
    so no value is ever an argument of a process."""
    return f"{FILES_DIR}/{name}.env"


def _metadata_blocked() -> list[str]:
    """Docker's ``DOCKER-USER`` chain (forwarded traffic: containers, not the host) refuses
    the metadata server but DNS, once per boot. When the rule cannot be set the script stops
    before the container runs (systemd tries again)."""
    rules = [
        f"-d {METADATA_IP}/32 -p {protocol} ! --dport 53 -j REJECT"
        + (" --reject-with tcp-reset" if protocol == "tcp" else "")
        for protocol in ("tcp", "udp")
    ]
    return [
        f"iptables -C DOCKER-USER {rule} 2>/dev/null || iptables -I DOCKER-USER {rule}"
        for rule in rules
    ]


def _reporter(name: str) -> list[str]:
    """A background loop telling the deployment how the container is doing (``readiness``):
    the guest attribute ``berth/state``, written whenever the state changes."""
    inspect = "{{.State.Status}}{{if .State.Health}}/{{.State.Health.Status}}{{end}}"
    return [
        "report() {",
        "  local url=http://metadata.google.internal/computeMetadata/v1/instance/"
        "guest-attributes/berth/state last=''",
        "  while sleep 2; do",
        f"    state=$(docker inspect -f '{inspect}' {container_name(name)} 2>/dev/null) "
        "|| state=starting",
        '    case "$state" in',
        "      running | running/healthy) value=healthy ;;",
        "      running/*) value=running ;;",
        "      *) value=starting ;;",
        "    esac",
        '    if [ "$value" != "$last" ] && curl -sf -X PUT --data "$value" '
        "-H 'Metadata-Flavor: Google' \"$url\"; then",
        "      last=$value",
        "    fi",
        "  done",
        "}",
        "report &",
    ]


def _unit(name: str, registry: str | None) -> str:
    login = (
        [f"ExecStartPre=/usr/bin/docker-credential-gcr configure-docker --registries={registry}"]
        if registry
        else []
    )
    return "\n".join(
        [
            "[Unit]",
            f"Description=Berth: compose service {name}",
            "Wants=network-online.target",
            "After=network-online.target docker.service",
            "",
            "[Service]",
            "Environment=HOME=/var/lib/berth",
            "ExecStartPre=/bin/mkdir -p /var/lib/berth",
            *login,
            f"ExecStart=/bin/bash /etc/berth/{name}.sh",
            f"ExecStop=/usr/bin/docker stop {container_name(name)}",
            "Restart=always",
            "RestartSec=10",
            "",
        ]
    )


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so the user-data reads as the files it writes."""


def _block(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _block)
