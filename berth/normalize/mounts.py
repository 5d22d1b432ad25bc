"""A service's ``volumes``: named volumes, bind mounts (paths relative to the project) and
tmpfs, each at an absolute container path."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from berth.model import Mount
from berth.normalize.context import Context
from berth.quantities import Fail


def mount(context: Context, raw: dict[str, Any], fail: Fail) -> Mount:
    kind = raw.get("type")
    if kind not in ("volume", "bind", "tmpfs"):
        raise fail(
            "volumes",
            f"mount type {kind!r} is not supported",
            "use a named volume, a bind mount or tmpfs",
        )
    source = raw.get("source")
    if kind == "bind" and source:
        # Compose v5 creates a missing host path unless told not to; told not to, ``up`` fails.
        if (raw.get("bind") or {}).get("create_host_path") is False and not Path(source).exists():
            raise fail(
                "volumes",
                f"the bind mount's host path {source} does not exist, and create_host_path "
                "is false",
                "create it first, or remove create_host_path: false to let it be created",
            )
        source = context.relative(str(source))
    target = str(raw["target"])
    if not target.startswith("/"):
        drive = re.match(r"[A-Za-z]:", target)  # Compose's reading of v:/data
        raise fail(
            "volumes",
            f"the container path {target!r} is not absolute"
            + (": Compose reads a one-letter volume name as a Windows drive" if drive else ""),
            "name the volume with two letters or more, e.g. vd:/data"
            if drive
            else "mount at a path starting with /, e.g. data:/var/lib/data",
        )
    return Mount(
        type=kind,
        target=target,
        source=source or None,
        read_only=bool(raw.get("read_only")),
    )
