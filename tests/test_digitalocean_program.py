"""The digitalocean target under Pulumi's mocks: the app spec App Platform receives.

App Platform orders an app by phases (databases, PRE_DEPLOY jobs, services, POST_DEPLOY
jobs), so the seed's workflows are proved here in those terms, on the recorded spec.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any

import pytest

from berth.components.project import Project, ProjectArgs
from berth.components.target import load_target
from berth.errors import BerthError
from berth.offline.plan import Plan, ProgramFailed, plan_config, run_plan
from berth.offline.render import as_mermaid
from berth.providers.digitalocean import hooks
from berth.providers.digitalocean.layout import layout
from berth.sources import read_sources
from tests.conftest import copy_example, program
from tests.plans import find, of_type
from tests.secrets_check import assert_never_plain, count_wrapped

APP = "digitalocean:index/app:App"
CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster"
IMAGE = "docker-build:index:Image"
DEPLOYED = "pulumi-python:dynamic/berth:AppDeployed"


def deploy(files: list[str], **kwargs: Any) -> Plan:
    return program(files, target="digitalocean", **kwargs)


def spec(plan: Plan) -> dict[str, Any]:
    (app,) = of_type(plan, APP)
    return app.inputs["spec"]


def component(plan: Plan, section: str, name: str) -> dict[str, Any]:
    (found,) = [c for c in spec(plan).get(section, []) if c["name"] == name]
    return found


def env(part: dict[str, Any]) -> dict[str, Any]:
    return {e["key"]: e for e in part.get("envs", [])}


def test_migrate_is_db_then_a_pre_deploy_job_then_web(project_dir):
    plan = deploy([copy_example("migrate", project_dir)])

    app = spec(plan)
    assert app["databases"] == [{"engine": "PG", "name": "db", "production": False}]
    (job,) = app["jobs"]
    assert (job["name"], job["kind"]) == ("migrate", "PRE_DEPLOY")
    assert [s["name"] for s in app["services"]] == ["web"]
    assert "workers" not in app
    for part in (job, component(plan, "services", "web")):
        assert env(part)["DATABASE_URL"]["value"] == "${db.DATABASE_URL}"
    assert app["ingress"]["rules"] == [
        {"component": {"name": "web"}, "match": {"path": {"prefix": "/"}}}
    ]
    web = component(plan, "services", "web")
    assert web["httpPort"] == 80
    digest = find(plan, IMAGE, "web-image")
    assert web["image"]["registryType"] == "DOCR"
    assert web["image"]["digest"].startswith("sha256:")
    assert (find(plan, APP, "migrate-app").urn, digest.urn) and digest.urn in find(
        plan, APP, "migrate-app"
    ).dependencies
    assert any("PRE_DEPLOY" in w and "every deployment" in w for w in plan.warnings)


def test_a_failed_deployment_releases_nothing(project_dir):
    """The app is one resource: the provider waits for its deployment, which App Platform
    cancels when the PRE_DEPLOY job fails, so nothing is created after it."""
    file = copy_example("migrate", project_dir)

    def fail(type_: str, _name: str) -> str | None:
        return "deployment failed: job migrate exited 1" if type_ == APP else None

    with pytest.raises(ProgramFailed, match="exited 1") as failure:
        deploy([file], fail=fail)
    assert not [r for r in failure.value.registrations if r.type == APP and r.custom]


def test_release_job_runs_after_the_services_not_before(project_dir):
    plan = deploy([copy_example("release", project_dir)])

    (job,) = spec(plan)["jobs"]
    assert (job["name"], job["kind"]) == ("release", "POST_DEPLOY")
    assert [s["name"] for s in spec(plan)["services"]] == ["app"]
    assert any("'release'" in w and "POST_DEPLOY" in w for w in plan.warnings)


ORDERS = """
    services:
      api:
        image: nginx
        ports: ["8080:80"]
      seed:
        image: busybox
        restart: "no"
        depends_on: [api]
      web:
        image: nginx
        ports: ["80:80"]
        depends_on: [seed]
"""


def test_a_job_between_two_services_is_refused(project_dir, write):
    write(ORDERS)

    with pytest.raises(BerthError) as refused:
        deploy(["compose.yaml"])
    error = refused.value
    assert (error.file, error.service, error.field) == ("compose.yaml", "seed", "depends_on")
    assert "never between two" in error.message and error.hint


def test_a_chain_of_pre_deploy_jobs_is_refused(project_dir, write):
    write("""
        services:
          one: {image: busybox, restart: "no"}
          two: {image: busybox, restart: "no", depends_on: [one]}
          web: {image: nginx, ports: ["80:80"], depends_on: [two]}
    """)

    with pytest.raises(BerthError, match="side by side") as refused:
        deploy(["compose.yaml"])
    assert (refused.value.service, refused.value.field) == ("two", "depends_on")


def test_a_post_deploy_job_may_follow_a_pre_deploy_job(project_dir, write):
    write("""
        services:
          migrate: {image: busybox, restart: "no"}
          web: {image: nginx, ports: ["80:80"], depends_on: [migrate]}
          smoke: {image: busybox, restart: "no", depends_on: [migrate, web]}
          cache: {image: nginx, depends_on: [web]}
    """)

    plan = deploy(["compose.yaml"])
    kinds = {job["name"]: job["kind"] for job in spec(plan)["jobs"]}
    assert kinds == {"migrate": "PRE_DEPLOY", "smoke": "POST_DEPLOY"}
    assert [w["name"] for w in spec(plan)["workers"]] == ["cache"]
    assert any("'cache'" in w and "services together" in w for w in plan.warnings), plan.warnings


HOOKED = """
    services:
      db:
        image: postgres:16
        environment: {POSTGRES_PASSWORD: x}
      web:
        build: .
        ports: ["80:80"]
        environment:
          DATABASE_URL: postgres://postgres:x@db:5432/postgres
        depends_on: [db]
        pre_start:
          - command: ["./migrate", "--up"]
            environment: {STEP: migrate}
"""


def test_a_hook_is_a_pre_deploy_job_that_runs_its_services_image(project_dir, write):
    """Compose's order, by App Platform's phases: the dev database exists, the hook runs
    (PRE_DEPLOY: a failure cancels the deployment), then web is released. The hook runs the
    image built for web, built once (Compose builds one image for both)."""
    write(HOOKED)
    (project_dir / "Dockerfile").write_text("FROM busybox\n")

    plan = deploy(["compose.yaml"])

    (job,) = spec(plan)["jobs"]
    assert (job["name"], job["kind"]) == ("web-pre-start-0", "PRE_DEPLOY")
    assert job["runCommand"] == "./migrate --up"
    assert env(job)["STEP"]["value"] == "migrate"
    assert env(job)["DATABASE_URL"]["value"] == "${db.DATABASE_URL}"
    assert job["image"] == component(plan, "services", "web")["image"]
    assert of_type(plan, IMAGE) == [find(plan, IMAGE, "web-image")], "one build, web's"
    (hook_warning,) = [w for w in plan.warnings if "pre_start[0]" in w]
    assert hook_warning.startswith("service 'web': pre_start[0] is the PRE_DEPLOY job")
    assert "every deployment of the app" in hook_warning
    (deployed,) = of_type(plan, DEPLOYED)
    assert deployed.inputs["hooks"] == {"web-pre-start-0": 'service "web" pre_start[0]'}


def test_a_hook_with_an_image_of_its_own_runs_it(write):
    write("""
        services:
          api:
            image: nginx:1.27
            expose: ["8080"]
            pre_start: [{image: "busybox:1.37", command: [echo, ready]}]
    """)

    (job,) = spec(deploy(["compose.yaml"]))["jobs"]
    assert (job["image"]["repository"], job["image"]["tag"]) == ("busybox", "1.37")


def test_a_project_without_hooks_sends_the_deployment_check_no_hooks(project_dir):
    plan = deploy([copy_example("migrate", project_dir)])

    (deployed,) = of_type(plan, DEPLOYED)
    assert "hooks" not in deployed.inputs


UNORDERED_HOOKS = {
    "two-hooks": (
        "web",
        """
        web:
          image: nginx
          ports: ["80:80"]
          pre_start: [{command: [./migrate]}, {command: [./seed]}]
        """,
        "its 2 hooks must run one after another, an order App Platform cannot give: App "
        "Platform runs the jobs of one phase side by side",
    ),
    "after-a-service": (
        "web",
        """
        api: {image: nginx, expose: ["8080"]}
        web:
          image: nginx
          ports: ["80:80"]
          depends_on: [api]
          pre_start: [{command: [./migrate]}]
        """,
        "its hook must run after 'api' (its depends_on) and before 'web', an order App "
        "Platform cannot give: a job runs before every service",
    ),
    "after-a-job": (
        "web",
        """
        prepare: {image: busybox, restart: "no"}
        web:
          image: nginx
          ports: ["80:80"]
          depends_on:
            prepare: {condition: service_completed_successfully}
          pre_start: [{command: [./migrate]}]
        """,
        "its hook must run after job 'prepare' (its depends_on), an order App Platform cannot "
        "give: App Platform runs the jobs of one phase side by side",
    ),
    "of-a-job": (
        "report",
        """
        report:
          image: busybox
          restart: "no"
          pre_start: [{command: [./prepare]}]
        """,
        "'report' is a one-off job, and its hook must run before it, an order App Platform "
        "cannot give",
    ),
    "of-a-database": (
        "db",
        """
        db:
          image: postgres:16
          pre_start: [{command: [./tune]}]
        web: {image: nginx, ports: ["80:80"]}
        """,
        "'db' is an App Platform database, which App Platform creates before any job runs",
    ),
}


@pytest.mark.parametrize(("service", "services", "words"), UNORDERED_HOOKS.values(),
                         ids=UNORDERED_HOOKS)  # fmt: skip
def test_a_hook_app_platform_cannot_order_is_refused(write, service, services, words):
    """App Platform runs the jobs of one phase side by side (its app spec orders no job after
    another), each before every service or after every service: where that loses Compose's
    order the plan is refused in one line naming the service and its pre_start, not the
    hook's job."""
    write("services:\n" + textwrap.indent(textwrap.dedent(services), "  "))

    with pytest.raises(BerthError) as refused:
        deploy(["compose.yaml"])
    error = refused.value
    assert (error.file, error.service, error.field) == ("compose.yaml", service, "pre_start")
    assert words in error.message
    assert error.hint and error.hint in error.message and "\n" not in error.message


@pytest.mark.parametrize(
    ("names", "rule", "other_rule"),
    [
        pytest.param(["a"], "at least 2", "unique", id="too-short"),
        pytest.param(["x" * 32 + "-a", "x" * 32 + "-b"], "unique", "at least 2", id="collision"),
    ],
)
def test_a_refused_component_name_names_the_rule_it_breaks(
    project_dir, write, names, rule, other_rule
):
    write("services:\n" + "".join(f"  {name}: {{image: nginx}}\n" for name in names))

    with pytest.raises(BerthError) as refused:
        deploy(["compose.yaml"])
    assert refused.value.service == names[-1]
    assert rule in refused.value.message and other_rule not in refused.value.message


SECRETS = """
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: ${DB_PASSWORD}
      migrate:
        build: .
        environment:
          DATABASE_URL: postgres://postgres:${DB_PASSWORD}@db:5432/postgres
          PGPASSWORD: ${DB_PASSWORD}
          API_TOKEN: ${API_TOKEN}
        restart: "no"
        depends_on: [db]
      web:
        image: ghcr.io/acme/web:1.2
        ports: ["80:80"]
        environment:
          - API_TOKEN
        depends_on: [migrate]
"""


def test_stack_secrets_are_secret_variables_never_plain_text(project_dir, write):
    write(SECRETS)
    write("FROM busybox\n", "Dockerfile")
    plan = deploy(["compose.yaml"], secrets={"DB_PASSWORD": "pw-9f8e7d6c", "API_TOKEN": "tok-1a2b"})

    assert_never_plain(plan, "pw-9f8e7d6c", "tok-1a2b")
    assert count_wrapped(plan, "tok-1a2b") == 2, "the token reached the app, wrapped"
    job = env(component(plan, "jobs", "migrate"))
    assert job["API_TOKEN"] == {
        "key": "API_TOKEN", "scope": "RUN_TIME", "type": "SECRET", "value": "[secret]"
    }  # fmt: skip
    assert job["DATABASE_URL"]["value"] == "${db.DATABASE_URL}"
    assert job["PGPASSWORD"]["value"] == "${db.PASSWORD}"
    assert env(component(plan, "services", "web"))["API_TOKEN"]["type"] == "SECRET"
    assert component(plan, "services", "web")["image"] == {
        "registryType": "GHCR", "registry": "acme", "repository": "web", "tag": "1.2"
    }  # fmt: skip
    assert spec(plan)["databases"][0]["version"] == "16"


def test_a_secret_in_a_command_is_refused(project_dir, write):
    write("""
        services:
          job:
            image: busybox
            command: ["login", "${TOKEN}"]
            restart: "no"
    """)

    with pytest.raises(BerthError, match="plain text") as refused:
        deploy(["compose.yaml"], secrets={"TOKEN": "tok-5e6f"})
    assert (refused.value.service, refused.value.field) == ("job", "command")
    assert "tok-5e6f" not in refused.value.message


def test_an_image_of_another_registry_is_refused(project_dir, write):
    write("services:\n  web:\n    image: quay.io/acme/web\n    ports: ['80:80']\n")

    with pytest.raises(BerthError, match=r"not quay\.io") as refused:
        deploy(["compose.yaml"])
    assert (refused.value.service, refused.value.field) == ("web", "image")


def test_health_checks_become_http_or_tcp_checks(project_dir, write):
    write("""
        services:
          web:
            image: nginx
            ports: ["80:80"]
            healthcheck:
              test: ["CMD", "curl", "-f", "http://localhost/healthz"]
              interval: 15s
          api:
            image: nginx
            expose: [8080]
            healthcheck:
              test: ["CMD-SHELL", "pg_isready"]
          search:
            image: nginx
            expose: [9200]
    """)

    plan = deploy(["compose.yaml"])
    assert component(plan, "services", "web")["healthCheck"] == {
        "httpPath": "/healthz", "port": 80, "periodSeconds": 15, "timeoutSeconds": 1,
        "failureThreshold": 3, "initialDelaySeconds": 0,
    }  # fmt: skip
    api = component(plan, "services", "api")
    assert api["internalPorts"] == [8080] and "httpPort" not in api
    assert "httpPath" not in api["healthCheck"] and api["healthCheck"]["port"] == 8080
    assert any("'api'" in w and "TCP check" in w for w in plan.warnings)
    search = component(plan, "services", "search")
    assert search["healthCheck"] == {"port": 9200}, "not App Platform's default port 8080"


def test_marked_stores_are_managed_clusters_the_app_binds_to(project_dir, write):
    write("""
        services:
          db:
            image: postgres:15
            x-defang-postgres: true
            environment:
              POSTGRES_USER: app
              POSTGRES_DB: shop
          cache:
            image: redis:7
          web:
            image: nginx
            ports: ["80:80"]
            environment:
              DATABASE_URL: postgres://app:pw@db:5432/shop
              REDIS_HOST: cache
              REDIS_ADDR: cache:6379
    """)

    plan = deploy(["compose.yaml"])
    db, cache = (find(plan, CLUSTER, f"{name}-cluster").inputs for name in ("db", "cache"))
    assert db["engine"] == "pg" and db["version"] == "15" and db["region"] == "nyc3"
    assert cache["engine"] == "valkey"
    databases = {d["name"]: d for d in spec(plan)["databases"]}
    assert databases["db"] == {
        "name": "db", "engine": "PG", "production": True,
        "clusterName": db["name"], "dbName": "shop", "dbUser": "app",
    }  # fmt: skip
    assert databases["cache"]["engine"] == "VALKEY" and databases["cache"]["production"]
    variables = env(component(plan, "services", "web"))
    assert variables["DATABASE_URL"]["value"] == "${db.DATABASE_URL}"
    assert variables["REDIS_HOST"]["value"] == "${cache.HOSTNAME}"
    assert variables["REDIS_ADDR"]["value"] == "${cache.HOSTNAME}:${cache.PORT}"
    assert [s["name"] for s in spec(plan)["services"]] == ["web"]


def test_settings_choose_region_size_and_registry(project_dir, write):
    write("services:\n  web:\n    build: .\n    ports: ['80:80']\n")
    write("FROM busybox\n", "Dockerfile")

    plan = deploy(
        ["compose.yaml"],
        variables={
            "digitaloceanRegion": "fra",
            "digitaloceanInstanceSize": "apps-d-1vcpu-2gb",
            "digitaloceanRegistry": "acme",
        },
    )
    assert spec(plan)["region"] == "fra"
    assert component(plan, "services", "web")["instanceSizeSlug"] == "apps-d-1vcpu-2gb"
    image = find(plan, IMAGE, "web-image").inputs
    assert [tag.startswith("registry.digitalocean.com/acme/") for tag in image["tags"]] == [True]
    assert image["push"] is True
    assert image["registries"][0]["address"] == "registry.digitalocean.com"
    assert image["platforms"] == ["linux/amd64"]
    assert not of_type(plan, "digitalocean:index/containerRegistry:ContainerRegistry")
    with pytest.raises(BerthError, match="digitaloceanRegion"):
        deploy(["compose.yaml"], variables={"digitaloceanRegion": "mars"})


def test_two_runs_give_the_same_spec(project_dir):
    file = copy_example("migrate", project_dir)

    assert spec(deploy([file])) == spec(deploy([file]))


@pytest.mark.parametrize("example", ["migrate", "release"])
def test_the_mermaid_workflow_is_the_other_targets(project_dir, example):
    file = copy_example(example, project_dir)

    diagram = as_mermaid(deploy([file]))
    assert diagram == as_mermaid(program([file], target="local"))
    assert diagram == as_mermaid(program([file], target="gcp"))


def test_the_production_override_keeps_the_password_secret(project_dir):
    base = copy_example("migrate", project_dir)
    prod = base.replace("compose.yaml", "compose.prod.yaml")

    plan = deploy([base, prod], secrets={"POSTGRES_PASSWORD": "prod-pw-5e6f7a8b"})
    assert_never_plain(plan, "prod-pw-5e6f7a8b")
    web = component(plan, "services", "web")
    assert web["instanceCount"] == 2
    assert env(web)["DATABASE_URL"]["value"] == "${db.DATABASE_URL}"
    assert env(component(plan, "jobs", "migrate"))["DATABASE_URL"]["value"] == "${db.DATABASE_URL}"
    assert any("'migrate'" in w and "x-berth-timeout is ignored" in w for w in plan.warnings)


@pytest.mark.timeout(60)
def test_an_error_after_a_handle_fails_the_program_instead_of_hanging(project_dir, monkeypatch):
    """The app's outputs resolve once the last component is handed over; an error before
    that must fail them, or the components waiting on them would wait forever."""
    from berth.providers.digitalocean import spec as spec_module

    def broken(*_args: object) -> None:
        raise RuntimeError("broken health check")

    monkeypatch.setattr(spec_module, "health_check", broken)
    file = copy_example("migrate", project_dir)
    with pytest.raises(ProgramFailed, match="broken health check"):
        deploy([file])


SHOP = """
    services:
      db:
        image: postgres:16
        x-defang-postgres: true
        environment: {POSTGRES_USER: app, POSTGRES_DB: shop}
      migrate:
        build: .
        restart: "no"
        depends_on: [db]
      web:
        image: nginx
        ports: ["80:80"]
        depends_on: [migrate]
"""


def shop_plan(opts: Any = None) -> tuple[Plan, Project]:
    """SHOP deployed by a program of one's own, as the Project ``shop``."""
    built: list[Project] = []

    def shop() -> Project:
        args = ProjectArgs.from_files(["compose.yaml"], "digitalocean")
        built.append(Project("shop", args, opts() if opts else None))
        return built[0]

    plan = run_plan(plan_config(["compose.yaml"], "digitalocean")[0], program=shop)
    return plan, built[0]


def test_a_program_builds_on_the_app_and_each_workloads_resources(project_dir, write):
    """One App for every component: it is the shared ``app`` and every service's workload;
    the registry, images and managed database come out by role, all named from the Project."""
    import pulumi_digitalocean as do
    import pulumi_docker_build as docker_build

    write(SHOP)
    write("FROM busybox\n", "Dockerfile")
    plan, project = shop_plan()

    assert set(project.shared) == {"app", "registry", "registry_credentials"}
    app = project.shared["app"]
    assert isinstance(app, do.App)
    assert isinstance(project.shared["registry"], do.ContainerRegistry)
    assert isinstance(project.shared["registry_credentials"], do.ContainerRegistryDockerCredentials)
    db, web = project.services["db"].resources, project.services["web"].resources
    assert web == {"workload": app}
    assert db.keys() == {"workload", "cluster", "firewall", "database", "user"}
    assert db["workload"] is app
    assert isinstance(db["cluster"], do.DatabaseCluster)
    assert isinstance(db["firewall"], do.DatabaseFirewall)
    assert isinstance(db["database"], do.DatabaseDb) and isinstance(db["user"], do.DatabaseUser)
    job = project.jobs["migrate"]
    assert job.resources.keys() == {"run", "image"} and job.resources["run"] is job.run
    assert isinstance(job.resources["image"], docker_build.Image)
    names = sorted(r.name for r in plan.registrations if r.custom)
    assert names == [
        "shop-app",
        "shop-db-cluster",
        "shop-db-firewall",
        "shop-db-name",
        "shop-db-user",
        "shop-deployed",
        "shop-migrate-image",
        "shop-registry",
        "shop-registry-push",
    ]
    renamed = [
        r.urn for r in plan.registrations if {a.rsplit("::", 1)[1] for a in r.aliases} - {r.name}
    ]
    assert renamed == [], "a new program: no alias to an old name"


def test_an_explicit_provider_makes_every_digitalocean_resource(project_dir, write):
    """``Project(..., opts=ResourceOptions(providers=[provider]))``: the app, registry,
    credentials, database cluster and its firewall are the account's of that provider. The
    target calls no provider function; its deployment check (``berth:AppDeployed``) acts as
    that provider too: its settings are asked of it (``terraformConfig``), not of the stack."""
    import pulumi
    import pulumi_digitalocean as do

    write(SHOP)
    write("FROM busybox\n", "Dockerfile")

    def opts() -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(providers=[do.Provider("explicit", token="plan-token")])

    plan, _ = shop_plan(opts)
    (provider,) = of_type(plan, "pulumi:providers:digitalocean")
    made = [r for r in plan.registrations if r.custom and r.type.startswith("digitalocean:")]
    assert len(made) == 7
    assert [r.urn for r in made if not r.provider.startswith(f"{provider.urn}::")] == []
    assert [i.token for i in plan.invocations if i.token.startswith("digitalocean:")] == []
    asked = [i.provider for i in plan.invocations if i.token.endswith("/terraformConfig")]
    assert asked and all(p.startswith(f"{provider.urn}::") for p in asked)


def test_a_database_reference_is_rewritten_only_where_the_key_means_it(project_dir, write):
    """A value equal to a database's service name is its host only in a host (or URL)
    variable, its user only in a user variable, its database only in a database-name
    variable, its password only in a password variable: the common ``postgres`` service,
    user and database name each become what the key means, and stay as written elsewhere."""
    write("""
        services:
          postgres:
            image: postgres:16
            environment:
              POSTGRES_PASSWORD: ${DB_PASSWORD}
          web:
            image: nginx
            ports: ["80:80"]
            environment:
              DB_USER: postgres
              DB_NAME: postgres
              DB_HOST: postgres
              PGHOST: postgres
              DB_HOSTNAME: postgres
              DB_SERVER: postgres
              DB_ADDR: postgres:5432
              DATABASE_URL: postgres://postgres:${DB_PASSWORD}@postgres:5432/postgres
              DB_PASSWORD: ${DB_PASSWORD}
              DB_PASS: ${DB_PASSWORD}
              APP_SECRET: ${DB_PASSWORD}
              DB_LOGIN: ${DB_PASSWORD}
              DB_ENGINE: postgres
              APP_NAME: postgres
              OWNER: postgres
              USER_AGENT: postgres
    """)
    plan = deploy(["compose.yaml"], secrets={"DB_PASSWORD": "pw-9f8e7d6c"})

    variables = env(component(plan, "services", "web")).items()
    values = {key: e["value"] for key, e in variables if not key.startswith("BERTH_")}
    assert values == {
        "DB_USER": "${postgres.USERNAME}",
        "DB_NAME": "${postgres.DATABASE}",
        "DB_HOST": "${postgres.HOSTNAME}",
        "PGHOST": "${postgres.HOSTNAME}",
        "DB_HOSTNAME": "${postgres.HOSTNAME}",
        "DB_SERVER": "${postgres.HOSTNAME}",
        "DB_ADDR": "${postgres.HOSTNAME}:${postgres.PORT}",
        "DATABASE_URL": "${postgres.DATABASE_URL}",
        "DB_PASSWORD": "${postgres.PASSWORD}",
        "DB_PASS": "${postgres.PASSWORD}",
        "APP_SECRET": "${postgres.PASSWORD}",
        "DB_LOGIN": "[secret]",
        "DB_ENGINE": "postgres",
        "APP_NAME": "postgres",
        "OWNER": "postgres",
        "USER_AGENT": "postgres",
    }


@pytest.mark.parametrize("marked", [False, True], ids=["dev-database", "managed-cluster"])
def test_the_compose_files_database_user_and_name_become_app_platforms(project_dir, write, marked):
    """``docker compose up`` logs in as POSTGRES_USER to POSTGRES_DB; App Platform's database
    has its own user and database (a dev database's, the cluster's or the ones Berth makes),
    so a variable that means the user or the database name and holds the compose file's is
    bound to App Platform's; a value that is not the store's, or a key that means neither,
    stays as written. A user from a stack secret is recognised too, and no longer secret."""
    write(f"""
        services:
          db:
            image: postgres:16
            x-defang-postgres: {str(marked).lower()}
            environment:
              POSTGRES_USER: ${{APP_USER}}
              POSTGRES_DB: shop
              POSTGRES_PASSWORD: ${{DB_PASSWORD}}
          web:
            image: nginx
            environment:
              PGUSER: ${{APP_USER}}
              DB_USERNAME: ${{APP_USER}}
              SPRING_DATASOURCE_USERNAME: ${{APP_USER}}
              MYSQL_LOGIN: ${{APP_USER}}
              PGDATABASE: shop
              POSTGRES_DB: shop
              DB_DATABASE: shop
              DATABASE_NAME: shop
              DB_USER: postgres
              DB_NAME: app
              TENANT: shop
              SHOP_OWNER: ${{APP_USER}}
    """)
    plan = deploy(["compose.yaml"], secrets={"APP_USER": "app", "DB_PASSWORD": "pw-1a2b3c"})

    variables = env(component(plan, "workers", "web"))
    values = {key: e["value"] for key, e in variables.items() if not key.startswith("BERTH_")}
    assert values == {
        "PGUSER": "${db.USERNAME}",
        "DB_USERNAME": "${db.USERNAME}",
        "SPRING_DATASOURCE_USERNAME": "${db.USERNAME}",
        "MYSQL_LOGIN": "${db.USERNAME}",
        "PGDATABASE": "${db.DATABASE}",
        "POSTGRES_DB": "${db.DATABASE}",
        "DB_DATABASE": "${db.DATABASE}",
        "DATABASE_NAME": "${db.DATABASE}",
        "DB_USER": "postgres",
        "DB_NAME": "app",
        "TENANT": "shop",
        "SHOP_OWNER": "[secret]",
    }
    assert variables["PGUSER"]["type"] == "GENERAL"


def test_a_user_two_databases_share_is_the_one_the_service_points_at(project_dir, write):
    """Two postgres services, both of the image's user ``postgres``: ``DB_USER`` is the user
    of the database the service's host or URL variable names; with nothing to tell them
    apart it stays as written, and a warning says how to choose."""
    write("""
        services:
          db:
            image: postgres:16
          analytics:
            image: postgres:16
          web:
            image: nginx
            environment:
              DB_HOST: analytics
              DB_USER: postgres
          worker:
            image: nginx
            environment:
              DB_USER: postgres
              PGDATABASE: postgres
    """)
    plan = deploy(["compose.yaml"])

    assert env(component(plan, "workers", "web"))["DB_USER"]["value"] == "${analytics.USERNAME}"
    worker = env(component(plan, "workers", "worker"))
    assert (worker["DB_USER"]["value"], worker["PGDATABASE"]["value"]) == ("postgres", "postgres")
    ambiguous = [w for w in plan.warnings if w.startswith("service 'worker': ")]
    assert len(ambiguous) == 2, plan.warnings
    assert "DB_USER is the user of the databases 'db', 'analytics'" in ambiguous[0]
    assert "$${db.USERNAME}" in ambiguous[0] and "$${db.DATABASE}" in ambiguous[1]


JOB_TRIGGERS = {
    "manual": (
        "{manual: true}",
        "triggers.manual",
        "App Platform's API starts no job on demand",
    ),
    "schedule": (
        '{schedule: [{cron: "0 3 * * *", timezone: Europe/Paris}]}',
        "triggers.schedule",
        "pulumi-digitalocean cannot deploy App Platform's SCHEDULED jobs",
    ),
}


@pytest.mark.parametrize(("triggers", "field", "words"), JOB_TRIGGERS.values(),
                         ids=JOB_TRIGGERS)  # fmt: skip
def test_a_job_of_jobs_is_refused_naming_what_app_platform_lacks(write, triggers, field, words):
    """App Platform's API starts no job invocation (it lists, reads and cancels them), and
    pulumi-digitalocean's app spec has no SCHEDULED job: a job of ``jobs:`` is refused before
    anything deploys, in one line naming the job and the trigger. ``schedule: []`` (which
    Compose prints as ``triggers: {}``, manual by default) names no trigger for the table to
    refuse: ``test_a_job_with_no_trigger_written_is_refused_before_anything_deploys``."""
    write(f"""
        services:
          web: {{image: nginx, ports: ["80:80"]}}
        jobs:
          backup:
            image: busybox
            triggers: {triggers}
    """)

    with pytest.raises(BerthError) as refused:
        deploy(["compose.yaml"])
    error = refused.value
    assert (error.file, error.kind, error.service, error.field) == (
        "compose.yaml", "job", "backup", field,
    )  # fmt: skip
    assert words in error.message and "\n" not in error.message
    assert error.message.startswith(f"compose.yaml: job 'backup', field '{field}': ")


def test_a_job_with_no_trigger_written_is_refused_before_anything_deploys(load):
    """``schedule: []`` (which Compose prints as ``triggers: {}``) leaves no trigger for the
    table to refuse, and the job manual by default: ``hooks.check``, made with the layout before
    the app is registered, refuses it."""
    project = load("""
        services:
          web: {image: nginx, ports: ["80:80"]}
        jobs:
          backup: {image: busybox, triggers: {schedule: []}}
    """)

    with pytest.raises(BerthError) as refused:
        sources = read_sources(project.files)
        hooks.check(project, layout(project, sources), sources)
    error = refused.value
    assert (error.kind, error.service, error.field) == ("job", "backup", "triggers")
    assert "cannot run a job of jobs: on demand" in error.message and error.hint


def test_berth_run_is_refused_in_one_line():
    """``berth run`` against outputs made by hand: this target deploys no job to run."""
    with pytest.raises(BerthError, match="cannot run a job") as refused:
        load_target("digitalocean").run_job({"target": "digitalocean"}, [], io.StringIO())
    assert "\n" not in refused.value.message
