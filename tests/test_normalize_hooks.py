"""berth/normalize/hooks.py: ``pre_start`` hooks as run-once jobs that gate their service,
through the real loader (Compose v5 prints each hook merged with its service)."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.model import Condition, Dependency, Mount
from tests.conftest import refused

WEB = """
services:
  db:
    image: postgres:16
  web:
    image: example/web:1
    command: ["serve"]
    user: app
    environment:
      A: "1"
    volumes:
      - data:/data
      - ./static:/static
    deploy:
      replicas: 2
      resources:
        limits:
          memory: 1G
    depends_on: [db]
    pre_start:
      - command: ["migrate"]
        environment:
          B: "2"
      - image: busybox
        command: ["warm"]
        volumes:
          - cache:/data
volumes:
  data: {}
  cache: {}
"""


def test_each_hook_is_a_job_in_order_that_gates_its_service(load):
    project = load(WEB)

    first, second = project.hooks_of("web")
    assert [first.name, second.name] == ["web-pre-start-0", "web-pre-start-1"]
    assert first.job and second.job and not project.services["web"].job
    assert first.depends_on == (Dependency("db", Condition.STARTED),)
    assert second.depends_on == (Dependency("web-pre-start-0", Condition.COMPLETED),)
    assert Dependency("web-pre-start-1", Condition.COMPLETED) in project.services["web"].depends_on
    assert first.hook and first.hook.label == 'service "web" pre_start[0]'


def test_a_hook_runs_with_what_compose_gives_it_and_the_services_volumes_and_size(load):
    first, second = load(WEB).hooks_of("web")

    assert (first.image, first.command, first.user) == ("example/web:1", ("migrate",), "app")
    assert first.environment == {"A": "1", "B": "2"}
    assert set(first.mounts) == {
        Mount("volume", "/data", "data"),
        Mount("bind", "/static", "static"),
    }
    assert first.resources.memory == 1024**3 and first.replicas is None
    # its own image, and its own volume at a path the service also mounts, win
    assert second.image == "busybox"
    assert Mount("volume", "/data", "cache") in second.mounts
    assert Mount("volume", "/data", "data") not in second.mounts


def test_a_hook_of_a_built_service_runs_the_built_image(load, write):
    write("FROM busybox\n", "Dockerfile")
    project = load("services:\n  web:\n    build: .\n    pre_start:\n      - command: [m]\n")

    (hook,) = project.hooks_of("web")
    assert hook.build == project.services["web"].build and hook.image is None


def _digest(load, text: str) -> str:
    (hook, *_) = load(text).hooks_of("web")
    assert hook.hook
    return hook.hook.service_digest


def test_the_hooks_run_again_when_compose_would_recreate_the_service(load):
    """Compose's config hash: the service's definition and its hooks, but not the replica
    count, depends_on, build, pull_policy, profiles or x-* keys."""
    before = _digest(load, WEB)

    assert _digest(load, WEB.replace('A: "1"', 'A: "2"')) != before
    assert _digest(load, WEB.replace('["migrate"]', '["migrate", "--all"]')) != before
    assert _digest(load, WEB.replace("replicas: 2", "replicas: 5")) == before
    assert _digest(load, WEB.replace("depends_on: [db]", "depends_on: []")) == before
    assert _digest(load, WEB.replace("    user: app\n", "    user: app\n    x-note: 1\n")) == before


def test_a_secret_changes_the_hooks_own_definition_not_the_digest(load):
    text = WEB.replace('A: "1"', "TOKEN: ${TOKEN}")
    one, other = (load(text, secrets={"TOKEN": value}) for value in ("s3cret-one", "s3cret-two"))

    assert one.hooks_of("web")[0].hook == other.hooks_of("web")[0].hook
    assert one.hooks_of("web")[0].environment != other.hooks_of("web")[0].environment
    assert "s3cret" not in repr(one.hooks_of("web")[0].hook)


@pytest.mark.parametrize(
    ("hook", "field", "words"),
    [
        ("{command: [m], per_replica: true}", "pre_start[0].per_replica", "per_replica: true"),
        ("{command: [m], cpus: .nan}", None, "infinite or not a number"),
    ],
)
def test_a_hook_compose_or_berth_cannot_run_is_refused_in_one_line(load, hook, field, words):
    error = refused(load, f"services:\n  web:\n    image: a\n    pre_start:\n      - {hook}\n")

    assert error.service == "web" and words in error.message
    if field:
        assert error.field == field


def test_a_service_named_as_a_hook_job_is_refused(load):
    text = (
        "services:\n  web:\n    image: a\n    pre_start: [{command: [m]}]\n"
        "  web-pre-start-0:\n    image: b\n"
    )
    error = refused(load, text)

    assert (error.service, error.field) == ("web", "pre_start")
    assert "web-pre-start-0" in error.message


def test_a_field_a_target_ignores_or_refuses_in_a_hook_is_named_where_it_is_written(write):
    from berth.load import load_project
    from berth.providers import aws

    def on_aws(hook: str) -> list[str]:
        text = f"services:\n  web:\n    image: a\n    pre_start:\n      - {hook}\n"
        project = load_project([write(text)], target="aws", support=aws.FIELD_SUPPORT)
        return list(project.warnings)

    assert any(
        "service 'web': field 'pre_start[0].pids_limit'" in w for w in on_aws("{pids_limit: 5}")
    )
    with pytest.raises(BerthError) as caught:
        on_aws("{privileged: true}")
    assert (caught.value.service, caught.value.field) == ("web", "pre_start[0].privileged")
    assert caught.value.file == "compose.yaml"


def test_a_hook_of_a_service_that_builds_its_named_image_runs_the_built_one(load, write):
    """Compose prints the service's image in the hook; with build: that is the image it builds
    and tags, never one to pull."""
    write("FROM busybox\n", "Dockerfile")
    project = load(
        "services:\n  web:\n    image: me/app:dev\n    build: .\n"
        "    pre_start:\n      - command: [m]\n      - image: busybox\n"
    )

    inherits, own = project.hooks_of("web")
    assert (inherits.image, inherits.build) == ("me/app:dev", project.services["web"].build)
    assert inherits.hook and inherits.hook.shares_image
    assert (own.image, own.build) == ("busybox", None)
    assert own.hook and not own.hook.shares_image


def test_a_hooks_own_fields_are_what_compose_printed_beyond_its_service(load):
    """Compose appends pre_start across -f files and extends: the fields are read from its
    output, so they belong to the right hook."""
    (first, second) = load(
        "services:\n  web:\n    image: a\n    user: app\n    pre_start:\n"
        "      - command: [m]\n      - command: [n]\n        pids_limit: 5\n"
    ).hooks_of("web")

    assert first.fields == ("command",)
    assert second.fields == ("command", "pids_limit")


def test_a_hook_job_name_is_not_a_service_others_may_depend_on(load):
    text = (
        "services:\n  web:\n    image: a\n    pre_start: [{command: [m]}]\n"
        "  other:\n    image: b\n    depends_on: [web-pre-start-0]\n"
    )
    error = refused(load, text)

    assert (error.service, error.field) == ("other", "depends_on")
    assert "the name Berth gives service 'web''s pre_start[0]" in error.message


def test_a_service_without_replicas_runs_no_hook(load):
    project = load(
        "services:\n  web:\n    image: a\n    deploy: {replicas: 0}\n"
        "    pre_start: [{command: [m]}]\n"
    )

    assert project.hooks_of("web") == [] and project.jobs == []
    assert any("its pre_start hooks do not run" in w for w in project.warnings)


@pytest.mark.parametrize(
    ("hook", "field", "words"),
    [
        ("{bogus: 1}", "pre_start[0].bogus", "prefix it with x-"),
        ('{ports: ["80:80"]}', "pre_start[0].ports", "a hook takes no ports"),
    ],
)
def test_a_key_compose_refuses_in_a_hook_is_named_with_the_hooks_place(load, hook, field, words):
    error = refused(load, f"services:\n  web:\n    image: a\n    pre_start:\n      - {hook}\n")

    assert (error.service, error.field) == ("web", field)
    assert words in error.message


def test_a_hooks_env_file_is_not_read_and_says_so(load, write):
    write("A=1\n", "hook.env")
    project = load(
        "services:\n  web:\n    image: a\n    pre_start:\n"
        "      - {command: [m], env_file: hook.env}\n"
    )

    assert "A" not in project.hooks_of("web")[0].environment
    assert any("'pre_start[0].env_file' is not read" in w for w in project.warnings)


def test_a_berth_extension_in_a_hook_runs_no_hook_again(load):
    """Compose leaves x-* out of its hash: a hook's x-berth-timeout is a setting."""
    text = "services:\n  web:\n    image: a\n    pre_start:\n      - {command: [m]%s}\n"

    assert _digest(load, text % "") == _digest(load, text % ", x-berth-timeout: 6m")


def test_the_models_a_service_uses_are_in_its_hooks_digest_and_absent_ones_are_not(load):
    """``models`` is Compose's and hashed once set; a service without models has the digest
    it had before Berth knew models (tests/test_contract_buildkit_move.py holds recorded ones),
    and x-defang-llm is an x-* key."""
    text = "services:\n  web:\n    image: a\n%s    pre_start:\n      - {command: [m]}\n"
    models = "models:\n  llm: {model: ai/smollm2}\n"
    before = _digest(load, text % "")

    assert _digest(load, text % "    models: [llm]\n" + models) != before
    assert _digest(load, text % "    x-defang-llm: true\n") == before
