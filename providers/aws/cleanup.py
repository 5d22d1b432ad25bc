"""What ``pulumi destroy`` would leave behind on AWS without help, or fail at:

- the repositories ECR makes by itself the first time a task pulls through the stack's
  pull-through cache rule (the init container's busybox). No resource of the stack owns them,
  so no provider deletes them; ``CachedRepositories`` does, when it is deleted, just before
  the rule itself.
- the tasks of a job of ``jobs:`` still running (a scheduled run, a ``berth run``): the
  cluster cannot be deleted while they run (``ClusterContainsTasksException``, which the aws
  provider waits out for ten minutes, then fails). ``TriggeredRuns`` stops them when it is
  deleted, after the job's schedules and before the cluster, as a run-once job's resource
  stops its own runs.

Pulumi dynamic providers, pickled by reference: this module imports cleanly with no side
effects; AWS clients are made in ``delete`` with the identity of the program's aws provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pulumi
from botocore.exceptions import BotoCoreError, ClientError
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from berth.components.pulumi_internals import changed_inputs

STOP_REASON = "berth: the job was deleted"
DESCRIBE_LIMIT = 100
"""DescribeTasks takes at most 100 tasks."""


def delete_cached_repositories(ecr: Any, prefix: str) -> list[str]:
    """Delete, images and all, every repository under ``<prefix>/``; the names deleted."""
    deleted = []
    for page in ecr.get_paginator("describe_repositories").paginate():
        for repository in page["repositories"]:
            name = repository["repositoryName"]
            if name.startswith(f"{prefix}/"):
                ecr.delete_repository(repositoryName=name, force=True)
                deleted.append(name)
    return deleted


def stop_family_tasks(ecs: Any, cluster: str, family: str) -> list[str]:
    """Stop every task of the task definition ``family`` still running on ``cluster``,
    however it was started, and wait until each has stopped (ECS stops a task within its
    stop timeout, at most 2 minutes); the tasks stopped. A cluster already gone has none."""
    try:
        pages = ecs.get_paginator("list_tasks").paginate(cluster=cluster, family=family)
        running = [arn for page in pages for arn in page["taskArns"]]
        for arn in running:
            ecs.stop_task(cluster=cluster, task=arn, reason=STOP_REASON)
        for start in range(0, len(running), DESCRIBE_LIMIT):
            batch = running[start : start + DESCRIBE_LIMIT]
            ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=batch)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ClusterNotFoundException":
            return []
        raise
    return running


class _DeletedOnly(ResourceProvider):
    """Creates nothing, and its inputs change nothing: only its ``delete`` acts."""

    id_key: ClassVar[str]

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props[self.id_key], outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=bool(changed_inputs(olds, news)), replaces=[])

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=news)


class CachedRepositoriesProvider(_DeletedOnly):
    """Deletes the repositories the cache rule filled."""

    id_key = "prefix"

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from berth.providers.aws.session import aws_clients  # noqa: PLC0415 - boto3 only here

        (ecr,) = aws_clients(props.get("identity") or {}, props["region"], ("ecr",))
        delete_cached_repositories(ecr, props["prefix"])


class CachedRepositories(Resource, module="berth", name="CachedRepositories"):
    """The repositories under the stack's pull-through cache prefix, deleted with the stack."""

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(CachedRepositoriesProvider(), name, dict(props), opts)


class TriggeredRunsProvider(_DeletedOnly):
    """Stops the runs of a job of ``jobs:`` still going: the job leaves the stack (or the
    stack is destroyed), and no run of it may go on."""

    id_key = "family"

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from berth.providers.aws.session import aws_clients  # noqa: PLC0415 - boto3 only here

        (ecs,) = aws_clients(props.get("identity") or {}, props["region"], ("ecs",))
        try:
            stop_family_tasks(ecs, props["cluster"], props["family"])
        except (BotoCoreError, ClientError) as error:
            raise RuntimeError(
                f"job '{props['job']}': its running tasks could not be stopped ({error}); "
                "stop them in the ECS console, then run pulumi again"
            ) from None


class TriggeredRuns(Resource, module="berth", name="TriggeredRuns"):
    """The running tasks of a job of ``jobs:`` (``job``, its task definition ``family``, the
    ``cluster``, ``region`` and ``identity``), stopped when it is deleted."""

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TriggeredRunsProvider(), name, dict(props), opts)
