"""Images, always deployed by digest: ``build:`` built and pushed to the service's ECR
repository, ``image:`` resolved to the digest its tag points at now, and the init container's
busybox served from the account's own registry through an ECR pull-through cache of ECR Public.

A digest makes a task definition, and a job's definition, change exactly when the image does:
a tag that moves to a new image rolls the services and re-runs the job; a new tag for the same
image changes nothing. Digests are resolved by provider functions, which ``pulumi preview``
runs too, so a preview shows the change.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker
import pulumi_docker_build as docker_build

from berth.components.images import CACHE_TAG, build_image, build_platforms, pushed_reference
from berth.components.names import Names
from berth.model import Build, Service
from berth.names import cloud_slug, shortened
from berth.providers.aws.account import Account
from berth.providers.aws.cleanup import CachedRepositories
from berth.providers.aws.names import ECR_REPOSITORY

DEFAULT_PLATFORM = "linux/amd64"
"""Fargate's default architecture: images are built for it unless compose names a platform."""
RUNTIME_PLATFORMS = {"linux/amd64": "X86_64", "linux/arm64": "ARM64", "linux/arm64/v8": "ARM64"}
"""The platforms Fargate runs, with their CPU architecture."""


def runs_on(service: Service) -> str:
    """The platform Fargate runs ``service`` on: its own when Fargate has it, else the
    default (a warning says so, ``tasks._architecture``)."""
    platform = service.platform or DEFAULT_PLATFORM
    if platform not in RUNTIME_PLATFORMS:
        return DEFAULT_PLATFORM
    return "linux/arm64" if RUNTIME_PLATFORMS[platform] == "ARM64" else platform


ECR_PUBLIC = "public.ecr.aws"
INIT_REPOSITORY = "docker/library/busybox"
INIT_TAG = "1.37"
"""The init container's image: Docker's official busybox, as ECR Public serves it."""
_ECR_HOST = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
)


Made = tuple[pulumi.Input[str], dict[str, pulumi.Resource]]
"""An image by digest reference, and, if built, its ``repository`` and ``image`` by role."""


def cache_prefix(prefix: str) -> str:
    """The stack's pull-through cache prefix: unique per stack, and within ECR's 30 characters."""
    return f"berth-{hashlib.sha256(prefix.encode()).hexdigest()[:12]}"


class Images:
    """Where the project's images come from."""

    def __init__(
        self,
        names: Names,
        *,
        prefix: str,
        account: Account,
        keep_images: int,
        build_cache: bool,
        parent: pulumi.Resource,
    ) -> None:
        self.names = names
        self.prefix = prefix
        self.account = account
        self.keep_images = keep_images
        self.build_cache = build_cache
        self.parent = parent
        self.cache_prefix = cache_prefix(prefix)
        self.cache_rule = aws.ecr.PullThroughCacheRule(
            names("ecr-public"),
            ecr_repository_prefix=self.cache_prefix,
            upstream_registry_url=ECR_PUBLIC,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        self.cached = CachedRepositories(
            names("ecr-public", "repositories"),
            {"prefix": self.cache_prefix, "region": account.region, "identity": account.identity},
            opts=pulumi.ResourceOptions(
                parent=parent,
                depends_on=[self.cache_rule],
                additional_secret_outputs=["identity"],
            ),
        )
        """Deleted before the rule: the repositories the rule filled go with the stack."""
        self.init_image = pulumi.Output.concat(
            account.registry, f"/{self.cache_prefix}/{INIT_REPOSITORY}:{INIT_TAG}"
        )
        """Pulled from the account's own registry, so a private VPC with ECR endpoints (no
        route to ECR Public) starts its tasks too."""
        self.services: dict[str, Made] = {}
        """Each service's image by compose name, made once for the service and its
        ``pre_start`` hooks: one repository, one build and push, one digest for all of them."""

    def service_image(
        self, service: Service, parent: pulumi.Resource, aliases: Sequence[pulumi.Alias] = ()
    ) -> Made:
        """``service``'s image, made under ``parent`` (with ``aliases``) the first time it is
        asked for, by its first hook or by the service itself, and the same one after."""
        if service.name not in self.services:
            self.services[service.name] = self.image(service, parent, aliases)
        return self.services[service.name]

    def image(
        self, service: Service, parent: pulumi.Resource, aliases: Sequence[pulumi.Alias] = ()
    ) -> Made:
        """The service's image by digest; if built, its ``repository`` and ``image`` (the
        build) by role, with ``aliases``."""
        if service.build:
            return self._built(service, service.build, parent, aliases)
        return self.resolved(str(service.image)), {}

    def resolved(self, image: str) -> pulumi.Input[str]:
        """``image`` pinned to the digest its tag names now (an image given by digest as is);
        an ECR image is looked up in its own registry's region, which need not be the stack's."""
        from docker.utils import parse_repository_tag  # noqa: PLC0415 - the SDK only when used

        repository, tag = parse_repository_tag(image)
        if tag and tag.startswith("sha256:"):
            return image
        invoke = pulumi.InvokeOptions(parent=self.parent)
        ecr = ecr_repository(image)
        if ecr:
            digest = aws.ecr.get_image_output(
                registry_id=ecr.account,
                repository_name=ecr.name,
                image_tag=tag or "latest",
                region=ecr.region,
                opts=invoke,
            ).image_digest
        else:
            digest = docker.get_registry_image_output(
                name=f"{repository}:{tag or 'latest'}", opts=invoke
            ).sha256_digest
        return pulumi.Output.concat(repository, "@", digest)

    def _built(
        self,
        service: Service,
        build: Build,
        parent: pulumi.Resource,
        aliases: Sequence[pulumi.Alias],
    ) -> Made:
        """Built, pushed to the service's repository, and referenced by digest, so that a new
        build (and only a new build) rolls it out."""
        opts = pulumi.ResourceOptions(parent=parent, aliases=list(aliases) or None)
        repository = aws.ecr.Repository(
            self.names(service.name, "repo"),
            name=shortened(f"{self.prefix}/{cloud_slug(service.name)}", ECR_REPOSITORY),
            force_delete=True,
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True
            ),
            opts=opts,
        )
        aws.ecr.LifecyclePolicy(
            self.names(service.name, "repo"),
            repository=repository.name,
            policy=json.dumps(keep_last(self.keep_images)),
            opts=opts,
        )
        token = aws.ecr.get_authorization_token_output(
            registry_id=repository.registry_id, opts=pulumi.InvokeOptions(parent=parent)
        )
        made: dict[str, pulumi.Resource] = {"repository": repository}
        cache = None
        if self.build_cache:
            made["cache_repository"] = self._cache_repository(service, opts)
            cache = pulumi.Output.concat(made["cache_repository"].repository_url, f":{CACHE_TAG}")
        image = build_image(
            self.names(service.name, "image"),
            build,
            image_name=pulumi.Output.concat(repository.repository_url, ":latest"),
            platforms=build_platforms(build, runs_on(service)),
            registry=docker_build.RegistryArgs(
                address=repository.repository_url,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            cache=cache,
            opts=opts,
        )
        return pushed_reference(repository.repository_url, image), {**made, "image": image}

    def _cache_repository(
        self, service: Service, opts: pulumi.ResourceOptions
    ) -> aws.ecr.Repository:
        """The repository of the service's layer cache, apart from its images: the cache
        manifests would count among the images ``awsEcrKeepImages`` keeps, and could expire
        the one deployed. It keeps the newest two (the one a build writes, the one it read)."""
        repository = aws.ecr.Repository(
            self.names(service.name, "buildcache"),
            name=shortened(f"{self.prefix}/buildcache/{cloud_slug(service.name)}", ECR_REPOSITORY),
            force_delete=True,
            opts=opts,
        )
        aws.ecr.LifecyclePolicy(
            self.names(service.name, "buildcache"),
            repository=repository.name,
            policy=json.dumps(keep_last(2)),
            opts=opts,
        )
        return repository


@dataclass(frozen=True)
class EcrRepository:
    """A private ECR repository an ``image:`` names: the execution role must be allowed to
    pull from it, as it is from the stack's own repositories."""

    account: str
    region: str
    name: str

    def arn(self, partition: pulumi.Input[str]) -> pulumi.Output[str]:
        return pulumi.Output.concat(
            "arn:", partition, f":ecr:{self.region}:{self.account}:repository/{self.name}"
        )


def ecr_repository(image: str) -> EcrRepository | None:
    """The ECR repository ``image`` is in (``<account>.dkr.ecr.<region>.amazonaws.com/<name>``),
    or None for any other registry."""
    from docker.utils import parse_repository_tag  # noqa: PLC0415 - the SDK only when used

    repository, _ = parse_repository_tag(image)
    host, _, name = repository.partition("/")
    found = _ECR_HOST.fullmatch(host)
    return EcrRepository(found["account"], found["region"], name) if found and name else None


def keep_last(count: int) -> dict[str, Any]:
    """An ECR lifecycle policy that keeps the newest ``count`` images."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"keep the last {count} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": count,
                },
                "action": {"type": "expire"},
            }
        ]
    }
