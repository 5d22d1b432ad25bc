"""Cloud Scheduler for the jobs of ``jobs:``: per ``triggers.schedule`` entry, a scheduler job
that executes the job's Cloud Run job (``jobs.run``, as ``berth run`` does) with an OAuth token
of a service account of its own, which may run that one job and nothing else; and the one
warning for what Cloud Scheduler cannot honour.

Every field terraform-provider-google reads back (``resource_cloud_scheduler_job.go``'s
flatteners) is sent as the API returns it, so that a second ``pulumi up`` finds no change:
``http_method``, the OAuth ``scope``, ``time_zone`` and ``attempt_deadline`` written out; no
headers nor body (the API adds ``User-Agent`` and ``Authorization``, which the provider drops
when it reads them); ``retry_count`` 0, which the provider does not send and is the API's
default (the other retry settings are computed).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from berth.model import ComposeProject, Concurrency, MissedFires, Schedule
from berth.providers.gcp.api import RUN_API
from berth.providers.gcp.names import cloud_name, schedule_account_id
from berth.providers.gcp.shared import Shared

JOB_INVOKER = "roles/run.invoker"
"""What a schedule's account holds on its job, and nothing else: Cloud Run Invoker ("Can invoke
Cloud Run services and execute Cloud Run jobs": ``run.jobs.run``, and ``run.routes.invoke``,
which a job has no use for), the role Cloud Run's docs name to execute a job. Cloud Run Jobs
Executor would add cancelling executions; runWithOverrides, a schedule never overrides."""
UTC = "Etc/UTC"
"""Cloud Scheduler's time zone when a schedule names none (Compose's too: UTC); the provider's
default, so a second ``up`` reads back what it sent."""
ATTEMPT_DEADLINE = "180s"
"""How long Cloud Scheduler waits for ``jobs.run`` to answer; it answers at once with a
long-running operation (the execution runs on without it). Cloud Scheduler's own default,
written out: the provider suppresses only an empty or default value."""
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
"""The OAuth scope of a schedule's token (the Run Admin API's), written out as the API returns
it: the provider suppresses an empty scope only while the API answers with this default."""
SCHEDULER_API = "cloudscheduler"
DISPLAY_NAME = 100
"""iam.v1.json, ServiceAccount.displayName: "The maximum length is 100 UTF-8 bytes" (Berth's
names are ASCII)."""
DESCRIPTION = 500
"""cloudscheduler.v1.json, Job.description: "must not contain more than 500 characters"."""


def scheduler_apis(project: ComposeProject) -> tuple[str, ...]:
    """Cloud Scheduler's API, when a job of ``jobs:`` has a schedule: enabled with the others
    (a project with none enables nothing new)."""
    scheduled = any(job.triggers and job.triggers.schedules for job in project.triggered.values())
    return (SCHEDULER_API,) if scheduled else ()


def unhonoured(name: str, schedules: Sequence[Schedule]) -> str | None:
    """The one warning for what job ``name``'s schedules ask that Cloud Scheduler cannot do;
    None when they ask nothing of the kind. Cloud Scheduler starts a run whenever one is due
    (its ``jobs.run`` answers at once, whether the last execution has finished or not), and a
    due time whose run could not be started is not run later."""
    concurrency = sorted({schedule.concurrency for schedule in schedules})
    problems = []
    if concurrency:
        effect = "a run that outlasts the interval overlaps the next" + (
            ", neither skipped nor queued" if Concurrency.QUEUE in concurrency else ""
        )
        values = " or ".join(str(value) for value in concurrency)
        problems.append(f"concurrency {values} cannot be enforced by Cloud Scheduler: {effect}")
    if any(schedule.missed_fires is MissedFires.ONE for schedule in schedules):
        problems.append(
            "missed_fires one cannot be honoured: Cloud Scheduler does not run later a time "
            "whose run could not be started"
        )
    return f"job '{name}': {'; '.join(problems)}" if problems else None


def create_schedules(
    shared: Shared,
    name: str,
    job: gcp.cloudrunv2.Job,
    full_name: pulumi.Input[str],
    schedules: Sequence[Schedule],
    *,
    after: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> dict[str, pulumi.Resource]:
    """The resources of each of job ``name``'s ``schedules``, by role (``schedule_<i>``,
    ``schedule_account_<i>``, ``schedule_invoker_<i>``); ``job`` is its Cloud Run job, named
    ``full_name`` (``projects/P/locations/R/jobs/J``), and none fires before ``after`` exists.
    Each is in ``gcpSchedulerRegion`` (the stack's region by default): Cloud Scheduler is not in
    every Cloud Run region, and the URL it calls names the job's own. Never retried: a retried
    ``jobs.run`` whose first try started an execution would start a second one."""
    resources: dict[str, pulumi.Resource] = {}
    for index, schedule in enumerate(schedules):
        label = f"schedule-{index}"
        account = gcp.serviceaccount.Account(
            shared.names(name, label, "account"),
            account_id=schedule_account_id(shared.prefix, name, index),
            project=shared.gcp_project,
            display_name=(
                f"Berth {shared.project.name} ({pulumi.get_stack()}): {name}, "
                f"triggers.schedule[{index}]"
            )[:DISPLAY_NAME],
            opts=shared.after_api("iam", parent),
        )
        invoker = gcp.cloudrunv2.JobIamMember(
            shared.names(name, label, "invoker"),
            name=job.name,
            location=shared.region,
            project=shared.gcp_project,
            role=JOB_INVOKER,
            member=account.member,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        resources[f"schedule_{index}"] = gcp.cloudscheduler.Job(
            shared.names(name, label),
            name=cloud_name(shared.prefix, name, label),
            project=shared.gcp_project,
            region=shared.options.scheduler_region or shared.region,
            description=f"Berth {shared.prefix}: job {name}, triggers.schedule[{index}]"[
                :DESCRIPTION
            ],
            schedule=schedule.cron,
            time_zone=schedule.timezone or UTC,
            attempt_deadline=ATTEMPT_DEADLINE,
            retry_config={"retry_count": 0},
            http_target={
                "uri": pulumi.Output.concat(RUN_API, "/", full_name, ":run"),
                "http_method": "POST",
                "oauth_token": {"service_account_email": account.email, "scope": CLOUD_PLATFORM},
            },
            opts=shared.after_api(SCHEDULER_API, parent, *after, invoker),
        )
        resources[f"schedule_account_{index}"] = account
        resources[f"schedule_invoker_{index}"] = invoker
    return resources
