"""Images: the project's Artifact Registry repository, the images Berth builds and pushes to
it, and pulled images by digest, through a remote repository when Cloud Run cannot pull from
their registry (see ``images`` for how a reference is read)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_docker as docker
import pulumi_gcp as gcp

from berth.components.images import PinnedDigest, build_image
from berth.model import Service
from berth.providers.gcp.images import ImageRef
from berth.providers.gcp.names import cloud_name
from berth.providers.gcp.shared import Shared


class Registry:
    """The project's repository, created with it; remote repositories and the registry
    lookup provider, created when an image first needs them."""

    def __init__(self, shared: Shared, token: pulumi.Output[str]) -> None:
        self.shared = shared
        self.token = token
        """The gcp provider's access token, as a secret: docker pushes with it."""
        self.host = f"{shared.region}-docker.pkg.dev"
        self.lookup: docker.Provider | None = None
        self.remotes: dict[str, gcp.artifactregistry.Repository] = {}
        self.images: dict[str, docker.Image] = {}
        """The images Berth built, by service or job name."""
        project = shared.project.name
        self.repository = gcp.artifactregistry.Repository(
            shared.names("registry"),
            repository_id=shared.prefix,
            location=shared.region,
            project=shared.gcp_project,
            format="DOCKER",
            description=f"Images of the compose project {project} ({pulumi.get_stack()})",
            **self._cleanup(),
            opts=shared.after_api("artifactregistry", shared.root),
        )

    def image(
        self, service: Service, parent: pulumi.Resource, *, cloud_run: bool
    ) -> pulumi.Input[str]:
        """A built image by the digest it was pushed with; a pulled one by the digest its tag
        has now, from its registry or, on Cloud Run, through a remote repository. A VM keeps
        the digest it was first deployed with until compose names another image: a moving
        upstream tag (``postgres:latest``) must not replace the VM of a database."""
        if not service.build:
            ref = ImageRef.parse(str(service.image))
            if cloud_run or ref.digest:
                return self._pulled(ref, cloud_run=cloud_run)
            pin = PinnedDigest(
                self.shared.names(service.name, "pinned-image"),
                str(service.image),
                self._digest(ref),
                pulumi.ResourceOptions(parent=parent),
            )
            return pulumi.Output.concat(ref.repository, "@", pin.digest)
        shared = self.shared
        image = build_image(
            shared.names(service.name, "image"),
            service.build,
            image_name=f"{self.host}/{shared.gcp_project}/{shared.prefix}/"
            f"{cloud_name(service.name)}:latest",
            platform="linux/amd64",
            registry=docker.RegistryArgs(
                server=self.host, username="oauth2accesstoken", password=self.token
            ),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[self.repository]),
        )
        self.images[service.name] = image
        return image.repo_digest

    def _digest(self, ref: ImageRef) -> pulumi.Input[str]:
        """The digest ``ref`` names, or the one its tag has in its registry now."""
        return (
            ref.digest
            or docker.get_registry_image_output(
                name=ref.lookup,
                opts=pulumi.InvokeOutputOptions(
                    parent=self.shared.root, provider=self._registry_lookup()
                ),
            ).sha256_digest
        )

    def _pulled(self, ref: ImageRef, *, cloud_run: bool) -> pulumi.Input[str]:
        digest = self._digest(ref)
        if ref.served_directly or not cloud_run:
            return pulumi.Output.concat(ref.repository, "@", digest)
        remote = self._remote(ref)
        return pulumi.Output.concat(
            self.host,
            "/",
            self.shared.gcp_project,
            "/",
            remote.repository_id,
            f"/{ref.path}@",
            digest,
        )

    def _cleanup(self) -> dict[str, Any]:
        """Cleanup policies keeping the newest ``gcpRegistryKeepVersions`` versions of each
        image (KEEP wins over DELETE in Artifact Registry), applied for real, not as a dry
        run."""
        return {
            "cleanup_policy_dry_run": False,
            "cleanup_policies": [
                {"id": "delete-older", "action": "DELETE", "condition": {"tag_state": "ANY"}},
                {
                    "id": "keep-newest",
                    "action": "KEEP",
                    "most_recent_versions": {
                        "keep_count": self.shared.options.registry_keep_versions
                    },
                },
            ],
        }

    def _registry_lookup(self) -> docker.Provider:
        """The docker provider that reads digests from registries: no Docker engine needed."""
        if self.lookup is None:
            self.lookup = docker.Provider(
                self.shared.names("registry-lookup"),
                disable_docker_daemon_check=True,
                opts=self.shared.at_root("registry-lookup"),
            )
        return self.lookup

    def _remote(self, ref: ImageRef) -> gcp.artifactregistry.Repository:
        """The Artifact Registry remote repository that serves ``ref``'s registry to Cloud
        Run: one per registry, caching what it pulled."""
        shared = self.shared
        if ref.registry not in self.remotes:
            self.remotes[ref.registry] = gcp.artifactregistry.Repository(
                shared.names(cloud_name(ref.registry)),
                repository_id=cloud_name(shared.prefix, ref.registry),
                location=shared.region,
                project=shared.gcp_project,
                format="DOCKER",
                mode="REMOTE_REPOSITORY",
                description=f"{ref.registry} images of {shared.project.name} "
                f"({pulumi.get_stack()})",
                remote_repository_config={
                    "description": ref.registry,
                    "common_repository": {"uri": ref.upstream},
                },
                **self._cleanup(),
                opts=shared.after_api("artifactregistry", shared.root),
            )
        return self.remotes[ref.registry]
