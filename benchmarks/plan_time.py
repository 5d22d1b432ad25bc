"""Plan time and memory: the seed example, and a generated 200-service project.

    .venv/bin/python benchmarks/plan_time.py [--repeat 5] [--services 200] [--target local]

Measures, per project: loading alone (Docker Compose plus the model), and the whole offline
plan (the program under Pulumi's mock engine). Prints the median and the peak of Python
memory; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from berth.load import load_project  # noqa: E402
from berth.plan import plan_config, run_plan  # noqa: E402


def generated_project(services: int) -> dict:
    """A layered project: a database, jobs every tenth service, services depending on both."""
    document: dict = {"services": {"db": {"image": "postgres:16"}}}
    for index in range(services - 1):
        name = f"svc{index:03d}"
        spec: dict = {"image": f"example/{name}:1.0", "environment": {"INDEX": str(index)}}
        if index % 10 == 0:
            spec |= {"restart": "no", "command": ["./migrate.sh"], "depends_on": ["db"]}
        else:
            spec |= {"ports": [f"{10000 + index}:80"], "depends_on": [f"svc{index // 10 * 10:03d}"]}
        document["services"][name] = spec
    return document


def measure(label: str, action: Callable[[], object], repeat: int) -> None:
    action()  # warm-up: imports and caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{label:42s} median {statistics.median(times) * 1000:8.1f} ms"
        f"   min {min(times) * 1000:8.1f} ms   peak Python memory {peak / 2**20:6.1f} MiB"
    )


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--repeat", type=int, default=5)
    options.add_argument("--services", type=int, default=200)
    options.add_argument("--target", default="local", choices=("local", "aws", "gcp"))
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        generated = Path(folder) / "compose.yaml"
        generated.write_text(yaml.safe_dump(generated_project(args.services)))
        projects = {
            "seed example (examples/migrate)": str(ROOT / "examples/migrate/compose.yaml"),
            f"generated, {args.services} services": str(generated),
        }
        os.chdir(ROOT)
        for label, file in projects.items():
            measure(f"load  {label}", lambda f=file: load_project([f]), args.repeat)
            config, secrets = plan_config([file], target=args.target)
            measure(
                f"plan  {label} on {args.target}",
                lambda c=config, s=secrets: run_plan(c, s),
                args.repeat,
            )


if __name__ == "__main__":
    main()
