"""A build that cannot be what Compose builds is refused at plan time, on every target: a local
context or Dockerfile that is not there (berth/builds.py), and a build option without which the
image differs or the build fails (berth/fields.py); options that only speed a build up or add
metadata are ignored with a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.components.target import available_targets, load_target
from berth.errors import BerthError
from berth.load import load_project
from berth.offline.diff import diff_files
from berth.offline.plan import plan_config
from tests.conftest import copy_example, refused

TARGETS = available_targets()


def test_a_build_context_that_does_not_exist_is_refused_naming_it(load):
    error = refused(load, "services:\n  api:\n    build: ./nodir\n")

    assert error.message == (
        "compose.yaml: service 'api', field 'build': the build context 'nodir' does not exist. "
        "create that folder with the Dockerfile and the files it copies, or set build.context "
        "to the folder that has them."
    )


def test_a_build_context_that_is_a_file_is_refused(load, project_dir):
    (project_dir / "app.py").write_text("print()\n")

    error = refused(load, "services:\n  api:\n    build: ./app.py\n")

    assert (error.service, error.field) == ("api", "build")
    assert "the build context 'app.py' is not a folder" in error.message


def test_a_context_without_its_dockerfile_is_refused(load, project_dir):
    (project_dir / "api").mkdir()

    error = refused(load, "services:\n  api:\n    build: ./api\n")

    assert error.message == (
        "compose.yaml: service 'api', field 'build': the build context 'api' has no Dockerfile. "
        "add one there, or name yours in build.dockerfile (relative to the context)."
    )


def test_a_named_dockerfile_that_is_not_in_the_context_is_refused(load, project_dir):
    (project_dir / "Dockerfile").write_text("FROM busybox\n")

    error = refused(
        load, "services:\n  api:\n    build:\n      context: .\n      dockerfile: nope.Dockerfile\n"
    )

    assert error.message == (
        "compose.yaml: service 'api', field 'build.dockerfile': the Dockerfile 'nope.Dockerfile' "
        "does not exist in the build context '.'. create it, or correct build.dockerfile: a path "
        "relative to the context, or absolute."
    )


def test_an_absolute_dockerfile_is_read_where_it_is(load, project_dir, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "api.Dockerfile"
    text = f"services:\n  api:\n    build:\n      context: .\n      dockerfile: {elsewhere}\n"

    error = refused(load, text)
    assert error.field == "build.dockerfile"
    assert f"the Dockerfile '{elsewhere}' does not exist. create it" in error.message

    elsewhere.write_text("FROM busybox\n")
    assert load(text).services["api"].build.dockerfile == str(elsewhere)


def test_a_dockerfile_path_is_cleaned_as_docker_cleans_it(load, project_dir):
    (project_dir / "Dockerfile").write_text("FROM busybox\n")

    project = load("services:\n  api:\n    build:\n      dockerfile: sub/../Dockerfile\n")

    assert project.services["api"].build.dockerfile == "sub/../Dockerfile"


def test_a_remote_context_is_not_checked(load):
    project = load(
        "services:\n  git:\n    build: git@github.com:docker/welcome.git\n"
        "  short:\n    build: github.com/docker/welcome\n"
    )

    assert project.services["git"].build.context == "git@github.com:docker/welcome.git"
    assert project.services["short"].build.context == "github.com/docker/welcome"


# -- build options each target cannot honour yet (issue 24) ------------------------------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    ("option", "value", "what_to_do"),
    [
        ("dockerfile_inline", "'FROM busybox'", "write it to a file in the context and name "),
        ("additional_contexts", "{extra: ./extra}", "copy its files into the context, or build"),
        ("secrets", "[token]", "build the image yourself and give it as the service's image"),
        ("ssh", "[default]", "build the image yourself"),
        ("network", "host", "remove it if the build needs no other"),
    ],
)
def test_an_option_without_which_the_image_differs_is_refused(
    write, target, option, value, what_to_do
):
    write("FROM busybox\n", "Dockerfile")
    write("FROM busybox\n", "extra/Dockerfile")
    file = write(
        f"services:\n  api:\n    build:\n      context: .\n      {option}: {value}\n"
        "secrets:\n  token:\n    environment: HOME\n"
    )

    with pytest.raises(BerthError) as caught:
        load_project([file], target=target, support=load_target(target).FIELD_SUPPORT)

    assert (caught.value.service, caught.value.field) == ("api", f"build.{option}")
    assert "planned for BuildKit builds, issue 24" in caught.value.message
    assert what_to_do in caught.value.message


def test_an_inline_dockerfile_is_refused_not_swapped_for_the_context_s(write, project_dir):
    """The context has no Dockerfile: the refusal is of the inline one, not a missing file."""
    file = write("services:\n  api:\n    build:\n      dockerfile_inline: FROM busybox\n")

    with pytest.raises(BerthError) as caught:
        load_project([file], target="local", support=load_target("local").FIELD_SUPPORT)

    assert caught.value.field == "build.dockerfile_inline"


@pytest.mark.parametrize("target", TARGETS)
def test_an_option_that_only_speeds_up_or_labels_a_build_is_a_warning(write, project_dir, target):
    (project_dir / "Dockerfile").write_text("FROM busybox\n")
    file = write(
        "services:\n  api:\n    build:\n      context: .\n      cache_from: [api:cache]\n"
        "      labels: {team: a}\n"
    )

    project = load_project([file], target=target, support=load_target(target).FIELD_SUPPORT)

    assert [w.split(": ")[1] for w in project.warnings] == [
        f"field 'build.cache_from' is ignored on {target}",
        f"field 'build.labels' is ignored on {target}",
    ]


def test_berth_diff_refuses_a_new_version_whose_context_was_deleted(tmp_path, monkeypatch):
    """Not "the job runs": the new version cannot build, and the refusal says where and why."""
    for version in ("old", "new"):
        copy_example("migrate", tmp_path / version)
    monkeypatch.chdir(tmp_path / "new")
    Path("examples/migrate/Dockerfile").unlink()
    files = ["examples/migrate/compose.yaml"]

    with pytest.raises(BerthError) as caught:
        diff_files([str(tmp_path / "old" / files[0])], files, plan_config(files)[0])

    assert caught.value.message == (
        f"{tmp_path}/new/examples/migrate/compose.yaml: service 'migrate', field 'build': the "
        "build context '.' has no Dockerfile. add one there, or name yours in build.dockerfile "
        "(relative to the context)."
    )
