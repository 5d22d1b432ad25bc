"""Services on Compute Engine VMs: the container's ``docker run`` and the VM's cloud-init.

Each VM runs Container-Optimized OS. Cloud-init (which COS applies at every boot, ``/etc``
being stateless there) writes a systemd unit and a script; the script formats and mounts the
persistent disks of named volumes, reads the service's secrets from Secret Manager with the
VM's service account, and runs the container. The instance metadata therefore holds no secret
value, only the names of secret versions.

Secrets never reach a command line (``ps`` and ``/proc/*/cmdline`` show those to every user of
the VM for the container's life): secret environment values go through a root-only env file on
tmpfs (``--env-file``), secret files through files there, the access token to curl through its
standard input; the target refuses secrets in a VM service's command, entrypoint or health
check. The ``docker run`` arguments come in groups (an
option and its value), one line each; each argument is a literal string (or an Output of one).

The container runs on Docker's bridge network, never the host's, and the script refuses
containers the metadata server (but its DNS, the VM's resolver): they cannot act as the VM's
service account nor write the guest attributes that report the deployment's state. Its ports
are published on the VM's internal address: compose's, those other services name, and those the
image exposes. Its anonymous volumes (the image's ``VOLUME``s included) live on the VM's own
state disk, so no restart or new instance loses them.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi
import yaml

from berth.model import ContainerSettings, Healthcheck, Port, Service
from berth.ports import not_http
from providers.gcp.options import PUBLIC_NON_HTTP_PORTS

COS_IMAGE = "projects/cos-cloud/global/images/family/cos-stable"
FILES_DIR = "/run/berth"
"""Secret and config files of a service, and its env file: tmpfs, so they never reach a disk."""
DISKS_DIR = "/mnt/disks"
METADATA_IP = "169.254.169.254"
"""The metadata server, which is also the VM's DNS resolver (port 53)."""

STATE_DEVICE = "berth-state"
"""The device name of a VM's own state disk: where its anonymous volumes live."""

Word = pulumi.Input[str]
Group = list[Word]
"""Arguments written on one line: an option and its value."""
Published = tuple[int, int, str]
"""A port published on the VM's address: its number there, the container's, the protocol."""


def env_word(key: str, value: pulumi.Input[str]) -> Word:
    return f"{key}={value}" if isinstance(value, str) else pulumi.Output.concat(key, "=", value)


def host_words(hosts: Mapping[str, str]) -> list[Group]:
    """``--add-host`` for each other VM service: its compose name resolves to its internal IP
    inside the container, as on compose's network."""
    return [["--add-host", f"{name}:{ip}"] for name, ip in sorted(hosts.items())]


def ports(service: Service, named: Iterable[int] = ()) -> list[Published]:
    """Container ports published on the VM's internal address: compose's ``ports`` and
    ``expose``, and the ports other services name (``db:5432``); the boot script adds the
    ports the image exposes. None is needed to run: the container stays on Docker's bridge
    network, never the host's.

    Other services reach a port on the VM's address by the container port (as compose
    services reach each other); a published port also answers on its own number.
    """
    mappings: dict[Published, None] = {}
    for port in service.ports:
        mappings[(port.target, port.target, port.protocol)] = None
        if port.published and port.published != port.target:
            mappings[(port.published, port.target, port.protocol)] = None
    for number in [*service.expose, *named]:
        mappings[(number, number, "tcp")] = None
    return list(mappings)


def published(service: Service) -> list[Port]:
    """Ports the compose file publishes: candidates for the internet when services are public."""
    return [p for p in service.ports if p.published or p.mode == "host"]


def public_ports(service: Service, non_http: bool) -> tuple[list[Port], list[str]]:
    """The published ports to open to the internet, and a warning for each port that is not
    HTTP (``berth.ports``): kept internal, or opened because the stack set ``non_http``."""
    image = None if service.build else service.image
    ports: list[Port] = []
    warnings: list[str] = []
    for port in published(service):
        reason = not_http(port.target, port.protocol, port.app_protocol, image)
        where = f"service '{service.name}': port {port.published or port.target}/{port.protocol}"
        if reason and not non_http:
            warnings.append(
                f"{where} is reachable only inside the project ({reason}); "
                f"`pulumi config set {PUBLIC_NON_HTTP_PORTS} true` opens it to the internet"
            )
            continue
        if reason:
            warnings.append(
                f"{where} is open to the whole internet (0.0.0.0/0) although it is not HTTP "
                f"({reason}), because {PUBLIC_NON_HTTP_PORTS} is true"
            )
        ports.append(port)
    return ports, warnings


def settings_words(service: Service) -> list[Group]:
    """``docker run`` options for the Linux container settings a Docker engine honours."""
    settings: ContainerSettings = service.container
    flags: list[tuple[str, str | None]] = [
        ("--user", service.user),
        ("--workdir", service.working_dir),
        ("--hostname", service.hostname),
        ("--domainname", settings.domainname),
        ("--stop-signal", settings.stop_signal),
        ("--stop-timeout", _whole(settings.stop_grace_period)),
        ("--shm-size", str(settings.shm_size) if settings.shm_size else None),
        ("--log-driver", settings.log_driver),
        ("--cpus", f"{service.resources.cpus:g}" if service.resources.cpus else None),
        ("--memory", str(service.resources.memory) if service.resources.memory else None),
    ]
    flags += [("--cap-add", c) for c in settings.cap_add]
    flags += [("--cap-drop", c) for c in settings.cap_drop]
    flags += [("--dns", d) for d in settings.dns]
    flags += [("--dns-search", d) for d in settings.dns_search]
    flags += [("--dns-option", d) for d in settings.dns_opt]
    flags += [("--add-host", f"{h}:{ip}") for h, ip in sorted(settings.extra_hosts.items())]
    flags += [("--sysctl", f"{k}={v}") for k, v in sorted(settings.sysctls.items())]
    flags += [("--ulimit", f"{n}={s}:{h}") for n, (s, h) in sorted(settings.ulimits.items())]
    flags += [("--security-opt", o) for o in settings.security_opt]
    flags += [("--group-add", g) for g in settings.group_add]
    flags += [("--tmpfs", path) for path in settings.tmpfs]
    flags += [("--log-opt", f"{k}={v}") for k, v in sorted(settings.log_options.items())]
    flags += [("--label", f"{k}={v}") for k, v in sorted(service.labels.items())]
    switches = (
        ("--privileged", settings.privileged),
        ("--read-only", settings.read_only),
        ("--init", bool(settings.init)),
    )
    groups: list[Group] = [[flag, value] for flag, value in flags if value]
    return groups + [[flag] for flag, on in switches if on]


def _whole(seconds: float | None) -> str | None:
    return str(int(seconds)) if seconds else None


def health_words(check: Healthcheck | None) -> list[Group]:
    """``--health-*`` options (the target refused secrets in a VM's health check)."""
    if check is None:
        return []
    kind, *parts = check.test
    command = str(parts[0]) if kind == "CMD-SHELL" else shlex.join(str(part) for part in parts)
    timings = (
        ("--health-interval", check.interval),
        ("--health-timeout", check.timeout),
        ("--health-start-period", check.start_period),
        ("--health-start-interval", check.start_interval),
    )
    groups: list[Group] = [["--health-cmd", command]]
    groups += [[flag, f"{seconds:g}s"] for flag, seconds in timings if seconds is not None]
    if check.retries is not None:
        groups.append(["--health-retries", str(check.retries)])
    return groups


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
    in compose): each port number once per protocol."""
    inspect = "{{range $p, $_ := .Config.ExposedPorts}}{{println $p}}{{end}}"
    return [
        "address=$(curl -sSf -H 'Metadata-Flavor: Google' "
        '"$metadata/instance/network-interfaces/0/ip")',
        "published=()",
        "declare -A bound=()",
        "publish() {",
        '  [ -z "${bound[$1/$3]:-}" ] || return 0',
        "  bound[$1/$3]=1",
        '  published+=(--publish "$address:$1:$2/$3")',
        "}",
        *(f"publish {host} {container} {protocol}" for host, container, protocol in ports),
        f"exposed=$(docker image inspect -f '{inspect}' \"$image\")",
        "while read -r port; do",
        '  [ -z "$port" ] || publish "${port%/*}" "${port%/*}" "${port#*/}"',
        'done <<< "$exposed"',
    ]


def _kept(name: str, state: str, anonymous: Iterable[str], covered: Iterable[str]) -> list[str]:
    """Anonymous volumes (compose's, and every ``VOLUME`` of the image that compose mounts
    nothing on) as Docker volumes bound to folders of the VM's state disk: a restart, a reboot
    or a new instance finds the data again, where ``--rm`` or a new boot disk lost it. Docker
    fills a new one from the image, as it does an anonymous volume."""
    inspect = "{{range $p, $_ := .Config.Volumes}}{{println $p}}{{end}}"
    paths = " ".join(f"[{shlex.quote(path)}]=1" for path in covered)
    volume = f"berth-{name}-" + "$(printf '%s' \"${1#/}\" | tr -c 'A-Za-z0-9_.-' _)"
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


def container_name(name: str) -> str:
    """The container's name on the VM: never a prefix of a container ID (``db``, ``cafe``
    are hexadecimal), which Docker would also take for one."""
    return f"berth-{name}"


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
