"""A job's schedules on aws (providers/aws/schedules.py): unix cron in EventBridge Scheduler's
dialect, one schedule and one least-privilege role per entry, and one warning per job for what
EventBridge Scheduler cannot honour; the schedules under Pulumi's mock engine."""

from __future__ import annotations

import json

import pytest

from berth.cron import normalized_cron
from berth.errors import BerthError
from berth.providers.aws.schedules import CronRefused, aws_cron
from tests.aws_support import ECS_SERVICE, TASK_DEFINITION, aws_program
from tests.plans import find, of_type
from tests.test_cli import berth

SCHEDULE = "aws:scheduler/schedule:Schedule"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
READY = "pulumi-python:dynamic/berth:EcsServiceReady"


@pytest.mark.parametrize(
    ("unix", "aws"),
    [
        ("0 3 * * *", "cron(0 3 * * ? *)"),
        ("*/5 * * * *", "cron(0/5 * * * ? *)"),
        ("5/15 * * * *", "cron(5/15 * * * ? *)"),
        ("0-30/10 9-17 * * *", "cron(0,10,20,30 9-17 * * ? *)"),
        ("30 12 * * MON-FRI", "cron(30 12 ? * MON-FRI *)"),
        ("0 0 * * 1-5", "cron(0 0 ? * MON-FRI *)"),
        ("0 0 * * 0", "cron(0 0 ? * SUN *)"),
        ("0 0 * * 7", "cron(0 0 ? * SUN *)"),
        ("0 0 * * 5-7", "cron(0 0 ? * SUN,FRI,SAT *)"),
        ("0 0 * * */2", "cron(0 0 ? * SUN,TUE,THU,SAT *)"),
        ("0 0 * * 0-6", "cron(0 0 * * ? *)"),
        ("0 0 * * */1", "cron(0 0 * * ? *)"),
        ("0 0 * * 0,7", "cron(0 0 ? * SUN *)"),
        ("0 0 * * 6-7", "cron(0 0 ? * SUN,SAT *)"),
        ("0 0 * * SAT,SUN", "cron(0 0 ? * SUN,SAT *)"),
        ("0 0 * * 7,1-2", "cron(0 0 ? * SUN-TUE *)"),
        ("0 0 * * MON-WED,FRI", "cron(0 0 ? * MON-WED,FRI *)"),
        ("0 0 * * 1,3-5,SAT", "cron(0 0 ? * MON,WED-SAT *)"),
        ("0 0 1,15 * *", "cron(0 0 1,15 * ? *)"),
        ("0 0 1-31 * *", "cron(0 0 * * ? *)"),
        ("0 0 1-31 * 0-7", "cron(0 0 * * ? *)"),
        ("0 0 1 JAN-JUN/2 *", "cron(0 0 1 1,3,5 ? *)"),
        ("0 0 1 */3 *", "cron(0 0 1 1/3 ? *)"),
    ],
)
def test_unix_cron_becomes_eventbridge_schedulers_dialect(unix, aws):
    """Six fields, Sunday 1 (named here; unix 0 and 7), ``?`` in the day field written ``*``,
    a step after a start only (``*/5`` is AWS's ``0/5``), none in the day of week. Both day
    fields covering every day fire every day, however cron reads them."""
    assert aws_cron(unix) == aws


@pytest.mark.parametrize(
    ("written", "normalized", "aws"),
    [
        ("5/15 * * * *", "5-59/15 * * * *", "cron(5/15 * * * ? *)"),
        ("0 22/1 * * *", "0 22-23/1 * * *", "cron(0 22/1 * * ? *)"),
        ("0 0 2/7 * *", "0 0 2-31/7 * *", "cron(0 0 2/7 * ? *)"),
        ("0 0 1 JAN/2 *", "0 0 1 1-12/2 *", "cron(0 0 1 1/2 ? *)"),
        ("0 0 * * MON/2", "0 0 * * 1-7/2", "cron(0 0 ? * SUN,MON,WED,FRI *)"),
    ],
)
def test_a_step_from_a_single_value_is_a_step_from_its_start_in_aws_cron(written, normalized, aws):
    """normalized_cron writes ``5/15`` as the range it means, ``5-59/15``: AWS gets the step
    after its start again, as it documents one, not its values."""
    assert normalized_cron(written) == normalized
    assert aws_cron(normalized) == aws


@pytest.mark.parametrize(
    "unix",
    [
        "0 0 1 * MON",
        "0 0 */2 * */2",
        "0 0 1-7 * FRI",
        "0 0 1-31 * MON",
        "0 0 1 * 0-6",
        "0 0 1 * 0-7",
        "0 0 */1 * MON",
        "0 0 1-15,20 * MON-WED,7",
    ],
)
def test_both_day_fields_restricted_cannot_be_said_in_aws_cron(unix):
    """Unix cron fires when either day field matches unless one is written ``*`` (cronie's
    DOM_STAR, Cloud Scheduler's "unrestricted by the asterisk"): ``1-31 * MON`` fires every
    day there, not on Mondays, and ``1 * 0-6`` every day, not on the 1st. AWS takes ``?`` in
    one of them, so either is refused, as is ``*/1``, which cronie reads as ``*`` and Cloud
    Scheduler need not."""
    with pytest.raises(CronRefused, match="both the day of month and the day of week"):
        aws_cron(unix)


@pytest.mark.parametrize("unix", ["0 0 * * FRI-MON", "0 0 31-1 * *"])
def test_a_day_field_matching_nothing_never_reaches_aws_as_an_empty_field(unix):
    """normalized_cron refuses a backwards range first; given one, no ``cron(0 0 ? *  *)``."""
    with pytest.raises(CronRefused, match="matches no day"):
        aws_cron(unix)


def test_a_schedule_aws_cannot_express_is_refused_in_one_line_at_plan_time(project_dir, write):
    write(
        """
        name: shop
        jobs:
          report:
            image: busybox
            triggers:
              schedule:
                - "0 3 * * *"
                - cron: "0 9 1 * MON"
        """
    )
    with pytest.raises(BerthError) as refused:
        aws_program(["compose.yaml"])
    assert (refused.value.service, refused.value.kind) == ("report", "job")
    assert refused.value.field == "triggers.schedule[1].cron"

    done = berth("plan", "-f", str(project_dir / "compose.yaml"), "--target", "aws")
    assert (done.returncode, done.stdout) == (2, "")
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        f"error: {project_dir / 'compose.yaml'}: job 'report', field 'triggers.schedule[1].cron': "
        "'0 9 1 * MON' restricts both the day of month and the day of week"
    )


NIGHTLY = """
    name: shop
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: pw
    jobs:
      backup:
        image: postgres:16
        command: ["pg_dump", "-h", "db"]
        depends_on: [db]
        triggers:
          schedule:
            - cron: "0 3 * * *"
              timezone: Europe/Paris
            - "30 12 * * MON-FRI"
      reindex:
        image: busybox
        triggers:
          manual: true
    """


@pytest.fixture
def nightly(project_dir, write):
    write(NIGHTLY)
    return aws_program(["compose.yaml"])


def test_each_schedule_runs_the_jobs_task_as_the_run_once_job_would(nightly):
    first = find(nightly, SCHEDULE, "backup-schedule-0").inputs
    second = find(nightly, SCHEDULE, "backup-schedule-1").inputs
    definition = find(nightly, TASK_DEFINITION, "backup")
    db = find(nightly, ECS_SERVICE, "db").inputs

    assert first["scheduleExpression"] == "cron(0 3 * * ? *)"
    assert first["scheduleExpressionTimezone"] == "Europe/Paris"
    assert second["scheduleExpression"] == "cron(30 12 ? * MON-FRI *)"
    assert second["scheduleExpressionTimezone"] == "UTC", "Compose: no time zone is UTC"
    assert first["flexibleTimeWindow"] == {"mode": "OFF"}
    assert first["name"] == "shop-dev-backup-0"
    target = first["target"]
    assert target["arn"] == db["cluster"]
    assert target["retryPolicy"] == {"maximumEventAgeInSeconds": 86400, "maximumRetryAttempts": 0}
    ecs = target["ecsParameters"]
    assert ecs["taskDefinitionArn"].endswith(":task-definition/shop-dev-backup:1")
    assert ecs["launchType"] == "FARGATE"
    assert ecs["taskCount"] == 1
    assert ecs["networkConfiguration"] == db["networkConfiguration"]
    assert ecs["tags"] == {"berth:stack": "shop-dev", "berth:job": "backup"}
    assert definition.urn in find(nightly, SCHEDULE, "backup-schedule-0").dependencies


def test_a_schedule_waits_for_the_services_its_job_depends_on(nightly):
    """A schedule that fired before ``db`` ran would run the backup against nothing."""
    schedule = find(nightly, SCHEDULE, "backup-schedule-0")
    assert find(nightly, READY, "db-ready").urn in schedule.dependencies


def test_a_manual_job_has_its_task_definition_and_no_schedule(nightly):
    assert find(nightly, TASK_DEFINITION, "reindex")
    assert sorted(s.name for s in of_type(nightly, SCHEDULE)) == [
        "shop-backup-schedule-0",
        "shop-backup-schedule-1",
    ]


def test_each_schedule_has_its_own_least_privilege_role(nightly):
    roles = {index: find(nightly, ROLE, f"backup-schedule-{index}") for index in (0, 1)}
    assert roles[0].urn != roles[1].urn
    trust = json.loads(roles[0].inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }
    ]
    policy = find(nightly, POLICY, "backup-schedule-0")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    cluster = find(nightly, ECS_SERVICE, "db").inputs["cluster"]
    task_role = find(nightly, TASK_DEFINITION, "backup").inputs["taskRoleArn"]
    execution = find(nightly, TASK_DEFINITION, "backup").inputs["executionRoleArn"]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-dev-backup:*",
            "Condition": {"ArnEquals": {"ecs:cluster": cluster}},
        },
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": [task_role, execution],
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
        {
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            "Resource": "arn:aws:ecs:eu-west-1:123456789012:task/*",
            "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}},
        },
    ]
    schedule = find(nightly, SCHEDULE, "backup-schedule-0")
    assert roles[0].urn in schedule.dependencies
    assert roles[1].urn not in schedule.dependencies
    assert policy.urn in schedule.dependencies, "no fire before its role may run the task"


def test_one_warning_per_scheduled_job_for_what_eventbridge_cannot_honour(nightly):
    """Compose's defaults (concurrency forbid, missed_fires one) are asked of every schedule;
    EventBridge Scheduler overlaps runs and replays no fire: said once per job, not per
    schedule, and never for a job without one."""
    about = [w for w in nightly.warnings if "EventBridge" in w]
    assert about == [
        "job 'backup': concurrency forbid cannot be enforced by EventBridge Scheduler: a run "
        "that outlasts the interval overlaps the next; missed_fires one cannot be honoured: "
        "a fire whose RunTask fails is not run later"
    ]
    assert not any("triggers" in w for w in nightly.warnings), "the fields are supported"
