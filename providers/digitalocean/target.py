"""The project as one App Platform app: services, workers, PRE/POST_DEPLOY jobs, databases.

App Platform deploys a whole app at once, its order given by phases (``layout.py``), so the
app is one resource, registered first (it is every handle's workload) with a spec that is
complete once every service and job has been handed over: each one's image (built and pushed
by digest) or managed database cluster under its own component.
The provider waits for the deployment, so ``pulumi up`` fails when a PRE_DEPLOY job fails;
``berth:AppDeployed`` after the app makes the next ``up`` deploy again (``deployed.py``), and
stack secrets go back encrypted while unchanged, so an unchanged stack deploys nothing
(``secrets.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import pulumi
import pulumi_digitalocean as do
import pulumi_docker_build as docker_build

from berth.components.images import (
    CACHE_TAG,
    build_image,
    build_platforms,
    check_build_platforms,
)
from berth.components.target import JobHandle, ServiceHandle, TargetArgs, TriggeredHandle
from berth.components.values import text_input
from berth.errors import BerthError
from berth.model import ComposeProject, Service
from berth.providers.digitalocean import hooks, spec
from berth.providers.digitalocean.account import access
from berth.providers.digitalocean.deployed import AppDeployed, marked_part
from berth.providers.digitalocean.layout import Component, Database, Kind, component_name, layout
from berth.providers.digitalocean.models import model_variables, wired
from berth.providers.digitalocean.options import DigitalOceanOptions
from berth.providers.digitalocean.registry import push_token, registry_tier
from berth.providers.digitalocean.secrets import StackSecrets, spec_digest
from berth.sources import read_sources

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
        self.sources = read_sources(project.files)
        """The compose files as written: which one defined what, for error messages."""
        self.layout = layout(project, self.sources)
        hooks.check(project, self.layout, self.sources)
        model_warnings: list[str] = []
        self.models = model_variables(project, args.secrets, self.sources, model_warnings)
        """The variables each user of a model gets, by service name (``models.py``)."""
        users = {name: wired(service, self.models) for name, service in project.services.items()}
        spec.check_project(dataclasses.replace(project, services=users), self.layout, self.sources)
        check_build_platforms(project, lambda _service: PLATFORM, self.sources)
        self.warnings: list[str] = [*self.layout.warnings, *model_warnings]
        self.name = component_name(f"{project.name}-{pulumi.get_stack()}")
        self.pending = set(project.services)
        self.parts: dict[str, dict[str, Any]] = {}
        self.databases: list[do.AppSpecDatabaseArgs] = []
        self.owned: defaultdict[str, dict[str, pulumi.Resource]] = defaultdict(dict)
        """Each service's and job's own resources by role, for its handle."""
        self.shared: dict[str, pulumi.Resource] = {}
        self._registry: tuple[pulumi.Input[str], pulumi.Output[str]] | None = None
        self.image_of = {
            name: service.hook.service
            for name, service in project.services.items()
            if service.hook
            and service.build is not None
            and service.build == project.services[service.hook.service].build
        }
        """Each hook that runs its service's own image (its build is its service's: Compose
        builds one image for both), by name: it is built once, for the service."""
        built = [
            name
            for name, service in project.services.items()
            if service.build
            and self.layout.components[name].database is None
            and name not in self.image_of
        ]
        self.registry_tier = (
            registry_tier(len(built), self.options, self.warnings) if built else None
        )
        """The plan of the registry Berth creates (None: nothing is built, or the account's
        registry is of a plan Berth was not told)."""
        if built:
            self._registry_access()  # now, so that ``shared`` holds it from the start
        if not self.pending:
            return  # no services, no app: its spec would wait for a last one forever
        self._spec = _Later()
        self.app = do.App(
            self.names("app"),
            spec=self._spec.output,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        """Registered now, so every handle and ``shared`` holds it; its spec is known once the
        last service or job is handed over (``_handed``)."""
        self.shared["app"] = self.app
        self.access = access(parent)
        self.secrets = StackSecrets(self.names, self.name, self.access, parent)
        """Each stack secret as it must be sent: the encrypted value the live app holds while
        the secret is unchanged, its plain value once it changed (``secrets.py``)."""
        self._spec_digest: pulumi.Output[str] | None = None
        self.deployed = AppDeployed(
            self.names("deployed"),
            self.app.id,
            self._spec.output.apply(lambda _: self._spec_digest),
            self.access,
            opts=pulumi.ResourceOptions(parent=parent),
            hooks={
                self.layout.components[name].name: service.hook.label
                for name, service in project.services.items()
                if service.hook
            },
        )
        """Exists once the app's active deployment is one of this spec (``deployed.py``)."""

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
        result = pulumi.Output.all(self.app.id, self.deployed.deploymentId).apply(
            lambda ids: {"kind": component.kind.value, "app": ids[0], "deployment": ids[1]}
        )
        self._handed(job.name)
        return JobHandle(
            run=parent, result=result, resources={"run": parent, **self.owned[job.name]}
        )

    def triggered(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> TriggeredHandle:
        """Never reached: a job of ``jobs:`` is refused before anything is registered, by its
        triggers' ``FIELD_SUPPORT`` rows or by ``hooks.check`` (App Platform starts no job on
        demand, and pulumi-digitalocean cannot give it a schedule)."""
        raise BerthError(
            "App Platform cannot run a job of jobs: on demand nor on a schedule",
            file=self.sources.origin(job.name, "triggers", "jobs"),
            service=job.name,
            field="triggers",
            kind="job",
            hint="deploy the job on another target",
        )

    def _part(self, service: Service, component: Component, parent: pulumi.Resource) -> dict:
        """One service, worker or job of the spec, as its args' keywords."""
        envs = spec.envs(wired(service, self.models), self.layout, self.warnings)
        part: dict[str, Any] = {
            "name": component.name,
            "image": self._image(service, component, parent),
            "envs": self.secrets.envs(component.name, envs) or None,
            "run_command": spec.run_command(service, self.sources),
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
    ) -> dict[str, Any] | None:
        """The component's image; None for a hook that runs its service's, which ``_handed``
        gives it once the service is built."""
        if service.name in self.image_of:
            return None
        if not service.build:
            return spec.pulled(service, self.sources).args()
        registry, password = self._registry_access()
        repository = f"{self.name}-{component.name}"
        address = pulumi.Output.concat(DOCR, "/", registry, "/", repository)
        image = build_image(
            self.names(service.name, "image"),
            service.build,
            image_name=pulumi.Output.concat(address, ":latest"),
            platforms=build_platforms(service.build, PLATFORM),
            registry=docker_build.RegistryArgs(address=DOCR, username=password, password=password),
            cache=pulumi.Output.concat(address, f":{CACHE_TAG}")
            if self.options.build_cache
            else None,
            # DOCR's plans hold 0.5-100 GiB: only the final stage's layers, not every stage's.
            cache_mode=docker_build.CacheMode.MIN,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        self.owned[service.name]["image"] = image
        return {"registry_type": "DOCR", "repository": repository, "digest": image.digest}

    def _registry_access(self) -> tuple[pulumi.Input[str], pulumi.Output[str]]:
        """The registry's name and a write token for it (DOCR takes the token as user name and
        password): the account's registry, or one created for the project."""
        if self._registry is None:
            name = self.options.registry
            if name is None:
                registry = do.ContainerRegistry(
                    self.names("registry"),
                    name=self.name,
                    subscription_tier_slug=self.registry_tier,
                    region=self.options.registry_at,
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
            token = credentials.docker_credentials.apply(push_token)
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
        database and user) that the app binds to, open to the app only, and protected (with
        its database) unless the stack's stores are throwaway."""
        if not database.production:
            return do.AppSpecDatabaseArgs(
                name=component.name, engine=database.engine, production=False,
                version=database.version,
            )  # fmt: skip
        opts = pulumi.ResourceOptions(parent=parent)
        kept = pulumi.ResourceOptions(parent=parent, protect=not self.options.throwaway_stores)
        engine, default_version = CLUSTER_ENGINES[database.engine]
        cluster = do.DatabaseCluster(
            self.names(component.service, "cluster"),
            name=f"{self.name}-{component.name}"[:63],
            engine=engine,
            version=database.version or default_version,
            size=self.options.database_size,
            region=self.options.datacenter,
            node_count=1,
            # The name is set once: a new project or stack name would replace the cluster
            # (the provider's ForceNew), its data with it. The app binds to the name it has.
            opts=pulumi.ResourceOptions.merge(
                kept, pulumi.ResourceOptions(ignore_changes=["name"])
            ),
        )
        owned = self.owned[component.service]
        owned["cluster"] = cluster
        # Every cluster is open to the internet until it has trusted sources: the app only.
        owned["firewall"] = do.DatabaseFirewall(
            self.names(component.service, "firewall"),
            cluster_id=cluster.id,
            rules=[do.DatabaseFirewallRuleArgs(type="app", value=self.app.id)],
            opts=opts,
        )
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
                    # The database holds the data; a user is made again as it was.
                    opts=kept if kind is do.DatabaseDb else opts,
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
        for hook, service in self.image_of.items():
            self.parts[hook]["image"] = self.parts[service]["image"]
        by_kind = {
            kind: [self.parts[c.service] for c in self.layout.components.values() if c.kind is kind]
            for kind in Kind
            if kind is not Kind.DATABASE
        }
        sections = {
            do.AppSpecServiceArgs: ("services", by_kind[Kind.SERVICE]),
            do.AppSpecWorkerArgs: ("workers", by_kind[Kind.WORKER]),
            do.AppSpecJobArgs: ("jobs", by_kind[Kind.PRE_DEPLOY] + by_kind[Kind.POST_DEPLOY]),
        }
        fields: dict[str, Any] = {
            "name": self.name,
            "region": self.options.region,
            "databases": self.databases or None,
            "ingress": spec.ingress(self.layout),
        }
        self._spec_digest = spec_digest(fields | dict(sections.values()))
        self._spec.resolve(
            do.AppSpecArgs(
                **fields,
                **{
                    section: [args(**marked_part(p, self._spec_digest)) for p in parts] or None
                    for args, (section, parts) in sections.items()
                },
            )
        )


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
