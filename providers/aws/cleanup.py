"""What ``pulumi destroy`` would leave behind on AWS without help: the repositories ECR makes
by itself the first time a task pulls through the stack's pull-through cache rule (the init
container's busybox). No resource of the stack owns them, so no provider deletes them; this
one does, when it is deleted, just before the rule itself.

A Pulumi dynamic provider, pickled by reference: this module imports cleanly with no side
effects; AWS clients are made in ``delete`` with the identity of the program's aws provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from berth.components.pulumi_internals import changed_inputs


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


class CachedRepositoriesProvider(ResourceProvider):
    """Creates nothing; deletes the repositories the cache rule filled."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props["prefix"], outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=bool(changed_inputs(olds, news)), replaces=[])

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=news)

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
