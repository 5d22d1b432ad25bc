"""Bring your own, or Berth creates it: an option given another resource's output uses that
output, and Berth creates nothing in its place (as pulumi-awsx's ``FargateService`` does)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_digitalocean as do
import pulumi_gcp as gcp
import pytest

from berth.components.project import Project, ProjectArgs
from berth.errors import BerthError
from berth.offline.plan import Outputs, Plan, Registration, plan_config, run_plan
from berth.providers import aws as aws_target
from berth.providers.aws.options import AwsOptions
from berth.providers.digitalocean.options import DigitalOceanOptions
from berth.providers.gcp.options import GcpOptions
from berth.variables import Variables
from tests.conftest import ROOT

RELEASE = [str(ROOT / "examples/release/compose.yaml")]
"""Built images, a published port (a load balancer on aws) and a job."""
CREDENTIALS = (
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"
)


CERTIFICATE_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/mine"


def _outputs(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The aws target's plan outputs, and the ARN of one's own certificate (Berth makes none,
    so its plan does not know one)."""
    if type_ == "aws:acm/certificate:Certificate":
        return {"arn": CERTIFICATE_ARN}
    return aws_target.plan_outputs(type_, inputs)


def _plan(target: str, program: Callable[[], Project], outputs: Outputs | None = None) -> Plan:
    config, secret_keys = plan_config([], target)
    return run_plan(config, secret_keys, preview=False, program=program, outputs=outputs)


def _of_type(plan: Plan, type_: str) -> list[Registration]:
    return [r for r in plan.registrations if r.type == type_]


def _one(plan: Plan, type_: str) -> Registration:
    (found,) = _of_type(plan, type_)
    return found


def _aws_program() -> Project:
    """A VPC, subnets, a cluster and a certificate of one's own, given to the Project."""
    vpc = aws.ec2.Vpc("mine", cidr_block="10.9.0.0/16")
    subnets = [
        aws.ec2.Subnet(f"mine-{zone}", vpc_id=vpc.id, cidr_block=f"10.9.{index}.0/24")
        for index, zone in enumerate("ab")
    ]
    cluster = aws.ecs.Cluster("mine")
    certificate = aws.acm.Certificate("mine", domain_name="shop.example.com")
    options = AwsOptions(
        vpc_id=vpc.id,
        subnet_ids=[subnet.id for subnet in subnets],
        cluster_arn=cluster.arn,
        certificate_arn=certificate.arn,
    )
    return Project("shop", ProjectArgs.from_files(RELEASE, "aws", options=options))


@pytest.fixture(scope="module")
def aws_plan() -> Plan:
    return _plan("aws", _aws_program, _outputs)


def test_a_given_vpc_and_subnets_are_used_and_none_is_created(aws_plan: Plan) -> None:
    vpc = _one(aws_plan, "aws:ec2/vpc:Vpc")
    subnets = {r.urn for r in _of_type(aws_plan, "aws:ec2/subnet:Subnet")}
    assert vpc.name == "mine"
    assert {r.name for r in _of_type(aws_plan, "aws:ec2/subnet:Subnet")} == {"mine-a", "mine-b"}
    assert not _of_type(aws_plan, "aws:ec2/internetGateway:InternetGateway")
    groups = _of_type(aws_plan, "aws:ec2/securityGroup:SecurityGroup")
    assert groups and all(vpc.urn in group.dependencies for group in groups)
    balancer = _one(aws_plan, "aws:lb/loadBalancer:LoadBalancer")
    assert subnets <= set(balancer.dependencies)


def test_a_given_cluster_runs_the_services_and_jobs_and_none_is_created(aws_plan: Plan) -> None:
    cluster = _one(aws_plan, "aws:ecs/cluster:Cluster")
    services = _of_type(aws_plan, "aws:ecs/service:Service")
    jobs = _of_type(aws_plan, "pulumi-python:dynamic/berth:EcsJob")
    assert cluster.name == "mine"
    assert services and jobs
    assert all(cluster.urn in r.dependencies for r in [*services, *jobs])


def test_a_given_certificate_serves_https(aws_plan: Plan) -> None:
    certificate = _one(aws_plan, "aws:acm/certificate:Certificate")
    listeners = _of_type(aws_plan, "aws:lb/listener:Listener")
    https = [r for r in listeners if r.inputs["protocol"] == "HTTPS"]
    assert len(https) == 1
    assert https[0].inputs["certificateArn"] == CERTIFICATE_ARN
    assert certificate.urn in https[0].dependencies


def test_a_given_registry_is_pushed_to_and_none_is_created() -> None:
    def program() -> Project:
        registry = do.ContainerRegistry("mine", name="acme", subscription_tier_slug="basic")
        options = DigitalOceanOptions(registry=registry.name)
        return Project("shop", ProjectArgs.from_files(RELEASE, "digitalocean", options=options))

    plan = _plan("digitalocean", program)
    registry = _one(plan, "digitalocean:index/containerRegistry:ContainerRegistry")
    credentials = _one(plan, CREDENTIALS)
    assert registry.name == "mine"
    assert registry.urn in credentials.dependencies
    assert credentials.inputs["registryName"] == "acme"


@pytest.fixture
def event_loop() -> Iterator[None]:
    """Outputs made outside a program need an event loop of their own."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    loop.close()
    asyncio.set_event_loop(None)


@pytest.mark.usefixtures("event_loop")
def test_rules_that_need_a_value_run_on_plain_values_only() -> None:
    """An output is the resource's own ARN or name: only a plain value can be checked."""
    arn = pulumi.Output.from_input("arn:aws:ecs:eu-west-1:123:cluster/x")
    with pytest.raises(BerthError, match="berth:awsClusterArn 'my-cluster' is not an ARN"):
        AwsOptions(cluster_arn="my-cluster")
    with pytest.raises(BerthError, match="berth:awsCertificateArn 'cert' is not an ARN"):
        AwsOptions(certificate_arn="cert")
    with pytest.raises(BerthError, match="berth:digitaloceanRegistry must be up to 63"):
        DigitalOceanOptions(registry="My Registry")
    assert AwsOptions(cluster_arn=arn).cluster_arn is arn
    assert DigitalOceanOptions(registry=pulumi.Output.from_input("Not Checked")).registry


@pytest.mark.usefixtures("event_loop")
def test_rules_of_presence_run_on_presence() -> None:
    vpc = pulumi.Output.from_input("vpc-1")
    with pytest.raises(BerthError, match="berth:awsVpcId and berth:awsSubnetIds go together"):
        AwsOptions(vpc_id=vpc)
    with pytest.raises(BerthError, match="go together"):
        AwsOptions(subnet_ids=["subnet-1"])
    assert AwsOptions(vpc_id=vpc, subnet_ids=[pulumi.Output.from_input("subnet-1")]).vpc_id is vpc


def test_every_default_is_made_when_nothing_is_given() -> None:
    """The other way round: given nothing, Berth creates the VPC, cluster and registry."""
    options = AwsOptions()
    assert (options.vpc_id, options.cluster_arn, options.certificate_arn) == (None, None, None)
    assert DigitalOceanOptions().registry is None


def test_a_given_network_holds_the_project_s_subnet_and_none_is_created() -> None:
    def program() -> Project:
        network = gcp.compute.Network("mine", auto_create_subnetworks=False)
        options = GcpOptions(network=network.id)
        return Project("shop", ProjectArgs.from_files(RELEASE, "gcp", options=options))

    plan = _plan("gcp", program)
    network = _one(plan, "gcp:compute/network:Network")
    subnet = _one(plan, "gcp:compute/subnetwork:Subnetwork")
    assert network.name == "mine"
    assert subnet.inputs["network"] == "mine-id"


def test_a_given_network_with_managed_stores_is_refused(tmp_path: Path) -> None:
    """The stores' private services peering would replace the network's own, and go with a
    destroy: refused in one line rather than made on someone else's network."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n  db:\n    image: postgres:16\n    x-defang-postgres: true\n"
        "    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD}\n"
    )
    files = [str(tmp_path / "compose.yaml")]
    variables = Variables({"DB_PASSWORD": "a-long-enough-password"}, frozenset({"DB_PASSWORD"}))

    def program() -> Project:
        network = gcp.compute.Network("mine", auto_create_subnetworks=False)
        args = ProjectArgs.from_files(
            files, "gcp", options=GcpOptions(network=network.id), variables=variables
        )
        return Project("shop", args)

    with pytest.raises(BerthError) as refused:
        _plan("gcp", program)
    assert (refused.value.service, refused.value.field) == ("db", "x-defang-postgres")
    assert "private services peering" in refused.value.message


def test_a_subnet_range_is_kept_as_the_cloud_writes_it() -> None:
    assert GcpOptions.parse({"gcpSubnetRange": "10.20.0.0/255.255.240.0"}).subnet_range == (
        "10.20.0.0/20"
    )


def test_a_network_id_is_checked_when_plain() -> None:
    with pytest.raises(BerthError, match="berth:gcpNetwork 'my-network' is not a VPC network"):
        GcpOptions(network="my-network")
    assert GcpOptions(network="projects/shop/global/networks/main").network
