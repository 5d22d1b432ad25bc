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
from berth.model import SshKey
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


# -- every Compose build field: read once, honoured or refused / warned per target ------------


EVERY_FIELD = """\
secrets:
  token:
    environment: TOKEN
  netrc:
    file: ./netrc
services:
  api:
    build:
      context: .
      dockerfile_inline: "FROM busybox\\nRUN --mount=type=secret,id=token true\\n"
      args: {A: "1", B: null}
      ssh: [default, "deploy=/keys/id_ed25519"]
      cache_from: ["type=registry,ref=example.com/api:cache"]
      cache_to: ["type=registry,ref=example.com/api:cache,mode=max"]
      additional_contexts: {extra: ./extra, base: "docker-image://busybox:1.37"}
      extra_hosts: ["db.internal:10.0.0.5", "v6=::1"]
      labels: {team: a}
      network: none
      no_cache: true
      pull: true
      platforms: [linux/amd64, linux/arm64]
      secrets: [token, {source: netrc, target: .netrc}]
      tags: [example.com/api:1]
"""


def test_every_build_field_a_builder_honours_is_read_into_the_model(write, load):
    write("FROM busybox\n", "extra/Dockerfile")
    write("machine example.com\n", "netrc")

    build = load(EVERY_FIELD, secrets={"TOKEN": "s3cret-token-value"}).services["api"].build

    assert build is not None
    assert (build.dockerfile_inline, build.args) == (
        "FROM busybox\nRUN --mount=type=secret,id=token true\n",
        {"A": "1"},  # B, unset, is left out as Compose and Docker do
    )
    assert build.ssh == (SshKey("default"), SshKey("deploy", "/keys/id_ed25519")), "by id"
    assert build.cache_from == ("type=registry,ref=example.com/api:cache",)
    assert build.cache_to == ("type=registry,ref=example.com/api:cache,mode=max",)
    assert build.additional_contexts == {"extra": "extra", "base": "docker-image://busybox:1.37"}
    assert build.extra_hosts == ("db.internal:10.0.0.5", "v6:::1")
    assert (build.labels, build.network, build.no_cache, build.pull) == (
        {"team": "a"},
        "none",
        True,
        True,
    )
    assert (build.platforms, build.tags) == (("linux/amd64", "linux/arm64"), ("example.com/api:1",))
    assert [(s.id, s.value.value, s.value.keys) for s in build.secrets] == [
        (".netrc", "machine example.com\n", ("secrets.netrc",)),
        ("token", "s3cret-token-value", ("TOKEN",)),
    ], "by id"
    assert "s3cret" not in repr(build), "a build secret never prints"


@pytest.mark.parametrize(
    ("setting", "field", "problem"),
    [
        ("network: host", "build.network", "the build cannot join the network 'host'"),
        ("network: backend", "build.network", "the build cannot join the network 'backend'"),
        (
            "additional_contexts: {gone: ./gone}",
            "build.additional_contexts",
            "the context 'gone' ('gone') is not a folder",
        ),
        ("secrets: [nowhere]", "build", "build secret 'nowhere' is not defined"),
    ],
)
def test_a_build_field_no_builder_can_honour_is_refused_in_one_line(
    write, load, setting, field, problem
):
    write("FROM busybox\n", "Dockerfile")
    text = f"services:\n  api:\n    build:\n      context: .\n      {setting}\n"

    error = refused(load, text)

    assert (error.service, error.field) == ("api", field)
    assert problem in error.message
    assert "\n" not in error.message


def test_a_context_that_is_another_service_s_image_is_refused(write, load):
    write("FROM busybox\n", "Dockerfile")
    text = (
        "services:\n  base:\n    build: .\n  api:\n    build:\n      context: .\n"
        "      additional_contexts: {base: 'service:base'}\n"
    )

    error = refused(load, text)

    assert (error.service, error.field) == ("api", "build.additional_contexts")
    assert "the image of the service 'base', which Berth builds separately" in error.message


def test_a_build_secret_s_unset_variable_names_the_build_field(write, load):
    write("FROM busybox\n", "Dockerfile")
    text = (
        "secrets:\n  token:\n    environment: NOT_SET_ANYWHERE\nservices:\n  api:\n"
        "    build:\n      context: .\n      secrets: [token]\n"
    )

    error = refused(load, text)

    assert (error.service, error.field) == ("api", "build.secrets")
    assert "reads NOT_SET_ANYWHERE, which is not set" in error.message


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("option", ["privileged: true", "entitlements: [network.host]"])
def test_a_build_that_needs_a_privilege_is_refused_on_every_target(write, target, option):
    write("FROM busybox\n", "Dockerfile")
    file = write(f"services:\n  api:\n    build:\n      context: .\n      {option}\n")

    with pytest.raises(BerthError) as caught:
        load_project([file], target=target, support=load_target(target).FIELD_SUPPORT)

    assert caught.value.field == f"build.{option.split(':')[0]}"
    assert "the builder grants RUN steps no extra privilege" in caught.value.message


@pytest.mark.parametrize("target", TARGETS)
def test_build_fields_the_builder_has_no_setting_for_are_warnings(write, project_dir, target):
    (project_dir / "Dockerfile").write_text("FROM busybox\n")
    file = write(
        "services:\n  api:\n    build:\n      context: .\n      shm_size: 1g\n"
        "      provenance: true\n      no_cache_filter: [base]\n"
    )

    project = load_project([file], target=target, support=load_target(target).FIELD_SUPPORT)

    assert [w.split(": ")[1] for w in project.warnings] == [
        f"field 'build.no_cache_filter' is ignored on {target}",
        f"field 'build.provenance' is ignored on {target}",
        f"field 'build.shm_size' is ignored on {target}",
    ]


@pytest.mark.parametrize("target", ["aws", "gcp", "digitalocean"])
def test_a_cloud_warns_that_extra_tags_are_not_pushed(write, project_dir, target):
    (project_dir / "Dockerfile").write_text("FROM busybox\n")
    file = write("services:\n  api:\n    build:\n      context: .\n      tags: [me/api:1]\n")

    project = load_project([file], target=target, support=load_target(target).FIELD_SUPPORT)

    assert [w.split(": ")[1] for w in project.warnings] == [
        f"field 'build.tags' is ignored on {target}"
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


def test_a_remote_context_s_own_dockerfile_is_the_builder_s_to_find(load):
    project = load("services:\n  git:\n    build: https://github.com/docker/welcome.git\n")

    build = project.services["git"].build
    assert build is not None and build.remote
    assert build.dockerfile == "Dockerfile"


def test_a_named_dockerfile_in_a_remote_context_is_refused(load):
    error = refused(
        load,
        "services:\n  git:\n    build:\n      context: https://github.com/docker/welcome.git\n"
        "      dockerfile: web.Dockerfile\n",
    )

    assert (error.service, error.field) == ("git", "build.dockerfile")
    assert "reads the Dockerfile 'web.Dockerfile' from this machine" in error.message


def test_a_build_secret_that_is_not_text_says_what_to_do(write, load):
    write("FROM busybox\n", "Dockerfile")
    Path("key.bin").write_bytes(bytes(range(256)))
    text = (
        "secrets:\n  key:\n    file: ./key.bin\nservices:\n  api:\n    build:\n"
        "      context: .\n      secrets: [key]\n"
    )

    error = refused(load, text)

    assert (error.service, error.field) == ("api", "build.secrets")
    assert "key.bin is not UTF-8 text, and the builder takes a build secret by value" in (
        error.message
    )
    assert "base64-encode the file" in error.message


@pytest.mark.parametrize("target", TARGETS)
def test_no_attestation_asked_for_is_no_warning(write, project_dir, target):
    """Compose prints ``provenance: false`` as the string "false": it asks for nothing."""
    (project_dir / "Dockerfile").write_text("FROM busybox\n")
    file = write(
        "services:\n  api:\n    build:\n      context: .\n      provenance: false\n"
        "      sbom: false\n      no_cache: false\n"
    )

    project = load_project([file], target=target, support=load_target(target).FIELD_SUPPORT)

    assert project.warnings == ()


def test_an_ssh_key_in_the_project_is_named_relative_to_it(write, load):
    """Compose makes the path absolute; the build's inputs must be the same on every machine
    that checks the project out (one outside it, ``~/.ssh``, is the machine's own)."""
    write("FROM busybox\n", "Dockerfile")
    text = "services:\n  api:\n    build:\n      context: .\n      ssh: [deploy=./keys/id]\n"

    build = load(text).services["api"].build

    assert build is not None and build.ssh == (SshKey("deploy", "keys/id"),)
