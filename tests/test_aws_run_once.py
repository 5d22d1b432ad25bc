"""The run-once ECS task, against botocore's Stubber: every request the provider makes is
checked against the real ECS and CloudWatch Logs models, and the responses are scripted.
(moto cannot stand in: its RunTask crashes on awsvpc networking, or reports no exit codes.)"""

from __future__ import annotations

import contextlib
import copy
import io
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from berth.components.pulumi_internals import is_secret
from berth.components.run_once import JobFailed
from berth.errors import BerthError
from berth.providers.aws import attached as attached_module
from berth.providers.aws import run_job as berth_run
from berth.providers.aws import run_once
from berth.providers.aws.run_once import EcsJobProvider, JobRun, Pace, run_job
from tests.aws_support import JOB, aws_program, component_outputs
from tests.conftest import copy_example
from tests.pickling import unpickled_in_project_root
from tests.plans import find

CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/migrate"
TASK = "arn:aws:ecs:eu-west-1:123456789012:task/migrate/0123456789abcdef"
DEFINITION = "arn:aws:ecs:eu-west-1:123456789012:task-definition/migrate-dev-migrate:3"
STREAM = "migrate/migrate/0123456789abcdef"
STARTED_BY = "berth/migrate-dev/migrate"
LEFTOVER = "arn:aws:ecs:eu-west-1:123456789012:task/migrate/leftover0123"


def job(**changes: Any) -> JobRun:
    settings: dict[str, Any] = {
        "job": "migrate",
        "cluster": CLUSTER,
        "task_definition": DEFINITION,
        "container": "migrate",
        "subnets": ["subnet-a", "subnet-b"],
        "security_groups": ["sg-tasks"],
        "assign_public_ip": True,
        "log_group": "/berth/migrate-dev",
        "log_stream_prefix": "migrate",
        "timeout": 600.0,
        "started_by": STARTED_BY,
        "tags": {"berth:job": "migrate"},
    }
    return JobRun(**(settings | changes))


class Clock:
    """Time that passes only when the provider sleeps: waits are exact, and instant."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def pace(self, poll_seconds: float = 6.0) -> Pace:
        return Pace(
            poll_seconds=poll_seconds,
            clock=lambda: self.now,
            sleep=self.sleep,
            now=lambda: 1_800_000_000.0 + self.now,
        )


class Clients:
    """Real boto3 clients with a Stubber each; nothing leaves the process."""

    def __init__(self) -> None:
        session = boto3.session.Session(
            region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        self.ecs = session.client("ecs")
        self.logs = session.client("logs")
        self.ecs_stub = Stubber(self.ecs)
        self.logs_stub = Stubber(self.logs)
        self.clock = Clock()

    def leftovers(self, *arns: str) -> None:
        self.ecs_stub.add_response(
            "list_tasks",
            {"taskArns": list(arns)},
            {"cluster": CLUSTER, "startedBy": STARTED_BY},
        )

    def run_task(self, response: dict[str, Any] | None = None, *, leftovers: bool = False) -> None:
        if not leftovers:
            self.leftovers()
        self.ecs_stub.add_response(
            "run_task",
            response
            or {"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}], "failures": []},
            {
                "cluster": CLUSTER,
                "taskDefinition": DEFINITION,
                "launchType": "FARGATE",
                "count": 1,
                "startedBy": STARTED_BY,
                "tags": [{"key": "berth:job", "value": "migrate"}],
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": ["subnet-a", "subnet-b"],
                        "securityGroups": ["sg-tasks"],
                        "assignPublicIp": "ENABLED",
                    }
                },
            },
        )

    def describe(self, status: str, arn: str = TASK, **task: Any) -> None:
        self.ecs_stub.add_response(
            "describe_tasks",
            {"tasks": [{"taskArn": arn, "lastStatus": status, **task}], "failures": []},
            {"cluster": CLUSTER, "tasks": [arn]},
        )

    def missing(self, *, empty: bool = False) -> None:
        """What DescribeTasks answers for a task it does not know (yet): MISSING, or nothing."""
        failures = [] if empty else [{"arn": TASK, "reason": "MISSING"}]
        self.ecs_stub.add_response(
            "describe_tasks",
            {"tasks": [], "failures": failures},
            {"cluster": CLUSTER, "tasks": [TASK]},
        )

    def stop(self, reason: str, arn: str = TASK) -> None:
        self.ecs_stub.add_response(
            "stop_task",
            {"task": {"taskArn": arn, "desiredStatus": "STOPPED"}},
            {"cluster": CLUSTER, "task": arn, "reason": reason},
        )

    def stopped(self, exit_code: int | None, **task: Any) -> None:
        main: dict[str, Any] = {"name": "migrate", "lastStatus": "STOPPED"}
        if exit_code is not None:
            main["exitCode"] = exit_code
        self.describe(
            "STOPPED",
            containers=[{"name": "migrate-init", "lastStatus": "STOPPED", "exitCode": 0}, main],
            **({"stopCode": "EssentialContainerExited"} | task),
        )

    def log(self, *lines: str) -> None:
        self.logs_stub.add_response(
            "get_log_events",
            {
                "events": [
                    {"timestamp": index, "message": line, "ingestionTime": index}
                    for index, line in enumerate(lines)
                ],
                "nextForwardToken": "f/1",
                "nextBackwardToken": "b/1",
            },
            {
                "logGroupName": "/berth/migrate-dev",
                "logStreamName": STREAM,
                "limit": 30,
                "startFromHead": False,
            },
        )

    def run(self, spec: JobRun | None = None, pace: Pace | None = None) -> dict[str, Any]:
        """Run the job; every scripted call (a StopTask, say) must have been made, even when
        the run fails."""
        try:
            with self.ecs_stub, self.logs_stub:
                return run_job(spec or job(), self.ecs, self.logs, pace or Clock().pace())
        finally:
            self.ecs_stub.assert_no_pending_responses()
            self.logs_stub.assert_no_pending_responses()


@pytest.fixture
def aws() -> Clients:
    return Clients()


def test_a_task_that_exits_0_succeeds(aws):
    aws.run_task()
    aws.describe("PENDING")
    aws.describe("RUNNING")
    aws.stopped(0)
    aws.log("applying 3 migrations", "done")

    result = aws.run()

    assert result == {"exitCode": 0, "logTail": "applying 3 migrations\ndone"}


def test_a_task_that_exits_1_fails_with_its_stop_reason_and_log_tail(aws):
    aws.run_task()
    aws.describe("RUNNING")
    aws.stopped(1, stoppedReason="Essential container in task exited")
    aws.log(*[f"line {i}" for i in range(40)], "error: relation users exists")

    with pytest.raises(JobFailed) as failure:
        aws.run()

    message = str(failure.value)
    assert message.startswith(
        "job 'migrate' failed with exit code 1 (stop code EssentialContainerExited: "
        "Essential container in task exited). Last log lines:\n"
    )
    assert message.endswith("error: relation users exists")
    assert "line 10" not in message, "only the last 30 lines"


def test_a_task_that_never_starts_fails_with_the_reason(aws):
    aws.run_task()
    aws.stopped(
        None,
        stopCode="TaskFailedToStart",
        stoppedReason="CannotPullContainerError: pull image manifest has been retried 5 times",
    )
    aws.logs_stub.add_client_error(
        "get_log_events",
        service_error_code="ResourceNotFoundException",
        service_message="The specified log stream does not exist.",
    )

    with pytest.raises(JobFailed) as failure:
        aws.run()

    message = str(failure.value)
    assert "job 'migrate' stopped before its container exited" in message
    assert "stop code TaskFailedToStart: CannotPullContainerError" in message
    assert "The specified log stream does not exist" in message


def test_a_task_past_its_timeout_is_stopped_and_fails(aws):
    aws.run_task()
    aws.describe("RUNNING")
    aws.describe("RUNNING")
    aws.stop("berth: job timed out after 1h")
    aws.log("still migrating")

    with pytest.raises(JobFailed) as failure:
        aws.run(job(timeout=3600.0), Clock().pace(poll_seconds=3600))

    assert str(failure.value) == (
        "job 'migrate' timed out after 1h and was stopped (raise x-berth-timeout to allow "
        "more). Last log lines:\nstill migrating"
    )


def test_run_task_failures_fail_the_job_at_once(aws):
    aws.run_task(
        {
            "tasks": [],
            "failures": [
                {"arn": CLUSTER, "reason": "RESOURCE:ENI", "detail": "no address in the subnet"}
            ],
        }
    )

    with pytest.raises(JobFailed, match=r"could not start: RESOURCE:ENI \(no address"):
        aws.run()


def test_an_api_error_on_start_is_a_job_failure(aws):
    aws.leftovers()
    aws.ecs_stub.add_client_error(
        "run_task", service_error_code="AccessDeniedException", service_message="not allowed"
    )

    with pytest.raises(JobFailed, match=r"job 'migrate' could not start: .*not allowed"):
        aws.run()


UNASSUMABLE = (
    "ECS was unable to assume the role 'arn:aws:iam::123456789012:role/migrate-migrate-task' "
    "that was provided for this task. Please verify that the role being passed has the proper "
    "trust relationship and permissions and that your IAM user has permissions to pass this role."
)


@pytest.mark.parametrize("code", ["ClientException", "InvalidParameterException"])
def test_a_role_too_new_for_ecs_is_tried_again_until_it_propagates(aws, code):
    """pulumi/pulumi-awsx#927: right after its role is created, RunTask can refuse it."""
    clock = Clock()
    aws.leftovers()
    for _ in range(2):
        aws.ecs_stub.add_client_error(
            "run_task", service_error_code=code, service_message=UNASSUMABLE
        )
    aws.run_task(leftovers=True)
    aws.stopped(0)
    aws.log("done")

    assert aws.run(pace=clock.pace())["exitCode"] == 0
    assert clock.slept[:2] == [2.0, 4.0]


def test_a_role_still_refused_after_two_minutes_fails_the_job(aws):
    aws.leftovers()
    for _ in range(8):  # tried at 0, 2, 6, 14, 30, 60, 90 and 120 s: two minutes, then no more
        aws.ecs_stub.add_client_error(
            "run_task", service_error_code="ClientException", service_message=UNASSUMABLE
        )

    with pytest.raises(JobFailed, match=r"could not start: .*unable to assume the role"):
        aws.run()


@pytest.mark.parametrize(
    "reason",
    [
        "ResourceInitializationError: unable to pull secrets or registry auth: "
        "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/x/y is not "
        "authorized to perform: secretsmanager:GetSecretValue",
        "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS "
        "volumes: stderr: b'mount.nfs4: access denied by server while mounting 127.0.0.1:/'",
    ],
    ids=["secrets", "efs"],
)
def test_a_task_that_iam_kept_from_starting_runs_again(aws, reason):
    """A policy made moments before (the execution role's, or the task role's volume grants),
    not yet seen: the task never ran."""
    aws.run_task()
    aws.stopped(None, stopCode="TaskFailedToStart", stoppedReason=reason)
    aws.run_task(leftovers=True)
    aws.stopped(0)
    aws.log("done")

    assert aws.run()["exitCode"] == 0


def test_an_interrupted_wait_stops_the_task(aws):
    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    aws.run_task()
    aws.describe("RUNNING")
    aws.stop("berth: job interrupted")

    with pytest.raises(KeyboardInterrupt):
        aws.run(pace=Pace(poll_seconds=0, sleep=interrupt))


# -- ECS's eventual consistency, and runs left behind -----------------------------------------


@pytest.mark.parametrize("empty", [False, True], ids=["MISSING", "no tasks"])
def test_a_task_ecs_does_not_know_yet_is_waited_for(aws, empty):
    """Right after RunTask, DescribeTasks may answer MISSING or nothing for seconds."""
    clock = Clock()
    aws.run_task()
    aws.missing(empty=empty)
    aws.missing(empty=empty)
    aws.missing(empty=empty)
    aws.describe("RUNNING")
    aws.stopped(0)
    aws.log("done")

    assert aws.run(pace=clock.pace(poll_seconds=6))["exitCode"] == 0
    assert clock.slept == [1.0, 2.0, 4.0, 6.0], "backing off, then polling as usual"


def test_a_task_unknown_for_a_minute_is_lost_stopped_and_fails(aws):
    aws.run_task()
    for _ in range(8):  # at 0, 1, 3, 7, 15, 30, 45 and 60 seconds: backing off, then lost
        aws.missing()
    aws.stop("berth: job interrupted")

    with pytest.raises(JobFailed, match=r"ECS does not know its task .* 1m after starting it"):
        aws.run()


def test_a_leftover_run_of_the_job_is_waited_for_before_a_new_one_starts(aws):
    """An earlier pulumi up was killed while the job ran: its task goes on. Two runs of one
    migration must never overlap."""
    clock = Clock()
    aws.leftovers(LEFTOVER)
    started = datetime.fromtimestamp(1_800_000_000.0 - 60, tz=UTC)
    aws.describe("RUNNING", LEFTOVER, startedAt=started)
    aws.describe("RUNNING", LEFTOVER)
    aws.describe("STOPPED", LEFTOVER)
    aws.run_task(leftovers=True)
    aws.stopped(0)
    aws.log("done")

    assert aws.run(pace=clock.pace(poll_seconds=6))["exitCode"] == 0
    assert clock.slept == [6.0, 6.0], "it waited for the leftover to stop, and stopped nothing"


def test_a_leftover_run_past_its_timeout_is_stopped_first(aws):
    clock = Clock()
    aws.leftovers(LEFTOVER)
    started = datetime.fromtimestamp(1_800_000_000.0 - 3000, tz=UTC)
    aws.describe("RUNNING", LEFTOVER, startedAt=started)
    aws.stop("berth: a leftover run passed its timeout", LEFTOVER)
    aws.describe("DEPROVISIONING", LEFTOVER)
    aws.describe("STOPPED", LEFTOVER)
    aws.run_task(leftovers=True)
    aws.stopped(0)
    aws.log("done")

    assert aws.run(job(timeout=600.0), clock.pace(poll_seconds=6))["exitCode"] == 0


def test_deleting_the_job_stops_its_runs_so_the_cluster_can_go(aws):
    """Issue 18: ``pulumi destroy`` failed with ClusterContainsTasksException when a run was
    left over (an interrupted ``up``) or hung: the job's delete stops every run of it."""
    clock = Clock()
    aws.leftovers(LEFTOVER)
    started = datetime.fromtimestamp(1_800_000_000.0 - 60, tz=UTC)
    aws.ecs_stub.add_response(
        "describe_tasks",
        {"tasks": [{"taskArn": LEFTOVER, "lastStatus": "RUNNING", "startedAt": started}]},
        {"cluster": CLUSTER, "tasks": [LEFTOVER]},
    )
    aws.stop("berth: the job was deleted", LEFTOVER)
    aws.describe("DEPROVISIONING", LEFTOVER)
    aws.describe("STOPPED", LEFTOVER)

    with aws.ecs_stub:
        run_once.stop_runs(job(), aws.ecs, clock.pace(poll_seconds=6))
    aws.ecs_stub.assert_no_pending_responses()


def test_deleting_a_job_whose_cluster_is_gone_stops_nothing(aws):
    aws.ecs_stub.add_client_error(
        "list_tasks", service_error_code="ClusterNotFoundException", service_message="gone"
    )
    with aws.ecs_stub:
        run_once.stop_runs(job(), aws.ecs, Clock().pace())
    aws.ecs_stub.assert_no_pending_responses()


def test_the_provider_deletes_by_stopping_the_jobs_runs(props, stubbed):
    stubbed.leftovers()
    EcsJobProvider(poll_seconds=0).delete("migrate-1", {**props, "cluster": CLUSTER})


# -- the provider: re-runs, updates, the engine's round trip ----------------------------------


@pytest.fixture(scope="module")
def planned_props(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The inputs the program gives the migrate job's run-once resource: planned once."""
    folder = tmp_path_factory.mktemp("planned")
    with contextlib.chdir(folder):
        plan = aws_program([copy_example("migrate", folder)])
    return find(plan, JOB, "migrate-run").inputs


@pytest.fixture
def props(planned_props: dict[str, Any]) -> dict[str, Any]:
    """The planned inputs, each test's own copy."""
    return copy.deepcopy(planned_props)


@pytest.fixture
def stubbed(monkeypatch) -> Iterator[Clients]:
    clients = Clients()
    monkeypatch.setattr(run_once, "job_clients", lambda props: (clients.ecs, clients.logs))
    with clients.ecs_stub, clients.logs_stub:
        yield clients
        clients.ecs_stub.assert_no_pending_responses()


def expect_run(
    clients: Clients, props: dict[str, Any], exit_code: int, log: str = "migrated"
) -> None:
    stream = f"migrate/migrate/{TASK.rsplit('/', 1)[-1]}"
    network = {
        "subnets": props["subnets"],
        "securityGroups": props["securityGroups"],
        "assignPublicIp": "ENABLED",
    }
    clients.ecs_stub.add_response(
        "list_tasks",
        {"taskArns": []},
        {"cluster": props["cluster"], "startedBy": props["startedBy"]},
    )
    clients.ecs_stub.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK}], "failures": []},
        {
            "cluster": props["cluster"],
            "taskDefinition": props["taskDefinition"],
            "launchType": "FARGATE",
            "count": 1,
            "startedBy": "berth/migrate-dev/migrate",
            "tags": [
                {"key": "berth:definition", "value": ANY},
                {"key": "berth:job", "value": "migrate"},
                {"key": "berth:stack", "value": "migrate-dev"},
            ],
            "networkConfiguration": {"awsvpcConfiguration": network},
        },
    )
    clients.ecs_stub.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": TASK,
                    "lastStatus": "STOPPED",
                    "stopCode": "EssentialContainerExited",
                    "containers": [{"name": "migrate", "exitCode": exit_code}],
                }
            ]
        },
        {"cluster": props["cluster"], "tasks": [TASK]},
    )
    clients.logs_stub.add_response(
        "get_log_events",
        {"events": [{"timestamp": 1, "message": log, "ingestionTime": 1}]},
        {
            "logGroupName": props["logGroup"],
            "logStreamName": stream,
            "limit": 30,
            "startFromHead": False,
        },
    )


def test_create_runs_the_task_the_program_defines(props, stubbed):
    expect_run(stubbed, props, exit_code=0)

    outs = EcsJobProvider(poll_seconds=0).create(props).outs

    assert outs["exitCode"] == 0
    assert outs["logTail"] == "migrated"
    assert outs["taskDefinition"] == props["taskDefinition"]


def test_the_jobs_secrets_are_scrubbed_from_the_failure_and_the_log_tail(props, stubbed):
    """The program hands the job's secrets to the provider (``scrubValues``): the password
    alone, as a program prints it, never reaches a message or the state."""
    expect_run(stubbed, props, exit_code=3, log="connecting as app:hunter%2Fsecret@db failed")

    with pytest.raises(JobFailed) as failure:
        EcsJobProvider(poll_seconds=0).create({**props, "scrubValues": ["hunter/secret"]})

    assert "hunter" not in str(failure.value)
    assert "connecting as app:[secret]@db failed" in str(failure.value)


def test_a_failed_create_records_nothing(props, stubbed):
    expect_run(stubbed, props, exit_code=3)

    with pytest.raises(JobFailed, match="exit code 3"):
        EcsJobProvider(poll_seconds=0).create(props)


def test_an_unchanged_job_does_not_run_again(props, stubbed):
    provider = EcsJobProvider(poll_seconds=0)
    expect_run(stubbed, props, exit_code=0)
    state = provider.create(props).outs

    diff = provider.diff("id", state, copy.deepcopy(props))

    assert diff.changes is False


def test_a_new_command_or_image_runs_the_job_again(project_dir, props, stubbed):
    provider = EcsJobProvider(poll_seconds=0)
    expect_run(stubbed, props, exit_code=0)
    state = provider.create(props).outs
    compose = project_dir / copy_example("migrate", project_dir)
    compose.write_text(compose.read_text().replace('"./migrate.sh"]', '"./migrate.sh", "--seed"]'))
    new_command = find(aws_program(["examples/migrate/compose.yaml"]), JOB, "migrate-run").inputs
    new_image = copy.deepcopy(props)
    job_container = new_image["definition"]["containers"][-1]
    job_container["image"] = job_container["image"].split("@")[0] + "@sha256:" + "0" * 64

    assert new_command["definition"]["containers"][-1]["command"][-1] == "--seed"
    assert provider.diff("id", state, new_command).replaces == ["definition"]
    assert provider.diff("id", state, new_image).replaces == ["definition"]


def test_a_new_timeout_updates_in_place_and_runs_nothing(props, stubbed):
    provider = EcsJobProvider(poll_seconds=0)
    expect_run(stubbed, props, exit_code=0)
    state = provider.create(props).outs
    news = {**props, "timeout": 1800.0}

    diff = provider.diff("id", state, news)
    outs = provider.update("id", state, news).outs

    assert diff.changes is True
    assert not diff.replaces
    assert outs["timeout"] == 1800.0
    assert outs["exitCode"] == 0
    assert outs["finishedAt"] == state["finishedAt"]


def test_run_always_runs_on_every_deployment(props, stubbed):
    provider = EcsJobProvider(poll_seconds=0)
    expect_run(stubbed, props, exit_code=0)
    state = provider.create({**props, "runAlways": True}).outs

    assert provider.diff("id", state, {**props, "runAlways": True}).replaces == ["definition"]


def test_the_provider_unpickles_in_a_fresh_interpreter_in_the_project_root():
    """The engine runs dynamic providers in a separate process started in the project root."""
    printed = unpickled_in_project_root(
        EcsJobProvider(),
        """
        import os
        for key in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[key]
        old = {"definition": {"containers": ["a"]}, "timeout": 1, "runAlways": False}
        new = {"definition": {"containers": ["b"]}, "timeout": 1, "runAlways": False}
        print(type(provider).__module__, type(provider).__name__, provider.poll_seconds,
              provider.diff("id", old, new).replaces)
        """,
    )
    assert printed.split() == [
        "berth.providers.aws.run_once",
        "EcsJobProvider",
        "6.0",
        "['definition']",
    ]


# -- berth run: a job of jobs: run once, its log streamed ------------------------------------

TRIGGERED = """
    name: shop
    jobs:
      backup:
        image: postgres:16
        command: ["pg_dump", "-h", "db"]
        triggers:
          schedule: ["0 3 * * *"]
    """
RUN_TASK = "arn:aws:ecs:eu-west-1:123456789012:task/shop/0123456789abcdef"


@pytest.fixture(scope="module")
def planned_run_with(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the program records for ``berth run backup`` (its ``runWith``): planned once."""
    folder = tmp_path_factory.mktemp("triggered")
    (folder / "compose.yaml").write_text(textwrap.dedent(TRIGGERED))
    with contextlib.chdir(folder), component_outputs() as outputs:
        plan = aws_program(["compose.yaml"])
    recorded = outputs[find(plan, "berth:index:TriggeredJob", "backup").urn]["runWith"]
    return recorded["value"] if is_secret(recorded) else recorded


@pytest.fixture
def attached(monkeypatch) -> Iterator[Clients]:
    """``berth run``'s clients, stubbed; its waits on a ``Clock`` (``clients.clock``)."""
    clients = Clients()
    monkeypatch.setattr(run_once, "job_clients", lambda props: (clients.ecs, clients.logs))
    monkeypatch.setattr(attached_module, "Pace", clients.clock.pace)
    with clients.ecs_stub, clients.logs_stub:
        yield clients
        clients.ecs_stub.assert_no_pending_responses()
        clients.logs_stub.assert_no_pending_responses()


def expect_start(clients: Clients, run_with: dict[str, Any], command: list[str] | None = None):
    request: dict[str, Any] = {
        "cluster": run_with["cluster"],
        "taskDefinition": run_with["taskDefinition"],
        "launchType": "FARGATE",
        "count": 1,
        "startedBy": "berth/shop-dev/backup",
        "tags": [
            {"key": "berth:job", "value": "backup"},
            {"key": "berth:stack", "value": "shop-dev"},
        ],
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": run_with["subnets"],
                "securityGroups": run_with["securityGroups"],
                "assignPublicIp": "ENABLED",
            }
        },
    }
    if command is not None:
        request["overrides"] = {"containerOverrides": [{"name": "backup", "command": command}]}
    clients.ecs_stub.add_response(
        "run_task", {"tasks": [{"taskArn": RUN_TASK}], "failures": []}, request
    )


def expect_state(clients: Clients, run_with: dict[str, Any], status: str, **task: Any) -> None:
    clients.ecs_stub.add_response(
        "describe_tasks",
        {"tasks": [{"taskArn": RUN_TASK, "lastStatus": status, **task}]},
        {"cluster": run_with["cluster"], "tasks": [RUN_TASK]},
    )


def expect_lines(
    clients: Clients, *lines: str, after: str | None = None, token: str | None = None
) -> None:
    """A GetLogEvents from the stream's head (or from ``after``), answering ``lines``."""
    request = {
        "logGroupName": "/berth/shop-dev",
        "logStreamName": "backup/backup/0123456789abcdef",
        "startFromHead": True,
        **({"nextToken": after} if after else {}),
    }
    events = [
        {"timestamp": i, "message": f"{line}\n", "ingestionTime": i} for i, line in enumerate(lines)
    ]
    clients.logs_stub.add_response(
        "get_log_events", {"events": events, "nextForwardToken": token or after or "f/0"}, request
    )


def test_berth_run_streams_the_log_as_the_task_runs_and_returns_its_exit_code(
    planned_run_with, attached
):
    log = io.StringIO()
    expect_start(attached, planned_run_with)
    expect_state(attached, planned_run_with, "PROVISIONING")
    attached.logs_stub.add_client_error(  # the container has not started: no stream yet
        "get_log_events", service_error_code="ResourceNotFoundException", service_message="none"
    )
    expect_state(attached, planned_run_with, "RUNNING")
    expect_lines(attached, "dumping", "table users", token="f/1")
    expect_lines(attached, after="f/1")
    expect_state(
        attached, planned_run_with, "STOPPED", containers=[{"name": "backup", "exitCode": 0}]
    )
    expect_lines(attached, "done", after="f/1", token="f/2")
    expect_lines(attached, after="f/2")
    expect_lines(attached, after="f/2")  # read again a moment later: nothing came late

    assert berth_run(planned_run_with, [], log) == 0
    assert log.getvalue() == "dumping\ntable users\ndone\n"


def test_berth_run_reads_on_past_an_empty_page_of_the_log(planned_run_with, attached):
    """GetLogEvents may answer an empty page with a new token while more follows: only its
    handing back the token it was sent ends the reading, and its new token is kept (else the
    next read asks for the same empty page again, and the log stops for good)."""
    expect_start(attached, planned_run_with)
    expect_state(attached, planned_run_with, "RUNNING")
    expect_lines(attached, "dumping", token="f/1")
    expect_lines(attached, after="f/1", token="f/2")
    expect_lines(attached, "table users", after="f/2", token="f/3")
    expect_lines(attached, after="f/3")
    expect_state(
        attached, planned_run_with, "STOPPED", containers=[{"name": "backup", "exitCode": 0}]
    )
    expect_lines(attached, after="f/3")
    expect_lines(attached, after="f/3")

    log = io.StringIO()
    assert berth_run(planned_run_with, [], log) == 0
    assert log.getvalue() == "dumping\ntable users\n"


def test_berth_run_reads_the_log_again_a_moment_after_the_task_stopped(planned_run_with, attached):
    """CloudWatch Logs receives a container's last lines seconds after they were written, and
    they usually say why it failed."""
    expect_start(attached, planned_run_with)
    expect_state(
        attached, planned_run_with, "STOPPED", containers=[{"name": "backup", "exitCode": 1}]
    )
    expect_lines(attached, "pg_dump: dumping", token="f/1")
    expect_lines(attached, after="f/1")
    expect_lines(attached, "pg_dump: error: disk full", after="f/1", token="f/2")
    expect_lines(attached, after="f/2")

    log = io.StringIO()
    assert berth_run(planned_run_with, [], log) == 1
    assert log.getvalue() == "pg_dump: dumping\npg_dump: error: disk full\n"
    assert attached.clock.slept[-1] == attached_module.LATE_LOG_SECONDS


def test_a_busy_log_does_not_hold_up_the_tasks_state(planned_run_with, attached, monkeypatch):
    monkeypatch.setattr(attached_module, "DRAIN_PAGES", 2)
    expect_start(attached, planned_run_with)
    expect_state(attached, planned_run_with, "RUNNING")
    expect_lines(attached, "a", token="f/1")
    expect_lines(attached, "b", after="f/1", token="f/2")
    expect_state(
        attached, planned_run_with, "STOPPED", containers=[{"name": "backup", "exitCode": 0}]
    )
    expect_lines(attached, "c", after="f/2", token="f/3")
    expect_lines(attached, after="f/3")
    expect_lines(attached, after="f/3")

    log = io.StringIO()
    assert berth_run(planned_run_with, [], log) == 0
    assert log.getvalue() == "a\nb\nc\n"


def test_berth_run_with_args_replaces_the_command_and_returns_a_failing_exit_code(
    planned_run_with, attached
):
    expect_start(attached, planned_run_with, ["pg_dump", "--schema-only"])
    expect_state(
        attached,
        planned_run_with,
        "STOPPED",
        stopCode="EssentialContainerExited",
        containers=[{"name": "backup", "exitCode": 3}],
    )
    expect_lines(attached, "pg_dump: error: connection refused", token="f/1")
    expect_lines(attached, after="f/1")
    expect_lines(attached, after="f/1")

    log = io.StringIO()
    assert berth_run(planned_run_with, ["pg_dump", "--schema-only"], log) == 3
    assert log.getvalue() == "pg_dump: error: connection refused\n"


def expect_stop(clients: Clients, run_with: dict[str, Any]) -> list[str]:
    """One StopTask of the run's task; the tasks every StopTask asked for (a second one, which
    the Stubber refuses, is swallowed as a task already stopped would be)."""
    clients.ecs_stub.add_response(
        "stop_task",
        {"task": {"taskArn": RUN_TASK}},
        {"cluster": run_with["cluster"], "task": RUN_TASK, "reason": "berth: job interrupted"},
    )
    asked: list[str] = []
    clients.ecs.meta.events.register(  # before the Stubber checks it, which may refuse it
        "provide-client-params.ecs.StopTask", lambda params, **_: asked.append(params["task"])
    )
    return asked


def test_ctrl_c_during_berth_run_stops_the_task_then_raises_again(planned_run_with, attached):
    class Interrupted(io.StringIO):
        def write(self, text: str) -> int:
            raise KeyboardInterrupt

    expect_start(attached, planned_run_with)
    expect_state(attached, planned_run_with, "RUNNING")
    expect_lines(attached, "dumping", token="f/1")
    stops = expect_stop(attached, planned_run_with)

    with pytest.raises(KeyboardInterrupt):
        berth_run(planned_run_with, [], Interrupted())
    assert stops == [RUN_TASK], "stopped once"


def interrupt_in_run_task(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C lands inside the RunTask call, once ECS has answered (botocore has parsed it)."""

    def interrupted(**_: Any) -> None:
        raise KeyboardInterrupt

    clients.ecs.meta.events.register("after-call.ecs.RunTask", interrupted)


def interrupt_once_started(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C lands right after RunTask returned, before the task is followed."""

    def interrupted(*_: Any) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(attached_module, "log_stream_name", interrupted)


@pytest.mark.parametrize("interrupt", [interrupt_in_run_task, interrupt_once_started])
def test_ctrl_c_while_the_task_starts_stops_it_once_ecs_answered(
    planned_run_with, attached, monkeypatch, interrupt
):
    expect_start(attached, planned_run_with)
    stops = expect_stop(attached, planned_run_with)
    interrupt(attached, monkeypatch)

    with pytest.raises(KeyboardInterrupt):
        berth_run(planned_run_with, [], io.StringIO())
    assert stops == [RUN_TASK]


def test_a_berth_run_whose_container_never_ran_is_one_line_naming_why(planned_run_with, attached):
    expect_start(attached, planned_run_with)
    expect_state(
        attached,
        planned_run_with,
        "STOPPED",
        stopCode="TaskFailedToStart",
        stoppedReason="CannotPullContainerError: pull access denied",
        containers=[{"name": "backup"}],
    )
    for _read in ("at once", "a moment later"):
        attached.logs_stub.add_client_error(
            "get_log_events",
            service_error_code="ResourceNotFoundException",
            service_message="none",
        )

    with pytest.raises(BerthError) as failed:
        berth_run(planned_run_with, [], io.StringIO())
    assert str(failed.value).splitlines() == [
        "job 'backup' stopped before its container exited (stop code TaskFailedToStart: "
        "CannotPullContainerError: pull access denied)."
    ]
