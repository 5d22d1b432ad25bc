"""The offline plan's one image mock (components/offline_images.py), for every target."""

from __future__ import annotations

import hashlib
import json

import pytest

from berth.components.offline_images import IMAGE, REMOTE_IMAGE, image_outputs, tag_digest
from berth.components.target import available_targets, load_target

INPUTS = {"imageName": "registry.example/shop/web:latest", "build": {"context": "."}}
DIGEST = "sha256:" + hashlib.sha256(json.dumps(INPUTS, sort_keys=True).encode()).hexdigest()


def test_a_pushed_image_names_its_repository_without_the_tag():
    assert image_outputs(IMAGE, INPUTS, pushed=True) == {
        "repoDigest": f"registry.example/shop/web@{DIGEST}",
        "imageName": INPUTS["imageName"],
    }


def test_an_image_kept_in_the_local_engine_is_its_digest_alone():
    assert image_outputs(IMAGE, INPUTS, pushed=False)["repoDigest"] == DIGEST


def test_a_pulled_image_names_the_image_pulled():
    outputs = image_outputs(REMOTE_IMAGE, {"name": "postgres:16"}, pushed=False)
    assert outputs["repoDigest"].startswith("postgres:16@sha256:")
    assert outputs["imageId"] == outputs["repoDigest"].split("@")[1]


def test_other_types_are_not_images():
    assert image_outputs("aws:ecs/service:Service", INPUTS, pushed=True) is None


def test_a_digest_changes_with_any_input_and_only_then():
    changed = {**INPUTS, "build": {"context": "./web"}}
    assert image_outputs(IMAGE, changed, pushed=True) != image_outputs(IMAGE, INPUTS, pushed=True)
    assert image_outputs(IMAGE, dict(reversed(INPUTS.items())), pushed=True) == image_outputs(
        IMAGE, INPUTS, pushed=True
    )


def test_a_tag_digest_is_one_per_reference():
    assert tag_digest("postgres:16") == tag_digest("postgres:16") != tag_digest("postgres:17")
    assert tag_digest("postgres:16") == "sha256:" + hashlib.sha256(b"postgres:16").hexdigest()


@pytest.mark.parametrize("target", available_targets())
def test_every_target_reports_its_built_images_with_the_one_mock(target):
    pushed = target != "local"
    assert load_target(target).plan_outputs(IMAGE, INPUTS) == image_outputs(
        IMAGE, INPUTS, pushed=pushed
    )
