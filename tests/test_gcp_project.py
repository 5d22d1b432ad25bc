"""A Pulumi program of a user's own building on a gcp Project: its shared and per-workload
resources, children named from the Project's name (aliased to Berth's older names), and an
explicit gcp provider used for every resource and every provider function beneath it."""

from __future__ import annotations

import json
from collections.abc import Callable

import pulumi
import pulumi_docker_build as docker_build
import pulumi_gcp as gcp
import pytest

from berth.components.project import Project, ProjectArgs
from berth.offline.plan import Plan, plan_config, run_plan
from berth.variables import Variables
from tests.conftest import copy_example
from tests.plans import find, user_program

PASSWORD = "pw-1a2b3c4d"
VARIABLES = Variables({"POSTGRES_PASSWORD": PASSWORD}, frozenset({"POSTGRES_PASSWORD"}))
"""The stack secret a user's program passes on (the managed example's database password)."""
RUN = "pulumi-python:dynamic/berth:CloudRunJobExecution"
READY = "pulumi-python:dynamic/berth:VmServiceReady"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
API = "gcp:projects/service:Service"
ACCOUNT = "gcp:serviceaccount/account:Account"


def plan_of(
    files: list[str], program: Callable[[], Project], config: dict[str, str] | None = None
) -> Plan:
    base, secret_keys = plan_config(files, target="gcp", secrets={"POSTGRES_PASSWORD": PASSWORD})
    return run_plan({**base, **(config or {})}, secret_keys, preview=False, program=program)


def test_the_shared_resources_and_each_workload_s_main_ones_are_exposed(project_dir):
    files = [copy_example("migrate", project_dir)]
    built: list[Project] = []
    plan_of(files, user_program(files, "gcp", built, variables=VARIABLES))

    shop = built[0]
    assert isinstance(shop.shared["network"], gcp.compute.Network)
    assert isinstance(shop.shared["subnetwork"], gcp.compute.Subnetwork)
    assert isinstance(shop.shared["registry"], gcp.artifactregistry.Repository)
    assert isinstance(shop.shared["firewall"], gcp.compute.Firewall), "db runs on a VM"
    assert isinstance(shop.shared["router"], gcp.compute.Router)
    assert isinstance(shop.shared["nat"], gcp.compute.RouterNat)
    web = shop.services["web"].resources
    assert isinstance(web["workload"], gcp.cloudrunv2.Service)
    assert isinstance(web["service_account"], gcp.serviceaccount.Account)
    assert isinstance(web["image"], docker_build.Image), "Berth builds web"
    db = shop.services["db"].resources
    assert isinstance(db["workload"], gcp.compute.Instance)
    assert isinstance(db["address"], gcp.compute.Address)
    assert "image" not in db, "postgres is pulled, not built"
    migrate = shop.jobs["migrate"].resources
    assert migrate["run"] is shop.jobs["migrate"].run
    assert isinstance(migrate["job"], gcp.cloudrunv2.Job)
    assert isinstance(migrate["service_account"], gcp.serviceaccount.Account)


def test_a_managed_store_s_workload_and_its_private_services_access(project_dir):
    base = copy_example("migrate", project_dir)
    files = [base, base.replace("compose.yaml", "compose.managed.yaml")]
    built: list[Project] = []
    plan_of(files, user_program(files, "gcp", built, variables=VARIABLES))

    shop = built[0]
    assert isinstance(shop.shared["services_range"], gcp.compute.GlobalAddress)
    assert isinstance(shop.shared["services_peering"], gcp.servicenetworking.Connection)
    assert isinstance(shop.services["db"].resources["workload"], gcp.sql.DatabaseInstance)


def test_two_projects_in_one_program_do_not_collide(project_dir):
    files = [copy_example("migrate", project_dir)]

    def program() -> Project:
        args = ProjectArgs.from_files(files, "gcp")
        Project("shop", args)
        return Project("crm", args)

    plan = plan_of(files, program)
    for registration in plan.registrations:
        if registration.type != "berth:index:Project":
            assert registration.name.startswith(("shop-", "crm-")), registration.urn
        old_names = [a for a in registration.aliases if not a.endswith(f"::{registration.name}")]
        assert not old_names, "a new Project's stack holds no older names"


def test_berth_s_own_stacks_keep_their_resources_through_aliases(project_dir):
    """Berth's program names its Project after the compose project; a resource renamed
    under the Project, or whose name no longer begins with its component's, is aliased."""
    base = copy_example("migrate", project_dir)
    config, secret_keys = plan_config(
        [base, base.replace("compose.yaml", "compose.managed.yaml")],
        target="gcp",
        secrets={"POSTGRES_PASSWORD": PASSWORD},
    )
    plan = run_plan(config, secret_keys, preview=False)

    stem = "urn:pulumi:dev::berth::berth:index:Project$"
    api = find(plan, API, "run-api")
    assert (api.name, api.aliases) == ("migrate-run-api", (f"{stem}{API}::run-api",))
    account = find(plan, ACCOUNT, "web-account")
    assert f"{stem}{ACCOUNT}::web-account" in account.aliases
    peering = find(plan, "gcp:servicenetworking/connection:Connection", "services-peering")
    assert peering.aliases[0].endswith("::services-peering")
    sql = find(plan, SQL, "db-dev")
    assert sql.aliases == (f"urn:pulumi:dev::berth::berth:index:Service${SQL}::migrate-dev-db",)
    network = find(plan, "gcp:compute/network:Network", "network")
    assert network.name == "migrate-network" and not network.aliases, "its name is unchanged"


def identity_of(registration) -> dict:
    """The dynamic provider's ``identity`` input, unwrapped from its secret."""
    wrapped = registration.raw_inputs["identity"]
    assert wrapped["value"] is not None and "4dabf18193072939515e22adb298388d" in wrapped
    return wrapped["value"]


@pytest.fixture
def explicit(project_dir) -> tuple[Plan, list[Project]]:
    """The migrate example deployed by a program that gives the Project its own gcp provider,
    on a stack whose ``gcp:`` settings say otherwise."""
    files = [copy_example("migrate", project_dir)]
    built: list[Project] = []

    def program() -> Project:
        provider = gcp.Provider("explicit", project="explicit-project", region="europe-west1")
        opts = pulumi.ResourceOptions(providers=[provider])
        return user_program(files, "gcp", built, opts=opts, variables=VARIABLES)()

    stack = {"gcp:accessToken": "stack-token", "gcp:project": "stack-project"}
    return plan_of(files, program, stack), built


def test_an_explicit_provider_creates_every_gcp_resource(explicit):
    plan, _ = explicit
    provider = find(plan, "pulumi:providers:gcp", "explicit")
    gcp_resources = [r for r in plan.registrations if r.custom and r.type.startswith("gcp:")]
    assert len(gcp_resources) > 20
    for registration in gcp_resources:
        assert registration.provider.startswith(f"{provider.urn}::"), registration.urn


def test_an_explicit_provider_answers_every_provider_function(explicit):
    plan, _ = explicit
    provider = find(plan, "pulumi:providers:gcp", "explicit")
    calls = [i for i in plan.invocations if i.token.startswith("gcp:")]
    assert {i.token for i in calls} == {
        "gcp:organizations/getClientConfig:getClientConfig",
        "gcp:organizations/getProject:getProject",
    }
    for call in calls:
        assert call.provider.startswith(f"{provider.urn}::"), call.token
    lookup = find(plan, "pulumi:providers:docker", "registry-lookup")
    digests = [i for i in plan.invocations if i.token.startswith("docker:")]
    assert digests, "postgres' digest is read from its registry"
    assert all(i.provider.startswith(f"{lookup.urn}::") for i in digests), "its own provider"


def test_the_jobs_and_readiness_act_as_the_explicit_provider(explicit):
    plan, _ = explicit
    run = find(plan, RUN, "migrate-run")
    ready = find(plan, READY, "db-running")
    expected = {
        "accessToken": "plan-explicit-access-token",
        "impersonateServiceAccount": "deployer@berth-plan.iam.gserviceaccount.com",
    }
    assert identity_of(run) == identity_of(ready) == expected, "not the stack's gcp:accessToken"
    assert "identity" not in json.dumps(run.inputs["definition"]), "it never decides a re-run"
    assert "stack-token" not in json.dumps([r.raw_inputs for r in plan.registrations])
