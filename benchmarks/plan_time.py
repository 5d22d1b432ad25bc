"""Plan time as a user sees it: ``python -m berth plan`` in a fresh process, imports included.

    .venv/bin/python benchmarks/plan_time.py [--repeat 5] [--services 200] [--target local ...]
    .venv/bin/python benchmarks/plan_time.py --vms 50 100 200 --target gcp --repeat 3

For each target, the seed example (examples/migrate) and a generated project of ``--services``
services (or, with ``--vms``, projects of that many plain-TCP services: VMs on gcp) are
planned in new interpreters, ``--repeat`` times each. Prints the median wall and CPU time (the
child's user + system), the share of it spent importing (``-X importtime``, the top-level
imports' cumulative time), and each generated project's ratio to the seed. Nothing is
asserted: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"gcp": ["--set", "gcpProject=plan-project", "--set", "gcpRegion=europe-west1"]}
"""The stack settings a target needs before it plans anything."""
_IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$")


def generated_project(services: int) -> dict:
    """A layered project: a database, jobs every tenth service, services depending on both."""
    document: dict = {"services": {"db": {"image": "postgres:16"}}}
    for index in range(services - 1):
        name = f"svc{index:03d}"
        spec: dict = {"image": f"example/{name}:1.0", "environment": {"INDEX": str(index)}}
        if index % 10 == 0:
            spec |= {"restart": "no", "command": ["./migrate.sh"], "depends_on": ["db"]}
        else:
            # A few published ports (an AWS load balancer takes at most 50 listeners), workers.
            reach = {"ports": [f"{10000 + index}:80"]} if index % 20 == 1 else {}
            spec |= {**reach, "depends_on": [f"svc{index // 10 * 10:03d}"]}
        document["services"][name] = spec
    return document


def vm_project(services: int) -> dict:
    """Plain-TCP services (each a VM on gcp): databases, and TCP apps that each name the
    database before them in a URL (which the target rewrites to its address)."""
    document: dict = {"services": {}}
    for index in range(services):
        if index % 2 == 0:
            spec: dict = {"image": "postgres:16", "ports": ["5432"]}
        else:
            spec = {
                "image": f"example/tcp{index:03d}:1.0",
                "expose": ["7000"],
                "environment": {"DATABASE_URL": f"postgres://vm{index - 1:03d}:5432/app"},
            }
        document["services"][f"vm{index:03d}"] = spec
    return document


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    imports: float
    """Seconds the top-level imports took, nested ones included (``-X importtime``)."""


def plan_once(file: str, target: str) -> Run:
    """One ``python -m berth plan`` in a new interpreter, as a user or CI runs it."""
    command = [sys.executable, "-X", "importtime", "-m", "berth", "plan", "-f", file]
    command += ["--target", target, "--format", "json", *SETTINGS.get(target, [])]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if not _IMPORT_LINE.match(line)]
        raise SystemExit(f"plan of {file} on {target} failed: {' '.join(errors)[-2000:]}")
    imports = sum(
        int(match[1])
        for line in result.stderr.splitlines()
        if (match := _IMPORT_LINE.match(line)) and not match[2].startswith(" ")
    )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall=wall, cpu=cpu, imports=imports / 1e6)


def measure(file: str, target: str, repeat: int) -> Run:
    runs = [plan_once(file, target) for _ in range(repeat)]
    return Run(*(statistics.median(getattr(r, key) for r in runs) for key in Run.__annotations__))


def registry_targets() -> list[str]:
    """The registry's targets, the default first: a new target is measured without an edit here."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # this checkout's Berth, as ``python -m berth`` runs it
    from berth.components.target import available_targets  # noqa: PLC0415 - needs ROOT

    return available_targets()


def main() -> None:
    targets = registry_targets()
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--repeat", type=int, default=5)
    options.add_argument("--services", type=int, default=200)
    options.add_argument(
        "--vms",
        type=int,
        nargs="+",
        help="instead of the layered project, projects of this many plain-TCP services each",
    )
    options.add_argument("--target", action="append", choices=targets, help="default: all")
    args = options.parse_args()
    generated = (
        {f"{n} VMs": vm_project(n) for n in args.vms}
        if args.vms
        else {f"{args.services} services": generated_project(args.services)}
    )
    with tempfile.TemporaryDirectory() as folder:
        projects = {"seed": str(ROOT / "examples/migrate/compose.yaml")}
        for index, (label, document) in enumerate(generated.items()):
            path = Path(folder) / f"compose{index}.yaml"
            path.write_text(yaml.safe_dump(document))
            projects[label] = str(path)
        print(f"{'target':8s} {'project':14s} {'wall s':>8s} {'cpu s':>8s} {'imports s':>10s}")
        for target in args.target or targets:
            seed: Run | None = None
            for label, file in projects.items():
                run = measure(os.fspath(file), target, args.repeat)
                seed = seed or run
                print(
                    f"{target:8s} {label:14s} {run.wall:8.2f} {run.cpu:8.2f} {run.imports:10.2f}"
                    f"   wall x{run.wall / seed.wall:.1f}, cpu x{run.cpu / seed.cpu:.1f},"
                    f" imports {run.imports / run.wall:.0%} of wall"
                )


if __name__ == "__main__":
    main()
