"""Each GCP service and job runs as its own service account, which may read only its own
secrets and volumes (the program under Pulumi's mock engine), and account IDs that Google
Cloud accepts."""

from __future__ import annotations

import re

from berth.offline.plan import Plan
from berth.providers.gcp.names import account_id
from tests.conftest import program
from tests.plans import find, of_type

ACCOUNT = "gcp:serviceaccount/account:Account"
GRANT = "gcp:secretmanager/secretIamMember:SecretIamMember"
BUCKET_GRANT = "gcp:storage/bucketIAMMember:BucketIAMMember"
PROJECT_ROLE = "gcp:projects/iAMMember:IAMMember"
IMAGE_READER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
ACCOUNT_ID = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")

COMPOSE = """
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: ${DB_PASSWORD}
        volumes: [data:/var/lib/postgresql/data]
      cache:
        build: ./cache
        expose: ["6379"]
      api:
        image: ghcr.io/example/api
        ports: ["8080:8080"]
        environment:
          DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app
          API_TOKEN: ${API_TOKEN}
        volumes: [uploads:/srv/uploads]
      worker:
        image: example/worker
        environment:
          API_TOKEN: ${API_TOKEN}
        volumes: [uploads:/srv/uploads:ro]
      migrate:
        image: migrate/migrate
        environment:
          DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app
        secrets: [token]
        restart: "no"
    volumes:
      data: {}
      uploads: {}
    secrets:
      token:
        environment: API_TOKEN
"""
WORKLOADS = ("db", "cache", "api", "worker", "migrate")


def deploy(write, **variables: str) -> Plan:
    write(COMPOSE)
    write("FROM busybox\n", "cache/Dockerfile")
    secrets = {"DB_PASSWORD": "pw-3e4f5a6b", "API_TOKEN": "tok-7c8d9e0f"}
    return program(["compose.yaml"], target="gcp", secrets=secrets, variables=variables)


def members(plan: Plan) -> dict[str, str]:
    """Each workload's account, as an IAM member."""
    return {
        name: f"serviceAccount:{find(plan, ACCOUNT, f'{name}-account').inputs['accountId']}"
        "@berth-plan.iam.gserviceaccount.com"
        for name in WORKLOADS
    }


def test_every_service_and_job_runs_as_its_own_account(project_dir, write):
    plan = deploy(write)

    accounts = of_type(plan, ACCOUNT)
    project = plan.compose.name
    assert sorted(a.name for a in accounts) == sorted(f"{project}-{n}-account" for n in WORKLOADS)
    ids = [a.inputs["accountId"] for a in accounts]
    assert len(set(ids)) == len(ids)
    assert all(ACCOUNT_ID.match(i) for i in ids), ids
    email = {n: m.removeprefix("serviceAccount:") for n, m in members(plan).items()}
    api = find(plan, "gcp:cloudrunv2/service:Service", "api").inputs["template"]
    assert api["serviceAccount"] == email["api"]
    worker = find(plan, "gcp:cloudrunv2/workerPool:WorkerPool", "worker").inputs["template"]
    assert worker["serviceAccount"] == email["worker"]
    job = find(plan, "gcp:cloudrunv2/job:Job", "migrate").inputs["template"]["template"]
    assert job["serviceAccount"] == email["migrate"]
    for vm in ("db", "cache"):
        instance = find(plan, "gcp:compute/instance:Instance", vm).inputs
        assert instance["serviceAccount"]["email"] == email[vm], "the VM is its service's"


def test_each_secret_is_readable_only_by_the_account_of_the_service_that_uses_it(
    project_dir, write
):
    plan = deploy(write)

    member = members(plan)
    grants = of_type(plan, GRANT)
    readers: dict[str, set[str]] = {}
    for grant in grants:
        name = grant.name.removeprefix(f"{plan.compose.name}-")
        readers.setdefault(name, set()).add(grant.inputs["member"])
    assert readers == {
        "db-POSTGRES_PASSWORD": {member["db"]},
        "api-DATABASE_URL": {member["api"]},
        "api-API_TOKEN": {member["api"]},
        "worker-API_TOKEN": {member["worker"]},
        "migrate-DATABASE_URL": {member["migrate"]},
        "migrate-file-token": {member["migrate"]},
    }, "a secret per workload and value, one reader each"
    assert {g.inputs["role"] for g in grants} == {"roles/secretmanager.secretAccessor"}
    workloads = {
        "api": find(plan, "gcp:cloudrunv2/service:Service", "api"),
        "worker": find(plan, "gcp:cloudrunv2/workerPool:WorkerPool", "worker"),
    }
    for name, workload in workloads.items():
        own = {g.urn for g in grants if g.name.startswith(f"{name}-")}
        assert own <= set(workload.dependencies), "it starts once it may read its secrets"


def test_volumes_and_roles_go_only_to_the_workloads_that_need_them(project_dir, write):
    plan = deploy(write)

    member = members(plan)
    buckets = {g.inputs["member"]: g.inputs["role"] for g in of_type(plan, BUCKET_GRANT)}
    assert buckets == {
        member["api"]: "roles/storage.objectUser",
        member["worker"]: "roles/storage.objectViewer",
    }, "the services that mount the bucket; read only where it is mounted read only"
    roles = {(g.inputs["member"], g.inputs["role"]) for g in of_type(plan, PROJECT_ROLE)}
    assert roles == {
        (member[vm], role)
        for vm in ("db", "cache")
        for role in ("roles/logging.logWriter", "roles/monitoring.metricWriter")
    }, "the VMs' agents write logs and metrics; Cloud Run's own accounts get no project role"
    readers = [g.inputs["member"] for g in of_type(plan, IMAGE_READER)]
    assert readers == [member["cache"]], "only the VM whose image Berth built pulls from it"
    cache = find(plan, "gcp:compute/instance:Instance", "cache")
    reader = find(plan, IMAGE_READER, "cache-image-reader")
    assert reader.urn in cache.dependencies


def test_a_private_cloud_run_service_may_be_called_by_the_other_workloads(project_dir, write):
    plan = deploy(write, gcpPublicServices="false")

    member = members(plan)
    invokers = of_type(plan, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember")
    assert {i.inputs["member"] for i in invokers} == {member[n] for n in WORKLOADS if n != "api"}
    assert {i.inputs["role"] for i in invokers} == {"roles/run.invoker"}


def test_account_ids_fit_google_cloud_and_never_change():
    assert account_id("shop-dev", "api") == "shop-dev-api"
    short = account_id("a", "b")
    assert ACCOUNT_ID.match(short) and short.startswith("a-b-"), "padded to 6 with a hash"
    long = account_id("a-very-long-compose-project-prod", "payments-reconciliation")
    assert ACCOUNT_ID.match(long) and len(long) == 30
    assert long == account_id("a-very-long-compose-project-prod", "payments-reconciliation")
    assert long != account_id("a-very-long-compose-project-prod", "payments-reconciliation2")
    assert ACCOUNT_ID.match(account_id("shop-dev", "9_lives.API"))
