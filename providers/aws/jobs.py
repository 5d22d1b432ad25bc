"""A job's ECS task, however it is started: once during ``pulumi up`` by its run-once resource
(``EcsJob``; ``pre_start`` hooks included), or, for a job of ``jobs:``, by ``berth run`` and
its EventBridge Scheduler schedules. All of them start the task the same way (``_task_run``).

Everything every job of the project shares is in ``JobSettings``, which the target builds once.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from berth.components.run_once import hook_inputs, job_secrets
from berth.components.target import JobHandle, TriggeredHandle
from berth.model import Service
from berth.names import shortened
from berth.providers.aws.account import Account
from berth.providers.aws.cleanup import TriggeredRuns
from berth.providers.aws.containers import ecs_name
from berth.providers.aws.images import Made
from berth.providers.aws.names import TAG_VALUE
from berth.providers.aws.network import Network
from berth.providers.aws.run_once import EcsJob
from berth.providers.aws.schedules import ScheduleSettings, create_schedules, unhonoured
from berth.providers.aws.tasks import Task, TaskShared, create_task

STARTED_BY_LIMIT = 128
"""RunTask's startedBy: at most 128 letters, digits, hyphens, underscores and slashes."""


@dataclass(frozen=True)
class JobSettings:
    """What every job of the project shares: its tasks' settings, where they run, as whom."""

    tasks: TaskShared
    schedules: ScheduleSettings
    account: Account
    cluster_arn: pulumi.Input[str]
    network: Network
    security_group: aws.ec2.SecurityGroup
    """The security group of the project's tasks."""
    assign_public_ip: bool


def create_job(
    settings: JobSettings,
    job: Service,
    after: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
    served: Made | None = None,
) -> JobHandle:
    """The job's task definition and its run-once resource, which runs it once after
    ``after``; a ``pre_start`` hook's also records the service it runs before, and ``served``,
    that service's image: the hook runs it unless it names an image of its own, and its
    digest (``serviceImage``) runs every hook of the service again when it changes, as Compose
    recreates a service on a new image and then runs all its hooks."""
    shared = served if served and job.hook and job.hook.shares_image else None
    task = create_task(settings.tasks, job, parent, shared)
    hook = hook_inputs(job)
    definition: dict[str, object] = {
        "containers": task.containers,
        "cpu": task.cpu,
        "memory": task.memory,
        "volumes": task.volumes,
        "secrets": task.secrets,
    }
    if hook:
        definition["serviceDefinition"] = hook["serviceDefinition"]
        if served:
            definition["serviceImage"] = served[0]
    run = EcsJob(
        settings.tasks.names(job.name, "run"),
        {
            "job": job.name,
            "definition": definition,
            "runAlways": job.run_always,
            "timeout": job.timeout,
            **_task_run(settings, job, task),
            **_only(hook, "hook"),
        },
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[*after, *task.waits, *settings.network.ready],
            additional_secret_outputs=["identity"],
        ),
        secrets=job_secrets(job, settings.tasks.secret_values),
    )
    return dataclasses.replace(run.handle(), resources={"run": run, **task.resources})


def create_triggered(
    settings: JobSettings, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
) -> TriggeredHandle:
    """The job's task definition, as a run-once job's, and a schedule per
    ``triggers.schedule`` entry, none made before ``after``; ``berth run`` starts the task
    as the run-once resource does, from ``run_with``. Its runs still going when it leaves
    the stack are stopped (``TriggeredRuns``), once its schedules are gone."""
    if warning := unhonoured(job):
        pulumi.log.warn(warning)
    task = create_task(settings.tasks, job, parent)
    run = _task_run(settings, job, task)
    runs = TriggeredRuns(
        settings.tasks.names(job.name, "runs"),
        {
            "job": job.name,
            "family": task.definition.family,
            "cluster": settings.cluster_arn,
            "region": settings.account.region,
            "identity": settings.account.identity,
        },
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[settings.security_group, *settings.network.ready],
            additional_secret_outputs=["identity"],
        ),
    )
    schedules = create_schedules(
        settings.schedules,
        job,
        run,
        definition=task.definition,
        task_role=settings.tasks.roles.tasks[job.name],
        depends_on=[*after, *task.waits, *settings.network.ready, runs],
        parent=parent,
    )
    manual = job.triggers.manual if job.triggers else True
    # "target" names the module ``berth run`` loads: this package, ``berth.providers.aws``.
    run_with = {"target": "aws", "manual": manual, "job": job.name, **run}
    resources = {"definition": task.definition, **task.resources, "runs": runs, **schedules}
    del resources["task_definition"]  # the definition's role here is "definition"
    return TriggeredHandle(run_with=run_with, resources=resources)


def _task_run(settings: JobSettings, job: Service, task: Task) -> dict[str, pulumi.Input[object]]:
    """How ``job``'s task is run, by its run-once resource, ``berth run`` and its schedules
    alike: where, on which network, tagged how, its log where, as whom (``identity``: the
    program's aws provider's, a secret)."""
    prefix = settings.tasks.prefix
    return {
        "region": settings.account.region,
        "identity": settings.account.identity,
        "startedBy": _started_by(prefix, job),
        "tags": {"berth:stack": prefix, "berth:job": shortened(job.name, TAG_VALUE)},
        "cluster": settings.cluster_arn,
        "taskDefinition": task.definition.arn,
        "container": task.container,
        "subnets": settings.network.subnet_ids,
        "securityGroups": [settings.security_group.id],
        "assignPublicIp": settings.assign_public_ip,
        "logGroup": settings.tasks.logs.name,
        "logStreamPrefix": task.container,
    }


def _started_by(prefix: str, job: Service) -> str:
    """The tag every run of ``job`` in the stack ``prefix`` names starts with: how a leftover
    is found."""
    tag = f"berth/{prefix}/{ecs_name(job.name)}"
    if len(tag) <= STARTED_BY_LIMIT:
        return tag
    return f"berth/{hashlib.sha256(tag.encode()).hexdigest()[:40]}"


def _only(values: Mapping[str, object], key: str) -> dict[str, object]:
    """``{key: values[key]}``, or nothing when ``values`` lacks it: a job that is no hook keeps
    exactly the inputs it had."""
    return {key: values[key]} if key in values else {}
