"""Managed stores in development files (issue 21): a password written in the compose file
(``POSTGRES_PASSWORD: password``) plans on every cloud target, kept secret wherever it goes,
with a warning that says how to make it a stack secret; where a cloud would keep it in plain
text (a command) the plan is still refused, naming it. The local target runs it as written."""

from __future__ import annotations

import re

import pytest

from berth.components.target import available_targets, load_target
from berth.errors import BerthError
from berth.model import Secret
from berth.offline.render import as_json, as_mermaid, as_text
from berth.stores import seal_written_passwords
from berth.terms import Terms
from tests.aws_support import containers
from tests.conftest import program
from tests.plans import find
from tests.secrets_check import assert_never_plain, count_wrapped
from tests.test_aws_cfn import findings, report

WRITTEN = "devpass-4e5f6a7b"
SECRETS_MANAGER = "aws:secretsmanager/secret:Secret"
"""Names: letters, digits and /_+=.@- (CreateSecret), up to 512 characters."""
CLOUDS = [t for t in available_targets() if load_target(t).MANAGES_STORES]
"""The targets whose stores are the cloud's, so a written password is sealed."""
JOB_RUNS = {"aws": "EcsJob", "gcp": "CloudRunJobExecution"}
"""The run-once resource of a job, where the target has one (App Platform runs its own)."""
DEV_FILE = f"""
    name: shop
    services:
      db:
        image: postgres:16
        x-defang-postgres: true
        ports: ["5432:5432"]
        environment:
          POSTGRES_USER: app
          POSTGRES_DB: app
          POSTGRES_PASSWORD: {WRITTEN}
      migrate:
        image: migrate/migrate
        restart: "no"
        environment:
          DATABASE_URL: postgres://app:{WRITTEN}@db:5432/app
        depends_on: [db]
      web:
        image: nginx
        ports: ["80:80"]
        environment:
          PGPASSWORD: {WRITTEN}
          DSN: host=db user=app password={WRITTEN}
        depends_on: [migrate]
    """
WARNING = (
    "service 'db': POSTGRES_PASSWORD is in plain text (written in the compose files or .env, "
    "or a config value set without --secret); Berth keeps it and every value that holds it "
    "secret, but it belongs in a stack secret: `pulumi config set --secret POSTGRES_PASSWORD "
    "<password>` (with berth plan: `--secret POSTGRES_PASSWORD=<password>`), then "
    "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD} in the compose file"
)
"""A warning is a plain string, printed as it is by the program and by the CLI: it names both."""


@pytest.mark.parametrize("target", CLOUDS)
def test_a_development_file_plans_with_its_password_secret_everywhere(project_dir, write, target):
    write(DEV_FILE)

    plan = program(["compose.yaml"], target=target)

    assert WARNING in plan.warnings
    assert_never_plain(plan, WRITTEN)
    for rendered in (as_text(plan), as_json(plan), as_mermaid(plan)):
        assert WRITTEN not in rendered
    assert count_wrapped(plan, WRITTEN) >= 1, "the password reached a resource, wrapped"


def test_on_aws_the_rds_master_password_and_the_secrets_manager_values_are_wrapped(
    project_dir, write
):
    write(DEV_FILE)

    plan = program(["compose.yaml"], target="aws")

    rds = find(plan, "aws:rds/instance:Instance", "db-db")
    assert rds.inputs["password"] == "[secret]"
    assert WRITTEN in repr(rds.raw_inputs["password"])
    versions = [
        r for r in plan.registrations if r.type == "aws:secretsmanager/secretVersion:SecretVersion"
    ]
    holding = [r for r in versions if WRITTEN in repr(r.raw_inputs["secretString"])]
    assert {r.name for r in holding} >= {"shop-migrate-env-DATABASE_URL", "shop-web-env-DSN"}
    assert "shop-stack-db.POSTGRES_PASSWORD" in {r.name for r in holding}, "PGPASSWORD's value"
    assert all(r.inputs["secretString"] == "[secret]" for r in holding)
    names = [r.inputs["name"] for r in plan.registrations if r.type == SECRETS_MANAGER]
    assert "berth/shop-dev/stack-db.POSTGRES_PASSWORD" in names
    assert all(re.fullmatch(r"[A-Za-z0-9/_+=.@-]{1,512}", name) for name in names), names


def test_on_aws_a_shell_health_check_reads_the_written_password_from_secrets_manager(
    project_dir, write
):
    check = f'healthcheck: {{test: ["CMD-SHELL", "PGPASSWORD={WRITTEN} pg_isready -h db"]}}'
    write(DEV_FILE.replace('ports: ["80:80"]', f'ports: ["80:80"]\n        {check}'))

    plan = program(["compose.yaml"], target="aws")

    web = containers(find(plan, "aws:ecs/taskDefinition:TaskDefinition", "web"))[-1]
    variable = "BERTH_SECRET_db_POSTGRES_PASSWORD"
    assert web["healthCheck"]["command"] == [
        "CMD-SHELL",
        f"PGPASSWORD=${{{variable}}} pg_isready -h db",
    ]
    assert variable in [s["name"] for s in web["secrets"]]
    assert_never_plain(plan, WRITTEN)


def test_on_aws_the_plan_of_a_development_file_is_what_aws_accepts(project_dir, write):
    write(DEV_FILE.replace("db", "Orders_DB"))

    _, lines = findings(lambda: program(["compose.yaml"], target="aws"))

    assert lines == [], report(lines)


def test_on_gcp_the_cloud_sql_password_is_wrapped(project_dir, write):
    write(DEV_FILE)

    plan = program(["compose.yaml"], target="gcp")

    user = find(plan, "gcp:sql/user:User", "db-user")
    assert user.inputs["password"] == "[secret]"
    assert WRITTEN in repr(user.raw_inputs["password"])


@pytest.mark.parametrize("target", sorted(JOB_RUNS))
def test_a_jobs_log_is_scrubbed_of_the_written_password(project_dir, write, target):
    write(DEV_FILE)

    plan = program(["compose.yaml"], target=target)

    run = find(plan, f"pulumi-python:dynamic/berth:{JOB_RUNS[target]}", "migrate-run")
    assert run.inputs["scrubValues"] == "[secret]"
    assert WRITTEN in run.raw_inputs["scrubValues"]["value"], (
        "the password itself, not only the URL"
    )


def test_local_runs_the_development_file_as_written_without_a_warning(project_dir, write):
    write(DEV_FILE)

    plan = program(["compose.yaml"], target="local")

    assert not [w for w in plan.warnings if "POSTGRES_PASSWORD" in w or "5432" in w]
    db = find(plan, "docker:index/container:Container", "db")
    assert f"POSTGRES_PASSWORD={WRITTEN}" in db.inputs["envs"]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("aws", "ECS stores the task definition's command in plain text"),
        ("gcp", "would be stored in plain text in the Cloud Run job"),
        ("digitalocean", "App Platform keeps the run command in plain text"),
    ],
)
def test_a_written_password_in_a_command_is_refused_where_it_would_be_plain_text(
    project_dir, write, target, reason
):
    write(
        DEV_FILE.replace(
            'restart: "no"',
            f'restart: "no"\n        command: ["-database", "postgres://app:{WRITTEN}@db/app"]',
        )
    )

    with pytest.raises(BerthError) as refused:
        program(["compose.yaml"], target=target)

    error = refused.value
    assert (error.service, error.field) == ("migrate", "command")
    assert "db.POSTGRES_PASSWORD" in error.message
    assert reason in error.message
    assert WRITTEN not in error.message


@pytest.mark.parametrize("target", CLOUDS)
def test_a_managed_stores_published_port_is_dropped_with_a_warning(project_dir, write, target):
    write(DEV_FILE)

    plan = program(["compose.yaml"], target=target)

    (warning,) = [w for w in plan.warnings if "5432:5432" in w]
    assert warning.startswith("service 'db': ports 5432:5432 are not published: ")
    assert "reached by its services and jobs as db:5432" in warning


def test_sealing_marks_every_value_that_holds_a_written_password(load):
    text = DEV_FILE.replace("DSN:", f"BOTH: {WRITTEN}:${{TOKEN}}\n          DSN:")
    project = load(text, secrets={"TOKEN": "tok-0a1b2c"})

    sealed = seal_written_passwords(project)

    assert sealed.secrets == {"db.POSTGRES_PASSWORD": WRITTEN}
    assert sealed.warnings == [WARNING]
    key = ("db.POSTGRES_PASSWORD",)
    environment = sealed.project.services["web"].environment
    assert environment["PGPASSWORD"] == Secret(WRITTEN, key)
    assert environment["BOTH"].keys == ("TOKEN", "db.POSTGRES_PASSWORD")
    assert sealed.project.services["db"].environment["POSTGRES_USER"] == "app", "others stay"
    assert isinstance(sealed.project.services["migrate"].environment["DATABASE_URL"], Secret)


def test_a_password_from_a_stack_secret_is_neither_sealed_again_nor_warned_about(load):
    project = load(DEV_FILE.replace(WRITTEN, "${PW}"), secrets={"PW": "stack-secret-pw"})

    sealed = seal_written_passwords(project)

    assert (sealed.project, sealed.secrets, sealed.warnings) == (project, {}, [])


def test_a_password_that_is_also_the_stores_user_name_leaves_the_name_a_name(project_dir, write):
    write(
        """
        name: shop
        services:
          db:
            image: postgres:16
            x-defang-postgres: true
            environment: {POSTGRES_USER: postgres, POSTGRES_PASSWORD: postgres}
          web:
            image: nginx
            environment: {DB_USER: postgres}
        """
    )

    aws = program(["compose.yaml"], target="aws")
    digitalocean = program(["compose.yaml"], target="digitalocean")

    rds = find(aws, "aws:rds/instance:Instance", "db-db").inputs
    assert (rds["username"], rds["dbName"], rds["password"]) == ("postgres", "postgres", "[secret]")
    users = [r for r in digitalocean.registrations if r.type.endswith("databaseUser:DatabaseUser")]
    assert users == [], "postgres is the cluster's own user, left to it"


@pytest.mark.parametrize(
    ("target", "store", "refused"),
    [
        ("aws", "x-defang-postgres", "bad/pass@word"),
        ("aws", "x-defang-redis", "shortpw"),
        ("gcp", "x-defang-redis", "has space"),
    ],
)
def test_a_written_password_the_cloud_refuses_is_changed_where_it_is_written(
    project_dir, write, target, store, refused
):
    """Setting a secret of the same name changes nothing (the written value wins): the hint
    says to change the value in the file, or to replace it with a variable set as a secret."""
    kind = "POSTGRES" if store == "x-defang-postgres" else "REDIS"
    key = f"{kind}_PASSWORD"
    write(
        f"""
        services:
          store:
            image: {kind.lower()}
            {store}: true
            environment: {{{key}: "{refused}"}}
        """
    )
    options = {"gcpProject": "p", "gcpRegion": "europe-west1"} if target == "gcp" else {}

    with pytest.raises(BerthError) as caught:
        program(
            ["compose.yaml"],
            target=target,
            variables=options,
            secrets={key: "a-Good-pw-0123456789"},
        )

    cli = caught.value.message_in(Terms.FLAGS)
    assert "set another value" not in cli
    assert "change it where it is written (the compose file, .env, " in cli
    assert f"or write {key}: ${{{key}}} in the compose file and set it with " in cli
    assert f"`--secret {key}=<password>`; a password is " in cli
    assert f"`pulumi config set --secret {key} <password>`" in caught.value.message
    assert refused not in cli


def test_a_written_password_a_job_of_jobs_holds_is_sealed_too(load):
    """A backup job's URL holding the store's password stays as secret as the store's."""
    project = load(
        "services:\n  db:\n    image: postgres:16\n"
        "    environment: {POSTGRES_PASSWORD: pw-9f8e7d6c}\n    x-defang-postgres: true\n"
        "jobs:\n  backup:\n    image: postgres:16\n"
        "    environment: {URL: 'postgres://postgres:pw-9f8e7d6c@db/postgres'}\n"
        "    triggers: {manual: true}\n"
    )

    url = seal_written_passwords(project).project.triggered["backup"].environment["URL"]
    assert isinstance(url, Secret) and "pw-9f8e7d6c" in url.value


def test_a_managed_store_with_hooks_is_refused(load):
    project = load(
        "services:\n  db:\n    image: postgres:16\n"
        "    environment: {POSTGRES_PASSWORD: pw-9f8e7d6c}\n    x-defang-postgres: true\n"
        "    pre_start: [{command: [prepare]}]\n"
    )

    with pytest.raises(BerthError) as refused:
        seal_written_passwords(project)
    assert (refused.value.service, refused.value.field) == ("db", "pre_start")
    assert 'restart: "no"' in refused.value.message
