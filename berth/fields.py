"""Every compose service field, and what each target does with it.

Each target declares its support once (``providers/<target>``); the same table drives the
warnings and refusals at deploy time and ``docs/compatibility.md``, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from berth.errors import BerthError
from berth.model import ComposeProject
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
    "post_start", "pre_stop", "privileged", "profiles", "provider", "pull_policy",
    "pull_refresh_after", "read_only", "restart", "runtime", "scale", "secrets", "security_opt",
    "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls",
    "tmpfs", "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volumes",
    "volumes_from", "working_dir",
)  # fmt: skip
"""The service properties of the Compose Specification schema shipped in Compose v2.40."""

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
ALL_FIELDS = (
    SERVICE_FIELDS
    + tuple(f"build.{f}" for f in BUILD_FIELDS)
    + tuple(f"deploy.{f}" for f in DEPLOY_FIELDS)
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


COMMON: dict[str, Support] = {
    "extends": supported("merged by Docker Compose before Berth reads the project"),
    "env_file": supported("read by Docker Compose into environment"),
    "label_file": supported("read by Docker Compose into labels"),
    "profiles": supported("select profiles with berth:profiles"),
    "depends_on": supported("deployment order; a job gates its dependents on exit 0"),
    "image": supported(),
    "environment": supported("stack secrets stay secret"),
    "build.context": supported(),
    "build.dockerfile": supported(),
    "build.args": supported(),
    "build.target": supported(),
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
    for service in project.services.values():
        for field in service.fields:
            support = support_for(table, field, target)
            if support.level is Level.REFUSED:
                raise BerthError(
                    f"not supported on the {target} target: {support.note}",
                    file=sources.origin(service.name, field),
                    service=service.name,
                    field=field,
                    hint="remove the field, or move the service to a profile this stack leaves off",
                )
            if support.level is Level.IGNORED:
                warnings.append(
                    f"service '{service.name}': field '{field}' is ignored on {target}: "
                    + support.note
                )
    return warnings


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
        "time limit, default 10m).",
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
