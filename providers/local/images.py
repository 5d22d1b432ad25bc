"""The local target's images: a ``build:`` built with BuildKit and loaded into the engine the
stack deploys to, an ``image:`` pulled; each by the image ID its containers and jobs run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_docker as docker
import pulumi_docker_build as docker_build

from berth.components.images import BUILD_PLATFORMS, build_image
from berth.components.names import Names
from berth.model import ComposeProject, Hook, Service

SERVICE_COMPONENT = "berth:index:Service"
"""The type of a service's component (``berth.components.project.Service``): where a
service's image was before it had ``pre_start`` hooks."""

Image = tuple[pulumi.CustomResource, pulumi.Output[str]]
"""An image resource, and the image's ID: it changes exactly when the image does."""


class LocalImages:
    """Where the project's images come from, on the engine of the stack."""

    def __init__(
        self,
        project: ComposeProject,
        names: Names,
        prefix: str,
        component: pulumi.Resource,
        engine: Callable[[pulumi.Resource], pulumi.Input[dict[str, Any]] | None],
    ) -> None:
        """``engine``: the docker provider's settings under a resource (``engine_input``)."""
        self.project = project
        self.names = names
        self.prefix = prefix
        self.component = component
        self.engine = engine
        self.made: dict[str, Image] = {}
        """The image of each service that has ``pre_start`` hooks, by service name: built or
        pulled once, for the service and its hooks alike (``service_image``)."""
        self._builder: docker_build.Provider | None = None

    def service_image(self, hook: Hook, parent: pulumi.Resource) -> Image:
        """The image of the service ``hook`` gates, made once for the service and all its
        hooks: under the first hook's component (``parent``), since hooks deploy before their
        service, with the name the service's image has. Its alias is the image's place before
        the service had hooks (the service's component): a stack that adds a hook keeps it,
        rather than building or pulling it again."""
        if hook.service not in self.made:
            service = self.project.services[hook.service]
            was = pulumi.create_urn(
                self.names(service.name), SERVICE_COMPONENT, parent=self.component
            )
            self.made[hook.service] = self.image(
                service, parent, aliases=[pulumi.Alias(parent=was)]
            )
        return self.made[hook.service]

    def image(
        self, service: Service, parent: pulumi.Resource, aliases: Sequence[pulumi.Alias] = ()
    ) -> Image:
        """The image resource and the image's ID: it changes exactly when the image does,
        which re-runs jobs."""
        opts = pulumi.ResourceOptions(parent=parent, aliases=list(aliases) or None)
        name = self.names(service.name, "image")
        if service.build:
            tag = (service.image or f"berth/{self.prefix}-{service.name}").lower()
            image = build_image(
                name,
                service.build,
                image_name=tag,
                platforms=[service.platform] if service.platform in BUILD_PLATFORMS else [],
                registry=None,
                cache=None,
                opts=pulumi.ResourceOptions.merge(
                    opts, pulumi.ResourceOptions(provider=self._build_engine())
                ),
            )
            # BuildKit reports the manifest's digest; the engine runs an image by its ID: read
            # the ID of what the build loaded, again whenever the digest moves.
            loaded = docker.RemoteImage(
                self.names(service.name, "image-id"),
                name=tag,
                keep_locally=True,
                pull_triggers=[image.digest],
                platform=service.platform,
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[image])),
            )
            return image, loaded.image_id
        remote = docker.RemoteImage(
            name,
            name=str(service.image),
            keep_locally=True,
            platform=service.platform,
            opts=opts,
        )
        return remote, remote.image_id

    def _build_engine(self) -> docker_build.Provider | None:
        """The builder's provider, on the engine the docker provider deploys to (its ``host``,
        from the Project's explicit provider or ``docker:host``), so the image is loaded where
        its containers run; None: both read ``DOCKER_HOST``."""
        engine = self.engine(self.component)
        if engine is None:
            return None
        if self._builder is None:
            host = pulumi.Output.from_input(engine).apply(lambda settings: settings.get("host"))
            self._builder = docker_build.Provider(
                self.names("builder"), host=host, opts=pulumi.ResourceOptions(parent=self.component)
            )
        return self._builder
