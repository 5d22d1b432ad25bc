"""Every compose service field, and what each target does with it.

Each target declares its support once (``providers/<target>``); the same table drives the
warnings and refusals at deploy time and ``docs/compatibility.md``, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from berth.errors import BerthError
from berth.model import ComposeProject, Service
from berth.sources import Sources
from berth.stores import EXTENSIONS as STORE_EXTENSIONS

SERVICE_FIELDS = (
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup",
    "cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent",
    "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset",
    "credential_spec", "depends_on", "deploy", "develop", "device_cgroup_rules", "devices", "dns",
    "dns_opt", "dns_search", "domainname", "entrypoint", "env_file", "environment", "expose",
    "extends", "external_links", "extra_hosts", "gpus", "group_add", "healthcheck", "hostname",
    "image", "init", "ipc", "isolation", "label_file", "labels", "links", "logging", "mac_address",
    "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit", "models", "network_mode",
    "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "ports",
    "post_start", "pre_start", "pre_stop", "privileged", "profiles", "provider", "pull_policy",
    "pull_refresh_after", "read_only", "restart", "runtime", "scale", "secrets", "security_opt",
    "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls",
    "tmpfs", "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volumes",
    "volumes_from", "working_dir",
)  # fmt: skip
"""The service properties of the Compose Specification schema shipped in Compose v5.6."""

BUILD_FIELDS = (
    "additional_contexts", "args", "cache_from", "cache_to", "context", "dockerfile",
    "dockerfile_inline", "entitlements", "extra_hosts", "isolation", "labels", "network",
    "no_cache", "platforms", "privileged", "provenance", "pull", "sbom", "secrets", "shm_size",
    "ssh", "tags", "target", "ulimits",
)  # fmt: skip
DEPLOY_FIELDS = (
    "endpoint_mode", "labels", "mode", "placement", "replicas", "resources", "restart_policy",
    "rollback_config", "update_config",
)  # fmt: skip
JOB_FIELDS = (
    "triggers.manual", "triggers.schedule", "triggers.schedule.timezone",
    "triggers.schedule.concurrency", "triggers.schedule.missed_fires",
)  # fmt: skip
"""What a job of the top-level ``jobs:`` has beyond a service's fields (rows ``jobs.*``)."""
ALL_FIELDS = (
    SERVICE_FIELDS
    + tuple(f"build.{f}" for f in BUILD_FIELDS)
    + tuple(f"deploy.{f}" for f in DEPLOY_FIELDS)
    + tuple(f"jobs.{f}" for f in JOB_FIELDS)
    + tuple(STORE_EXTENSIONS)
)
"""Every field a target's support table speaks of, the managed-store extensions included."""


class Level(StrEnum):
    SUPPORTED = "supported"
    IGNORED = "ignored"
    REFUSED = "refused"


@dataclass(frozen=True)
class Support:
    level: Level
    note: str = ""


def supported(note: str = "") -> Support:
    return Support(Level.SUPPORTED, note)


def ignored(reason: str) -> Support:
    return Support(Level.IGNORED, reason)


def refused(reason: str) -> Support:
    return Support(Level.REFUSED, reason)


_PLANNED = "planned for BuildKit builds, issue 24"
_YOURSELF = "build the image yourself and give it as the service's image"
_BUILD_OPTIONS: dict[str, Support] = {
    "build.dockerfile_inline": refused(
        f"builds read a Dockerfile file ({_PLANNED}): write it to a file in the context and "
        "name that in build.dockerfile"
    ),
    "build.additional_contexts": refused(
        f"a COPY --from one would fail ({_PLANNED}): copy its files into the context, or "
        + _YOURSELF
    ),
    "build.secrets": refused(f"the build would run without them ({_PLANNED}): " + _YOURSELF),
    "build.ssh": refused(f"the build would have no SSH agent ({_PLANNED}): " + _YOURSELF),
    "build.network": refused(
        f"the build would run on the default network ({_PLANNED}): remove it if the build "
        "needs no other, or " + _YOURSELF
    ),
    "build.extra_hosts": refused(
        f"the build could not resolve those names ({_PLANNED}): " + _YOURSELF
    ),
    **dict.fromkeys(
        ("build.privileged", "build.entitlements"),
        refused(f"a RUN that needs the privilege would fail ({_PLANNED}): " + _YOURSELF),
    ),
    **dict.fromkeys(
        ("build.cache_from", "build.cache_to"),
        ignored(f"builds use the engine's own cache only (a registry cache is {_PLANNED})"),
    ),
    "build.no_cache": ignored(f"layers the engine has cached are reused ({_PLANNED})"),
    "build.pull": ignored(f"a base image already on the engine is used as it is ({_PLANNED})"),
    "build.labels": ignored(f"the image has its Dockerfile's labels only ({_PLANNED})"),
    "build.tags": ignored(f"the image has the target's own name only ({_PLANNED})"),
    "build.platforms": ignored(
        f"the image is built for the platform the target runs it on only ({_PLANNED})"
    ),
    **dict.fromkeys(
        ("build.shm_size", "build.ulimits"),
        ignored(f"the build runs with the engine's defaults ({_PLANNED})"),
    ),
    "build.isolation": ignored("Windows container isolation; Linux builds have only the default"),
    **dict.fromkeys(
        ("build.provenance", "build.sbom"),
        ignored(f"no attestation is attached to the image ({_PLANNED})"),
    ),
}
"""Compose's build options beyond context, Dockerfile, args and target, which no target passes
to its builder (pulumi-docker's ``docker.Image``) yet: refused where the image would differ from
what Compose builds or the build would fail; ignored where only a speed-up, metadata or a
build-time limit is lost."""

COMMON: dict[str, Support] = {
    "extends": supported("merged by Docker Compose before Berth reads the project"),
    "env_file": supported("read by Docker Compose into environment"),
    "label_file": supported("read by Docker Compose into labels"),
    "profiles": supported("select profiles with berth:profiles"),
    "depends_on": supported("deployment order; a job gates its dependents on exit 0"),
    "pre_start": supported(
        "each hook a run-once job, in order, after the service's depends_on and before its new "
        "revision; run again when the service's definition or a hook changes, or the last run "
        "failed; per_replica: true refused"
    ),
    "image": supported(),
    "environment": supported("stack secrets stay secret"),
    "build.context": supported(),
    "build.dockerfile": supported(),
    "build.args": supported(),
    "build.target": supported(),
    **_BUILD_OPTIONS,
    "develop": ignored("compose watch is a development loop, not a deployment"),
    "attach": ignored("log attachment of `docker compose up`"),
    "pull_policy": ignored("images are pulled or built as part of the deployment"),
    "pull_refresh_after": ignored("images are pulled or built as part of the deployment"),
    "use_api_socket": refused("a deployment never exposes the Docker API socket to containers"),
    "provider": refused("compose provider services are not deployable resources"),
    "models": refused("compose models are not supported"),
}
"""Fields every target treats alike, because the loader or the sequencing handles them."""


def support_for(table: Mapping[str, Support], field: str, target: str) -> Support:
    if field in table:
        return table[field]
    if field in COMMON:
        return COMMON[field]
    return ignored(f"not supported on {target} yet")


def check_fields(
    project: ComposeProject, sources: Sources, table: Mapping[str, Support], target: str
) -> list[str]:
    """Warnings for ignored fields; a BerthError for the first refused one."""
    warnings = []
    for service in [*project.services.values(), *project.triggered.values()]:
        for field in service.fields:
            row = f"jobs.{field}" if field.startswith("triggers.") else field
            support = support_for(table, row, target)
            if support.level is Level.SUPPORTED:
                continue
            where = _written_at(service, field)
            if support.level is Level.REFUSED:
                raise BerthError(
                    f"not supported on the {target} target: {support.note}",
                    file=sources.origin(where.name, where.field, where.section),
                    service=where.name,
                    field=where.field,
                    kind=where.kind,
                    hint=f"remove the field, or move the {where.kind} to a profile this stack "
                    "leaves off",
                )
            warnings.append(
                f"{where.kind} '{where.name}': field '{where.field}' is ignored on {target}: "
                + support.note
            )
    return warnings


@dataclass(frozen=True)
class _Place:
    """Where the user wrote a field: a service's, a hook's (in its service) or a job's."""

    name: str
    field: str
    section: str = "services"

    @property
    def kind(self) -> str:
        return "job" if self.section == "jobs" else "service"


def _written_at(service: Service, field: str) -> _Place:
    if service.hook:
        return _Place(service.hook.service, f"pre_start[{service.hook.index}].{field}")
    if service.triggers:
        return _Place(service.name, field, "jobs")
    return _Place(service.name, field)


def compatibility_markdown(tables: Mapping[str, Mapping[str, Support]]) -> str:
    """``docs/compatibility.md``: one row per compose field, one column per target."""
    symbol = {Level.SUPPORTED: "✅", Level.IGNORED: "⚠️ ignored", Level.REFUSED: "⛔ refused"}
    targets = list(tables)
    lines = [
        "# Compose compatibility",
        "",
        "Generated from the targets' own support tables by `python -m berth compatibility`;",
        "a test fails when this page and the code disagree.",
        "",
        "- ✅ supported (notes say how)",
        "- ⚠️ ignored: the deployment goes on; `pulumi up` warns, naming the service and field",
        "- ⛔ refused: the deployment stops with an error naming the file, service and field",
        "",
        "Top-level `x-*` extensions and service-level `x-*` keys are kept in the model for targets",
        "that read them. `x-defang-postgres` (`true`, or `{allow-downtime: true}`) and",
        "`x-defang-redis: true` mark a managed database or cache (rows at the end). Berth's own:",
        "`x-berth-run: always` (run a job on every deployment) and `x-berth-timeout: 30m` (a job's",
        "time limit: default 10m for a job `pulumi up` runs, a hook's included; a job of `jobs:`",
        "has none but its platform's, 24h on Cloud Run).",
        "",
        "| field | " + " | ".join(targets) + " |",
        "|---|" + "---|" * len(targets),
    ]
    for field in ALL_FIELDS:
        cells = []
        for target in targets:
            support = support_for(tables[target], field, target)
            cell = symbol[support.level]
            cells.append(f"{cell}: {support.note}" if support.note else cell)
        lines.append(f"| `{field}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
