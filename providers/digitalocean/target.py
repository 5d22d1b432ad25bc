"""The project as one App Platform app: services, workers, PRE/POST_DEPLOY jobs, databases.

App Platform deploys a whole app at once, its order given by phases (``layout.py``), so the
app is one resource, registered first (it is every handle's workload) with a spec that is
complete once every service and job has been handed over: each one's image (built and pushed
by digest) or managed database cluster under its own component.
The provider waits for the deployment, so ``pulumi up`` fails when a PRE_DEPLOY job fails.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import pulumi
import pulumi_digitalocean as do
import pulumi_docker as docker

from berth.model import ComposeProject, Service
from components.images import build_image
from components.target import JobHandle, ServiceHandle, TargetArgs
from components.values import text_input
from providers.digitalocean import spec
from providers.digitalocean.layout import Component, Database, Kind, component_name, layout
from providers.digitalocean.options import DigitalOceanOptions

DOCR = "registry.digitalocean.com"
PLATFORM = "linux/amd64"
"""App Platform runs amd64 images: built ones are built for it."""
CLUSTER_ENGINES = {"PG": ("pg", "17"), "VALKEY": ("valkey", "8")}
"""A managed cluster's engine and default major version, by the app spec's engine."""
BUILT_IN_NAMES = {"postgres", "defaultdb", "doadmin"}
"""Names a managed PostgreSQL cluster already has or reserves: left to the cluster."""


class DigitalOceanTarget:
    def __init__(self, project: ComposeProject, args: TargetArgs, parent: pulumi.Resource) -> None:
        self.project = project
        self.parent = parent
        self.names = args.names
        self.options: DigitalOceanOptions = args.options
        self.layout = layout(project)
        spec.check_project(project, self.layout)
        self.file = project.files[0]
        self.warnings: list[str] = list(self.layout.warnings)
        self.name = component_name(f"{project.name}-{pulumi.get_stack()}")
        self.pending = set(project.services)
        self.parts: dict[str, dict[str, Any]] = {}
        self.databases: list[do.AppSpecDatabaseArgs] = []
        self.owned: defaultdict[str, dict[str, pulumi.Resource]] = defaultdict(dict)
        """Each service's and job's own resources by role, for its handle."""
        self.shared: dict[str, pulumi.Resource] = {}
        self._registry: tuple[pulumi.Input[str], pulumi.Output[str]] | None = None
        if any(
            service.build and self.layout.components[name].database is None
            for name, service in project.services.items()
        ):
            self._registry_access()  # now, so that ``shared`` holds it from the start
        self._spec = _Later()
        self.app = do.App(
            self.names("app"),
            spec=self._spec.output,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        """Registered now, so every handle and ``shared`` holds it; its spec is known once the
        last service or job is handed over (``_handed``)."""
        self.shared["app"] = self.app

    def service(
        self, service: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> ServiceHandle:
        """App Platform orders the app's components itself: ``after`` is kept by its phases
        (``layout.py``), not by waiting on resources."""
        with self._spec.failing():
            return self._service(service, parent)

    def _service(self, service: Service, parent: pulumi.Resource) -> ServiceHandle:
        component = self.layout.components[service.name]
        if component.database is not None:
            self.databases.append(self._database(component, component.database, parent))
        else:
            self.parts[service.name] = self._part(service, component, parent)
        prefix = spec.routes(self.layout).get(component)
        endpoints = self.app.live_url.apply(
            lambda url: [f"{url}{prefix}"] if prefix and url else []
        )
        self._handed(service.name)
        resources = {"workload": self.app, **self.owned[service.name]}
        return ServiceHandle(started=[], healthy=[], endpoints=endpoints, resources=resources)

    def job(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> JobHandle:
        """The job runs inside each deployment of the app, in its phase; ``run`` is the job's
        component, as no resource of its own stands for one run."""
        with self._spec.failing():
            return self._job(job, parent)

    def _job(self, job: Service, parent: pulumi.Resource) -> JobHandle:
        component = self.layout.components[job.name]
        self.parts[job.name] = {
            **self._part(job, component, parent),
            "kind": component.kind.value,
        }
        result = pulumi.Output.all(self.app.id, self.app.active_deployment_id).apply(
            lambda ids: {"kind": component.kind.value, "app": ids[0], "deployment": ids[1]}
        )
        self._handed(job.name)
        return JobHandle(
            run=parent, result=result, resources={"run": parent, **self.owned[job.name]}
        )

    def _part(self, service: Service, component: Component, parent: pulumi.Resource) -> dict:
        """One service, worker or job of the spec, as its args' keywords."""
        part: dict[str, Any] = {
            "name": component.name,
            "image": self._image(service, component, parent),
            "envs": spec.envs(service, self.layout) or None,
            "run_command": spec.run_command(service, self.file),
            "instance_size_slug": self.options.instance_size,
        }
        if component.kind in (Kind.SERVICE, Kind.WORKER):
            part["instance_count"] = service.replicas or 1
        if component.kind is Kind.SERVICE:
            part["http_port"] = component.http_port
            part["internal_ports"] = list(component.internal_ports) or None
            check = spec.health_check(service, component, self.warnings)
            part["health_check"] = do.AppSpecServiceHealthCheckArgs(**check) if check else None
        return {key: value for key, value in part.items() if value is not None}

    def _image(
        self, service: Service, component: Component, parent: pulumi.Resource
    ) -> dict[str, Any]:
        if not service.build:
            return spec.pulled(service, self.file).args()
        registry, password = self._registry_access()
        repository = f"{self.name}-{component.name}"
        image = build_image(
            self.names(service.name, "image"),
            service.build,
            image_name=pulumi.Output.concat(DOCR, "/", registry, "/", repository, ":latest"),
            platform=PLATFORM,
            registry=docker.RegistryArgs(server=DOCR, username=password, password=password),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        self.owned[service.name]["image"] = image
        return {
            "registry_type": "DOCR",
            "repository": repository,
            "digest": image.repo_digest.apply(lambda digest: digest.rsplit("@", 1)[-1]),
        }

    def _registry_access(self) -> tuple[pulumi.Input[str], pulumi.Output[str]]:
        """The registry's name and a write token for it (DOCR takes the token as user name and
        password): the account's registry, or one created for the project."""
        if self._registry is None:
            name: pulumi.Input[str] = self.options.registry
            if not name:
                registry = do.ContainerRegistry(
                    self.names("registry"),
                    name=self.name,
                    subscription_tier_slug="basic",
                    region=self.options.datacenter,
                    opts=self._shared_opts("registry"),
                )
                self.shared["registry"] = registry
                name = registry.name
            credentials = do.ContainerRegistryDockerCredentials(
                self.names("registry-push"),
                registry_name=name,
                write=True,
                opts=self._shared_opts("registry-push"),
            )
            self.shared["registry_credentials"] = credentials
            token = credentials.docker_credentials.apply(_token)
            self._registry = (name, pulumi.Output.secret(token))
        return self._registry

    def _shared_opts(self, old_name: str) -> pulumi.ResourceOptions:
        """Options of a resource parented to the Project, once named ``old_name``."""
        return pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(parent=self.parent), self.names.aliased(old_name)
        )

    def _database(
        self, component: Component, database: Database, parent: pulumi.Resource
    ) -> do.AppSpecDatabaseArgs:
        """A dev database inside the app, or a managed cluster (with the compose file's
        database and user) that the app binds to."""
        if not database.production:
            return do.AppSpecDatabaseArgs(
                name=component.name, engine=database.engine, production=False,
                version=database.version,
            )  # fmt: skip
        opts = pulumi.ResourceOptions(parent=parent)
        engine, default_version = CLUSTER_ENGINES[database.engine]
        cluster = do.DatabaseCluster(
            self.names(component.service, "cluster"),
            name=f"{self.name}-{component.name}"[:63],
            engine=engine,
            version=database.version or default_version,
            size=self.options.database_size,
            region=self.options.datacenter,
            node_count=1,
            opts=opts,
        )
        owned = self.owned[component.service]
        owned["cluster"] = cluster
        names: dict[str, pulumi.Input[str]] = {}
        for key, role, value, kind in (
            ("db_name", "database", database.database, do.DatabaseDb),
            ("db_user", "user", database.user, do.DatabaseUser),
        ):
            if value is not None and str(value) not in BUILT_IN_NAMES:
                owned[role] = kind(
                    self.names(component.service, key.removeprefix("db_")),
                    cluster_id=cluster.id,
                    name=text_input(value),
                    opts=opts,
                )
                names[key] = owned[role].name
        return do.AppSpecDatabaseArgs(
            name=component.name,
            engine=database.engine,
            production=True,
            cluster_name=cluster.name,
            **names,
        )

    def _handed(self, name: str) -> None:
        """Once the last service or job is handed over, the app."""
        self.pending.discard(name)
        if self.pending:
            return
        for warning in self.warnings:
            pulumi.log.warn(warning)
        by_kind = {
            kind: [self.parts[c.service] for c in self.layout.components.values() if c.kind is kind]
            for kind in Kind
            if kind is not Kind.DATABASE
        }
        self._spec.resolve(
            do.AppSpecArgs(
                name=self.name,
                region=self.options.region,
                services=[do.AppSpecServiceArgs(**p) for p in by_kind[Kind.SERVICE]] or None,
                workers=[do.AppSpecWorkerArgs(**p) for p in by_kind[Kind.WORKER]] or None,
                jobs=[
                    do.AppSpecJobArgs(**p)
                    for p in by_kind[Kind.PRE_DEPLOY] + by_kind[Kind.POST_DEPLOY]
                ]
                or None,
                databases=self.databases or None,
                ingress=spec.ingress(self.layout),
            )
        )


def _token(docker_config: str) -> str:
    """The password of a Docker config's one registry entry (``auth`` is ``user:password``)."""
    (entry,) = json.loads(docker_config)["auths"].values()
    return base64.b64decode(entry["auth"]).decode().split(":", 1)[1]


class _Later:
    """An output whose value is known later: the app's spec, once every service and job is
    handed over, while the app itself is registered first, for ``shared`` and every handle."""

    def __init__(self) -> None:
        loop = asyncio.get_event_loop()
        self._futures = [loop.create_future() for _ in range(4)]
        resources, value, known, secret = self._futures
        self.output: pulumi.Output[Any] = pulumi.Output(resources, value, known, secret)

    def resolve(self, value: Any) -> None:
        """``value`` as it is: outputs inside it keep their own dependencies, secrecy and
        unknowns (``Output.from_input`` would make the whole value unknown in a preview)."""
        for future, result in zip(self._futures, (set(), value, True, False), strict=True):
            future.set_result(result)

    @contextlib.contextmanager
    def failing(self) -> Iterator[None]:
        """Code that must resolve the output: if it raises, the output fails with it, or the
        components that registered it would wait for it forever."""
        try:
            yield
        except BaseException as error:
            self._fail(error)
            raise

    def _fail(self, error: BaseException) -> None:
        for future in self._futures:
            if not future.done():
                future.set_exception(error)
