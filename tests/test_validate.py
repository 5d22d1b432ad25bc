"""Which services are one-off jobs, and the checks across services, through the real loader."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.fields import ignored, refused, supported
from berth.load import load_project
from berth.model import DEFAULT_JOB_TIMEOUT, ComposeProject, Condition, Dependency, Service
from berth.sources import Sources
from berth.validate import classify_jobs, validate
from tests.conftest import refused as refusal

# -- job classification ------------------------------------------------------------------------


@pytest.mark.parametrize("restart", ['"no"', "no", "'no'"], ids=["double", "bare", "single"])
def test_restart_no_makes_a_job_quoted_or_not(load, restart):
    project = load(f"services:\n  migrate:\n    image: m\n    restart: {restart}\n")

    assert project.services["migrate"].job is True
    assert project.jobs == [project.services["migrate"]]


@pytest.mark.parametrize("restart", [None, "always", "unless-stopped", "on-failure"])
def test_other_restart_policies_are_long_running(load, restart):
    line = f"    restart: {restart}\n" if restart else ""

    project = load(f"services:\n  web:\n    image: nginx\n{line}")

    assert project.services["web"].job is False
    assert project.long_running == [project.services["web"]]


def test_a_service_awaited_until_it_completes_is_a_job(load):
    project = load(
        """
        services:
          seed:
            image: seed
          web:
            image: web
            depends_on:
              seed:
                condition: service_completed_successfully
        """
    )

    assert project.services["seed"].job is True
    assert project.services["web"].job is False


@pytest.mark.parametrize("restart", ["always", "unless-stopped"])
def test_awaiting_completion_of_a_service_that_never_stops_is_refusal(load, restart):
    error = refusal(
        load,
        f"""
        services:
          worker:
            image: w
            restart: {restart}
          web:
            image: web
            depends_on:
              worker:
                condition: service_completed_successfully
        """,
    )

    assert (error.file, error.service, error.field) == ("compose.yaml", "web", "depends_on")
    assert f"'worker' has restart: {restart} and never completes" in error.message
    assert "give 'worker' restart: \"no\"" in error.message


def test_a_job_with_ports_is_refusal(load):
    error = refusal(
        load, "services:\n  migrate:\n    image: m\n    restart: 'no'\n    ports: ['80:80']\n"
    )

    assert (error.file, error.service, error.field) == ("compose.yaml", "migrate", "ports")
    assert "a one-off job cannot publish ports" in error.message
    assert "remove ports from the job" in error.message


@pytest.mark.parametrize(("policy", "always"), [("always", True), ("on-change", False)])
def test_x_berth_run_policy(load, policy, always):
    project = load(
        f"services:\n  job:\n    image: j\n    restart: 'no'\n    x-berth-run: {policy}\n"
    )

    assert project.services["job"].run_always is always


def test_a_job_runs_on_change_with_the_default_timeout_unless_told(load):
    job = load("services:\n  job:\n    image: j\n    restart: 'no'\n").services["job"]

    assert job.run_always is False
    assert job.timeout == DEFAULT_JOB_TIMEOUT


def test_a_bad_x_berth_run_value_is_refusal(load):
    error = refusal(
        load, "services:\n  job:\n    image: j\n    restart: 'no'\n    x-berth-run: sometimes\n"
    )

    assert (error.file, error.service, error.field) == ("compose.yaml", "job", "x-berth-run")
    assert "'sometimes' is not a run policy" in error.message
    assert "use always or on-change" in error.message


@pytest.mark.parametrize(("value", "seconds"), [("30m", 1800.0), ("1h30m", 5400.0), (45, 45.0)])
def test_x_berth_timeout_is_read_as_seconds(load, value, seconds):
    project = load(
        f"services:\n  job:\n    image: j\n    restart: 'no'\n    x-berth-timeout: {value}\n"
    )

    assert project.services["job"].timeout == seconds


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("soon", "soon is not a duration"),
        ("0s", "the timeout must be longer than zero"),
        ("-5", "the timeout must be longer than zero"),
        ("true", "true is not a duration"),
        (".nan", "infinite or not a number"),
    ],
)
def test_a_bad_x_berth_timeout_is_refusal(load, value, problem):
    error = refusal(
        load, f"services:\n  job:\n    image: j\n    restart: 'no'\n    x-berth-timeout: {value}\n"
    )

    assert (error.service, error.field) == ("job", "x-berth-timeout")
    assert problem in error.message


@pytest.mark.parametrize("key", ["x-berth-run: always", "x-berth-timeout: 30m"])
def test_berth_job_extensions_on_a_long_running_service_are_refusal(load, key):
    error = refusal(load, f"services:\n  web:\n    image: nginx\n    {key}\n")

    assert error.service == "web"
    assert error.field == key.split(":")[0]
    assert "applies only to one-off jobs" in error.message
    assert 'add restart: "no" to make the service a job' in error.message


def test_an_unknown_berth_extension_lists_the_known_ones(load):
    error = refusal(
        load, "services:\n  job:\n    image: j\n    restart: 'no'\n    x-berth-foo: 1\n"
    )

    assert (error.file, error.service, error.field) == ("compose.yaml", "job", "x-berth-foo")
    assert "unknown Berth extension" in error.message
    assert error.hint == "use one of x-berth-run, x-berth-timeout"


def test_other_x_extensions_on_a_service_are_no_concern_of_berth(load):
    project = load("services:\n  web:\n    image: nginx\n    x-berthold: 1\n    x-run: 2\n")

    assert project.services["web"].extensions == {"x-berthold": 1, "x-run": 2}


# -- checks across services --------------------------------------------------------------------


def test_an_undefined_dependency_is_an_error(load):
    error = refusal(load, "services:\n  web:\n    image: nginx\n    depends_on: [dbb]\n")

    assert (error.file, error.service, error.field) == ("compose.yaml", "web", "depends_on")
    assert "depends on 'dbb', which is not defined" in error.message
    assert "mark it required: false" in error.message


def test_an_optional_undefined_dependency_is_a_warning_and_the_edge_is_dropped(load):
    project = load(
        """
        services:
          db:
            image: postgres
          web:
            image: nginx
            depends_on:
              db:
                condition: service_started
              metrics:
                condition: service_started
                required: false
        """
    )

    assert project.services["web"].depends_on == (Dependency("db"),)
    assert project.warnings == (
        "service 'web': optional dependency 'metrics' is not defined; deploying without it",
    )


def test_a_cycle_prints_its_path(load):
    error = refusal(
        load,
        """
        services:
          a:
            image: a
            depends_on: [b]
          b:
            image: b
            depends_on: [a]
        """,
    )

    assert (error.service, error.field) == ("a", "depends_on")
    assert "dependency cycle: a -> b -> a" in error.message
    assert "remove one of these depends_on entries" in error.message


def test_a_longer_cycle_and_a_self_dependency(load):
    longer = refusal(
        load,
        """
        services:
          web: {image: w, depends_on: [api]}
          api: {image: a, depends_on: [db]}
          db: {image: d, depends_on: [web]}
        """,
    )
    assert "dependency cycle: web -> api -> db -> web" in longer.message

    itself = refusal(load, "services:\n  loop:\n    image: l\n    depends_on: [loop]\n")
    assert "dependency cycle: loop -> loop" in itself.message


def test_a_service_without_image_or_build_is_refusal(load):
    error = refusal(load, "services:\n  web:\n    command: serve\n")

    assert (error.file, error.service, error.field) == ("compose.yaml", "web", "image")
    assert "neither image nor build is set" in error.message
    assert "add image: or build: to the service" in error.message


def test_a_service_without_image_is_reported_in_the_file_that_declares_it(write, project_dir):
    base = write("services:\n  web:\n    image: nginx\n", "compose.yaml")
    extra = write("services:\n  worker:\n    command: work\n", "compose.worker.yaml")

    with pytest.raises(BerthError) as caught:
        load_project([base, extra])

    assert caught.value.file == "compose.worker.yaml"
    assert caught.value.service == "worker"


def test_an_undeclared_named_volume_is_refusal(load):
    error = refusal(load, "services:\n  db:\n    image: pg\n    volumes: ['pgdata:/var/lib/pg']\n")

    assert (error.file, error.service, error.field) == ("compose.yaml", "db", "volumes")
    assert "named volume 'pgdata' is not declared" in error.message
    assert "use ./pgdata for a bind mount" in error.message


def test_waiting_for_health_without_a_healthcheck_warns(load):
    project = load(
        """
        services:
          db:
            image: postgres
          web:
            image: nginx
            depends_on:
              db: {condition: service_healthy}
        """
    )

    assert len(project.warnings) == 1
    assert "'web' waits for 'db' to be healthy" in project.warnings[0]
    assert "no healthcheck" in project.warnings[0]


def test_target_support_refuses_and_warns_naming_service_and_field(write, project_dir):
    file = write(
        """
        services:
          web:
            image: nginx
            stop_signal: SIGINT
            privileged: true
        """
    )
    support = {"image": supported(), "stop_signal": ignored("not yet")}

    with pytest.raises(BerthError) as caught:
        load_project([file], target="fake", support={**support, "privileged": refused("unsafe")})
    assert (caught.value.service, caught.value.field) == ("web", "privileged")
    assert "not supported on the fake target: unsafe" in caught.value.message
    assert "move the service to a profile" in caught.value.message

    project = load_project([file], target="fake", support=support)
    assert project.warnings == (
        "service 'web': field 'privileged' is ignored on fake: not supported on fake yet",
        "service 'web': field 'stop_signal' is ignored on fake: not yet",
    )


# -- the same rules on the model, without Compose -----------------------------------------------


def model(*services: Service) -> tuple[ComposeProject, Sources]:
    project = ComposeProject("p", ("compose.yaml",), {s.name: s for s in services})
    documents = ({"services": {s.name: {"image": s.image} for s in services}},)
    return project, Sources(files=("compose.yaml",), documents=documents)


def test_classify_jobs_leaves_a_never_stopping_awaited_service_long_running():
    project, _ = model(
        Service("worker", image="w", restart="always"),
        Service("web", image="w", depends_on=(Dependency("worker", Condition.COMPLETED),)),
        Service("once", image="o", restart="no"),
    )

    classified = classify_jobs(project)

    assert [s.name for s in classified.jobs] == ["once"]
    assert [s.name for s in classified.long_running] == ["worker", "web"]


def test_validate_returns_the_project_with_warnings_kept():
    project, sources = model(Service("web", image="nginx"))
    project = ComposeProject(project.name, project.files, project.services, warnings=("w",))

    checked = validate(classify_jobs(project), sources)

    assert checked.warnings == ("w",)
    assert list(checked.services) == ["web"]
