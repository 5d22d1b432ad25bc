"""The deployment workflow: which service waits for which, and in what order, as a diagram.

The one rule that shapes everything: a dependency on a **job** waits for the job to finish with
exit code 0, whatever condition the ``depends_on`` entry names (``service_started`` and the
short list syntax included). That is what the seed's ``web -> migrate`` means: web starts after
the migration finished, not merely after it started.
"""

from __future__ import annotations

import functools
import heapq
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from berth.model import (
    ComposeProject,
    Concurrency,
    Condition,
    Hook,
    MissedFires,
    Service,
    Triggers,
)


class Gate(StrEnum):
    """What a dependent waits for on one of its dependencies."""

    COMPLETED = "completed"
    """The job ran to completion with exit code 0."""
    STARTED = "started"
    """The service's workload was created and started."""
    HEALTHY = "healthy"
    """The service's workload reports healthy."""


def gate(dependency: Service, condition: Condition) -> Gate:
    if dependency.job:
        return Gate.COMPLETED
    if condition is Condition.HEALTHY:
        return Gate.HEALTHY
    return Gate.STARTED


def gates(project: ComposeProject, service: Service) -> list[tuple[str, Gate]]:
    """The dependencies ``service`` waits on, each with what it waits for."""
    return [
        (d.service, gate(project.services[d.service], d.condition))
        for d in service.depends_on
        if d.service in project.services
    ]


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency cycle as ``[a, b, ..., a]``, or None; ``edges`` maps a node to what it needs.

    A depth-first search with its own stack, not Python's: a chain of thousands of services
    is no recursion error.
    """
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for root in edges:
        if root in state:
            continue
        state[root] = 1
        path = [root]
        pending = [iter(edges.get(root, ()))]
        while pending:
            for needed in pending[-1]:
                if state.get(needed) == 1:
                    return [*path[path.index(needed) :], needed]
                if needed not in state:
                    state[needed] = 1
                    path.append(needed)
                    pending.append(iter(edges.get(needed, ())))
                    break
            else:
                state[path.pop()] = 2
                pending.pop()
    return None


def topological_order(edges: Mapping[str, Sequence[str]]) -> list[str]:
    """Nodes with every dependency before its dependents, ties broken by the order of ``edges``.

    Linear in the edges (up to the heap's log): projects of thousands of services plan in
    seconds. The caller has ruled out cycles (see ``find_cycle``).
    """
    position = {node: index for index, node in enumerate(edges)}
    waiting = {node: len({n for n in needs if n in position}) for node, needs in edges.items()}
    dependents: dict[str, list[str]] = {node: [] for node in edges}
    for node, needs in edges.items():
        for needed in {n for n in needs if n in position}:
            dependents[needed].append(node)
    ready = [position[node] for node, count in waiting.items() if not count]
    heapq.heapify(ready)
    nodes = list(edges)
    order: list[str] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        order.append(node)
        for other in dependents[node]:
            waiting[other] -= 1
            if not waiting[other]:
                heapq.heappush(ready, position[other])
    return order


def dependency_edges(project: ComposeProject) -> dict[str, list[str]]:
    return {
        name: [d.service for d in service.depends_on if d.service in project.services]
        for name, service in project.services.items()
    }


def deployment_order(project: ComposeProject) -> list[str]:
    return topological_order(dependency_edges(project))


@dataclass(frozen=True)
class Workflow:
    """Long-running services and jobs, in declaration order, and the edges between them; and,
    apart from it, the jobs of the top-level ``jobs:``, which no deployment runs."""

    services: tuple[str, ...]
    jobs: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    hooks: tuple[tuple[str, Hook], ...] = ()
    """The jobs that are ``pre_start`` hooks, each with what it gates (``jobs`` lists them)."""
    triggered: tuple[tuple[str, Triggers], ...] = ()
    """The jobs of ``jobs:``, each with its triggers: not steps of the deployment."""

    @classmethod
    def of(cls, project: ComposeProject) -> Workflow:
        edges = dependency_edges(project)
        return cls(
            services=tuple(s.name for s in project.long_running),
            jobs=tuple(s.name for s in project.jobs),
            edges=tuple(
                (before, after) for after in topological_order(edges) for before in edges[after]
            ),
            hooks=tuple((s.name, s.hook) for s in project.jobs if s.hook),
            triggered=tuple(
                (name, job.triggers) for name, job in project.triggered.items() if job.triggers
            ),
        )

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.services + self.jobs

    @functools.cached_property
    def _hook_of(self) -> dict[str, Hook]:
        """Built once: looked up per node, the list would make a large plan quadratic."""
        return dict(self.hooks)

    def label(self, node: str) -> str:
        """A node as the text plan names it: a job marked, a hook with Compose's own name."""
        hook = self._hook_of.get(node)
        if hook:
            return f"{node} ({hook.label})"
        return f"{node} (job)" if node in self.jobs else node

    def mermaid(self) -> str:
        """The workflow in the exact shape of the seed's diagrams; the jobs of ``jobs:``, when
        there are any, in a subgraph of their own, with no edge: no deployment runs them."""
        triggered = [name for name, _ in self.triggered]
        reserved = {TRIGGERED_SUBGRAPH} if triggered else set()
        ids = _mermaid_ids((*self.nodes, *triggered), reserved)
        hooks = self._hook_of
        has_dependency = {after for _, after in self.edges}
        has_dependent = {before for before, _ in self.edges}
        lines = [
            "flowchart LR",
            '  subgraph workspace["Deployment Workflow"]',
            "    deployment_start",
        ]
        lines += [
            _mermaid_node(ids[n], _hook_caption(hooks[n]) if n in hooks else n) for n in self.nodes
        ]
        lines += ["    deployment_complete", ""]
        lines += [
            f"    deployment_start --> {ids[n]}" for n in self.nodes if n not in has_dependency
        ]
        lines += [f"    {ids[before]} --> {ids[after]}" for before, after in self.edges]
        lines += [
            f"    {ids[n]} --> deployment_complete" for n in self.nodes if n not in has_dependent
        ]
        lines.append("  end")
        if self.triggered:
            lines.append(f'  subgraph {TRIGGERED_SUBGRAPH}["Jobs: run on demand or on a schedule"]')
            lines += [
                _mermaid_node(ids[name], f"{name}: {trigger_summary(triggers)}")
                for name, triggers in self.triggered
            ]
            lines.append("  end")
        return "\n".join(lines) + "\n"


TRIGGERED_SUBGRAPH = "triggered_jobs"
"""The id of the diagram's subgraph of ``jobs:`` (a node of that name gets a generated id)."""


def trigger_summary(triggers: Triggers) -> str:
    """How a job of ``jobs:`` runs, in words: ``manual; 0 3 * * * Europe/Paris``, a schedule's
    concurrency and missed fires named only where they are not Compose's defaults."""
    ways = ["manual" if triggers.manual else "not manual"]
    for schedule in triggers.schedules:
        unusual = [
            f"{name} {value}"
            for name, value, usual in (
                ("concurrency", schedule.concurrency, Concurrency.FORBID),
                ("missed_fires", schedule.missed_fires, MissedFires.ONE),
            )
            if value is not usual
        ]
        when = f"{schedule.cron} {schedule.timezone or 'UTC'}"
        ways.append(f"{when} ({', '.join(unusual)})" if unusual else when)
    return "; ".join(ways)


def _hook_caption(hook: Hook) -> str:
    """A hook's caption in the diagram: where Compose's file has it, ``web pre_start[0]``."""
    return f"{hook.service} pre_start[{hook.index}]"


def _mermaid_node(node_id: str, caption: str) -> str:
    return f"    {node_id}" if node_id == caption else f'    {node_id}["{caption}"]'


_PLAIN_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RESERVED = {"end", "subgraph", "graph", "flowchart", "deployment_start", "deployment_complete"}


def _mermaid_ids(nodes: Sequence[str], reserved: set[str]) -> dict[str, str]:
    """Bare names where mermaid allows them, a generated id (labelled with the name) elsewhere."""
    taken = _RESERVED | reserved
    return {
        node: node if _PLAIN_ID.fullmatch(node) and node not in taken else f"node{index}"
        for index, node in enumerate(nodes)
    }
