"""A plan as text, mermaid or JSON."""

from __future__ import annotations

import json
from typing import Any

from berth.ai_models import cloud_model
from berth.components.target import load_target
from berth.graph import Workflow, trigger_summary
from berth.model import Service
from berth.offline.plan import Plan
from berth.sources import read_sources


def as_mermaid(plan: Plan) -> str:
    return Workflow.of(plan.compose).mermaid()


def as_json(plan: Plan) -> str:
    workflow = Workflow.of(plan.compose)
    shape: dict[str, Any] = {
        "services": list(workflow.services),
        "jobs": list(workflow.jobs),
        "edges": [list(edge) for edge in workflow.edges],
    }
    if workflow.hooks:
        shape["hooks"] = [
            {"job": name, "service": hook.service, "index": hook.index}
            for name, hook in workflow.hooks
        ]
    document: dict[str, Any] = {
        "project": plan.compose.name,
        "target": plan.target,
        "stack": plan.stack,
        "workflow": shape,
        "resources": [
            {
                "urn": plan.engine_urn(r.urn),
                "type": r.type,
                "name": r.name,
                "service": plan.service_of(r),
                "dependencies": [plan.engine_urn(urn) for urn in r.dependencies],
                "inputs": r.inputs,
            }
            for r in plan.resources()
        ],
        "warnings": plan.warnings,
    }
    if plan.compose.triggered:
        document["triggered"] = [_triggered(job) for job in plan.compose.triggered.values()]
    if plan.compose.models:
        document["models"] = _models(plan)
    return json.dumps(document, indent=2) + "\n"


def _models(plan: Plan) -> list[dict[str, Any]]:
    """Each language model: what the compose file names, the model the target's platform
    serves for it (``berth.ai_models``), and the services and jobs that use it."""
    platform = load_target(plan.target).MODEL_PLATFORM
    sources = read_sources(plan.compose.files)
    return [
        {
            "name": model.name,
            "model": model.model,
            "platform": platform.value,
            "id": cloud_model(model, platform, sources).id,
            "users": [user.name for user in plan.compose.model_users(model.name)],
        }
        for model in plan.compose.models.values()
    ]


def _triggered(job: Service) -> dict[str, Any]:
    """A job of ``jobs:`` as the JSON plan lists it: its image (or build context), the
    services it runs against, and its triggers (a schedule without a time zone is in UTC)."""
    triggers = job.triggers
    return {
        "name": job.name,
        "image": job.image,
        "build": job.build.context if job.build else None,
        "depends_on": [d.service for d in job.depends_on],
        "manual": bool(triggers and triggers.manual),
        "schedules": [
            {
                "cron": s.cron,
                "timezone": s.timezone or "UTC",
                "concurrency": s.concurrency.value,
                "missed_fires": s.missed_fires.value,
            }
            for s in (triggers.schedules if triggers else ())
        ],
    }


def as_text(plan: Plan) -> str:
    workflow = Workflow.of(plan.compose)
    lines = [
        f"Project {plan.compose.name} on {plan.target} (stack {plan.stack})",
        "",
        "Deployment workflow:",
    ]
    roots = [n for n in workflow.nodes if n not in {after for _, after in workflow.edges}]
    leaves = [n for n in workflow.nodes if n not in {before for before, _ in workflow.edges}]
    node = {n: workflow.label(n) for n in workflow.nodes}
    lines += [f"  deployment_start -> {node[n]}" for n in roots]
    lines += [f"  {node[before]} -> {node[after]}" for before, after in workflow.edges]
    lines += [f"  {node[n]} -> deployment_complete" for n in leaves]
    if plan.compose.triggered:
        lines += ["", "Jobs (jobs:), deployed, never run by a deployment:"]
        lines += [_triggered_line(job) for job in plan.compose.triggered.values()]
    if plan.compose.models:
        lines += ["", "Language models:"]
        lines += [
            f"  {m['name']}: {m['model']} served by {m['platform']} as {m['id']}"
            f" (used by {', '.join(m['users'])})"
            for m in _models(plan)
        ]
    lines += ["", "Resources:"]
    names = {r.urn: f"{r.name} ({r.type})" for r in plan.registrations}
    for resource in plan.resources():
        service = plan.service_of(resource)
        owner = f"  [{service}]" if service else "  [shared]"
        lines.append(f"  {resource.type}  {resource.name}{owner}")
        waits = [names.get(urn, urn) for urn in resource.dependencies]
        if waits:
            lines.append(f"      waits on: {', '.join(waits)}")
    if plan.warnings:
        lines += ["", "Warnings:"] + [f"  {w}" for w in plan.warnings]
    return "\n".join(lines) + "\n"


def _triggered_line(job: Service) -> str:
    """``  backup: manual; 0 3 * * * Europe/Paris (image postgres:16, after db)``."""
    runs = trigger_summary(job.triggers) if job.triggers else "no trigger"
    image = (
        f"image {job.image}"
        if job.image
        else f"built from {job.build.context}"
        if job.build
        else ""
    )
    after = [d.service for d in job.depends_on]
    details = [image] if image else []
    details += [f"after {', '.join(after)}"] if after else []
    return f"  {job.name}: {runs}" + (f" ({', '.join(details)})" if details else "")


FORMATS = {"text": as_text, "mermaid": as_mermaid, "json": as_json}
HOLDS_WARNINGS = frozenset({"text", "json"})
"""The formats that list the plan's warnings themselves; with the others, the CLI prints them
on stderr, so each warning is shown once either way."""
