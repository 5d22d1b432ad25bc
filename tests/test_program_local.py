"""The real program on the local target, under Pulumi's mock engine, for both seed examples."""

from __future__ import annotations

import pulumi
import pytest

from berth.components.project import Project, ProjectArgs
from berth.errors import BerthError
from berth.offline.plan import plan_config, run_plan
from tests.conftest import copy_example, program
from tests.plans import find, waits_on_services
from tests.secrets_check import assert_never_plain, count_wrapped

JOB = "pulumi-python:dynamic/berth:LocalJob"
CONTAINER = "docker:index/container:Container"
BUILT_IMAGE = "docker-build:index:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"


def test_migrate_example_sequences_db_then_the_job_then_web(project_dir):
    plan = program([copy_example("migrate", project_dir)])

    db = find(plan, CONTAINER, "db")
    run = find(plan, JOB, "migrate-run")
    web = find(plan, CONTAINER, "web")
    network = find(plan, "docker:index/network:Network", "migrate-network")
    assert set(run.dependencies) == {
        db.urn,
        network.urn,
        find(plan, REMOTE_IMAGE, "migrate-image-id").urn,
    }
    assert set(web.dependencies) == {
        run.urn,
        network.urn,
        find(plan, REMOTE_IMAGE, "web-image-id").urn,
    }
    for service in ("migrate", "web"):  # each container's image ID is read from its build
        built = find(plan, BUILT_IMAGE, f"{service}-image")
        assert built.urn in find(plan, REMOTE_IMAGE, f"{service}-image-id").dependencies
    assert set(db.dependencies) == {
        network.urn,
        find(plan, REMOTE_IMAGE, "db-image").urn,
    }
    assert waits_on_services(plan, web) == {"migrate"}
    assert waits_on_services(plan, run) == {"db"}
    assert waits_on_services(plan, db) == set()


def test_migrate_example_components_and_outputs(project_dir):
    plan = program([copy_example("migrate", project_dir)])

    components = {(r.type, r.name) for r in plan.registrations if not r.custom}
    assert components == {
        ("berth:index:Project", "migrate"),
        ("berth:index:Service", "migrate-db"),
        ("berth:index:Job", "migrate-migrate"),
        ("berth:index:Service", "migrate-web"),
    }
    run = find(plan, JOB, "migrate-run")
    assert run.inputs["definition"]["command"] == ["./migrate.sh"]
    assert run.inputs["definition"]["network"] == "migrate-dev"
    assert run.inputs["timeout"] == 600
    assert run.inputs["runAlways"] is False
    assert run.inputs["owner"] == {
        "berth.project": "migrate",
        "berth.stack": "dev",
        "berth.job": "migrate",
    }, "the labels a leftover run of this job is found by"
    web = find(plan, CONTAINER, "web")
    assert web.inputs["ports"] == [{"external": 80, "internal": 80, "protocol": "tcp"}]
    assert web.inputs["networksAdvanced"] == [{"aliases": ["web"], "name": "migrate-dev"}]
    assert web.inputs["restart"] == "unless-stopped"


def test_secrets_never_appear_in_plain_text(project_dir, write):
    write(
        """
        services:
          db:
            image: postgres:16
            environment:
              POSTGRES_PASSWORD: ${DB_PASSWORD}
            healthcheck:
              test: ["CMD-SHELL", "PGPASSWORD=${DB_PASSWORD} pg_isready"]
          migrate:
            image: migrate/migrate
            command: ["-database", "postgres://app:${DB_PASSWORD}@db/app", "up"]
            environment:
              - API_TOKEN
            secrets: [token]
            restart: "no"
            depends_on: [db]
        secrets:
          token:
            environment: API_TOKEN
        """
    )
    plan = program(
        ["compose.yaml"],
        secrets={"DB_PASSWORD": "pw-9f8e7d6c", "API_TOKEN": "tok-1a2b3c4d"},
    )

    assert_never_plain(plan, "pw-9f8e7d6c", "tok-1a2b3c4d")
    assert count_wrapped(plan, "pw-9f8e7d6c") >= 3, "the secret reached the resources, wrapped"
    assert count_wrapped(plan, "tok-1a2b3c4d") >= 2
    run = find(plan, JOB, "migrate-run")
    assert run.inputs["definition"]["environment"] == {"API_TOKEN": "[secret]"}
    assert run.inputs["definition"]["command"][1] == "[secret]"


def test_ignored_fields_are_warned_about(project_dir, write):
    write(
        """
        services:
          web:
            image: nginx
            networks: [front]
            scale: 2
        networks:
          front: {}
        """
    )
    plan = program(["compose.yaml"])
    assert any("field 'networks' is ignored on local" in w for w in plan.warnings)
    assert any("field 'scale' is ignored on local" in w for w in plan.warnings)


def test_refused_fields_stop_the_program_with_a_clear_error(project_dir, write):
    write(
        """
        services:
          agent:
            image: agent
            use_api_socket: true
        """
    )
    with pytest.raises(BerthError, match="service 'agent', field 'use_api_socket'"):
        program(["compose.yaml"])


def test_run_always_and_timeout_reach_the_run_once_resource(project_dir, write):
    write(
        """
        services:
          warm:
            image: busybox
            command: ["warm-cache"]
            restart: "no"
            x-berth-run: always
            x-berth-timeout: 30m
        """
    )
    run = find(program(["compose.yaml"]), JOB, "warm-run")
    assert run.inputs["runAlways"] is True
    assert run.inputs["timeout"] == 1800


def test_named_volumes_survive_the_stack(project_dir, write):
    write(
        """
        services:
          db:
            image: postgres
            volumes: [data:/var/lib/postgresql/data]
        volumes:
          data: {}
        """
    )
    plan = program(["compose.yaml"])
    volume = find(plan, "docker:index/volume:Volume", f"{plan.compose.name}-data")
    assert volume.inputs["name"] == f"{plan.compose.name}-dev_data"
    db = find(plan, CONTAINER, "db")
    assert volume.urn in db.dependencies


def test_container_settings_reach_services_and_jobs(project_dir, write):
    write(
        """
        services:
          vpn:
            image: linuxserver/wireguard
            cap_add: [NET_ADMIN]
            sysctls:
              net.ipv4.conf.all.src_valid_mark: 1
            ulimits:
              nofile: {soft: 1024, hard: 4096}
            extra_hosts: ["db.internal:10.0.0.5"]
            stop_grace_period: 1m
            logging:
              driver: json-file
              options: {max-size: 10m}
          seed:
            image: busybox
            restart: "no"
            tmpfs: /scratch
            cap_drop: [ALL]
        """
    )
    plan = program(["compose.yaml"])
    vpn = find(plan, CONTAINER, "vpn").inputs
    assert vpn["capabilities"] == {"adds": ["NET_ADMIN"]}
    assert vpn["sysctls"] == {"net.ipv4.conf.all.src_valid_mark": "1"}
    assert vpn["ulimits"] == [{"hard": 4096, "name": "nofile", "soft": 1024}]
    assert vpn["hosts"] == [{"host": "db.internal", "ip": "10.0.0.5"}]
    assert vpn["stopTimeout"] == 60
    assert vpn["logDriver"] == "json-file"
    assert vpn["logOpts"] == {"max-size": "10m"}
    container = find(plan, JOB, "seed-run").inputs["definition"]["container"]
    assert container["tmpfs"] == {"/scratch": ""}
    assert container["cap_drop"] == ["ALL"]


def test_the_prod_override_merges_and_keeps_the_password_secret(project_dir):
    base = copy_example("migrate", project_dir)
    override = base.replace("compose.yaml", "compose.prod.yaml")
    plan = program([base, override], secrets={"POSTGRES_PASSWORD": "pr0d-pa55word"})

    assert_never_plain(plan, "pr0d-pa55word")
    db = find(plan, CONTAINER, "db")
    assert db.inputs["envs"] == ["[secret]"]
    run = find(plan, JOB, "migrate-run")
    assert run.inputs["definition"]["environment"] == {"DATABASE_URL": "[secret]"}
    assert run.inputs["timeout"] == 1200
    web = find(plan, CONTAINER, "web")
    assert web.inputs["memory"] == 1024
    assert web.inputs["cpus"] == "0.5"
    assert any("deploy.replicas" in w for w in plan.warnings)


def test_the_prod_override_without_the_secret_says_how_to_set_it(project_dir):
    base = copy_example("migrate", project_dir)
    override = base.replace("compose.yaml", "compose.prod.yaml")
    with pytest.raises(BerthError) as failure:
        program([base, override])
    assert failure.value.file == override
    assert "pulumi config set --secret POSTGRES_PASSWORD" in failure.value.message


SHOP = """
services:
  db:
    image: postgres:16
    volumes: [data:/var/lib/postgresql/data, cache:/cache]
  migrate:
    image: migrate/migrate
    restart: "no"
    depends_on: [db]
  web:
    build: .
    depends_on: [migrate]
volumes:
  data: {}
  cache:
    external: true
"""


def test_a_program_builds_on_the_shared_and_each_workloads_resources(project_dir, write):
    """A Project named unlike its compose project: every child is named from the Project,
    and its network, volumes, containers, images and job run come out by role."""
    import pulumi_docker as docker
    import pulumi_docker_build as docker_build

    from berth.providers.local.run_once import LocalJob

    write(SHOP)
    write("FROM busybox\n", "Dockerfile")
    built: list[Project] = []

    def shop() -> Project:
        built.append(Project("shop", ProjectArgs.from_files(["compose.yaml"], "local")))
        return built[0]

    plan = run_plan(plan_config(["compose.yaml"])[0], program=shop)
    (project,) = built

    assert set(project.shared) == {"network", "volume_data"}, "an external volume is not Berth's"
    assert isinstance(project.shared["network"], docker.Network)
    assert isinstance(project.shared["volume_data"], docker.Volume)
    db, web = project.services["db"].resources, project.services["web"].resources
    assert isinstance(db["workload"], docker.Container)
    assert isinstance(db["image"], docker.RemoteImage)
    assert isinstance(web["image"], docker_build.Image)
    run = project.jobs["migrate"].resources
    assert run["run"] is project.jobs["migrate"].run and isinstance(run["run"], LocalJob)
    assert isinstance(run["image"], docker.RemoteImage)
    names = sorted(r.name for r in plan.registrations if r.custom)
    assert names == [
        "shop-builder",
        "shop-data",
        "shop-db",
        "shop-db-image",
        "shop-migrate-image",
        "shop-migrate-run",
        "shop-network",
        "shop-web",
        "shop-web-image",
        "shop-web-image-id",
    ]


RUN = """
services:
  migrate:
    image: migrate/migrate
    restart: "no"
"""


def _shop(providers: list | None = None) -> Project:
    return Project(
        "shop",
        ProjectArgs.from_files(["compose.yaml"], "local"),
        opts=pulumi.ResourceOptions(providers=providers or []),
    )


def test_an_explicit_docker_provider_deploys_everything_and_names_the_jobs_engine(
    project_dir, write
):
    """Every docker resource is the explicit provider's, and the job's ``engine`` is that
    provider's settings (its ``terraform_config()``), not the stack's ``docker:host``."""
    import pulumi_docker as docker

    write(SHOP)
    write("FROM busybox\n", "Dockerfile")

    def program() -> Project:
        explicit = docker.Provider("explicit", host="unix:///var/run/docker.sock")
        return _shop([explicit])

    config = {**plan_config(["compose.yaml"])[0], "docker:host": "tcp://stack-config:2375"}
    plan = run_plan(config, preview=False, program=program)

    (provider,) = [r for r in plan.registrations if r.type == "pulumi:providers:docker"]
    own = [r for r in plan.registrations if r.custom and r.type.startswith("docker:")]
    assert len(own) == 7, "network, volume, 2 pulled images, 1 built image's ID, 2 containers"
    assert all(r.provider.startswith(f"{provider.urn}::") for r in own), own
    calls = [i for i in plan.invocations if i.token.startswith("pulumi:providers:docker")]
    assert [i.token for i in calls] == ["pulumi:providers:docker/terraformConfig"]
    run = find(plan, JOB, "migrate-run")
    assert run.inputs["engine"] == {"host": "unix:///var/run/docker.sock"}
    assert "engine" not in run.inputs["definition"], "a new engine runs no job"
    (builder,) = [r for r in plan.registrations if r.type == "pulumi:providers:docker-build"]
    assert builder.inputs["host"] == "unix:///var/run/docker.sock", "built where it runs"
    (image,) = [r for r in plan.registrations if r.type == BUILT_IMAGE]
    assert image.provider.startswith(f"{builder.urn}::")


@pytest.mark.parametrize(
    ("given", "host"),
    [
        ({"docker:host": "tcp://engine.internal:2375"}, "tcp://engine.internal:2375"),
        ({"DOCKER_HOST": "tcp://from-env:2375"}, "tcp://from-env:2375"),
        ({}, "unix:///var/run/docker.sock"),
        ({"docker:context": "colima"}, None),
    ],
)
def test_an_image_is_built_on_the_engine_the_stack_deploys_to(
    project_dir, write, monkeypatch, given, host
):
    """The docker provider's engine (``docker:host``, else ``DOCKER_HOST``, else the default
    socket) is the builder's too, never the docker CLI's current context; an engine named by
    ``docker:context`` is left to the builder, which reads contexts as the CLI does."""
    write(SHOP)
    write("FROM busybox\n", "Dockerfile")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    if "DOCKER_HOST" in given:
        monkeypatch.setenv("DOCKER_HOST", given["DOCKER_HOST"])
    config = {key: value for key, value in given.items() if key.startswith("docker:")}

    plan = run_plan({**plan_config(["compose.yaml"])[0], **config}, preview=False)

    (builder,) = [r for r in plan.registrations if r.type == "pulumi:providers:docker-build"]
    (image,) = [r for r in plan.registrations if r.type == BUILT_IMAGE]
    assert builder.inputs.get("host") == host
    assert image.provider.startswith(f"{builder.urn}::")


def test_the_stack_docker_settings_name_the_jobs_engine_and_key_material_stays_secret(
    project_dir, write
):
    write(RUN)
    config = {
        **plan_config(["compose.yaml"])[0],
        "docker:host": "tcp://engine.internal:2376",
        "docker:certMaterial": "-----BEGIN CERTIFICATE-----cert",
        "docker:keyMaterial": "-----BEGIN PRIVATE KEY-----k3y-9f8e7d6c",
    }
    for secret_keys in (["docker:keyMaterial"], []):  # material is secret, set so or not
        plan = run_plan(config, secret_keys, preview=False)
        assert find(plan, JOB, "migrate-run").inputs["engine"] == "[secret]"
        assert_never_plain(plan, "k3y-9f8e7d6c", "-----BEGIN CERTIFICATE-----cert")
        assert count_wrapped(plan, "k3y-9f8e7d6c") == 1

    ssh = {**plan_config(["compose.yaml"])[0], "docker:host": "ssh://deploy@engine"}
    plan = run_plan(ssh, preview=False)
    assert find(plan, JOB, "migrate-run").inputs["engine"] == {"host": "ssh://deploy@engine"}
    plan = run_plan(ssh, ["docker:host"], preview=False)
    assert find(plan, JOB, "migrate-run").inputs["engine"] == "[secret]", "a secret host too"


def test_with_no_docker_settings_the_job_has_no_engine_input(project_dir, write):
    """The runner then reads the environment as the provider does; a stack deployed before
    sees no change at all."""
    write(RUN)
    assert "engine" not in find(program(["compose.yaml"]), JOB, "migrate-run").inputs
