"""The local run-once resource: a job container run to completion during ``pulumi up``.

A Pulumi dynamic provider: the engine pickles ``LocalJobProvider`` by reference, so this
module must import cleanly, with no side effects, from the project directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from berth.components.run_once import RunOnceProvider, RunOnceResource, job_label


class LocalJobProvider(RunOnceProvider):
    """Runs the job's container on the project network and removes it afterwards, on the
    engine the docker provider talks to (the input ``engine``, a setting)."""

    unordered = frozenset(
        {"mounts", "files"}
        | {f"container.{key}" for key in ("cap_add", "cap_drop", "security_opt", "group_add")}
    )

    def run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        # The Docker SDK only where a job runs: a plan or a preview never imports it.
        from berth.providers.local.engine_client import engine_client  # noqa: PLC0415
        from berth.providers.local.runner import job_spec, run_job  # noqa: PLC0415

        with engine_client(props.get("engine")) as client:
            return run_job(job_spec(props, job_label(props)), client)


class LocalJob(RunOnceResource, module="berth", name="LocalJob"):
    """Completes only when the job's container exited 0."""

    provider_type = LocalJobProvider
