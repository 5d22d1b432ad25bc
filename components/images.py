"""The image build step every target shares: a service's ``build:`` built as ``docker compose
build`` builds it, with BuildKit (pulumi-docker-build), and cached next to the target's images.

Targets differ only in where the image goes (the local engine, ECR, Artifact Registry, DOCR),
for which platforms, and where its layer cache lives; the build itself (context, Dockerfile or
inline one, args, target, named contexts, secrets, SSH, hosts, network, labels, cache) is one
rule. Builds run on the machine that deploys, never during a preview (``buildOnPreview``
false, as pulumi-docker did): a preview stays quick and a job's re-run shows as "may".

And the pin a stateful workload needs: the digest a pulled tag had when the workload was first
deployed, kept until the compose file names another image (``PinnedDigest``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_docker_build as docker_build
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider

from berth.errors import BerthError
from berth.model import Build, ComposeProject, Service
from berth.sources import Sources

BUILD_PLATFORMS = frozenset(platform.value for platform in docker_build.Platform)
"""The platforms pulumi-docker-build's SDK has a value for (it fails on any other it reads
back, ``wasi/wasm`` say)."""
_SAME_PLATFORM = {"linux/arm64/v8": "linux/arm64"}
"""Names Compose takes for a platform the builder names otherwise (arm64 has no variant but v8)."""


def buildable(platform: str | None) -> str | None:
    """``platform`` as the builder names it, or None when it cannot build for it."""
    named = _SAME_PLATFORM.get(platform or "", platform)
    return named if named in BUILD_PLATFORMS else None


CACHE_TAG = "buildcache"
"""The tag of a target's registry cache, beside the image in its repository."""


def build_image(
    name: str,
    build: Build,
    *,
    image_name: pulumi.Input[str],
    platforms: Sequence[str],
    registry: docker_build.RegistryArgs | None,
    cache: pulumi.Input[str] | None,
    cache_mode: docker_build.CacheMode = docker_build.CacheMode.MAX,
    opts: pulumi.ResourceOptions,
) -> docker_build.Image:
    """The image of ``build`` for ``platforms``, tagged ``image_name`` and pushed to
    ``registry`` (None: loaded into the local engine, with the build's own ``tags`` too).
    ``cache``: the registry reference of the target's layer cache (None: the builder's own
    only); the compose file's ``cache_from`` / ``cache_to`` replace it. Its ``digest`` changes
    exactly when the image does, which re-runs the jobs that use it; a rebuild that the cache
    makes identical keeps it, and runs nothing."""
    pushed = registry is not None
    cache_from, cache_to = _cache(build, cache, cache_mode)
    return docker_build.Image(
        name,
        tags=[image_name] if pushed else [image_name, *build.tags],
        context=docker_build.BuildContextArgs(
            location=build.context,
            named={
                key: docker_build.ContextArgs(location=location)
                for key, location in build.additional_contexts.items()
            }
            or None,
        ),
        dockerfile=_dockerfile(build),
        build_args=build.args or None,
        target=build.target,
        platforms=list(platforms) or None,
        labels=build.labels or None,
        add_hosts=list(build.extra_hosts) or None,
        network=docker_build.NetworkMode(build.network) if build.network else None,
        no_cache=build.no_cache or None,
        pull=build.pull or None,
        secrets={secret.id: pulumi.Output.secret(secret.value.value) for secret in build.secrets}
        or None,
        ssh=[
            docker_build.SSHArgs(id=key.id, paths=[key.path] if key.path else None)
            for key in build.ssh
        ]
        or None,
        cache_from=cache_from or None,
        cache_to=cache_to or None,
        push=pushed,
        load=None if pushed else True,
        registries=[registry] if registry else None,
        build_on_preview=False,
        opts=opts,
    )


def _dockerfile(build: Build) -> docker_build.DockerfileArgs | None:
    """The inline Dockerfile, or the file in a local context; a remote context's own (None),
    which the builder finds in it."""
    if build.dockerfile_inline is not None:
        return docker_build.DockerfileArgs(inline=build.dockerfile_inline)
    if build.remote:
        return None
    return docker_build.DockerfileArgs(location=os.path.join(build.context, build.dockerfile))


def _cache(
    build: Build, cache: pulumi.Input[str] | None, mode: docker_build.CacheMode
) -> tuple[list[docker_build.CacheFromArgs], list[docker_build.CacheToArgs]]:
    """Where the build reads and writes its layer cache: each way as the compose file says
    (``cache_from``, ``cache_to``), or else the target's registry cache (``image-manifest``: the
    form ECR, Artifact Registry and DOCR store). Writing the target's cache may fail (a full
    registry) without failing the build: the image is pushed already."""
    reads = [docker_build.CacheFromArgs(raw=entry) for entry in build.cache_from]
    writes = [docker_build.CacheToArgs(raw=entry) for entry in build.cache_to]
    if cache is not None and not reads:
        reads = [docker_build.CacheFromArgs(registry=docker_build.CacheFromRegistryArgs(ref=cache))]
    if cache is not None and not writes:
        registry = docker_build.CacheToRegistryArgs(
            ref=cache, mode=mode, image_manifest=True, oci_media_types=True, ignore_error=True
        )
        writes = [docker_build.CacheToArgs(registry=registry)]
    return reads, writes


def pushed_reference(
    repository: pulumi.Input[str], image: docker_build.Image
) -> pulumi.Output[str]:
    """``repository@digest``: what runs the image pushed there, changed by a new digest only."""
    return pulumi.Output.concat(repository, "@", image.digest)


def build_platforms(build: Build, runs: str) -> list[str]:
    """The platforms an image is built for where the target runs ``runs``: those
    ``build.platforms`` lists (one image index), else ``runs`` alone (checked by
    ``check_build_platforms``: each is buildable)."""
    return [buildable(platform) or platform for platform in build.platforms] or [runs]


def check_build_platforms(
    project: ComposeProject, runs: Callable[[Service], str], sources: Sources
) -> None:
    """Refuse a build (of a service or a job of ``jobs:``) whose ``platforms`` name one the
    builder cannot build for, or leave out the one the target runs it on (``runs``): nothing
    could run the image."""
    for service in [*project.services.values(), *project.triggered.values()]:
        if service.build is None or not service.build.platforms:
            continue
        if unknown := [p for p in service.build.platforms if buildable(p) is None]:
            raise BerthError(
                f"the builder cannot build for {', '.join(unknown)}",
                file=sources.origin(service.name, "build.platforms"),
                service=service.name,
                field="build.platforms",
                hint="name platforms as os/arch, e.g. linux/amd64 or linux/arm64",
            )
        if (platform := runs(service)) not in build_platforms(service.build, platform):
            raise BerthError(
                f"the image is built for {', '.join(service.build.platforms)} only, and the "
                f"target runs it on {platform}",
                file=sources.origin(service.name, "build.platforms"),
                service=service.name,
                field="build.platforms",
                hint=f"add {platform} to build.platforms, or remove build.platforms",
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
