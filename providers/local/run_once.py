"""The local run-once resource: a job container run to completion during ``pulumi up``.

A Pulumi dynamic provider: the engine pickles ``LocalJobProvider`` by reference, so this
module must import cleanly, with no side effects, from the project directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from berth.components.run_once import RunOnceProvider, RunOnceResource, scrub_values


class LocalJobProvider(RunOnceProvider):
    """Runs the job's container on the project network and removes it afterwards, on the
    engine the docker provider talks to (the input ``engine``, a setting)."""

    unordered = frozenset(
        {"mounts", "files"}
        | {f"container.{key}" for key in ("cap_add", "cap_drop", "security_opt", "group_add")}
    )

    def run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        # The Docker SDK only where a job runs: a plan or a preview never imports it.
        from berth.providers.local.runner import JobSpec, engine_client, run_job  # noqa: PLC0415

        definition = props["definition"]
        environment = definition.get("environment") or {}
        spec = JobSpec(
            name=props["job"],
            image=definition["image"],
            network=definition["network"],
            command=definition.get("command"),
            entrypoint=definition.get("entrypoint"),
            environment=environment,
            mounts=definition.get("mounts") or (),
            files=definition.get("files") or (),
            working_dir=definition.get("workingDir"),
            user=definition.get("user"),
            cpus=definition.get("cpus"),
            memory=definition.get("memory"),
            labels=props.get("labels") or {},
            owner=props.get("owner") or {},
            container=definition.get("container") or {},
            timeout=float(props["timeout"]),
            secrets=scrub_values(props),
        )
        with engine_client(props.get("engine")) as client:
            return run_job(spec, client)


class LocalJob(RunOnceResource, module="berth", name="LocalJob"):
    """Completes only when the job's container exited 0."""

    provider_type = LocalJobProvider
