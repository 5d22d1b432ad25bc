"""The deployment workflow: which service waits for which, and in what order, as a diagram.

The one rule that shapes everything: a dependency on a **job** waits for the job to finish with
exit code 0, whatever condition the ``depends_on`` entry names (``service_started`` and the
short list syntax included). That is what the seed's ``web -> migrate`` means: web starts after
the migration finished, not merely after it started.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from berth.model import ComposeProject, Condition, Service


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
    """Long-running services and jobs, in declaration order, and the edges between them."""

    services: tuple[str, ...]
    jobs: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, project: ComposeProject) -> Workflow:
        edges = dependency_edges(project)
        return cls(
            services=tuple(s.name for s in project.long_running),
            jobs=tuple(s.name for s in project.jobs),
            edges=tuple(
                (before, after) for after in topological_order(edges) for before in edges[after]
            ),
        )

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.services + self.jobs

    def mermaid(self) -> str:
        """The workflow in the exact shape of the seed's diagrams."""
        ids = _mermaid_ids(self.nodes)
        has_dependency = {after for _, after in self.edges}
        has_dependent = {before for before, _ in self.edges}
        lines = [
            "flowchart LR",
            '  subgraph workspace["Deployment Workflow"]',
            "    deployment_start",
        ]
        lines += [
            f"    {ids[node]}" if ids[node] == node else f'    {ids[node]}["{node}"]'
            for node in self.nodes
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
        return "\n".join(lines) + "\n"


_PLAIN_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RESERVED = {"end", "subgraph", "graph", "flowchart", "deployment_start", "deployment_complete"}


def _mermaid_ids(nodes: Sequence[str]) -> dict[str, str]:
    """Bare names where mermaid allows them, a generated id (labelled with the name) elsewhere."""
    return {
        node: node if _PLAIN_ID.fullmatch(node) and node not in _RESERVED else f"node{index}"
        for index, node in enumerate(nodes)
    }
