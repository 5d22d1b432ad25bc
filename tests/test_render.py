"""The plan's three forms (text, mermaid, JSON) for hooks and the jobs of ``jobs:`` (issue 23).

The forms read only the compose model, so these render a loaded project with no resources; the
seed's diagrams and the CLI's own output are held in tests/test_graph.py and tests/test_cli.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from berth.model import ComposeProject
from berth.offline.plan import Plan, plan_config, run_plan
from berth.offline.render import as_json, as_mermaid, as_text

HOOKS = """
services:
  db:
    image: postgres:16
  web:
    image: app
    depends_on: [db]
    pre_start:
      - command: ["./migrate"]
      - command: ["./seed"]
"""
TRIGGERED = """
services:
  db:
    image: postgres:16
jobs:
  backup:
    image: postgres:16
    depends_on: [db]
    triggers:
      manual: true
      schedule:
        - cron: "0 3 * * *"
          timezone: Europe/Paris
  sweep:
    image: busybox
    triggers:
      manual: false
      schedule:
        - cron: "*/15 * * * *"
          concurrency: queue
          missed_fires: skip
"""

Load = Callable[..., ComposeProject]


def plan_of(project: ComposeProject) -> Plan:
    return Plan(compose=project, target="local", stack="dev", registrations=[])


def workflow_lines(text: str) -> list[str]:
    return text.split("Deployment workflow:\n")[1].split("\n\n", maxsplit=1)[0].splitlines()


def test_render_names_each_hook_as_compose_does_in_the_text_workflow(load: Load) -> None:
    text = as_text(plan_of(load(HOOKS)))

    assert workflow_lines(text) == [
        "  deployment_start -> db",
        '  db -> web-pre-start-0 (service "web" pre_start[0])',
        '  web-pre-start-0 (service "web" pre_start[0]) -> web-pre-start-1 (service "web" '
        "pre_start[1])",
        "  db -> web",
        '  web-pre-start-1 (service "web" pre_start[1]) -> web',
        "  web -> deployment_complete",
    ]


def test_render_lists_hooks_as_jobs_of_the_json_workflow_with_what_they_gate(load: Load) -> None:
    workflow = json.loads(as_json(plan_of(load(HOOKS))))["workflow"]

    assert workflow["jobs"] == ["web-pre-start-0", "web-pre-start-1"]
    assert ["web-pre-start-1", "web"] in workflow["edges"]
    assert workflow["hooks"] == [
        {"job": "web-pre-start-0", "service": "web", "index": 0},
        {"job": "web-pre-start-1", "service": "web", "index": 1},
    ]


def test_render_draws_hooks_in_the_workflow_captioned_as_in_the_compose_file(load: Load) -> None:
    diagram = as_mermaid(plan_of(load(HOOKS)))

    assert '    node2["web pre_start[0]"]\n' in diagram
    assert '    node3["web pre_start[1]"]\n' in diagram
    assert "    node2 --> node3\n    db --> web\n    node3 --> web\n" in diagram
    assert "triggered_jobs" not in diagram


def test_render_leaves_a_project_without_hooks_or_jobs_as_it_was(load: Load) -> None:
    """No new key, no new line, no new subgraph: the seed's plans stay byte for byte."""
    plan = plan_of(load("services:\n  web:\n    image: nginx\n"))

    assert "hooks" not in json.loads(as_json(plan))["workflow"]
    assert "triggered" not in json.loads(as_json(plan))
    assert "jobs:" not in as_text(plan)
    assert "models" not in json.loads(as_json(plan))
    assert "Language models" not in as_text(plan)
    assert as_mermaid(plan).count("subgraph") == 1


def test_render_lists_the_jobs_of_jobs_with_their_triggers_in_json(load: Load) -> None:
    document = json.loads(as_json(plan_of(load(TRIGGERED))))

    assert document["workflow"]["jobs"] == []
    assert document["triggered"] == [
        {
            "name": "backup",
            "image": "postgres:16",
            "build": None,
            "depends_on": ["db"],
            "manual": True,
            "schedules": [
                {
                    "cron": "0 3 * * *",
                    "timezone": "Europe/Paris",
                    "concurrency": "forbid",
                    "missed_fires": "one",
                }
            ],
        },
        {
            "name": "sweep",
            "image": "busybox",
            "build": None,
            "depends_on": [],
            "manual": False,
            "schedules": [
                {
                    "cron": "*/15 * * * *",
                    "timezone": "UTC",
                    "concurrency": "queue",
                    "missed_fires": "skip",
                }
            ],
        },
    ]


def test_render_tells_the_jobs_of_jobs_apart_from_the_workflow_in_text(load: Load) -> None:
    text = as_text(plan_of(load(TRIGGERED)))

    assert workflow_lines(text) == ["  deployment_start -> db", "  db -> deployment_complete"]
    assert (
        "\nJobs (jobs:), deployed, never run by a deployment:\n"
        "  backup: manual; 0 3 * * * Europe/Paris (image postgres:16, after db)\n"
        "  sweep: not manual; */15 * * * * UTC (concurrency queue, missed_fires skip) "
        "(image busybox)\n"
    ) in text


def test_render_draws_the_jobs_of_jobs_apart_with_no_edge(load: Load) -> None:
    """Not steps of the deployment: a subgraph of their own, after the workflow's, unlinked."""
    diagram = as_mermaid(plan_of(load(TRIGGERED)))
    workflow, _, triggered = diagram.partition("  end\n")

    assert "backup" not in workflow
    assert triggered == (
        '  subgraph triggered_jobs["Jobs: run on demand or on a schedule"]\n'
        '    backup["backup: manual; 0 3 * * * Europe/Paris"]\n'
        '    sweep["sweep: not manual; */15 * * * * UTC (concurrency queue, missed_fires skip)"]\n'
        "  end\n"
    )
    assert "-->" not in triggered


@pytest.mark.parametrize("name", ["triggered_jobs", "end"])
def test_render_gives_a_job_named_like_the_diagrams_words_an_id_of_its_own(
    load: Load, name: str
) -> None:
    diagram = as_mermaid(
        plan_of(
            load(
                f"services:\n  db:\n    image: d\njobs:\n  {name}:\n    image: b\n"
                "    triggers: {manual: true}\n"
            )
        )
    )

    assert f'    node1["{name}: manual"]\n' in diagram


def test_render_lists_each_job_of_jobs_resources_together_after_the_services(
    load: Load, project_dir: Path
) -> None:
    """In the text plan's resources, as a service's are: one job's, then the next one's."""
    two = "services:\n  db:\n    image: d\njobs:\n" + "".join(
        f"  {name}:\n    image: busybox\n    triggers: {{manual: true}}\n" for name in ("a", "b")
    )
    (project_dir / "compose.yaml").write_text(two)
    config, secret_keys = plan_config(["compose.yaml"])
    text = as_text(run_plan(config, secret_keys, preview=False))

    lines = text.split("Resources:\n")[1].split("\n\n")[0].splitlines()
    owners = [line.rsplit("  [", 1)[1] for line in lines if not line.startswith("      ")]
    assert [o for index, o in enumerate(owners) if owners[index - 1 : index] != [o]] == [
        "shared]",
        "db]",
        "a]",
        "b]",
    ]


MODELS = """
services:
  chat:
    image: app
    models: [llm]
  summary:
    image: app
    depends_on: [assistant]
  assistant:
    provider: {type: model, options: {model: chat-default}}
models:
  llm:
    model: ai/llama3.3:70B-Q4_K_M
"""


def test_render_says_what_serves_each_model_and_who_uses_it(load: Load) -> None:
    project = load(MODELS)
    on_gcp = Plan(compose=project, target="gcp", stack="dev", registrations=[])

    assert json.loads(as_json(on_gcp))["models"] == [
        {
            "name": "llm",
            "model": "ai/llama3.3:70B-Q4_K_M",
            "platform": "Vertex AI",
            "id": "meta/llama-3.3-70b-instruct-maas",
            "users": ["chat"],
        },
        {
            "name": "assistant",
            "model": "chat-default",
            "platform": "Vertex AI",
            "id": "gemini-2.5-flash",
            "users": ["summary"],
        },
    ]
    section = as_text(plan_of(project)).split("Language models:\n")[1].split("\n\n")[0]
    assert section.splitlines() == [
        "  llm: ai/llama3.3:70B-Q4_K_M served by Docker Model Runner as ai/llama3.3:70B-Q4_K_M"
        " (used by chat)",
        "  assistant: chat-default served by Docker Model Runner as ai/llama3.2 (used by summary)",
    ]
