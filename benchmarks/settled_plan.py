"""The mock engine's wait for a program's outputs: Pulumi's own ``run_pulumi_func`` against
Berth's ``run_settled`` (``berth.components.pulumi_internals``), on one generated project
planned as ``pulumi up`` would run it (every output known, as ``berth diff`` and the tests
plan), alternating the two so that the machine's drift falls on both.

    .venv/bin/python benchmarks/settled_plan.py [--services 200] [--target aws] [--repeat 3]

Prints each run's wall time in seconds; nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml
from pulumi.runtime.stack import run_pulumi_func

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from berth.components import pulumi_internals
from berth.offline import plan
from berth.offline.plan import plan_config, run_plan


def compose(services: int) -> dict[str, object]:
    """``services`` web services (one in ten published) and a job."""
    web = {
        f"web{index}": {
            "image": "nginx:1.27",
            **({"ports": [f"{8000 + index}:80"]} if index % 10 == 0 else {}),
        }
        for index in range(services)
    }
    return {"services": {**web, "job": {"image": "busybox", "restart": "no"}}}


def timed(runner: object, files: list[str], target: str) -> float:
    plan.run_settled = runner  # type: ignore[assignment]
    config, secret_keys = plan_config(files, target=target)
    started = time.perf_counter()
    run_plan(config, secret_keys, preview=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--target", default="aws")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    (folder / "compose.yaml").write_text(yaml.safe_dump(compose(args.services)))
    files = [str(folder / "compose.yaml")]
    timed(pulumi_internals.run_settled, files, args.target)  # imports, caches
    print(f"{args.target}, {args.services} services: run_settled s, run_pulumi_func s")
    for _ in range(args.repeat):
        settled = timed(pulumi_internals.run_settled, files, args.target)
        sdk = timed(run_pulumi_func, files, args.target)
        print(f"{settled:.2f} {sdk:.2f}")


if __name__ == "__main__":
    main()
