"""What a compose service mounts, in the terms both Cloud Run and the VMs need."""

from __future__ import annotations

import pulumi

from berth.model import FileMount, Mount, Service, Text, revealed

FILE_MODE = 0o444
"""Compose's default mode for secret and config files."""
SECRET_PAYLOAD = 64 * 1024
"""Bytes a Secret Manager secret version holds at most (Secret Manager's quotas)."""


def file_data(content: Text) -> pulumi.Input[str]:
    """The content of a secret or config file (Secret Manager keeps it, secret or not)."""
    return revealed(content)


def file_label(service: Service, file: FileMount) -> str:
    """What names the Secret Manager secret of a secret or config file: ``file-<name>``, but
    ``config-<name>`` for a config named like one of the service's secrets (compose keeps
    secrets and configs apart, one secret per label does too)."""
    secrets = {f.name for f in service.files if f.kind == "secrets"}
    clash = file.kind == "configs" and file.name in secrets
    return f"{'config' if clash else 'file'}-{file.name}"


def in_memory(mount: Mount) -> bool:
    """tmpfs, or an anonymous volume: scratch space that lives as long as the container."""
    return mount.type == "tmpfs" or (mount.type == "volume" and not mount.source)


def named(mount: Mount) -> bool:
    return mount.type == "volume" and bool(mount.source)


def named_sources(service: Service) -> list[str]:
    return [str(m.source) for m in service.mounts if named(m)]
