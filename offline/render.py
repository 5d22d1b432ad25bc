"""A plan as text, mermaid or JSON."""

from __future__ import annotations

import json
from typing import Any

from berth.graph import Workflow
from berth.offline.plan import Plan


def as_mermaid(plan: Plan) -> str:
    return Workflow.of(plan.compose).mermaid()


def as_json(plan: Plan) -> str:
    workflow = Workflow.of(plan.compose)
    document: dict[str, Any] = {
        "project": plan.compose.name,
        "target": plan.target,
        "stack": plan.stack,
        "workflow": {
            "services": list(workflow.services),
            "jobs": list(workflow.jobs),
            "edges": [list(edge) for edge in workflow.edges],
        },
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
    return json.dumps(document, indent=2) + "\n"


def as_text(plan: Plan) -> str:
    workflow = Workflow.of(plan.compose)
    lines = [
        f"Project {plan.compose.name} on {plan.target} (stack {plan.stack})",
        "",
        "Deployment workflow:",
    ]
    roots = [n for n in workflow.nodes if n not in {after for _, after in workflow.edges}]
    leaves = [n for n in workflow.nodes if n not in {before for before, _ in workflow.edges}]
    node = {n: f"{n} (job)" for n in workflow.jobs} | {n: n for n in workflow.services}
    lines += [f"  deployment_start -> {node[n]}" for n in roots]
    lines += [f"  {node[before]} -> {node[after]}" for before, after in workflow.edges]
    lines += [f"  {node[n]} -> deployment_complete" for n in leaves]
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


FORMATS = {"text": as_text, "mermaid": as_mermaid, "json": as_json}
HOLDS_WARNINGS = frozenset({"text", "json"})
"""The formats that list the plan's warnings themselves; with the others, the CLI prints them
on stderr, so each warning is shown once either way."""
