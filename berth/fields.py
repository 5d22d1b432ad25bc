"""Every compose service field, and what each target does with it.

Each target declares its support once (``providers/<target>``); the same table drives the
warnings and refusals at deploy time and ``docs/compatibility.md``, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from berth.ai_models import CONTEXT_FIELDS as MODEL_FIELDS
from berth.ai_models import Platform, catalogue_markdown
from berth.errors import BerthError
from berth.model import ComposeProject, Service
from berth.normalize.models import LLM_EXTENSION
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
    "no_cache", "no_cache_filter", "platforms", "privileged", "provenance", "pull", "sbom",
    "secrets", "shm_size",
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
    + tuple(f"models.{f}" for f in MODEL_FIELDS)
    + tuple(STORE_EXTENSIONS)
    + (LLM_EXTENSION,)
)
"""Every field a target's support table speaks of, the managed-store extensions included."""


def model_settings(served_by: str | None) -> dict[str, Support]:
    """The rows ``models.*``: Docker Model Runner's settings, honoured by the runner (None) and
    warned about where a cloud's model service (``served_by``) serves the model its way."""
    if served_by is None:
        return {f"models.{f}": supported("given to Docker Model Runner") for f in MODEL_FIELDS}
    note = f"a Docker Model Runner setting; {served_by} serves the model with its own (warned)"
    return {f"models.{f}": ignored(note) for f in MODEL_FIELDS}


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


_BUILD_OPTIONS: dict[str, Support] = {
    "build.context": supported(),
    "build.dockerfile": supported(),
    "build.dockerfile_inline": supported(),
    "build.args": supported(),
    "build.target": supported(),
    "build.labels": supported(),
    "build.no_cache": supported(),
    "build.pull": supported("base images pulled again, so every deployment builds"),
    "build.extra_hosts": supported(),
    "build.additional_contexts": supported(
        "a folder, an URL or docker-image://; another service's image (service:) refused"
    ),
    "build.secrets": supported(
        "read from the top-level secret's file (UTF-8 text) or environment (a stack variable): "
        "mounted for RUN --mount=type=secret only, never in a layer or in plain text in the "
        "state"
    ),
    "build.ssh": supported("the deploying machine's SSH agent (default) or the key files named"),
    "build.network": supported(
        "default or none; host and named networks refused (the builder runs RUN steps in a "
        "BuildKit container, not on this machine's network or a compose network)"
    ),
    **dict.fromkeys(
        ("build.cache_from", "build.cache_to"),
        supported("passed to BuildKit as written; each replaces the target's default cache"),
    ),
    "build.no_cache_filter": ignored(
        "the builder has no per-stage cache switch: listed stages may come from the cache; "
        "set no_cache: true to rebuild every stage"
    ),
    **dict.fromkeys(
        ("build.shm_size", "build.ulimits"),
        ignored("the builder runs RUN steps with its defaults (it has no such setting)"),
    ),
    "build.isolation": ignored("Windows container isolation; Linux builds have only the default"),
    **dict.fromkeys(
        ("build.provenance", "build.sbom"),
        ignored("the builder attaches no attestation to the image"),
    ),
    **dict.fromkeys(
        ("build.privileged", "build.entitlements"),
        refused(
            "the builder grants RUN steps no extra privilege, so a step that needs it would "
            "fail: build the image yourself and give it as the service's image"
        ),
    ),
}
"""Compose's build fields, built with BuildKit (pulumi-docker-build) on the machine that
deploys, alike on every target; each target says what ``tags`` and ``platforms`` mean where its
images go. Refused where the build would fail or differ from Compose's; ignored where only a
build-time limit or metadata is lost."""

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
    **_BUILD_OPTIONS,
    "develop": ignored("compose watch is a development loop, not a deployment"),
    "attach": ignored("log attachment of `docker compose up`"),
    "pull_policy": ignored("images are pulled or built as part of the deployment"),
    "pull_refresh_after": ignored("images are pulled or built as part of the deployment"),
    "use_api_socket": refused("a deployment never exposes the Docker API socket to containers"),
    "provider": supported(
        "type: model only, a language model as under models: (its dependents get "
        "<SERVICE>_URL and <SERVICE>_MODEL; options model, context-size, runtime-flags, any "
        "other warned); other provider types refused"
    ),
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


def compatibility_markdown(
    tables: Mapping[str, Mapping[str, Support]], platforms: Mapping[str, Platform]
) -> str:
    """``docs/compatibility.md``: one row per compose field, one column per target; then the
    model each target serves for each model name (``platforms``: each target's)."""
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
        "`x-defang-redis: true` mark a managed database or cache, and `x-defang-llm: true` a",
        "service whose own container calls the cloud's model service (rows at the end). Berth's",
        "own:",
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
    models = [
        "",
        "## Language models",
        "",
        "What each target serves for a `model:` of the top-level `models:` (or of a",
        "`provider: type: model` service), tag left out (docs/models.md). Docker Model Runner",
        "pulls any other name itself; a cloud target refuses it, naming these.",
        "",
    ]
    return "\n".join(lines + models) + "\n" + catalogue_markdown(platforms)
