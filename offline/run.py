"""``berth run JOB``: run a deployed job of the top-level ``jobs:`` once, as ``docker compose
run JOB`` does, against the stack that deployed it.

What the run needs (cluster, task definition, network, image, ...) is the stack's output
``triggered``, read with ``pulumi stack output --json --show-secrets`` (or from ``--outputs``,
a file of that output, for a machine without the Pulumi CLI); the target runs it, streaming
its log, and its exit code is the command's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from berth.components.target import load_target
from berth.errors import BerthError

OUTPUT = "triggered"
"""The stack output that holds, for each job of ``jobs:``, what ``berth run`` needs."""
EXIT_INTERRUPTED = 130
"""Ctrl-C, as a shell reports it."""


def stack_outputs(stack: str | None, outputs_file: str | None) -> dict[str, Any]:
    """The stack's outputs, secrets shown: from ``outputs_file`` (``-``: stdin), else the
    Pulumi CLI in the current folder (the project's)."""
    if outputs_file:
        text = sys.stdin.read() if outputs_file == "-" else Path(outputs_file).read_text()
        return _parsed(text, outputs_file)
    pulumi = shutil.which("pulumi")
    if not pulumi:
        raise BerthError(
            "the Pulumi CLI was not found, and berth run reads the stack's outputs with it",
            hint="install it (https://www.pulumi.com/docs/install/), or give --outputs FILE "
            "with what `pulumi stack output --json --show-secrets` prints",
        )
    command = [pulumi, "stack", "output", "--json", "--show-secrets"]
    if stack:
        command += ["--stack", stack]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BerthError(
            f"could not read the stack's outputs: {done.stderr.strip() or 'pulumi failed'}",
            hint="run it in the project's folder, with --stack naming a deployed stack",
        )
    return _parsed(done.stdout, "pulumi stack output")


def _parsed(text: str, origin: str) -> dict[str, Any]:
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as error:
        raise BerthError(f"{origin} is not JSON ({error.msg})") from None
    if not isinstance(outputs, dict):
        raise BerthError(f"{origin} is not the JSON object of a stack's outputs")
    return outputs


def run_with(outputs: Mapping[str, Any], job: str) -> Mapping[str, Any]:
    """What the stack recorded for ``job``; a BerthError naming the jobs it has otherwise."""
    deployed = outputs.get(OUTPUT)
    jobs = sorted(deployed) if isinstance(deployed, dict) else []
    if job not in jobs:
        raise BerthError(
            f"the stack has no job {job!r} (a job of the top-level jobs: section)",
            hint=f"run one of: {', '.join(jobs)}"
            if jobs
            else "declare it under jobs: in the compose file, and deploy with `pulumi up`",
        )
    spec = deployed[job]
    if not spec.get("manual", True):
        raise BerthError(
            f"job {job!r} is declared with manual: false, it cannot be run manually",
            hint="set triggers.manual to true (or remove it) and deploy",
        )
    return spec


def run(job: str, args: Sequence[str], outputs: Mapping[str, Any], log: TextIO) -> int:
    """Run ``job`` once; its exit code (130 when stopped with Ctrl-C)."""
    spec = run_with(outputs, job)
    module = load_target(str(spec.get("target")))
    try:
        return module.run_job(spec, list(args), log)
    except KeyboardInterrupt:
        print(f"\nberth run: job {job!r} stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
