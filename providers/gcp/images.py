"""Where a pulled image (``image:`` without ``build:``) comes from, and where Cloud Run gets it.

Cloud Run pulls only from Artifact Registry and Docker Hub (and Container Registry's gcr.io,
now served by Artifact Registry). An image of any other registry (quay.io, ghcr.io, a vendor's
own) is served through an Artifact Registry *remote repository* in the project, one per
upstream registry, that fetches and caches it on first pull. VMs pull from the upstream itself.

Every pulled image is deployed by digest (resolved at deployment time), so what runs is exactly
what was resolved, a VM's reboot pulls the same image, and a job runs again when its image's
digest changes, not when only its tag does. Pulumi-free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docker.auth import resolve_repository_name
from docker.errors import InvalidRepository

PLATFORM = "linux/amd64"
"""What Cloud Run and the VMs run: every image is built for it (and any other it lists)."""
DOCKER_HUB = "docker.io"
SERVED_DIRECTLY = re.compile(r"(docker\.io|(.+\.)?gcr\.io|(.+-)?docker\.pkg\.dev)")
"""Registries Cloud Run pulls from itself."""
UNREACHABLE = re.compile(r"(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?")
"""Registries Google Cloud cannot reach: the deploying machine's own."""
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class BadImage(ValueError):
    """An image reference Berth cannot deploy on gcp; the message says why."""


@dataclass(frozen=True)
class ImageRef:
    """``quay.io/prometheus/prometheus:v2.53.0``: registry, path, tag, digest."""

    registry: str
    path: str
    tag: str = "latest"
    digest: str | None = None

    @classmethod
    def parse(cls, image: str) -> ImageRef:
        name, _, digest = image.partition("@")
        repository, tag = name, "latest"
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            repository, tag = name[: -len(last)] + last.split(":", 1)[0], last.split(":", 1)[1]
        try:
            registry, path = resolve_repository_name(repository)
        except InvalidRepository as error:
            raise BadImage(str(error)) from None
        if registry == DOCKER_HUB and "/" not in path:
            path = f"library/{path}"
        if digest and not DIGEST.fullmatch(digest):
            raise BadImage(f"{digest!r} is not a sha256 digest")
        return cls(registry, path, tag, digest or None)

    @property
    def repository(self) -> str:
        """Registry and path: ``docker.io/library/postgres``."""
        return f"{self.registry}/{self.path}"

    @property
    def lookup(self) -> str:
        """The name to resolve the tag's digest with (Docker Hub's without its host, as the
        docker provider's registry lookup expects it)."""
        name = self.path if self.registry == DOCKER_HUB else self.repository
        return f"{name}:{self.tag}"

    @property
    def served_directly(self) -> bool:
        """Whether Cloud Run pulls it from its registry itself (else: a remote repository)."""
        return SERVED_DIRECTLY.fullmatch(self.registry) is not None

    @property
    def unreachable(self) -> bool:
        return UNREACHABLE.fullmatch(self.registry) is not None

    @property
    def upstream(self) -> str:
        """The remote repository's upstream URI."""
        return f"https://{self.registry}"
