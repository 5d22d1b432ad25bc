"""The offline plan's one image mock (components/offline_images.py), for every target."""

from __future__ import annotations

import hashlib

import pytest

from berth.components.offline_images import IMAGE, REMOTE_IMAGE, image_outputs, tag_digest
from berth.components.target import available_targets, load_target

INPUTS = {
    "tags": ["registry.example/shop/web:latest"],
    "context": {"location": "."},
    "dockerfile": {"location": "Dockerfile"},
    "push": True,
    "cacheTo": [{"registry": {"ref": "registry.example/shop/web:buildcache"}}],
    "secrets": {"token": "s3cret-value"},
}


def test_a_built_image_s_ref_is_its_first_tag_at_its_digest():
    outputs = image_outputs(IMAGE, INPUTS)

    assert outputs is not None
    assert outputs["digest"].startswith("sha256:")
    assert outputs["ref"] == f"registry.example/shop/web:latest@{outputs['digest']}"


def test_a_pulled_image_names_the_image_pulled():
    outputs = image_outputs(REMOTE_IMAGE, {"name": "postgres:16"})
    assert outputs["repoDigest"].startswith("postgres:16@sha256:")
    assert outputs["imageId"] == outputs["repoDigest"].split("@")[1]


def test_other_types_are_not_images():
    assert image_outputs("aws:ecs/service:Service", INPUTS) is None


def test_a_digest_changes_with_what_makes_the_image_and_only_then():
    def digest(inputs: dict) -> str:
        return image_outputs(IMAGE, inputs)["digest"]

    assert digest({**INPUTS, "context": {"location": "./web"}}) != digest(INPUTS)
    assert digest({**INPUTS, "buildArgs": {"A": "1"}}) != digest(INPUTS)
    assert digest(dict(reversed(INPUTS.items()))) == digest(INPUTS)
    # Where it goes, its cache and its secrets leave the image as it is.
    for key, value in [
        ("tags", ["elsewhere/web:1"]),
        ("cacheTo", None),
        ("push", False),
        ("secrets", {"token": "another"}),
    ]:
        assert digest({**INPUTS, key: value}) == digest(INPUTS), key


def test_a_build_secret_is_not_hashed_into_the_plan():
    """A digest of a secret could be matched against guesses: it is left out altogether."""
    without = {key: value for key, value in INPUTS.items() if key != "secrets"}
    assert image_outputs(IMAGE, INPUTS) == image_outputs(IMAGE, without)


def test_a_tag_digest_is_one_per_reference():
    assert tag_digest("postgres:16") == tag_digest("postgres:16") != tag_digest("postgres:17")
    assert tag_digest("postgres:16") == "sha256:" + hashlib.sha256(b"postgres:16").hexdigest()


@pytest.mark.parametrize("target", available_targets())
def test_every_target_reports_its_built_images_with_the_one_mock(target):
    assert load_target(target).plan_outputs(IMAGE, INPUTS) == image_outputs(IMAGE, INPUTS)


def test_a_built_image_s_id_is_its_build_s_whatever_tag_reads_it():
    """Local reads a loaded image's ID by its tag: a new tag for the same build is the same
    image (and runs no job), a new build is another."""

    def image_id(name: str, digest: str) -> str:
        return image_outputs(REMOTE_IMAGE, {"name": name, "pullTriggers": [digest]})["imageId"]

    assert image_id("app/m:1.0", "sha256:aa") == image_id("app/m:1.1", "sha256:aa")
    assert image_id("app/m:1.0", "sha256:aa") != image_id("app/m:1.0", "sha256:bb")


def test_ssh_keys_leave_the_image_as_it_is_and_a_pull_may_not():
    """An SSH key, like a secret, is mounted for a RUN step; pulled bases may be new ones."""

    def digest(inputs: dict) -> str:
        return image_outputs(IMAGE, inputs)["digest"]

    assert digest({**INPUTS, "ssh": [{"id": "default"}]}) == digest(INPUTS)
    assert digest({**INPUTS, "pull": True}) != digest(INPUTS)
