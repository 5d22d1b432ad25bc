"""A job's schedules on aws: one EventBridge Scheduler schedule per ``triggers.schedule`` entry,
each starting the job's ECS task with RunTask, as the run-once resource starts it.

Compose writes a schedule as a five-field unix cron; EventBridge Scheduler takes six fields
(``cron(minute hour day-of-month month day-of-week year)``), numbers Sunday 1 rather than 0,
takes no step in the day of week, and needs ``?`` in one of the two day fields: unix cron reads
a day of month and a day of week both restricted (written other than ``*``) as either one,
which AWS cannot say, so such a schedule is refused at plan time (``aws_cron``). Each schedule
runs as its own IAM role, which may start this task definition's family on this cluster and
pass its two roles to ECS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from berth.components.names import Names, fitted
from berth.cron import FIELDS, WEEKDAYS, CronField, field_value, field_values
from berth.errors import BerthError
from berth.model import Concurrency, MissedFires, Service
from berth.names import shortened
from berth.providers.aws.account import Account
from berth.providers.aws.containers import ecs_name
from berth.providers.aws.iam import POLICY_NAME_LIMIT, ROLE_NAME_LIMIT
from berth.providers.aws.names import SCHEDULE_NAME
from berth.sources import Sources

EXPRESSION_LIMIT = 256
"""CreateSchedule's ScheduleExpression: 1 to 256 characters."""
DESCRIPTION = 512
"""CreateSchedule's Description: at most 512 characters."""
_MINUTE, _HOUR, _DAY, _MONTH, _WEEKDAY = FIELDS
RETRY_POLICY = {"maximum_event_age_in_seconds": 86400, "maximum_retry_attempts": 0}
"""No retry: Compose runs a job once per fire, so a fire whose RunTask fails is not sent again
(delivery is still at least once: rarely, one fire starts two runs). The event age is the
API's default (which the provider fills in when it is not sent): sent, a second ``pulumi up``
changes nothing."""


class CronRefused(ValueError):
    """A unix cron EventBridge Scheduler cannot express, in words for a one-line message."""


def aws_cron(cron: str) -> str:
    """The five-field unix ``cron`` (``berth.cron.normalized_cron``'s form) as EventBridge
    Scheduler's ``cron(...)``; CronRefused when AWS cannot fire at the same times.

    Cron reads the two day fields together only when one is written ``*``; both written
    otherwise, even as a range of every day (``1-31``), a day matching either one fires
    (cronie, Cloud Scheduler). AWS takes one of the two, so that is refused, unless both
    cover every day: then every reading fires every day."""
    minute, hour, day, month, weekday = cron.split(" ")
    days = field_values(day, _DAY)
    weekdays = {value % 7 for value in field_values(weekday, _WEEKDAY)}  # 7 is Sunday too
    every_day = days == set(range(_DAY.low, _DAY.high + 1))
    every_weekday = len(weekdays) == len(WEEKDAYS)
    if not (days and weekdays):  # normalized_cron refuses a backwards range: never reached
        raise CronRefused(f"{cron!r} matches no day")
    if every_day and every_weekday:
        day_field, weekday_field = "*", "?"
    elif weekday == "*":
        day_field, weekday_field = _field(day, _DAY), "?"
    elif day == "*":
        day_field, weekday_field = "?", _weekday_field(weekdays)
    else:
        raise CronRefused(
            f"{cron!r} restricts both the day of month and the day of week, which cron reads "
            "as either one; EventBridge Scheduler takes one of the two"
        )
    expression = (
        f"cron({_field(minute, _MINUTE)} {_field(hour, _HOUR)} {day_field} "
        f"{_field(month, _MONTH)} {weekday_field} *)"
    )
    if len(expression) > EXPRESSION_LIMIT:
        raise CronRefused(
            f"{cron!r} becomes {len(expression)} characters in AWS's form, more than the "
            f"{EXPRESSION_LIMIT} EventBridge Scheduler takes"
        )
    return expression


def _number(text: str, field: CronField) -> int:
    value = field_value(text, field)
    if value is None:  # normalized_cron checked every bound: never reached
        raise CronRefused(f"{text!r} is not a {field.name}")
    return value


def _field(text: str, field: CronField) -> str:
    """A minute, hour, day-of-month or month field in AWS's form: the same values, ranges and
    names; a step after a start as AWS writes it (``*/n`` is ``0/n``; ``5-59/15``, what
    normalized_cron makes of ``5/15``, is ``5/15``); another range with a step as its values
    (AWS documents a step after a single start only)."""
    items = []
    for item in text.split(","):
        span, _, step = item.partition("/")
        first, _, last = span.partition("-")
        if not step:
            items.append(item)
        elif span == "*":
            items.append(f"{field.low}/{step}")
        elif not last or _number(last, field) == field.high:
            items.append(f"{_number(first, field)}/{step}")
        else:
            items.extend(str(value) for value in sorted(field_values(item, field)))
    return ",".join(items)


def _weekday_field(weekdays: set[int]) -> str:
    """Unix weekdays (0 Sunday) as AWS's names, consecutive runs of three or more as ranges
    (AWS takes no step in the day of week, and numbers Sunday 1)."""
    runs: list[list[int]] = []
    for day in sorted(weekdays):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAYS[run[0]]}-{WEEKDAYS[run[-1]]}")
        else:
            parts.extend(WEEKDAYS[day] for day in run)
    return ",".join(parts)


def check_schedules(jobs: Sequence[Service], sources: Sources) -> None:
    """Every schedule of ``jobs`` converts to AWS's cron, before anything deploys; else a
    one-line BerthError naming the job and the schedule's field."""
    for job in jobs:
        for index, schedule in enumerate(job.triggers.schedules if job.triggers else ()):
            field = f"triggers.schedule[{index}].cron"
            try:
                aws_cron(schedule.cron)
            except CronRefused as refused:
                raise BerthError(
                    str(refused),
                    file=sources.origin(job.name, "triggers", "jobs"),
                    service=job.name,
                    field=field,
                    kind="job",
                    hint="write * in the day field that is not restricted, or write two "
                    "schedules, one for each",
                ) from None


def unhonoured(job: Service) -> str | None:
    """The one warning for what ``job``'s schedules ask that EventBridge Scheduler cannot do;
    None when they ask nothing of the kind."""
    schedules = job.triggers.schedules if job.triggers else ()
    concurrency = sorted({s.concurrency for s in schedules})
    missed = sorted({s.missed_fires for s in schedules} & {MissedFires.ONE})
    problems = []
    if concurrency:
        values = " or ".join(str(c) for c in concurrency)
        effect = (
            "a run that outlasts the interval overlaps the next"
            if Concurrency.QUEUE not in concurrency
            else "a run that outlasts the interval overlaps the next, neither skipped nor queued"
        )
        problems.append(
            f"concurrency {values} cannot be enforced by EventBridge Scheduler: {effect}"
        )
    if missed:
        problems.append(
            "missed_fires one cannot be honoured: a fire whose RunTask fails is not run later"
        )
    return f"job '{job.name}': {'; '.join(problems)}" if problems else None


@dataclass(frozen=True)
class ScheduleSettings:
    """What every schedule of a project shares."""

    names: Names
    prefix: str
    account: Account
    execution_role: aws.iam.Role


def create_schedules(
    settings: ScheduleSettings,
    job: Service,
    run: Mapping[str, Any],
    *,
    definition: aws.ecs.TaskDefinition,
    task_role: aws.iam.Role,
    depends_on: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> dict[str, pulumi.Resource]:
    """A schedule and its own role per ``triggers.schedule`` entry of ``job``, by role
    (``schedule_<i>``, ``schedule_role_<i>``). ``run`` is how the run-once resource runs the
    task (cluster, task definition, network, tags): a scheduled run is started the same way."""
    if not job.triggers:
        return {}
    resources: dict[str, pulumi.Resource] = {}
    for index, schedule in enumerate(job.triggers.schedules):
        label = settings.names(job.name, "schedule", str(index))
        opts = pulumi.ResourceOptions(parent=parent)
        role = aws.iam.Role(
            fitted(label, ROLE_NAME_LIMIT),
            assume_role_policy=scheduler_trust(settings.account),
            tags=run["tags"],
            opts=opts,
        )
        policy = aws.iam.RolePolicy(
            fitted(label, POLICY_NAME_LIMIT),
            role=role.id,
            policy=pulumi.Output.json_dumps(
                scheduler_policy(
                    settings.account,
                    family=definition.family,
                    cluster=run["cluster"],
                    passed=[task_role.arn, settings.execution_role.arn],
                )
            ),
            opts=opts,
        )
        resources[f"schedule_{index}"] = aws.scheduler.Schedule(
            label,
            name=shortened(f"{settings.prefix}-{ecs_name(job.name)}-{index}", SCHEDULE_NAME),
            description=shortened(
                f"Berth {settings.prefix}: job {job.name}, triggers.schedule[{index}]",
                DESCRIPTION,
            ),
            schedule_expression=aws_cron(schedule.cron),
            schedule_expression_timezone=schedule.timezone or "UTC",
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            state="ENABLED",
            target=aws.scheduler.ScheduleTargetArgs(
                arn=run["cluster"],
                role_arn=role.arn,
                ecs_parameters=aws.scheduler.ScheduleTargetEcsParametersArgs(
                    task_definition_arn=run["taskDefinition"],
                    launch_type="FARGATE",
                    task_count=1,
                    network_configuration=aws.scheduler.ScheduleTargetEcsParametersNetworkConfigurationArgs(
                        subnets=run["subnets"],
                        security_groups=run["securityGroups"],
                        assign_public_ip=run["assignPublicIp"],
                    ),
                    tags=run["tags"],
                ),
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(**RETRY_POLICY),
            ),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[*depends_on, policy]),
        )
        resources[f"schedule_role_{index}"] = role
    return resources


def scheduler_trust(account: Account) -> pulumi.Output[str]:
    """Only EventBridge Scheduler, on behalf of this account, may assume the role (the
    confused-deputy guard of its user guide)."""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "scheduler.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account.account_id}},
                }
            ],
        }
    )


def scheduler_policy(
    account: Account,
    *,
    family: pulumi.Input[str],
    cluster: pulumi.Input[str],
    passed: Sequence[pulumi.Input[str]],
) -> dict[str, Any]:
    """What one schedule may do: start any revision of its job's task definition family on
    the project's cluster, pass exactly the task's two roles to ECS, and tag the tasks it
    starts (RunTask with tags needs ``ecs:TagResource``)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ecs:RunTask",
                "Resource": pulumi.Output.from_input(family).apply(
                    lambda name: account.arn("ecs", f"task-definition/{name}:*")
                ),
                "Condition": {"ArnEquals": {"ecs:cluster": cluster}},
            },
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": list(passed),
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            },
            {
                "Effect": "Allow",
                "Action": "ecs:TagResource",
                "Resource": account.arn("ecs", "task/*"),
                "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}},
            },
        ],
    }
