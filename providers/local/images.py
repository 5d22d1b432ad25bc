"""The local target's images: a ``build:`` built with BuildKit and loaded into the engine the
stack deploys to, an ``image:`` pulled; each by the image ID its containers and jobs run."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_docker as docker
import pulumi_docker_build as docker_build

from berth.components.images import build_image, buildable
from berth.components.names import Names
from berth.model import Build, ComposeProject, Hook, Service

SERVICE_COMPONENT = "berth:index:Service"
"""The type of a service's component (``berth.components.project.Service``): where a
service's image was before it had ``pre_start`` hooks."""

DEFAULT_ENGINE = "unix:///var/run/docker.sock"
"""Where the docker provider finds the engine when nothing names one."""
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
            # Kept at delete, as pulumi-docker kept it: the builder's delete would also send a
            # DELETE of <tag>@<digest> to the registry an image: name names.
            own = pulumi.ResourceOptions(provider=self._build_engine(), retain_on_delete=True)
            image = build_image(
                name,
                service.build,
                image_name=tag,
                platforms=_platforms(service, service.build),
                registry=None,
                cache=None,
                opts=pulumi.ResourceOptions.merge(opts, own),
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

    def _build_engine(self) -> docker_build.Provider:
        """The builder's provider, on the engine the docker provider deploys to, so the image
        is loaded where its containers run: the host of the Project's explicit provider or of
        ``docker:host``, else ``DOCKER_HOST``, else the engine's default socket, as the docker
        provider reads them (left alone, the builder would follow the docker CLI's current
        context, which may be another engine)."""
        if self._builder is None:
            engine = self.engine(self.component)
            host = pulumi.Output.from_input(engine or {}).apply(_builder_host)
            self._builder = docker_build.Provider(
                self.names("builder"), host=host, opts=pulumi.ResourceOptions(parent=self.component)
            )
        return self._builder


def _builder_host(engine: dict[str, Any]) -> str | None:
    """The engine a build goes to; None for one named by a docker context (``docker:context``),
    which the builder reads as the docker CLI does."""
    if host := engine.get("host"):
        return str(host)
    if engine.get("context"):
        return None
    return os.environ.get("DOCKER_HOST") or DEFAULT_ENGINE


def _platforms(service: Service, build: Build) -> list[str]:
    """The one platform the engine holds the image for: the service's, else the one its
    ``build`` lists, else none (the builder's own); one the builder cannot build for is warned
    about."""
    listed = build.platforms
    wanted = service.platform or (listed[0] if len(listed) == 1 else None)
    if wanted is None:
        return []
    if (platform := buildable(wanted)) is None:
        pulumi.log.warn(
            f"service '{service.name}': the builder cannot build for {wanted}: the image is "
            "built for the builder's own platform"
        )
        return []
    return [platform]
