"""What a job's container is on local: a run-once resource's ``definition`` input, which
re-runs the job when it changes, and the ``definition`` a job of ``jobs:`` is run with by
``berth run``. One builder for both, so a container ``berth run`` starts is the one a
deployment's job would be; read by ``berth.providers.local.runner.job_spec``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pulumi

from berth.components.values import env_input, text_input, texts_input
from berth.model import Mount, Service


def job_definition(
    job: Service,
    image_id: pulumi.Input[str],
    network: pulumi.Input[str],
    volumes: Mapping[str, pulumi.Input[str]],
) -> dict[str, Any]:
    """``job``'s container: its image (by id), the project network, and what compose says
    (``volumes``: each named volume's name on the engine, by its compose key)."""
    return {
        "image": image_id,
        "network": network,
        "command": texts_input(job.command),
        "entrypoint": texts_input(job.entrypoint),
        "environment": env_input(job.environment),
        "mounts": [_mount(m, volumes) for m in sorted(job.mounts, key=_mount_order)],
        "files": [
            {
                "path": f.target,
                "content": text_input(f.content),
                "mode": f.mode,
                "secret": not isinstance(f.content, str),
            }
            for f in sorted(job.files, key=lambda f: f.target)
        ],
        "workingDir": job.working_dir,
        "user": job.user,
        "cpus": job.resources.cpus,
        "memory": job.resources.memory,
        "container": _container_settings(job),
    }


def _mount(mount: Mount, volumes: Mapping[str, pulumi.Input[str]]) -> dict[str, Any]:
    source: pulumi.Input[str] | None = None
    if mount.type == "bind":
        source = os.path.abspath(str(mount.source))
    elif mount.type == "volume" and mount.source:
        source = volumes[mount.source]
    return {
        "type": mount.type,
        "target": mount.target,
        "source": source,
        "readOnly": mount.read_only,
    }


def _mount_order(mount: Mount) -> tuple[str, str, str]:
    """Mounts in a job's definition sorted: their order in compose means nothing."""
    return (mount.target, mount.type, str(mount.source))


def _container_settings(job: Service) -> dict[str, Any]:
    """The Linux container settings (a service's, in ``target``, as ``docker.Container``
    arguments), as Docker SDK ``containers.create`` arguments."""
    settings = job.container
    return {
        "cap_add": sorted(settings.cap_add) or None,
        "cap_drop": sorted(settings.cap_drop) or None,
        "privileged": settings.privileged,
        "read_only": settings.read_only,
        "init": settings.init,
        "tty": settings.tty,
        "stdin_open": settings.stdin_open,
        "extra_hosts": settings.extra_hosts or None,
        "dns": list(settings.dns) or None,
        "dns_search": list(settings.dns_search) or None,
        "dns_opt": list(settings.dns_opt) or None,
        "domainname": settings.domainname,
        "tmpfs": settings.tmpfs_options or None,
        "shm_size": settings.shm_size,
        "stop_signal": settings.stop_signal,
        "sysctls": settings.sysctls or None,
        "ulimits": [
            {"name": name, "soft": soft, "hard": hard}
            for name, (soft, hard) in settings.ulimits.items()
        ]
        or None,
        "security_opt": sorted(settings.security_opt) or None,
        "group_add": sorted(settings.group_add) or None,
        "runtime": settings.runtime,
        "log_config": {"type": settings.log_driver, "config": settings.log_options}
        if settings.log_driver
        else None,
    }
