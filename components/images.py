"""The image build step every target shares: a service's ``build:`` built as Compose builds it.

Targets differ only in where the image goes (the local engine, ECR, Artifact Registry, DOCR)
and for which platform; the build itself (context, Dockerfile, args, target stage) is one rule.
"""

from __future__ import annotations

import os

import pulumi
import pulumi_docker as docker

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
