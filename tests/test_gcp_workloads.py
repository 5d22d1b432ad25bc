"""The gcp target's ``pre_start`` hooks and top-level ``jobs:``, under Pulumi's mock engine:
hooks as Cloud Run job executions that gate their service (on Cloud Run or a VM), and a job
of ``jobs:`` as a Cloud Run job nothing executes during ``up``, which ``berth run`` reads from
the stack output ``triggered`` and Cloud Scheduler runs, each schedule as an account of its own
that may run that job only."""

from __future__ import annotations

from typing import Any

import pytest

from berth.errors import BerthError
from berth.offline.plan import Plan, plan_config, run_plan
from berth.providers.gcp.names import ACCOUNT_ID, SCHEDULE_MARK, account_id, schedule_account_id
from berth.providers.gcp.options import GcpOptions
from tests.conftest import program
from tests.plans import find, of_type, project_outputs, provider_inputs
from tests.secrets_check import assert_never_plain, plain_occurrences
from tests.test_gcp_accounts import ACCOUNT_ID as ACCOUNT_ID_PATTERN
from tests.test_gcp_program import INSTANCE, JOB, RUN, SERVICE

SCHEDULER = "gcp:cloudscheduler/job:Job"
ACCOUNT = "gcp:serviceaccount/account:Account"
INVOKER = "gcp:cloudrunv2/jobIamMember:JobIamMember"
API = "gcp:projects/service:Service"
HOOKS = """
services:
  db:
    image: postgres:16
    pre_start:
      - command: ["echo", "before the database"]
  web:
    image: nginx
    ports: ["80:80"]
    environment: {{A: "{a}"}}
    deploy: {{replicas: {replicas}}}
    depends_on: [db]
    pre_start:
      - command: ["./migrate"]
      - command: ["./seed"]
  migrate:
    image: busybox
    restart: "no"
"""
PASSWORD = "pw-3e4f5a6b"
TOKEN = "ya29.stack-token-5d6e7f"
JOBS = """
name: shop
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
jobs:
  backup:
    image: busybox
    command: ["backup", "--all"]
    depends_on: [db]
    environment:
      DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app
    triggers:
      schedule:
        - cron: "0 3 * * MON-FRI"
          timezone: Europe/Paris
        - cron: "30 12 1 * *"
          concurrency: queue
          missed_fires: skip
  report:
    image: busybox
    triggers:
      manual: false
      schedule:
        - cron: "*/15 * * * *"
          missed_fires: skip
  adhoc:
    image: busybox
    triggers:
      manual: true
"""


def hooks_plan(write: Any, a: str = "1", replicas: int = 1) -> Plan:
    write(HOOKS.format(a=a, replicas=replicas))
    return program(["compose.yaml"], target="gcp")


def jobs_plan(write: Any, **options: str) -> tuple[Plan, dict[str, Any]]:
    """The plan of ``JOBS`` with the stack's ``options``, and the stack output ``triggered``
    as the engine gets it."""
    write(JOBS)
    with project_outputs() as registered:
        plan = program(
            ["compose.yaml"],
            target="gcp",
            secrets={"DB_PASSWORD": PASSWORD},
            variables=options,
        )
    return plan, registered["triggered"]


# -- pre_start hooks ------------------------------------------------------------------------


def test_gcp_hooks_run_in_order_after_the_services_dependencies_and_before_it(project_dir, write):
    plan = hooks_plan(write)

    first, second = find(plan, RUN, "web-pre-start-0-run"), find(plan, RUN, "web-pre-start-1-run")
    web = find(plan, SERVICE, "web")
    assert first.urn in second.dependencies, "hook 1 waits for hook 0's run"
    assert second.urn in web.dependencies, "web waits for its last hook"
    assert first.urn not in web.dependencies, "and only through it"
    assert find(plan, INSTANCE, "db").urn in first.dependencies, "hook 0 waits for web's depends_on"
    assert find(plan, JOB, "web-pre-start-0").inputs["template"]["template"]["containers"][0][
        "args"
    ] == ["./migrate"]
    assert first.inputs["hook"] == {"service": "web", "index": 0}
    assert second.inputs["hook"] == {"service": "web", "index": 1}


def test_gcp_a_hook_gates_a_service_that_runs_on_a_vm(project_dir, write):
    plan = hooks_plan(write)

    hook = find(plan, RUN, "db-pre-start-0-run")
    assert hook.urn in find(plan, INSTANCE, "db").dependencies, "the VM waits for db's hook"
    assert (
        find(plan, JOB, "db-pre-start-0")
        .inputs["template"]["template"]["containers"][0]["image"]
        .startswith("docker.io/library/postgres@sha256:")
    ), "the hook has its service's image"


def test_gcp_hooks_run_again_when_their_service_changes_not_when_it_scales(project_dir, write):
    def runs(plan: Plan) -> dict[str, Any]:
        return {i: find(plan, RUN, f"web-pre-start-{i}-run").inputs["definition"] for i in (0, 1)}

    before = runs(hooks_plan(write))
    changed = runs(hooks_plan(write, a="2"))
    scaled = runs(hooks_plan(write, replicas=3))

    assert before[0]["serviceDefinition"] == before[1]["serviceDefinition"]
    for index in (0, 1):
        assert changed[index]["serviceDefinition"] != before[index]["serviceDefinition"]
        assert scaled[index] == before[index], "a scale change runs no hook"


def test_gcp_a_job_that_is_no_hook_keeps_its_inputs(project_dir, write):
    run = find(hooks_plan(write), RUN, "migrate-run").inputs

    assert sorted(run) == [
        "definition",
        "imageBuilder",
        "job",
        "jobName",
        "maxRetries",
        "runAlways",
        "timeout",
    ]
    assert run["imageBuilder"] == "buildkit"
    assert sorted(run["definition"]) == ["container", "volumes"]


def test_gcp_a_hook_cannot_mount_its_vms_disk(project_dir, write):
    write(
        """
        services:
          db:
            image: postgres:16
            volumes: ["pgdata:/var/lib/postgresql/data"]
            pre_start:
              - command: ["chown", "-R", "999", "/var/lib/postgresql/data"]
        volumes:
          pgdata: {}
        """
    )
    with pytest.raises(BerthError) as refused:
        program(["compose.yaml"], target="gcp")

    assert refused.value.service == "db"
    assert refused.value.field == "pre_start[0].volumes"
    assert "persistent disk of db's VM" in refused.value.message
    assert "\n" not in refused.value.message


def test_gcp_a_hooks_refusal_names_its_service_and_place(project_dir, write):
    write(
        """
        services:
          web:
            image: nginx
            pre_start:
              - command: ["true"]
              - command: ["migrate", "--password", "${DB_PASSWORD}"]
        """
    )
    with pytest.raises(BerthError) as refused:
        program(["compose.yaml"], target="gcp", secrets={"DB_PASSWORD": PASSWORD})

    assert (refused.value.service, refused.value.field) == ("web", "pre_start[1].command")
    assert refused.value.file == "compose.yaml"


# -- jobs: ----------------------------------------------------------------------------------


def test_gcp_a_job_of_jobs_is_a_cloud_run_job_that_up_never_runs(project_dir, write):
    plan, triggered = jobs_plan(write)
    shown = provider_inputs(triggered)  # as `pulumi stack output --show-secrets` shows it

    assert not of_type(plan, RUN), "up executes no job of jobs:"
    assert sorted(shown) == ["adhoc", "backup", "report"]
    backup = shown["backup"]
    definition = find(plan, JOB, "backup").inputs
    assert backup == {
        "target": "gcp",
        "manual": True,
        "name": "backup",
        "project": "berth-plan",
        "region": "us-central1",
        "job": f"projects/berth-plan/locations/us-central1/jobs/{definition['name']}",
        "timeout": 86400,
        "maxRetries": 0,
    }
    assert shown["report"]["manual"] is False
    assert definition["template"]["template"]["containers"][0]["args"] == ["backup", "--all"]
    assert find(plan, INSTANCE, "db").urn in find(plan, JOB, "backup").dependencies


def test_gcp_a_job_of_jobs_runs_as_long_as_cloud_run_allows_unless_it_says(project_dir, write):
    """Compose gives a job of ``jobs:`` no time limit: Cloud Run's 24 hours, not a one-off
    job's 10 minutes (a nightly backup of 30 minutes must not be killed); its own
    ``x-berth-timeout`` when written. A one-off job keeps the run-once default."""
    write(JOBS.replace("  adhoc:\n", "  adhoc:\n    x-berth-timeout: 2h\n"))
    with project_outputs() as registered:
        plan = program(["compose.yaml"], target="gcp", secrets={"DB_PASSWORD": PASSWORD})
    triggered = provider_inputs(registered["triggered"])

    def task_timeout(job: str) -> str:
        return find(plan, JOB, job).inputs["template"]["template"]["timeout"]

    assert (task_timeout("backup"), triggered["backup"]["timeout"]) == ("86400s", 86400)
    assert (task_timeout("adhoc"), triggered["adhoc"]["timeout"]) == ("7200s", 7200)
    assert find(hooks_plan(write), JOB, "migrate").inputs["template"]["template"]["timeout"] == (
        "600s"
    )


def test_gcp_a_jobs_secrets_stay_secret(project_dir, write):
    plan, triggered = jobs_plan(write)

    assert_never_plain(plan, PASSWORD)
    assert plain_occurrences(triggered, PASSWORD) == []


def test_gcp_each_schedule_runs_the_job_as_an_account_that_may_only_run_it(project_dir, write):
    plan, _ = jobs_plan(write)

    job = find(plan, JOB, "backup").inputs["name"]
    runtime = find(plan, ACCOUNT, "backup-account").inputs["accountId"]
    accounts = []
    for index, (cron, zone) in enumerate(
        [("0 3 * * MON-FRI", "Europe/Paris"), ("30 12 1 * *", "Etc/UTC")]
    ):
        scheduler = find(plan, SCHEDULER, f"backup-schedule-{index}").inputs
        account = find(plan, ACCOUNT, f"backup-schedule-{index}-account").inputs["accountId"]
        email = f"{account}@berth-plan.iam.gserviceaccount.com"
        assert (scheduler["schedule"], scheduler["timeZone"]) == (cron, zone)
        assert scheduler["region"] == "us-central1"
        assert scheduler["httpTarget"] == {
            "uri": f"https://run.googleapis.com/v2/projects/berth-plan/locations/us-central1/jobs/{job}:run",
            "httpMethod": "POST",
            "oauthToken": {
                "serviceAccountEmail": email,
                "scope": "https://www.googleapis.com/auth/cloud-platform",
            },
        }
        assert scheduler["retryConfig"] == {"retryCount": 0}, "a retried run could run twice"
        assert scheduler["attemptDeadline"] == "180s"
        grants = [
            r.inputs
            for r in plan.registrations
            if r.inputs.get("member") == f"serviceAccount:{email}"
        ]
        assert grants == [
            {
                "name": job,
                "location": "us-central1",
                "project": "berth-plan",
                "role": "roles/run.invoker",
                "member": f"serviceAccount:{email}",
            }
        ], "its one grant: running this job"
        accounts.append(account)
    assert len({*accounts, runtime}) == 3, "each schedule's identity is its own"
    assert all(len(a) <= ACCOUNT_ID for a in accounts)
    db = find(plan, INSTANCE, "db").urn
    assert db in find(plan, SCHEDULER, "backup-schedule-0").dependencies, "none fires before db"


def test_gcp_schedules_go_to_the_scheduler_region_and_still_run_the_job_where_it_is(
    project_dir, write
):
    """Cloud Scheduler is missing from some Cloud Run regions (a 403 on
    cloudscheduler.jobs.create there): ``gcpSchedulerRegion`` moves the scheduler jobs; the
    Cloud Run job, its grant and the URL they call stay in the stack's region."""
    plan, _ = jobs_plan(write, gcpSchedulerRegion="europe-west1")

    job = find(plan, JOB, "backup").inputs["name"]
    schedulers = of_type(plan, SCHEDULER)
    assert len(schedulers) == 3
    for scheduler in schedulers:
        assert scheduler.inputs["region"] == "europe-west1"
    uri = find(plan, SCHEDULER, "backup-schedule-0").inputs["httpTarget"]["uri"]
    assert uri == (
        f"https://run.googleapis.com/v2/projects/berth-plan/locations/us-central1/jobs/{job}:run"
    )
    assert {r.inputs["location"] for r in of_type(plan, INVOKER)} == {"us-central1"}


def test_gcp_a_scheduler_region_that_is_no_region_is_refused_in_one_line():
    with pytest.raises(BerthError) as refused:
        GcpOptions.parse({"gcpSchedulerRegion": "Europe West"})

    assert str(refused.value) == (
        "berth:gcpSchedulerRegion 'Europe West' is not a valid value. "
        "e.g. `pulumi config set gcpSchedulerRegion us-central1`."
    )
    assert GcpOptions.parse({}).scheduler_region is None, "the stack's region by default"


def test_gcp_a_schedules_account_never_shares_a_workloads_id(project_dir, write):
    """A service named ``backup-schedule-0`` beside job ``backup``'s first schedule: joined by
    one ``-``, both accounts would be ``shop-dev-backup-schedule-0``."""
    write(JOBS.replace("services:\n", "services:\n  backup-schedule-0:\n    image: busybox\n"))
    plan = program(["compose.yaml"], target="gcp", secrets={"DB_PASSWORD": PASSWORD})

    ids = {a.urn: a.inputs["accountId"] for a in of_type(plan, ACCOUNT)}
    assert len(set(ids.values())) == len(ids), sorted(ids.values())
    by_parent = {  # both are named shop-backup-schedule-0-account: their parents tell them apart
        urn.split("::")[2].split("$")[0]: account
        for urn, account in ids.items()
        if urn.endswith("::shop-backup-schedule-0-account")
    }
    assert by_parent == {
        "berth:index:Project": "shop-dev-backup-schedule-0",  # the service's, as before
        "berth:index:TriggeredJob": "shop-dev-backup--schedule-0",
    }


@pytest.mark.parametrize(
    ("prefix", "job"),
    [
        ("shop-dev", "backup"),
        ("a", "b"),
        ("a-very-long-compose-project-prod", "payments-reconciliation"),
        ("shop-dev", "9_lives.API--x"),
        ("shop-dev", "x-schedule-0"),
    ],
)
def test_gcp_schedule_account_ids_fit_and_differ_from_every_workloads(prefix, job):
    ids = [schedule_account_id(prefix, job, index) for index in (0, 1, 10, 99)]

    assert all(ACCOUNT_ID_PATTERN.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert ids[0] == schedule_account_id(prefix, job, 0), "the same on every run"
    for name in (job, f"{job}-schedule-0", f"{job}--schedule-0", f"{job}_schedule_0"):
        assert account_id(prefix, name) not in ids
        assert SCHEDULE_MARK not in account_id(prefix, name), "no workload's ID has the mark"


def apis(plan: Plan) -> dict[str, str]:
    """The Google APIs the plan enables: their URNs by name."""
    return {r.inputs["service"]: r.urn for r in of_type(plan, API)}


def test_gcp_the_scheduler_api_is_enabled_only_for_a_schedule(project_dir, write):
    plan, _ = jobs_plan(write)
    scheduler_api = apis(plan)["cloudscheduler.googleapis.com"]
    assert all(scheduler_api in r.dependencies for r in of_type(plan, SCHEDULER))

    write("jobs:\n  adhoc:\n    image: busybox\n    triggers: {manual: true}\n")
    assert "cloudscheduler.googleapis.com" not in apis(program(["compose.yaml"], target="gcp"))


def test_gcp_what_cloud_scheduler_cannot_honour_is_one_warning_per_job(project_dir, write):
    plan, _ = jobs_plan(write)
    lines = [w for w in plan.warnings if "Cloud Scheduler" in w]

    assert lines == [
        "job 'backup': concurrency forbid or queue cannot be enforced by Cloud Scheduler: a run "
        "that outlasts the interval overlaps the next, neither skipped nor queued; missed_fires "
        "one cannot be honoured: Cloud Scheduler does not run later a time whose run could not "
        "be started",
        "job 'report': concurrency forbid cannot be enforced by Cloud Scheduler: a run that "
        "outlasts the interval overlaps the next",
    ]


def test_gcp_berth_run_acts_as_the_stacks_identity_which_stays_secret(project_dir, write):
    write(JOBS)
    config, secret_keys = plan_config(
        ["compose.yaml"], target="gcp", secrets={"DB_PASSWORD": PASSWORD}
    )
    config["gcp:accessToken"] = TOKEN
    secret_keys.append("gcp:accessToken")
    with project_outputs() as registered:
        run_plan(config, secret_keys, stack="dev", preview=False)
    triggered = registered["triggered"]

    assert provider_inputs(triggered)["backup"]["identity"] == {"accessToken": TOKEN}
    assert plain_occurrences(triggered, TOKEN) == []


def test_gcp_a_jobs_refusal_names_the_job(project_dir, write):
    write(JOBS.replace('["backup", "--all"]', '["backup", "--password", "${DB_PASSWORD}"]'))
    with pytest.raises(BerthError) as refused:
        program(["compose.yaml"], target="gcp", secrets={"DB_PASSWORD": PASSWORD})

    assert refused.value.message.startswith("compose.yaml: job 'backup', field 'command': ")
