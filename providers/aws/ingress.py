"""Published ports behind the project's one Application Load Balancer.

An ingress-mode TCP port becomes a listener on the load balancer (on its published port, or its
container port when compose publishes it on a random one) with one rule forwarding to the
service's target group. With a certificate every listener speaks HTTPS, port 80 moves to 443
and an HTTP listener on 80 redirects to it. Host-mode ports, UDP ports and ports of well-known
non-HTTP protocols stay inside the project: an Application Load Balancer speaks HTTP only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from berth.components.names import Names, fitted
from berth.errors import BerthError
from berth.model import Healthcheck, Secret, Service
from berth.ports import not_http
from berth.providers.aws.names import hyphenated
from berth.providers.aws.network import Network
from berth.sources import Sources

MAX_LISTENERS = 50
"""Listeners per Application Load Balancer, the default Elastic Load Balancing quota."""
NAME_LIMIT = 32
"""Load balancer and target group names (Elastic Load Balancing)."""
MAX_TARGET_GROUPS = 5
"""Target groups per ECS service (ECS service quotas)."""
RULE_PRIORITY = 100
"""Each listener serves one service, so its one rule needs no ordering."""
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
_WRITES = re.compile(
    r"(?:-X|--request|--method)[=\s]*(?!GET\b|HEAD\b)[A-Z]+\b|\s(?:-d|-F|-T|--data\S*|--form|"
    r"--upload-file|--json|--post-data|--post-file|--body-data|--body-file)(?:[=\s]|$)"
)
"""curl or wget options that make the request write: such a check's path is never the load
balancer's, which requests it every few seconds."""
_HTTP_CHECK = re.compile(
    r"\b(?:curl|wget)\b.*?(?:https?://)?(?:localhost|127\.0\.0\.1)(?::(?P<port>\d+))?"
    r"(?P<path>/[^\s'\"|;&)]*)?"
)


@dataclass(frozen=True)
class Ingress:
    """A container port served on a load balancer port."""

    target: int
    listener: int


def ingress_ports(service: Service, https: bool, warn: Callable[[str], None]) -> list[Ingress]:
    """The ports of ``service`` the load balancer serves; a warning for those it cannot."""
    found: dict[int, Ingress] = {}
    for port in service.ports:
        if port.mode == "host":
            continue
        reason = not_http(port.target, port.protocol, port.app_protocol, service.image)
        if reason:
            warn(
                f"port {port.target}/{port.protocol} is reachable only inside the project "
                f"({reason}; an Application Load Balancer serves HTTP)"
            )
            continue
        listener = port.published or port.target
        if https and listener == 80:
            listener = 443
        found.setdefault(listener, Ingress(target=port.target, listener=listener))
    return [found[listener] for listener in sorted(found)]


def listener_ports(ingress: Mapping[str, Sequence[Ingress]], sources: Sources) -> dict[int, str]:
    """Each load balancer port and the one service it serves; two on one port are refused."""
    owners: dict[int, str] = {}
    for service, ports in ingress.items():
        for port in ports:
            if port.listener in owners:
                raise BerthError(
                    f"port {port.listener} of the load balancer is already taken by "
                    f"'{owners[port.listener]}'",
                    file=sources.origin(service, "ports"),
                    service=service,
                    field="ports",
                    hint="publish the service on another port",
                )
            owners[port.listener] = service
    return owners


def check_target_groups(ingress: Mapping[str, Sequence[Ingress]], sources: Sources) -> None:
    """Refuse a service whose published ports reach more container ports than ECS attaches
    target groups to one service (5): each container port is one target group, however many
    published ports reach it."""
    for service, ports in sorted(ingress.items()):
        targets = sorted({port.target for port in ports})
        if len(targets) > MAX_TARGET_GROUPS:
            raise BerthError(
                f"its published ports reach {len(targets)} container ports "
                f"({', '.join(map(str, targets))}); ECS attaches at most {MAX_TARGET_GROUPS} "
                "target groups, one per container port, to a service",
                file=sources.origin(service, "ports"),
                service=service,
                field="ports",
                hint="publish fewer container ports, or keep some internal (expose)",
            )


def check_quotas(listeners: Sequence[int], https: bool, file: str) -> None:
    """Refuse, at plan time, more published ports than one load balancer takes, rather than
    fail half-way through a deployment. Listeners are the binding quota: each has one rule
    and one target group (100 per load balancer each), and one inbound rule on the load
    balancer's security group and at most one on the tasks' (60 per group)."""
    count = len(LoadBalancer.open_ports(listeners, https))
    if count > MAX_LISTENERS:
        raise BerthError(
            f"the published ports need {count} load balancer listeners; an Application Load "
            f"Balancer has at most {MAX_LISTENERS} (AWS quota 'Listeners per Application Load "
            "Balancer')",
            file=file,
            field="ports",
            hint="publish fewer ports: serve several services on one port by path, or keep "
            "ports internal (expose) that only the project's services call",
        )


@dataclass
class Routes:
    """How one service is reached through the load balancer (nothing, without one)."""

    balancers: list[aws.ecs.ServiceLoadBalancerArgs] = field(default_factory=list)
    rules: list[pulumi.Resource] = field(default_factory=list)
    """The listener rules, which must exist before the ECS service registers its tasks."""
    endpoints: list[pulumi.Output[str]] = field(default_factory=list)
    groups: dict[str, pulumi.Resource] = field(default_factory=dict)


class LoadBalancer:
    """The project's Application Load Balancer and its listeners (services add their rules)."""

    def __init__(
        self,
        names: Names,
        *,
        ports: Sequence[int],
        network: Network,
        security_group: aws.ec2.SecurityGroup,
        certificate_arn: pulumi.Input[str] | None,
        parent: pulumi.Resource,
    ) -> None:
        opts = pulumi.ResourceOptions(parent=parent)
        self.names = names
        self.https = certificate_arn is not None
        self.balancer = aws.lb.LoadBalancer(
            balancer_name(names),
            load_balancer_type="application",
            subnets=network.subnet_ids,
            security_groups=[security_group.id],
            drop_invalid_header_fields=True,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=network.ready),
        )
        self.listeners: dict[int, aws.lb.Listener] = {}
        for port in ports:
            self.listeners[port] = aws.lb.Listener(
                names(str(port)),
                load_balancer_arn=self.balancer.arn,
                port=port,
                protocol="HTTPS" if self.https else "HTTP",
                certificate_arn=certificate_arn,
                ssl_policy=SSL_POLICY if self.https else None,
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(
                        type="fixed-response",
                        fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                            content_type="text/plain", message_body="Not Found", status_code="404"
                        ),
                    )
                ],
                opts=opts,
            )
        if self.https and 443 in ports:
            aws.lb.Listener(
                names("80"),
                load_balancer_arn=self.balancer.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(
                        type="redirect",
                        redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                            protocol="HTTPS", port="443", status_code="HTTP_301"
                        ),
                    )
                ],
                opts=opts,
            )

    @staticmethod
    def open_ports(ports: Sequence[int], https: bool) -> list[int]:
        """The ports the load balancer listens on, the HTTPS redirect included."""
        return sorted({*ports, *([80] if https and 443 in ports else [])})

    def target_group(
        self,
        service: Service,
        port: int,
        vpc_id: pulumi.Input[str],
        parent: pulumi.Resource,
    ) -> aws.lb.TargetGroup:
        """The service's tasks on one container port, where its listeners' rules forward."""
        opts = pulumi.ResourceOptions(parent=parent)
        full = self.names(service.name, str(port))
        name = _fit(full)
        if name != full:
            # Cut to fit, the name no longer begins with its component's: the engine then
            # derives no alias from the component's, so it gets its own.
            legacy = self.names.aliased(_fit(f"{service.name}-{port}"))
            opts = pulumi.ResourceOptions.merge(opts, legacy)
        return aws.lb.TargetGroup(
            name,
            port=port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=vpc_id,
            deregistration_delay=30,
            health_check=target_health_check(service.healthcheck, port),
            opts=opts,
        )

    def rule(
        self,
        service: Service,
        listener: int,
        group: aws.lb.TargetGroup,
        parent: pulumi.Resource,
    ) -> aws.lb.ListenerRule:
        """What sends a listener's traffic to the service's target group."""
        return aws.lb.ListenerRule(
            self.names(service.name, str(listener)),
            listener_arn=self.listeners[listener].arn,
            priority=RULE_PRIORITY,
            actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=group.arn)],
            conditions=[
                aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=["/*"])
                )
            ],
            opts=pulumi.ResourceOptions(parent=parent),
        )

    def routes(
        self,
        service: Service,
        ingress: Sequence[Ingress],
        container: str,
        vpc_id: pulumi.Input[str],
        parent: pulumi.Resource,
    ) -> Routes:
        """The service's ingress ports on this load balancer: what its ECS service registers its
        tasks with, the rules that must exist first, the URLs, and the target groups by role
        (``target_group`` the first listener's, ``target_group_<listener>`` each)."""
        routes = Routes()
        by_port: dict[int, aws.lb.TargetGroup] = {}
        for port in ingress:
            group = by_port.get(port.target)
            if group is None:
                group = by_port[port.target] = self.target_group(
                    service, port.target, vpc_id, parent
                )
                routes.balancers.append(
                    aws.ecs.ServiceLoadBalancerArgs(
                        target_group_arn=group.arn,
                        container_name=container,
                        container_port=port.target,
                    )
                )
            routes.rules.append(self.rule(service, port.listener, group, parent))
            routes.endpoints.append(self.url(port.listener))
            routes.groups.setdefault("target_group", group)
            routes.groups[f"target_group_{port.listener}"] = group
        return routes

    def url(self, listener: int) -> pulumi.Output[str]:
        scheme = "https" if self.https else "http"
        default = 443 if self.https else 80
        suffix = "" if listener == default else f":{listener}"
        return self.balancer.dns_name.apply(lambda host: f"{scheme}://{host}{suffix}")


def target_health_check(check: Healthcheck | None, port: int) -> aws.lb.TargetGroupHealthCheckArgs:
    """The compose health check when it is an HTTP request to this port (curl or wget on
    localhost), else any HTTP answer on ``/``: the balancer only needs to know it is up."""
    path = http_check_path(check, port) if check else None
    interval = min(max(round(check.interval), 5), 300) if check and check.interval else 30
    return aws.lb.TargetGroupHealthCheckArgs(
        path=path or "/",
        matcher="200-399" if path else "200-499",
        interval=interval,
        timeout=max(2, min(round(check.timeout), 120, interval - 1))
        if check and check.timeout
        else min(10, interval - 1),
        healthy_threshold=2,
        unhealthy_threshold=min(max(check.retries or 3, 2), 10) if check else 3,
    )


def http_check_path(check: Healthcheck, port: int) -> str | None:
    """The path a health check requests with curl or wget on this port of localhost, if any."""
    if any(isinstance(part, Secret) for part in check.test):
        return None
    command = " ".join(str(part) for part in check.test[1:])
    match = _HTTP_CHECK.search(command)
    if not match or int(match["port"] or 80) != port or _WRITES.search(command):
        return None
    return match["path"] or "/"


def balancer_name(names: Names) -> str:
    """The load balancer's logical name, which its autoname begins with: never ``internal-``,
    which Elastic Load Balancing refuses at the start of a load balancer's name."""
    name = _fit(names("lb"))
    return _fit(f"lb-{names.project}") if name.startswith("internal-") else name


def _fit(name: str) -> str:
    """A logical name an autonamed load balancer or target group accepts: letters, digits and
    hyphens, 32 characters with Pulumi's random suffix."""
    return fitted(hyphenated(name), NAME_LIMIT)
