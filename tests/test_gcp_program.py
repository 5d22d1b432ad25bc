"""The real program on the gcp target, under Pulumi's mock engine: the seed examples, secrets,
placements, names and options."""

from __future__ import annotations

import re

import pytest

from berth.errors import BerthError
from berth.offline.plan import Plan
from berth.providers.gcp.names import account_id, cloud_name
from tests.conftest import copy_example, program
from tests.plans import find, waits_on_services
from tests.secrets_check import assert_never_plain, count_wrapped

RUN = "pulumi-python:dynamic/berth:CloudRunJobExecution"
JOB = "gcp:cloudrunv2/job:Job"
SERVICE = "gcp:cloudrunv2/service:Service"
POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
INSTANCE = "gcp:compute/instance:Instance"
ADDRESS = "gcp:compute/address:Address"
IMAGE = "docker-build:index:Image"
READY = "pulumi-python:dynamic/berth:VmServiceReady"


def gcp(files: list[str], **kwargs: object) -> Plan:
    return program(files, target="gcp", **kwargs)  # type: ignore[arg-type]


def prefix(plan: Plan) -> str:
    """Cloud names start with the compose project and the stack."""
    return cloud_name(plan.compose.name, plan.stack, limit=30)


def env(container: dict) -> dict[str, object]:
    return {e["name"]: e.get("value", e.get("valueSource")) for e in container.get("envs", [])}


def test_migrate_example_runs_db_then_the_job_execution_then_web(project_dir):
    plan = gcp([copy_example("migrate", project_dir)])

    db = find(plan, INSTANCE, "db")
    job = find(plan, JOB, "migrate")
    run = find(plan, RUN, "migrate-run")
    web = find(plan, SERVICE, "web")
    assert run.urn in web.dependencies, "web waits for the migration to have succeeded"
    up = find(plan, READY, "db-running")
    assert {db.urn, up.urn, job.urn} <= set(run.dependencies), "it waits for db's container"
    assert up.inputs["want"] == "running"
    assert (
        up.inputs["instance"] == "projects/berth-plan/zones/us-central1-b/instances/migrate-dev-db"
    )
    assert db.urn not in job.dependencies, "the job definition runs nothing: it need not wait"
    assert waits_on_services(plan, web) == {"migrate"}
    assert waits_on_services(plan, run) == {"db"}
    assert waits_on_services(plan, db) == set()
    assert (
        run.inputs["jobName"]
        == "projects/berth-plan/locations/us-central1/jobs/migrate-dev-migrate"
    )


def test_migrate_example_resources_are_what_the_issue_asks_for(project_dir):
    plan = gcp([copy_example("migrate", project_dir)])

    job = find(plan, JOB, "migrate").inputs
    task = job["template"]["template"]
    container = task["containers"][0]
    assert job["template"]["taskCount"] == 1
    assert job["template"]["labels"] == {
        "berth-project": "migrate",
        "berth-stack": "dev",
        "berth-job": "migrate",
    }, "its executions carry the project, stack and job"
    assert task["maxRetries"] == 0
    assert task["timeout"] == "600s"
    assert container["args"] == ["./migrate.sh"]
    image = find(plan, IMAGE, "migrate-image")
    assert container["image"].startswith(
        "us-central1-docker.pkg.dev/berth-plan/migrate-dev/migrate@sha256:"
    )
    assert image.inputs["platforms"] == ["linux/amd64"]
    assert image.inputs["push"] is True
    assert image.inputs["registries"][0]["address"] == "us-central1-docker.pkg.dev"
    assert image.inputs["registries"][0]["password"] == "[secret]"
    run = find(plan, RUN, "migrate-run").inputs
    assert run["definition"]["container"]["image"] == container["image"]
    assert run["timeout"] == 600
    assert run["runAlways"] is False
    web = find(plan, SERVICE, "web").inputs
    assert web["template"]["containers"][0]["ports"] == {"containerPort": 80}
    assert web["deletionProtection"] is True
    invoker = find(plan, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "web-invoker")
    assert invoker.inputs["member"] == "allUsers"
    db = find(plan, INSTANCE, "db").inputs
    assert db["bootDisk"]["initializeParams"]["image"].endswith("cos-stable")
    assert "docker.io/library/postgres@sha256:" in db["metadata"]["user-data"], "by digest"


def test_references_to_other_services_are_rewritten_to_their_addresses(project_dir, write):
    write(
        """
        services:
          db:
            image: postgres:16
          api:
            image: ghcr.io/example/api
            ports: ["8080:8080"]
          web:
            image: nginx
            ports: ["80:80"]
            environment:
              DATABASE_URL: postgres://app:pw@db:5432/app
              API_URL: http://api:8080/v1
              DB_HOST: db
              POSTGRES_USER: api
        """
    )
    plan = gcp(["compose.yaml"])

    address = find(plan, ADDRESS, "db-address")
    variables = env(find(plan, SERVICE, "web").inputs["template"]["containers"][0])
    ip = find(plan, INSTANCE, "db").inputs["networkInterfaces"][0]["networkIp"]
    assert variables["DATABASE_URL"] == f"postgres://app:pw@{ip}:5432/app"
    assert variables["DB_HOST"] == ip
    api = find(plan, SERVICE, "api").inputs["name"]
    assert variables["API_URL"] == f"https://{api}-123456789012.us-central1.run.app/v1"
    assert variables["POSTGRES_USER"] == "api", "a value that is not a host stays"
    assert address.urn in find(plan, SERVICE, "web").dependencies


SECRETS = """
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: ${DB_PASSWORD}
        healthcheck:
          test: ["CMD-SHELL", "PGPASSWORD=$$POSTGRES_PASSWORD pg_isready"]
        secrets: [token]
      migrate:
        image: migrate/migrate
        environment:
          DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app
          API_TOKEN: ${API_TOKEN}
        secrets: [token]
        restart: "no"
        depends_on: [db]
      web:
        image: nginx
        ports: ["80:80"]
        environment:
          - API_TOKEN
    secrets:
      token:
        environment: API_TOKEN
"""


def test_secrets_never_appear_in_plain_text(project_dir, write):
    write(SECRETS)
    plan = gcp(
        ["compose.yaml"], secrets={"DB_PASSWORD": "pw-9f8e7d6c", "API_TOKEN": "tok-1a2b3c4d"}
    )

    assert_never_plain(plan, "pw-9f8e7d6c", "tok-1a2b3c4d")
    assert count_wrapped(plan, "pw-9f8e7d6c") >= 3, "the secret reached Secret Manager, wrapped"
    assert count_wrapped(plan, "tok-1a2b3c4d") >= 3
    job = find(plan, JOB, "migrate").inputs["template"]["template"]
    variables = env(job["containers"][0])
    reference = variables["DATABASE_URL"]["secretKeyRef"]
    assert reference["secret"] == f"{prefix(plan)}-migrate-DATABASE_URL"
    assert reference["version"].isdigit(), "pinned to its version, never `latest`"
    assert job["volumes"][0]["secret"]["items"][0]["path"] == "token"
    user_data = find(plan, INSTANCE, "db").inputs["metadata"]["user-data"]
    assert re.search(r"s\d=\$\(secret \w+-db-POSTGRES_PASSWORD-id/versions/\d+\)", user_data)
    run = user_data.split("exec docker run", 1)[1]
    assert "--env-file /run/berth/db.env" in run
    assert "$s" not in run, "a secret reaches docker run only through the env file"
    grants = [
        r
        for r in plan.registrations
        if r.type == "gcp:secretmanager/secretIamMember:SecretIamMember"
    ]
    assert grants, "each workload's account may read its own secrets"
    assert {g.inputs["role"] for g in grants} == {"roles/secretmanager.secretAccessor"}
    run = find(plan, RUN, "migrate-run")
    assert run.inputs["scrubValues"] == "[secret]", "values to scrub from logs stay secret"


def test_a_secret_in_a_cloud_run_command_is_refused(project_dir, write):
    write(
        """
        services:
          migrate:
            image: migrate/migrate
            command: ["-database", "postgres://app:${DB_PASSWORD}@db/app", "up"]
            restart: "no"
        """
    )
    with pytest.raises(BerthError, match="service 'migrate', field 'command'") as error:
        gcp(["compose.yaml"], secrets={"DB_PASSWORD": "pw-9f8e7d6c"})
    assert error.value.file == "compose.yaml"
    assert "environment" in str(error.value.hint)


@pytest.mark.parametrize(
    ("field", "text"),
    [
        (
            "healthcheck",
            'healthcheck:\n      test: ["CMD-SHELL", "PGPASSWORD=${DB_PASSWORD} true"]',
        ),
        ("command", 'command: ["postgres", "-c", "password=${DB_PASSWORD}"]'),
        ("entrypoint", 'entrypoint: ["/init", "${DB_PASSWORD}"]'),
    ],
)
def test_a_secret_in_a_vm_command_line_is_refused(project_dir, write, field, text):
    """On a VM it would be an argument of docker run: in the process list for the container's
    life; the container's shell can read it from the environment instead."""
    write(f"services:\n  db:\n    image: postgres:16\n    {text}\n")
    with pytest.raises(BerthError, match=f"service 'db', field '{field}'") as error:
        gcp(["compose.yaml"], secrets={"DB_PASSWORD": "pw-9f8e7d6c"})
    assert "process list" in str(error.value)
    assert "$$PASSWORD" in str(error.value.hint)
    assert "pw-9f8e7d6c" not in str(error.value)


def test_a_secret_with_a_line_break_is_refused_on_a_vm(project_dir, write):
    """Docker's env file holds one line per variable."""
    write("services:\n  db:\n    image: postgres:16\n    environment: ['KEY=${PEM}']\n")
    with pytest.raises(BerthError, match="service 'db', field 'environment'") as error:
        gcp(["compose.yaml"], secrets={"PEM": "-----BEGIN KEY-----\nabc\n-----END KEY-----"})
    assert "KEY holds a line break" in str(error.value)
    assert "secrets:" in str(error.value.hint)
    assert "abc" not in str(error.value)


def test_two_runs_give_identical_resource_inputs(project_dir, write):
    write(SECRETS)

    def snapshot() -> list[tuple[str, object, tuple[str, ...]]]:
        plan = gcp(["compose.yaml"], secrets={"DB_PASSWORD": "pw-5a6b", "API_TOKEN": "tok-7c8d"})
        return sorted((r.urn, r.inputs, r.dependencies) for r in plan.registrations)

    assert snapshot() == snapshot()


def test_each_kind_of_service_runs_where_it_can(project_dir, write):
    write(
        """
        services:
          cache:
            image: redis:7
          backend:
            build: ./backend
            expose: ["3000"]
          worker:
            image: example/worker
          dns:
            image: example/dns
            ports: ["53:53/udp"]
          search:
            image: example/search
            ports: ["9200:9200", "9300:9300"]
          web:
            image: nginx
            ports: ["8080:80"]
            healthcheck:
              test: ["CMD-SHELL", "curl -fs http://localhost/healthz || exit 1"]
              interval: 15s
        """
    )
    write("FROM busybox\n", "backend/Dockerfile")
    plan = gcp(["compose.yaml"])

    for name in ("cache", "backend", "dns", "search"):
        find(plan, INSTANCE, name)
    find(plan, POOL, "worker")
    web = find(plan, SERVICE, "web").inputs["template"]["containers"][0]
    assert web["ports"] == {"containerPort": 80}
    assert web["startupProbe"]["httpGet"] == {"path": "/healthz", "port": 80}
    assert web["startupProbe"]["periodSeconds"] == 15
    assert web["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 80}
    dns = find(plan, INSTANCE, "dns").inputs
    assert not dns["networkInterfaces"][0].get("accessConfigs"), "UDP is not HTTP: internal"
    assert "publish 53 53 udp" in dns["metadata"]["user-data"]
    search = find(plan, INSTANCE, "search").inputs
    assert search["networkInterfaces"][0]["accessConfigs"], "its HTTP port 9200 is public"
    firewall = find(plan, "gcp:compute/firewall:Firewall", "search-public").inputs
    assert firewall["allows"] == [{"ports": ["9200"], "protocol": "tcp"}], "not 9300"
    backend = find(plan, INSTANCE, "backend").inputs
    assert not backend["networkInterfaces"][0].get("accessConfigs"), "expose stays internal"
    assert "--registries=us-central1-docker.pkg.dev" in backend["metadata"]["user-data"]


def test_named_volumes_are_disks_on_vms_and_buckets_on_cloud_run(project_dir, write):
    write(
        """
        services:
          db:
            image: postgres
            volumes: [data:/var/lib/postgresql/data]
          web:
            image: nginx
            ports: ["80:80"]
            volumes: [uploads:/srv/uploads, /srv/cache, ./site:/usr/share/nginx/html]
        volumes:
          data: {}
          uploads: {}
        """
    )
    plan = gcp(["compose.yaml"])

    disk = find(plan, "gcp:compute/disk:Disk", f"{plan.compose.name}-data")
    db = find(plan, INSTANCE, "db")
    assert disk.urn in db.dependencies
    assert [d["deviceName"] for d in db.inputs["attachedDisks"]] == ["berth-state", "data"]
    state = find(plan, "gcp:compute/disk:Disk", "db-state")
    assert state.inputs["name"].endswith("-db-state") and state.urn in db.dependencies
    assert "mkfs.ext4" in db.inputs["metadata"]["user-data"]
    assert "--volume /mnt/disks/data:/var/lib/postgresql/data" in db.inputs["metadata"]["user-data"]
    find(plan, "gcp:storage/bucket:Bucket", f"{plan.compose.name}-uploads")
    volumes = find(plan, SERVICE, "web").inputs["template"]["volumes"]
    assert {"name": "volume-0", "gcs": {"bucket": volumes[1]["gcs"]["bucket"]}} in volumes
    assert {"emptyDir": {"medium": "MEMORY"}, "name": "scratch-0"} in volumes
    assert any("bind mount ./site" in w or "bind mount site" in w for w in plan.warnings)


def test_a_volume_shared_by_a_vm_and_cloud_run_is_refused(project_dir, write):
    write(
        """
        services:
          db:
            image: postgres
            volumes: [data:/data]
          web:
            image: nginx
            ports: ["80:80"]
            volumes: [data:/data]
        volumes:
          data: {}
        """
    )
    with pytest.raises(BerthError, match="named volume 'data' is used by db, web"):
        gcp(["compose.yaml"])


def test_stack_options_change_protection_access_and_machines(project_dir, write):
    write(
        """
        services:
          db:
            image: postgres
            ports: ["5432:5432"]
          web:
            image: nginx
            ports: ["80:80"]
        """
    )
    options = {
        "gcpDeletionProtection": "false",
        "gcpPublicServices": "false",
        "gcpMachineType": "e2-standard-4",
    }
    plan = gcp(["compose.yaml"], variables=options)

    assert find(plan, SERVICE, "web").inputs["deletionProtection"] is False
    invoker = find(plan, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "web-invoker-db")
    assert invoker.inputs["member"] == (
        f"serviceAccount:{account_id(prefix(plan), 'db')}@berth-plan.iam.gserviceaccount.com"
    ), "a private service: the project's other workloads may call it"
    db = find(plan, INSTANCE, "db").inputs
    assert db["machineType"] == "e2-standard-4"
    assert not db["networkInterfaces"][0].get("accessConfigs")


PUBLISHED_DATABASES = """
    services:
      db:
        image: postgres:16
        ports: ["5432:5432"]
      cache:
        image: redis:7
        ports: ["6380:6379"]
      docs:
        image: postgres:16
        ports: ["5433:5433"]
      admin:
        image: example/admin
        ports: ["8080:8080", "9092:9092"]
"""
FIREWALL = "gcp:compute/firewall:Firewall"


def test_published_database_and_cache_ports_stay_internal_by_default(project_dir, write):
    write(PUBLISHED_DATABASES)
    plan = gcp(["compose.yaml"])

    for name in ("db", "cache", "docs"):
        assert not find(plan, INSTANCE, name).inputs["networkInterfaces"][0].get("accessConfigs")
        assert not [r for r in plan.registrations if r.name == f"{name}-public"], name
    assert not [r for r in plan.registrations if r.name == "db-public-address"]
    assert any(
        "'db': port 5432/tcp is reachable only inside the project (the PostgreSQL port" in w
        and "gcpPublicNonHttpPorts true" in w
        for w in plan.warnings
    )
    assert any("'docs': port 5433/tcp is reachable only inside" in w for w in plan.warnings)
    admin = find(plan, FIREWALL, "admin-public").inputs
    assert admin["allows"] == [{"ports": ["8080"], "protocol": "tcp"}], "HTTP only, not Kafka"
    assert admin["sourceRanges"] == ["0.0.0.0/0"]
    internal = find(plan, FIREWALL, f"{plan.compose.name}-internal").inputs
    assert internal["sourceRanges"] == ["10.20.0.0/20"], "the project's services and jobs"


def test_the_stack_can_open_non_http_ports_with_a_warning(project_dir, write):
    write(PUBLISHED_DATABASES)
    plan = gcp(["compose.yaml"], variables={"gcpPublicNonHttpPorts": "true"})

    db = find(plan, FIREWALL, "db-public").inputs
    assert db["allows"] == [{"ports": ["5432"], "protocol": "tcp"}]
    assert db["sourceRanges"] == ["0.0.0.0/0"]
    assert find(plan, INSTANCE, "cache").inputs["networkInterfaces"][0]["accessConfigs"]
    assert any(
        "'db': port 5432/tcp is open to the whole internet (0.0.0.0/0)" in w
        and "gcpPublicNonHttpPorts is true" in w
        for w in plan.warnings
    )
    closed = gcp(
        ["compose.yaml"],
        variables={"gcpPublicNonHttpPorts": "true", "gcpPublicServices": "false"},
    )
    assert not [r for r in closed.registrations if r.type == FIREWALL and "public" in r.name]


INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"


def test_public_services_can_skip_the_invoker_check_instead_of_granting_all_users(
    project_dir, write
):
    """For organisations whose Domain Restricted Sharing policy refuses allUsers."""
    write(
        """
        services:
          web:
            image: nginx
            ports: ["80:80"]
          admin:
            image: example/admin
            ports: ["8080"]
        """
    )
    default = gcp(["compose.yaml"])
    assert find(default, SERVICE, "web").inputs["invokerIamDisabled"] is False
    assert find(default, INVOKER, "web-invoker").inputs["member"] == "allUsers"

    plan = gcp(["compose.yaml"], variables={"gcpInvokerIamDisabled": "true"})
    assert find(plan, SERVICE, "web").inputs["invokerIamDisabled"] is True
    members = [r.inputs["member"] for r in plan.registrations if r.type == INVOKER]
    assert members == [], "no allUsers binding, and no other: Cloud Run checks no caller"


def test_the_invoker_check_cannot_be_skipped_on_private_services(project_dir, write):
    write("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n")
    options = {"gcpInvokerIamDisabled": "true", "gcpPublicServices": "false"}
    with pytest.raises(BerthError, match="berth:gcpInvokerIamDisabled makes public") as error:
        gcp(["compose.yaml"], variables=options)
    assert "gcpPublicServices" in str(error.value.hint)


def test_a_bad_option_is_a_clear_error(project_dir, write):
    write("services:\n  web:\n    image: nginx\n")
    with pytest.raises(BerthError, match="berth:gcpPublicServices must be true or false"):
        gcp(["compose.yaml"], variables={"gcpPublicServices": "maybe"})


def test_run_always_timeout_and_retries_reach_the_job(project_dir, write):
    write(
        """
        services:
          warm:
            image: busybox
            command: ["warm-cache"]
            restart: on-failure:2
            x-berth-run: always
            x-berth-timeout: 30m
          web:
            image: nginx
            ports: ["80:80"]
            depends_on:
              warm: {condition: service_completed_successfully}
        """
    )
    plan = gcp(["compose.yaml"])

    run = find(plan, RUN, "warm-run").inputs
    assert run["runAlways"] is True
    assert run["timeout"] == 1800
    assert run["maxRetries"] == 2, "the execution's deadline allows every try"
    task = find(plan, JOB, "warm").inputs["template"]["template"]
    assert task["timeout"] == "1800s"
    assert task["maxRetries"] == 2


def test_fields_cloud_run_cannot_honour_are_warned_about(project_dir, write):
    write(
        """
        services:
          web:
            image: nginx
            ports: ["80:80"]
            user: "1000"
            stop_signal: SIGINT
          vpn:
            image: example/vpn
            cap_add: [NET_ADMIN]
        """
    )
    plan = gcp(["compose.yaml"])

    assert any(
        "'web': field 'user' is ignored on gcp (Cloud Run service)" in w for w in plan.warnings
    )
    assert any("field 'stop_signal' is ignored" in w for w in plan.warnings)
    vpn = find(plan, INSTANCE, "vpn").inputs["metadata"]["user-data"]
    assert "--cap-add NET_ADMIN" in vpn


def test_the_production_override_sizes_and_scales_web(project_dir):
    base = copy_example("migrate", project_dir)
    plan = gcp(
        [base, base.replace("compose.yaml", "compose.prod.yaml")],
        secrets={"POSTGRES_PASSWORD": "prod-pw-5e6f7a8b"},
    )

    web = find(plan, SERVICE, "web").inputs["template"]
    assert web["scaling"] == {"minInstanceCount": 2}
    assert web["containers"][0]["resources"] == {"limits": {"cpu": "1", "memory": "1024Mi"}}
    assert find(plan, RUN, "migrate-run").inputs["timeout"] == 1200
    assert_never_plain(plan, "prod-pw-5e6f7a8b")


def test_the_provider_project_is_required(monkeypatch):
    from types import SimpleNamespace

    from berth.providers.gcp import provider as configured

    client = SimpleNamespace(project="", region="", zone="", access_token="t")
    monkeypatch.setattr(configured.gcp.organizations, "get_client_config", lambda opts: client)
    with pytest.raises(BerthError, match="no Google Cloud project") as error:
        configured.configured_provider(None)  # type: ignore[arg-type]
    assert "pulumi config set gcp:project" in str(error.value.hint)

    client.project = "shop-prod"
    number = SimpleNamespace(number="4242")
    monkeypatch.setattr(configured.gcp.organizations, "get_project", lambda project, opts: number)
    provider = configured.configured_provider(None)  # type: ignore[arg-type]
    assert (provider.project, provider.region, provider.number) == ("shop-prod", "", "4242")


def test_a_file_cloud_run_cannot_mount_is_refused_naming_it(project_dir, write):
    write(
        """
        services:
          web:
            image: nginx
            ports: ["80:80"]
            configs: [site]
        configs:
          site:
            content: hello
        """
    )
    with pytest.raises(BerthError, match=r"field 'configs': 'site': .* never /") as error:
        gcp(["compose.yaml"])
    assert error.value.hint and "target:" in error.value.hint


@pytest.mark.parametrize(
    ("kind", "definition", "target", "problem"),
    [
        pytest.param("configs", "environment: TOKEN", "/site", "never /", id="secret-config"),
        pytest.param("configs", "file: ./big", "/etc/site/site", "65536", id="large-config"),
        pytest.param("secrets", "file: ./big", "/etc/site/site", "65536", id="large-secret"),
        pytest.param("configs", 'content: ""', "/etc/site/site", "empty", id="empty-config"),
        pytest.param("secrets", "file: ./empty", "/etc/site/site", "empty", id="empty-secret"),
    ],
)
def test_a_file_gcp_cannot_keep_is_refused_under_its_own_field(
    write, kind, definition, target, problem
):
    """A config is reported under configs, even one whose content is a stack secret; Secret
    Manager, which keeps every file, holds 64 KiB, and no empty value ("Field [payload] is
    required")."""
    write("x" * (64 * 1024 + 1), "big")
    write("", "empty")
    write(f"""
        services:
          web:
            image: nginx
            ports: ["80:80"]
            {kind}: [{{source: site, target: {target}}}]
        {kind}:
          site: {{{definition}}}
    """)
    with pytest.raises(BerthError) as error:
        gcp(["compose.yaml"], secrets={"TOKEN": "token-0a1b"})
    assert (error.value.service, error.value.field) == ("web", kind)
    assert problem in error.value.message, error.value.message


def test_a_secret_and_a_config_of_one_name_are_two_secret_manager_secrets(project_dir, write):
    write("""
        services:
          web:
            image: nginx
            ports: ["80:80"]
            secrets: [{source: site, target: /run/secrets/site}]
            configs: [{source: site, target: /etc/site/site}]
        secrets:
          site:
            environment: TOKEN
        configs:
          site:
            content: hello
    """)
    plan = gcp(["compose.yaml"], secrets={"TOKEN": "token-0a1b"})

    secrets = [r.name for r in plan.registrations if r.type == "gcp:secretmanager/secret:Secret"]
    assert sorted(name.removeprefix(f"{project_dir.name}-") for name in secrets) == [
        "web-config-site",
        "web-file-site",
    ]


def test_only_workloads_that_reach_a_vm_or_a_store_use_direct_vpc_egress(project_dir, write):
    """A subnet Direct VPC egress used cannot be deleted for hours after: `pulumi destroy`
    would fail there for a project that never needed the network."""
    write(
        """
        services:
          db:
            image: postgres
          cache:
            image: redis
          api:
            image: example/api
            ports: ["8080:8080"]
            environment:
              DATABASE_URL: postgres://postgres@db/app
          worker:
            image: example/worker
            depends_on: [cache]
          web:
            image: nginx
            ports: ["80:80"]
            environment:
              API_URL: http://api:8080
          seed:
            image: example/seed
            restart: "no"
            environment:
              REDIS_HOST: cache
          report:
            image: example/report
            restart: "no"
        """
    )
    plan = gcp(["compose.yaml"])

    def egress(type_: str, name: str) -> object:
        spec = find(plan, type_, name).inputs["template"]
        return spec.get("template", spec).get("vpcAccess")

    assert egress(SERVICE, "api")["egress"] == "PRIVATE_RANGES_ONLY", "it names a VM"
    assert egress(POOL, "worker"), "it depends on a VM"
    assert egress(JOB, "seed"), "its environment names a VM"
    assert egress(SERVICE, "web") is None, "another Cloud Run service is reached on the internet"
    assert egress(JOB, "report") is None
