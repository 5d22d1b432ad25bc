"""The image build step every target shares: a service's ``build:`` built as Compose builds it.

Targets differ only in where the image goes (the local engine, ECR, Artifact Registry, DOCR)
and for which platform; the build itself (context, Dockerfile, args, target stage) is one rule.

And the pin a stateful workload needs: the digest a pulled tag had when the workload was first
deployed, kept until the compose file names another image (``PinnedDigest``).
"""

from __future__ import annotations

import os
from typing import Any

import pulumi
import pulumi_docker as docker
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider

from berth.model import Build


def build_image(
    name: str,
    build: Build,
    *,
    image_name: pulumi.Input[str],
    platform: str | None,
    registry: docker.RegistryArgs | None,
    opts: pulumi.ResourceOptions,
) -> docker.Image:
    """The image of ``build``, tagged ``image_name`` and pushed to ``registry`` (None: kept in
    the local engine). Its ``repo_digest`` changes exactly when the image does, which re-runs
    the jobs that use it."""
    return docker.Image(
        name,
        image_name=image_name,
        build=docker.DockerBuildArgs(
            context=build.context,
            dockerfile=os.path.join(build.context, build.dockerfile),
            args=build.args or None,
            target=build.target,
            platform=platform,
        ),
        registry=registry,
        skip_push=True if registry is None else None,
        opts=opts,
    )


class PinnedDigestProvider(ResourceProvider):
    """Keeps the digest it was created with: only a new ``image`` (the compose reference)
    replaces it, and so takes the tag's digest of the day. When only the registry's
    ``digest`` moved, the diff is empty, and the engine keeps the old outputs (its
    ``SameStep`` retains them), the old digest included."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props["image"], outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        moved = olds.get("image") != news.get("image")
        return DiffResult(changes=moved, replaces=["image"] if moved else [])


class PinnedDigest(Resource, module="berth", name="PinnedDigest"):
    """The digest ``image`` had when first deployed: a moving upstream tag
    (``postgres:latest``) does not replace what runs it, a new ``image:`` in compose does."""

    digest: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        image: str,
        digest: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(PinnedDigestProvider(), name, {"image": image, "digest": digest}, opts)
