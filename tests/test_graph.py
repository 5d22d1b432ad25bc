"""The deployment workflow: order, cycles, what each dependent waits for, and the diagram."""

from __future__ import annotations

import re

import pytest

from berth.graph import (
    Gate,
    Workflow,
    deployment_order,
    find_cycle,
    gate,
    gates,
    topological_order,
)
from berth.load import load_project
from berth.model import ComposeProject, Condition, Dependency, Service
from tests.conftest import EXAMPLES, FIXTURES, ROOT, SHARED

SEED = SHARED / "seed" / "one-off-jobs.md"
"""The seed document, beside the repository where it is checked out (not in CI)."""
SEED_EXAMPLES = FIXTURES / "seed"
"""The seed document's two examples, verbatim: ``<name>/compose.yaml`` and the diagram the
document draws for it, ``<name>/workflow.mmd``."""
NAMES = ("release", "migrate")
"""The seed's examples, in the order the document shows them."""
RELEASE_DIAGRAM = (SEED_EXAMPLES / "release" / "workflow.mmd").read_text(encoding="utf-8")
MIGRATE_DIAGRAM = (SEED_EXAMPLES / "migrate" / "workflow.mmd").read_text(encoding="utf-8")


def example(name: str) -> ComposeProject:
    return load_project([str(EXAMPLES / name / "compose.yaml")], base_dir=EXAMPLES / name)


# -- order and cycles --------------------------------------------------------------------------


def test_topological_order_breaks_ties_by_declaration_order():
    edges = {"web": ["api"], "zeta": [], "api": ["db"], "alpha": [], "db": []}

    assert topological_order(edges) == ["zeta", "alpha", "db", "api", "web"]


def test_topological_order_puts_every_dependency_first():
    edges = {"d": ["b", "c"], "c": ["a"], "b": ["a"], "a": [], "e": ["d", "a"]}

    order = topological_order(edges)

    assert order == ["a", "c", "b", "d", "e"]
    for node, needs in edges.items():
        assert all(order.index(n) < order.index(node) for n in needs)


def test_topological_order_ignores_edges_to_unknown_nodes():
    assert topological_order({"web": ["gone"], "db": []}) == ["web", "db"]


def test_find_cycle_returns_the_path_back_to_its_start():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"x": [], "a": ["b"], "b": ["a"]}) == ["a", "b", "a"]
    assert find_cycle({"self": ["self"]}) == ["self", "self"]


def test_find_cycle_is_none_for_a_dag_and_a_diamond():
    assert find_cycle({}) is None
    assert find_cycle({"d": ["b", "c"], "b": ["a"], "c": ["a"], "a": []}) is None


def test_deployment_order_of_the_migrate_example():
    assert deployment_order(example("migrate")) == ["db", "migrate", "web"]


# -- gates -------------------------------------------------------------------------------------


@pytest.mark.parametrize("condition", list(Condition))
def test_a_dependency_on_a_job_waits_for_completion_whatever_the_condition(condition):
    assert gate(Service("migrate", image="m", job=True), condition) is Gate.COMPLETED


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (Condition.HEALTHY, Gate.HEALTHY),
        (Condition.STARTED, Gate.STARTED),
        (Condition.COMPLETED, Gate.STARTED),
    ],
)
def test_a_dependency_on_a_service_waits_for_started_or_healthy(condition, expected):
    assert gate(Service("db", image="pg"), condition) is expected


def test_gates_of_a_loaded_project(load):
    project = load(
        """
        services:
          db:
            image: postgres
            healthcheck: {test: ["CMD", "pg_isready"]}
          cache:
            image: redis
          migrate:
            image: app
            restart: "no"
            depends_on:
              db: {condition: service_healthy}
          web:
            image: app
            depends_on:
              migrate: {condition: service_started}
              db: {condition: service_healthy}
              cache: {condition: service_started}
        """
    )

    assert dict(gates(project, project.services["web"])) == {
        "migrate": Gate.COMPLETED,
        "db": Gate.HEALTHY,
        "cache": Gate.STARTED,
    }
    assert gates(project, project.services["migrate"]) == [("db", Gate.HEALTHY)]
    assert gates(project, project.services["db"]) == []


def test_gates_skip_dependencies_that_are_not_in_the_project():
    web = Service("web", image="w", depends_on=(Dependency("gone"), Dependency("db")))
    project = ComposeProject("p", ("c.yaml",), {"db": Service("db", image="d"), "web": web})

    assert gates(project, web) == [("db", Gate.STARTED)]


# -- the diagram -------------------------------------------------------------------------------


def test_release_example_diagram_is_the_seeds():
    assert Workflow.of(example("release")).mermaid() == RELEASE_DIAGRAM


def test_migrate_example_diagram_is_the_seeds():
    assert Workflow.of(example("migrate")).mermaid() == MIGRATE_DIAGRAM


@pytest.mark.parametrize("name", NAMES)
def test_the_seeds_own_compose_files_draw_its_diagrams(name):
    folder = SEED_EXAMPLES / name
    project = load_project([str(folder / "compose.yaml")], base_dir=folder)

    assert Workflow.of(project).mermaid() == (folder / "workflow.mmd").read_text(encoding="utf-8")


def test_the_diagrams_are_the_seeds_two_and_differ():
    assert RELEASE_DIAGRAM != MIGRATE_DIAGRAM
    assert all(d.startswith("flowchart LR\n") for d in (RELEASE_DIAGRAM, MIGRATE_DIAGRAM))


@pytest.mark.skipif(not SEED.exists(), reason=f"the seed document {SEED} is not on this machine")
def test_the_examples_kept_in_the_repository_are_the_seed_documents():
    """Where the seed is checked out beside the repository: tests/fixtures/seed holds its
    examples exactly, compose files and diagrams, in the document's order."""
    text = SEED.read_text(encoding="utf-8")
    blocks = {
        kind: re.findall(rf"```{kind}\n(.*?)```", text, re.DOTALL) for kind in ("yaml", "mermaid")
    }

    for index, name in enumerate(NAMES):
        folder = SEED_EXAMPLES / name
        assert (folder / "compose.yaml").read_text(encoding="utf-8") == blocks["yaml"][index]
        assert (folder / "workflow.mmd").read_text(encoding="utf-8") == blocks["mermaid"][index]
    assert len(blocks["yaml"]) == len(blocks["mermaid"]) == 2


def test_the_readme_shows_the_seeds_examples_and_their_diagrams():
    """The README says a test holds its two examples and diagrams to the seed's text: this."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    for kind, file in (("yaml", "compose.yaml"), ("mermaid", "workflow.mmd")):
        shown = re.findall(rf"```{kind}\n(.*?)```", readme, re.DOTALL)
        seeds = [(SEED_EXAMPLES / name / file).read_text(encoding="utf-8") for name in NAMES]
        assert shown[:2] == seeds, f"the README's first two {kind} blocks are not the seed's"


def test_workflow_lists_services_then_jobs_and_edges_in_deployment_order():
    workflow = Workflow.of(example("migrate"))

    assert workflow.services == ("db", "web")
    assert workflow.jobs == ("migrate",)
    assert workflow.nodes == ("db", "web", "migrate")
    assert workflow.edges == (("db", "migrate"), ("migrate", "web"))


def test_names_that_are_not_plain_identifiers_get_an_id_and_a_label():
    project = ComposeProject(
        "p",
        ("compose.yaml",),
        {
            "my-api": Service("my-api", image="a"),
            "end": Service("end", image="e", depends_on=(Dependency("my-api"),)),
            "worker_2": Service("worker_2", image="w", depends_on=(Dependency("end"),)),
            "9lives": Service("9lives", image="n", job=True),
        },
    )

    diagram = Workflow.of(project).mermaid()

    assert diagram.splitlines()[2:8] == [
        "    deployment_start",
        '    node0["my-api"]',
        '    node1["end"]',
        "    worker_2",
        '    node3["9lives"]',
        "    deployment_complete",
    ]
    assert "    node0 --> node1\n" in diagram
    assert "    node1 --> worker_2\n" in diagram
    assert "    deployment_start --> node3\n" in diagram
    assert "    node3 --> deployment_complete\n" in diagram
    assert "my-api -->" not in diagram


def test_a_diagram_from_a_project_without_dependencies():
    project = ComposeProject("p", ("c.yaml",), {"solo": Service("solo", image="s")})

    assert Workflow.of(project).mermaid() == (
        "flowchart LR\n"
        '  subgraph workspace["Deployment Workflow"]\n'
        "    deployment_start\n"
        "    solo\n"
        "    deployment_complete\n"
        "\n"
        "    deployment_start --> solo\n"
        "    solo --> deployment_complete\n"
        "  end\n"
    )


def test_a_chain_of_thousands_of_services_is_ordered_and_checked_without_recursion():
    """Each service depends on the next one declared: the deepest search there is."""
    count = 5000
    edges = {f"s{i}": [f"s{i + 1}"] if i + 1 < count else [] for i in range(count)}

    assert find_cycle(edges) is None
    assert topological_order(edges) == [f"s{i}" for i in reversed(range(count))]
    assert find_cycle({**edges, f"s{count - 1}": ["s4990"]}) == [
        *(f"s{i}" for i in range(4990, count)),
        "s4990",
    ]
