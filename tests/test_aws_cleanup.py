"""What ``pulumi destroy`` would fail at on aws without help (providers/aws/cleanup.py): a job
of ``jobs:`` still running (a scheduled run, a ``berth run``) keeps the cluster from being
deleted, so its ``TriggeredRuns`` resource stops its tasks when deleted, after its schedules
and before the cluster. Against botocore's Stubber, as tests/test_aws_run_once.py."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from berth.providers.aws.cleanup import TriggeredRunsProvider
from tests.aws_support import TASK_DEFINITION, aws_program
from tests.pickling import unpickled_in_project_root
from tests.plans import find

RUNS = "pulumi-python:dynamic/berth:TriggeredRuns"
SCHEDULE = "aws:scheduler/schedule:Schedule"
CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
FAMILY = "shop-dev-backup"
SCHEDULED = "arn:aws:ecs:eu-west-1:123456789012:task/shop/scheduled0123"
MANUAL = "arn:aws:ecs:eu-west-1:123456789012:task/shop/manual4567"
PROPS = {"job": "backup", "family": FAMILY, "cluster": CLUSTER, "region": "eu-west-1"}


@pytest.fixture
def ecs(monkeypatch) -> Stubber:
    """The ECS client ``delete`` makes, stubbed: every request is checked against ECS's model."""
    client = boto3.session.Session(
        region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    ).client("ecs")
    monkeypatch.setattr(
        "berth.providers.aws.session.aws_clients", lambda identity, region, names: (client,)
    )
    stub = Stubber(client)
    with stub:
        yield stub
        stub.assert_no_pending_responses()


def listed(stub: Stubber, *arns: str) -> None:
    stub.add_response(
        "list_tasks", {"taskArns": list(arns)}, {"cluster": CLUSTER, "family": FAMILY}
    )


def test_deleting_a_scheduled_job_stops_its_running_tasks_and_waits_for_them(ecs):
    """Found by the task definition family: a schedule's runs (``startedBy`` is EventBridge
    Scheduler's) and ``berth run``'s alike."""
    listed(ecs, SCHEDULED, MANUAL)
    for arn in (SCHEDULED, MANUAL):
        ecs.add_response(
            "stop_task",
            {"task": {"taskArn": arn, "desiredStatus": "STOPPED"}},
            {"cluster": CLUSTER, "task": arn, "reason": "berth: the job was deleted"},
        )
    stopped: list[dict[str, Any]] = [
        {"taskArn": arn, "lastStatus": "STOPPED"} for arn in (SCHEDULED, MANUAL)
    ]
    ecs.add_response(
        "describe_tasks",
        {"tasks": stopped, "failures": []},
        {"cluster": CLUSTER, "tasks": [SCHEDULED, MANUAL]},
    )

    assert TriggeredRunsProvider().delete(FAMILY, PROPS) is None


def test_deleting_a_job_with_nothing_running_stops_nothing(ecs):
    listed(ecs)
    TriggeredRunsProvider().delete(FAMILY, PROPS)


def test_deleting_a_job_whose_cluster_is_gone_stops_nothing(ecs):
    ecs.add_client_error("list_tasks", service_error_code="ClusterNotFoundException")
    TriggeredRunsProvider().delete(FAMILY, PROPS)


def test_tasks_that_cannot_be_stopped_fail_the_delete_in_one_line(ecs):
    ecs.add_client_error(
        "list_tasks", service_error_code="AccessDeniedException", service_message="no ListTasks"
    )
    with pytest.raises(RuntimeError) as failed:
        TriggeredRunsProvider().delete(FAMILY, PROPS)
    (line,) = str(failed.value).splitlines()
    assert line.startswith("job 'backup': its running tasks could not be stopped (")
    assert line.endswith("stop them in the ECS console, then run pulumi again")


def test_the_runs_are_stopped_after_the_schedules_go_and_before_the_cluster(project_dir, write):
    """Pulumi deletes a resource before what it depends on: the schedules first (no new
    fire), then the runs, then the task definition, the security group, the routes and the
    cluster. Its inputs change nothing on a new revision: only the family."""
    write(
        """
        name: shop
        jobs:
          backup:
            image: busybox
            triggers:
              schedule: ["0 3 * * *"]
        """
    )
    plan = aws_program(["compose.yaml"])
    runs = find(plan, RUNS, "backup-runs")
    definition = find(plan, TASK_DEFINITION, "backup")

    assert runs.urn in find(plan, SCHEDULE, "backup-schedule-0").dependencies
    assert definition.urn in runs.dependencies
    assert {"aws:ecs/cluster:Cluster", "aws:ec2/securityGroup:SecurityGroup"} <= {
        urn.rsplit("::", 2)[-2].rsplit("$", 1)[-1] for urn in runs.dependencies
    }
    assert runs.inputs["family"] == definition.inputs["family"] == FAMILY
    assert runs.inputs["identity"] == "[secret]"


def test_the_runs_provider_unpickles_in_a_fresh_interpreter_in_the_project_root():
    printed = unpickled_in_project_root(
        TriggeredRunsProvider(),
        f"print(provider.create({PROPS!r}).id, provider.diff('id', {PROPS!r}, {PROPS!r}).changes)",
    )
    assert printed.split() == [FAMILY, "False"]
