"""Images: the project's Artifact Registry repository, the images Berth builds and pushes to
it, and pulled images by digest, through a remote repository when Cloud Run cannot pull from
their registry (see ``images`` for how a reference is read)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_docker as docker
import pulumi_docker_build as docker_build
import pulumi_gcp as gcp

from berth.components.images import (
    CACHE_TAG,
    PinnedDigest,
    build_image,
    build_platforms,
    pushed_reference,
)
from berth.model import Service
from berth.providers.gcp.images import PLATFORM, ImageRef
from berth.providers.gcp.names import cloud_name
from berth.providers.gcp.shared import Shared

SERVICE_COMPONENT = "berth:index:Service"
"""The type of a service's component (``berth.components.project.Service``), the Project's
child named ``names(service)``: where a service's image lies unless a hook made it."""


@dataclass(frozen=True)
class Made:
    """An image as deployed, made once for a service and its hooks: built (``ref`` None,
    ``digest`` the pushed image's full reference) or pulled (its reference, and the digest
    deployed: pinned for a VM, the tag's now on Cloud Run)."""

    ref: ImageRef | None
    digest: pulumi.Input[str]


@dataclass(frozen=True)
class HookImages:
    """What a ``pre_start`` hook's Cloud Run job runs, and its service's image as the service
    deploys it (in the hook's run-once definition: a new one runs every hook again)."""

    runs: pulumi.Input[str]
    service: pulumi.Input[str]


class Registry:
    """The project's repository, created with it; remote repositories and the registry
    lookup provider, created when an image first needs them."""

    def __init__(self, shared: Shared, token: pulumi.Output[str], *, build_cache: bool) -> None:
        self.shared = shared
        self.token = token
        self.build_cache = build_cache
        """Whether each built image keeps a layer cache beside it (tag ``buildcache``)."""
        """The gcp provider's access token, as a secret: docker pushes with it."""
        self.host = f"{shared.region}-docker.pkg.dev"
        self.lookup: docker.Provider | None = None
        self.remotes: dict[str, gcp.artifactregistry.Repository] = {}
        self.images: dict[str, docker_build.Image] = {}
        """The images Berth built, by service or job name."""
        self.made: dict[str, Made] = {}
        """Each workload's image, by service or job name: a service's is made once, by the
        service or by its first hook, and both run it (Compose runs a hook in the image its
        service runs: built once, never pulled apart)."""
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
        upstream tag (``postgres:latest``) must not replace the VM of a database. Made once
        per workload: a service whose hook made it reuses it."""
        made = self._made(service, pulumi.ResourceOptions(parent=parent), pin=not cloud_run)
        return self._reference(made, cloud_run=cloud_run)

    def hook_images(
        self, hook: Service, service: Service, parent: pulumi.Resource, *, service_on_vm: bool
    ) -> HookImages:
        """A ``pre_start`` hook's images: its service's (made here, under the hook's
        component, when the service has none yet: hooks deploy before their service) and the
        one it runs, its service's unless it names its own. The service's image made here is
        aliased to where the service would have made it, so that adding a hook to a deployed
        service neither builds its image again nor resolves a VM's pinned tag anew."""
        moved = self.shared.root.urn.apply(
            lambda urn: (
                f"{urn.rpartition('::')[0]}${SERVICE_COMPONENT}::{self.shared.names(service.name)}"
            )
        )
        opts = pulumi.ResourceOptions(parent=parent, aliases=[pulumi.Alias(parent=moved)])
        made = self._made(service, opts, pin=service_on_vm)
        shares = bool(hook.hook and hook.hook.shares_image)
        return HookImages(
            runs=self._reference(made, cloud_run=True)
            if shares
            else self.image(hook, parent, cloud_run=True),
            service=self._reference(made, cloud_run=not service_on_vm),
        )

    def _made(self, service: Service, opts: pulumi.ResourceOptions, *, pin: bool) -> Made:
        """``service``'s image, made on first use with ``opts``: built and pushed, pinned to
        its tag's digest of the day (``pin``: a VM's), or its tag's digest now."""
        if made := self.made.get(service.name):
            return made
        if not service.build:
            ref = ImageRef.parse(str(service.image))
            digest = self._digest(ref)
            if pin and not ref.digest:
                name = self.shared.names(service.name, "pinned-image")
                digest = PinnedDigest(name, str(service.image), digest, opts).digest
            made = Made(ref, digest)
        else:
            shared = self.shared
            packages = f"{self.host}/{shared.gcp_project}/{shared.prefix}"
            repository = f"{packages}/{cloud_name(service.name)}"
            # The layer cache is a package of its own: its versions would count among the
            # image's that gcpRegistryKeepVersions keeps, and could delete the one deployed.
            cache = f"{packages}/buildcache/{cloud_name(service.name)}:{CACHE_TAG}"
            image = build_image(
                shared.names(service.name, "image"),
                service.build,
                image_name=f"{repository}:latest",
                platforms=build_platforms(service.build, PLATFORM),
                registry=docker_build.RegistryArgs(
                    address=self.host, username="oauth2accesstoken", password=self.token
                ),
                cache=cache if self.build_cache else None,
                opts=pulumi.ResourceOptions.merge(
                    opts, pulumi.ResourceOptions(depends_on=[self.repository])
                ),
            )
            self.images[service.name] = image
            made = Made(None, pushed_reference(repository, image))
        self.made[service.name] = made
        return made

    def _reference(self, made: Made, *, cloud_run: bool) -> pulumi.Input[str]:
        """What pulls ``made``: a built image where it was pushed; a pulled one from its
        registry, or through a remote repository on Cloud Run when Cloud Run cannot pull
        from that registry itself."""
        ref = made.ref
        if ref is None:
            return made.digest
        if ref.served_directly or not cloud_run:
            return pulumi.Output.concat(ref.repository, "@", made.digest)
        remote = self._remote(ref)
        return pulumi.Output.concat(
            self.host,
            "/",
            self.shared.gcp_project,
            "/",
            remote.repository_id,
            f"/{ref.path}@",
            made.digest,
        )

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
