"""ECS Fargate: a task definition and ECS service per service, a run-once ECS task per job
(``pre_start`` hooks included), and per job of ``jobs:`` a task definition that ``berth run``
and its EventBridge Scheduler schedules start.

Shared per project: the network, one cluster, one log group, the IAM roles, a Cloud Map
private DNS namespace (every service is ``<name>.<namespace>``, and every task searches the
namespace, so compose names resolve), the load balancer when a port is published, the EFS
file system when a named volume is used, and one Secrets Manager secret per stack secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from berth.components.images import check_build_platforms
from berth.components.names import fitted
from berth.components.target import JobHandle, ServiceHandle, TargetArgs, TriggeredHandle
from berth.errors import BerthError
from berth.model import ComposeProject, Service
from berth.names import cloud_slug, shortened
from berth.normalize.hooks import hook_job_name
from berth.providers.aws.account import current_account
from berth.providers.aws.discovery import dns_service
from berth.providers.aws.iam import create_roles
from berth.providers.aws.images import (
    EcrRepository,
    Images,
    Made,
    ecr_repository,
    runs_on,
)
from berth.providers.aws.ingress import (
    Ingress,
    LoadBalancer,
    Routes,
    check_quotas,
    check_target_groups,
    ingress_ports,
    listener_ports,
)
from berth.providers.aws.jobs import JobSettings, create_job, create_triggered
from berth.providers.aws.models import Bedrock
from berth.providers.aws.names import DNS_LABEL, ECS_NAME, label_problem
from berth.providers.aws.network import create_network, create_security_groups
from berth.providers.aws.options import AwsOptions
from berth.providers.aws.readiness import READY_TIMEOUT, EcsServiceReady
from berth.providers.aws.schedules import ScheduleSettings, check_schedules
from berth.providers.aws.secrets import SecretStore
from berth.providers.aws.stores import StoreSettings, cache_warnings, store_resources
from berth.providers.aws.tasks import TaskShared, create_task, warner
from berth.providers.aws.volumes import FileSystem
from berth.sources import Sources, read_sources
from berth.stores import managed_stores, store_warnings

SERVICE_COMPONENT = "berth:index:Service"
JOB_COMPONENT = "berth:index:Job"


class AwsTarget:
    """Deploys to the AWS account and region of Pulumi's aws provider."""

    def __init__(self, project: ComposeProject, args: TargetArgs, parent: pulumi.Resource) -> None:
        self.project = project
        self.parent = parent
        self.names = args.names
        sources = read_sources(project.files)  # which file defined what, for error messages
        self.options: AwsOptions = args.options
        self.prefix = shortened(cloud_slug(f"{project.name}-{pulumi.get_stack()}"), DNS_LABEL)
        """AWS object names carry the stack, so several stacks share one account."""
        self.secret_values = args.secrets
        _check_project(project, sources)
        self.stores = managed_stores(project)
        for warning in [*store_warnings(project), *cache_warnings(project, self.stores)]:
            pulumi.log.warn(warning)
        containers = [s for s in project.services.values() if s.name not in self.stores]
        # everything that runs as an ECS task: services, jobs, and the jobs of ``jobs:``
        tasks = [*containers, *project.triggered.values()]
        names = self.names
        opts = pulumi.ResourceOptions(parent=parent)
        self.account = current_account(parent)
        self.region = self.account.region
        self.cluster: aws.ecs.Cluster | None = None
        """The cluster the stack created; None for one the options name."""
        self.cluster_arn: pulumi.Input[str]
        if self.options.cluster_arn is None:
            self.cluster = aws.ecs.Cluster(fitted(names("cluster"), ECS_NAME), opts=opts)
            self.cluster_arn = self.cluster.arn
        else:
            self.cluster_arn = self.options.cluster_arn
        self.network = create_network(
            names, self.options, self.region, parent, private=bool(self.stores)
        )
        https = self.options.certificate_arn is not None
        self.ingress: dict[str, list[Ingress]] = {
            s.name: ingress_ports(s, https, warner(s)) for s in containers if not s.job
        }
        listeners = sorted(listener_ports(self.ingress, sources))
        target_ports = [port.target for ports in self.ingress.values() for port in ports]
        check_quotas(listeners, https, sources.declaring("services"))
        check_target_groups(self.ingress, sources)
        self.security_groups = create_security_groups(
            names,
            self.network,
            LoadBalancer.open_ports(listeners, https),
            target_ports,
            parent,
        )
        self.load_balancer = (
            LoadBalancer(
                names,
                ports=listeners,
                network=self.network,
                security_group=self.security_groups.load_balancer,
                certificate_arn=self.options.certificate_arn,
                parent=parent,
            )
            if self.security_groups.load_balancer
            else None
        )
        self.logs = aws.cloudwatch.LogGroup(
            names("logs"),
            name=f"/berth/{self.prefix}",
            retention_in_days=self.options.log_retention_days,
            opts=opts,
        )
        self.images = Images(
            names,
            prefix=self.prefix,
            account=self.account,
            keep_images=self.options.ecr_keep_images,
            build_cache=self.options.build_cache,
            parent=parent,
        )
        self.roles = create_roles(
            names,
            prefix=self.prefix,
            cache_prefix=self.images.cache_prefix,
            account=self.account,
            log_group_arn=self.logs.arn,
            workloads=sorted(s.name for s in tasks),
            pulled=_pulled_repositories(tasks),
            parent=parent,
        )
        self.namespace_name = f"{self.prefix}.internal"
        self.namespace = aws.servicediscovery.PrivateDnsNamespace(
            names("dns"),
            name=self.namespace_name,
            vpc=self.network.vpc_id,
            description=f"Berth {self.prefix}: every service by its compose name",
            opts=opts,
        )
        mounts: dict[str, dict[str, bool]] = {}
        for service in tasks:
            for mount in service.mounts:
                if mount.type == "volume" and mount.source:
                    readers = mounts.setdefault(mount.source, {})
                    readers[service.name] = readers.get(service.name, True) and mount.read_only
        self.storage = (
            FileSystem(
                names,
                mounts=mounts,
                roles=self.roles.tasks,
                network=self.network,
                tasks=self.security_groups.tasks,
                sources=sources,
                parent=parent,
            )
            if mounts
            else None
        )
        self.secrets = SecretStore(
            names, prefix=self.prefix, values=self.secret_values, sources=sources, parent=parent
        )
        self.tasks = TaskShared(
            names=names,
            prefix=self.prefix,
            sources=sources,
            region=self.region,
            namespace_name=self.namespace_name,
            logs=self.logs,
            images=self.images,
            secrets=self.secrets,
            secret_values=self.secret_values,
            roles=self.roles,
            storage=self.storage,
            models=Bedrock(project, sources, self.account),
        )
        self.store_settings = StoreSettings(
            names=names,
            prefix=self.prefix,
            network=self.network,
            tasks=self.security_groups.tasks,
            namespace=self.namespace,
            throwaway=self.options.throwaway_stores,
            sources=sources,
        )
        self.jobs = JobSettings(
            tasks=self.tasks,
            schedules=ScheduleSettings(
                names=names,
                prefix=self.prefix,
                account=self.account,
                execution_role=self.roles.execution,
            ),
            account=self.account,
            cluster_arn=self.cluster_arn,
            network=self.network,
            security_group=self.security_groups.tasks,
            assign_public_ip=self.options.assign_public_ip,
        )
        self.shared: Mapping[str, pulumi.Resource] = self._shared()

    def _shared(self) -> dict[str, pulumi.Resource]:
        """The shared resources by role, those the project has (docs/aws.md lists them)."""
        found: dict[str, pulumi.Resource | None] = {
            "cluster": self.cluster,
            "network": self.network.vpc,
            "tasks_security_group": self.security_groups.tasks,
            "load_balancer": self.load_balancer.balancer if self.load_balancer else None,
            "load_balancer_security_group": self.security_groups.load_balancer,
            "log_group": self.logs,
            "execution_role": self.roles.execution,
            "dns_namespace": self.namespace,
            "pull_through_cache": self.images.cache_rule,
            "file_system": self.storage.file_system if self.storage else None,
        }
        return {role: resource for role, resource in found.items() if resource is not None}

    # -- the Target interface ----------------------------------------------------------

    def service(
        self, service: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> ServiceHandle:
        if store := self.stores.get(service.name):
            resources = store_resources(store, service, self.store_settings, after, parent)
            available = [resources["workload"], resources["dns_record"]]
            return ServiceHandle(started=available, healthy=available, resources=resources)
        image = self._service_image(service.name, parent, by_hook=False)
        task = create_task(self.tasks, service, parent, image)
        registry = dns_service(
            self.names(service.name, "dns"),
            service.name,
            self.namespace,
            "A",
            pulumi.ResourceOptions(parent=parent),
        )
        routes = (
            self.load_balancer.routes(
                service, self.ingress[service.name], task.container, self.network.vpc_id, parent
            )
            if self.load_balancer
            else Routes()
        )
        stateful = any(m.type == "volume" and m.source for m in service.mounts)
        start_period = service.healthcheck.start_period if service.healthcheck else None
        workload = aws.ecs.Service(
            fitted(self.names(service.name), ECS_NAME),
            cluster=self.cluster_arn,
            task_definition=task.definition.arn,
            desired_count=1 if service.replicas is None else service.replicas,
            launch_type="FARGATE",
            network_configuration=self._network_configuration(),
            load_balancers=routes.balancers or None,
            health_check_grace_period_seconds=max(60, round(start_period or 0))
            if routes.balancers
            else None,
            service_registries=aws.ecs.ServiceServiceRegistriesArgs(registry_arn=registry.arn),
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            # A service with a named volume is replaced, not doubled: two databases must never
            # share one data directory, even during a deployment.
            deployment_minimum_healthy_percent=0 if stateful else 100,
            deployment_maximum_percent=100 if stateful else 200,
            # No steady-state wait: the release check waits, for a new service as for an
            # update, and names why tasks stopped; Terraform's wait would end a failed first
            # deployment in a bare 20-minute timeout before the check could say why.
            opts=pulumi.ResourceOptions(
                parent=parent, depends_on=[*after, *routes.rules, *task.waits, *self.network.ready]
            ),
        )
        ready = EcsServiceReady(
            self.names(service.name, "ready"),
            {
                "service": service.name,
                "cluster": self.cluster_arn,
                "ecsService": workload.name,
                "taskDefinition": task.definition.arn,
                "desiredCount": workload.desired_count,
                "healthy": service.healthcheck is not None,
                "rollout": {
                    "targetGroups": [b.target_group_arn for b in routes.balancers],
                    "subnets": self.network.subnet_ids,
                    "securityGroups": [self.security_groups.tasks.id],
                    "assignPublicIp": self.options.assign_public_ip,
                    "registry": registry.arn,
                },
                "timeout": READY_TIMEOUT,
                "region": self.region,
                "identity": self.account.identity,
            },
            opts=pulumi.ResourceOptions(
                parent=parent, depends_on=[workload], additional_secret_outputs=["identity"]
            ),
        )
        resources = {
            "workload": workload,
            **task.resources,
            "dns_service": registry,
            **routes.groups,
            "readiness": ready,
        }
        return ServiceHandle(
            started=[ready], healthy=[ready], endpoints=routes.endpoints, resources=resources
        )

    def job(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> JobHandle:
        served = self._service_image(job.hook.service, parent, by_hook=True) if job.hook else None
        return create_job(self.jobs, job, after, parent, served)

    def triggered(
        self, job: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> TriggeredHandle:
        return create_triggered(self.jobs, job, after, parent)

    def _service_image(self, name: str, parent: pulumi.Resource, *, by_hook: bool) -> Made:
        """Service ``name``'s image, made once for it and its hooks: by its first hook when it
        has hooks (they deploy before it), else by the service. Aliased to its place under
        the other one, so that adding a service's first hook or removing its last keeps its
        repository and image: no build again, and no second repository of the same name,
        which ECR would refuse while the first one is not yet deleted."""
        kind, owner = (
            (SERVICE_COMPONENT, name) if by_hook else (JOB_COMPONENT, hook_job_name(name, 0))
        )
        was = pulumi.create_urn(self.names(owner), kind, parent=self.parent)
        return self.images.service_image(
            self.project.services[name], parent, [pulumi.Alias(parent=was)]
        )

    def _network_configuration(self) -> aws.ecs.ServiceNetworkConfigurationArgs:
        return aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=self.network.subnet_ids,
            security_groups=[self.security_groups.tasks.id],
            assign_public_ip=self.options.assign_public_ip,
        )


def _pulled_repositories(services: Sequence[Service]) -> list[EcrRepository]:
    """The ECR repositories the services' ``image:`` names, each once, in a stable order."""
    found = {ecr_repository(s.image) for s in services if s.image and not s.build}
    return sorted((r for r in found if r), key=lambda r: (r.account, r.region, r.name))


def _check_project(project: ComposeProject, sources: Sources) -> None:
    """What cannot deploy on aws at all, before any resource is declared."""
    check_schedules(list(project.triggered.values()), sources)
    check_build_platforms(project, runs_on, sources)
    for volume in project.volumes.values():
        if volume.external:
            raise BerthError(
                f"volume '{volume.key}' is external; on aws every named volume is an EFS "
                "access point Berth creates",
                file=sources.declaring("volumes"),
                field="volumes",
                hint="remove external: true to let Berth create it",
            )
    for service in project.long_running:
        if found := label_problem(service.name):
            raise BerthError(
                "the name is not a DNS label, so other services could not reach it by name: "
                + found[0],
                file=sources.origin(service.name),
                service=service.name,
                hint=found[1],
            )
