"""Reading the user's files without trusting them: regular files only, and a size cap.

A compose file, an env file, an included file or a config/secret ``file:`` may name a device
(``/dev/zero`` never ends), a FIFO (blocks for ever) or a huge file. Python and Docker Compose
would hang or exhaust memory on them, so Berth looks at what the path is before anything reads it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

COMPOSE_FILE_LIMIT = 16 * 1024 * 1024
"""A compose, env or included file: far above any real one (5,000 services fit in 1 MiB)."""
CONTENT_LIMIT = 1024 * 1024
"""A config or secret placed as a file: Docker itself refuses configs over 500 KB."""


_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
}


class FileRefused(ValueError):
    """The path names something Berth must not read; the message says why, in a few words."""


def check_readable(path: Path, limit: int) -> None:
    """Refuse anything but a regular file of at most ``limit`` bytes, without opening it.

    ``stat`` follows symbolic links and never blocks, even on a FIFO. OSError (a missing
    file, a permission problem) is left to the caller, who knows what to advise.
    """
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(f"it is {_KINDS.get(stat.S_IFMT(info.st_mode), 'a socket')}, not a file")
    if info.st_size > limit:
        raise FileRefused(f"it is larger than {limit // (1024 * 1024)} MiB")


def read_capped(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; FileRefused otherwise."""
    check_readable(path, limit)
    with path.open("rb") as handle:
        data = handle.read(limit + 1)  # the file may have grown since stat
    if len(data) > limit:
        raise FileRefused(f"it is larger than {limit // (1024 * 1024)} MiB")
    return data
