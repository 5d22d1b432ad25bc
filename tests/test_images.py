"""Images built as ``docker compose build`` builds them, on every target (issue 24): each build
field reaches pulumi-docker-build, build secrets stay secret, the target's registry cache is the
default (and can be turned off), and platforms the target cannot run are refused."""

from __future__ import annotations

import json

import pytest

from berth.components.offline_images import IMAGE
from berth.components.target import available_targets
from berth.errors import BerthError
from berth.offline.render import as_json, as_text
from tests.conftest import program
from tests.plans import of_type, resource_options
from tests.secrets_check import assert_never_plain, count_wrapped

CLOUDS = ("aws", "gcp", "digitalocean")
TOKEN = "npm-token-5e4d3c2b1a"
COMPOSE = """
    name: shop
    secrets:
      npm:
        environment: NPM_TOKEN
    services:
      web:
        build:
          context: .
          args: {NODE_ENV: production}
          target: runtime
          labels: {team: shop}
          extra_hosts: ["registry.internal:10.0.0.9"]
          secrets: [npm]
          ssh: [default]
          additional_contexts: {assets: ./assets}
        ports: ["80:80"]
    """
DOCKERFILE = "FROM busybox AS runtime\nRUN --mount=type=secret,id=npm true\n"


def built(target: str, write, compose: str = COMPOSE, **settings: str) -> dict:
    """The inputs of the one image the plan builds."""
    write(DOCKERFILE, "Dockerfile")
    write("x\n", "assets/logo.svg")
    write(compose)
    plan = program(["compose.yaml"], target=target, secrets={"NPM_TOKEN": TOKEN}, **settings)
    images = of_type(plan, IMAGE)
    assert len(images) == 1, [r.name for r in images]
    return images[0].inputs


@pytest.mark.parametrize("target", available_targets())
def test_every_build_field_reaches_the_builder(project_dir, write, target):
    inputs = built(target, write)

    assert inputs["context"]["location"] == "."
    assert inputs["context"]["named"] == {"assets": {"location": "assets"}}
    assert inputs["dockerfile"] == {"location": "./Dockerfile"}
    assert (inputs["buildArgs"], inputs["target"], inputs["labels"]) == (
        {"NODE_ENV": "production"},
        "runtime",
        {"team": "shop"},
    )
    assert inputs["addHosts"] == ["registry.internal:10.0.0.9"]
    assert inputs["ssh"] == [{"id": "default"}]
    assert inputs["buildOnPreview"] is False, "a preview builds nothing, as before"


@pytest.mark.parametrize("target", available_targets())
def test_a_build_secret_reaches_the_builder_only_as_a_secret(project_dir, write, target):
    write(DOCKERFILE, "Dockerfile")
    write("x\n", "assets/logo.svg")
    write(COMPOSE)

    plan = program(["compose.yaml"], target=target, secrets={"NPM_TOKEN": TOKEN})

    assert_never_plain(plan, TOKEN)
    assert count_wrapped(plan, TOKEN) == 1, "the build's secrets input carries it, wrapped"
    assert TOKEN not in as_text(plan) and TOKEN not in as_json(plan)


CACHE_OF = {
    "aws": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-dev/buildcache/web:buildcache",
    "gcp": "us-central1-docker.pkg.dev/berth-plan/shop-dev/buildcache/web:buildcache",
    "digitalocean": "registry.digitalocean.com/shop-dev/shop-dev-web:buildcache",
}
"""Where each cloud keeps an image's layer cache: apart from the images on aws and gcp, whose
retention counts images (the cache would use up the count and expire the deployed one); beside
the image on digitalocean, which keeps every image."""


@pytest.mark.parametrize("target", CLOUDS)
def test_a_cloud_image_is_pushed_with_its_layer_cache_in_the_registry(project_dir, write, target):
    inputs = built(target, write)

    assert inputs["push"] is True
    assert inputs["platforms"] == ["linux/amd64"]
    (cache_from,), (cache_to,) = inputs["cacheFrom"], inputs["cacheTo"]
    assert cache_from["registry"]["ref"] == cache_to["registry"]["ref"] == CACHE_OF[target]
    written = cache_to["registry"]
    assert (written["imageManifest"], written["ociMediaTypes"], written["ignoreError"]) == (
        True,
        True,
        True,
    ), "the form every registry stores; a full registry fails no deployment"
    assert written["mode"] == ("min" if target == "digitalocean" else "max")


def test_aws_keeps_the_cache_in_a_repository_of_its_own(project_dir, write):
    write(DOCKERFILE, "Dockerfile")
    write("x\n", "assets/logo.svg")
    write(COMPOSE)

    plan = program(["compose.yaml"], target="aws", secrets={"NPM_TOKEN": TOKEN})

    repositories = {r.name: r.inputs for r in of_type(plan, "aws:ecr/repository:Repository")}
    assert repositories["shop-web-buildcache"]["name"] == "shop-dev/buildcache/web"
    assert repositories["shop-web-buildcache"]["forceDelete"] is True
    policies = {r.name: r.inputs for r in of_type(plan, "aws:ecr/lifecyclePolicy:LifecyclePolicy")}
    rule = json.loads(policies["shop-web-buildcache"]["policy"])["rules"][0]["selection"]
    assert (rule["tagStatus"], rule["countNumber"]) == ("any", 2)


@pytest.mark.parametrize("target", CLOUDS)
def test_the_registry_cache_can_be_turned_off(project_dir, write, target):
    inputs = built(target, write, variables={f"{target}BuildCache": "false"})

    assert "cacheFrom" not in inputs and "cacheTo" not in inputs


@pytest.mark.parametrize("target", available_targets())
def test_the_compose_file_s_own_cache_wins_both_ways(project_dir, write, target):
    compose = COMPOSE.replace(
        "          target: runtime\n",
        "          target: runtime\n          cache_from: [type=gha]\n"
        "          cache_to: ['type=gha,mode=max']\n",
    )

    inputs = built(target, write, compose)

    assert (inputs["cacheFrom"], inputs["cacheTo"]) == (
        [{"raw": "type=gha"}],
        [{"raw": "type=gha,mode=max"}],
    )


def test_the_local_engine_keeps_the_image_and_its_extra_tags(project_dir, write):
    compose = COMPOSE.replace(
        "          target: runtime\n", "          target: runtime\n          tags: [shop/web:1]\n"
    )

    inputs = built("local", write, compose)

    assert inputs["load"] is True and not inputs.get("push")
    assert inputs["tags"][1:] == ["shop/web:1"]
    assert "cacheTo" not in inputs, "the builder's own cache only"


@pytest.mark.parametrize("target", CLOUDS)
def test_a_cloud_builds_every_platform_listed(project_dir, write, target):
    compose = COMPOSE.replace(
        "          target: runtime\n",
        "          target: runtime\n          platforms: [linux/amd64, linux/arm64]\n",
    )

    assert built(target, write, compose)["platforms"] == ["linux/amd64", "linux/arm64"]


@pytest.mark.parametrize("target", CLOUDS)
def test_platforms_without_the_one_the_target_runs_are_refused(project_dir, write, target):
    compose = COMPOSE.replace(
        "          target: runtime\n",
        "          target: runtime\n          platforms: [linux/arm64]\n",
    )

    with pytest.raises(BerthError) as caught:
        built(target, write, compose)

    assert (caught.value.service, caught.value.field) == ("web", "build.platforms")
    assert (
        "built for linux/arm64 only, and the target runs it on linux/amd64" in caught.value.message
    )


def test_aws_builds_for_the_platform_the_service_runs(project_dir, write):
    compose = COMPOSE.replace("        ports:", "        platform: linux/arm64\n        ports:")

    assert built("aws", write, compose)["platforms"] == ["linux/arm64"]


@pytest.mark.parametrize("target", CLOUDS)
def test_a_platform_the_builder_cannot_build_for_is_refused(project_dir, write, target):
    compose = COMPOSE.replace(
        "          target: runtime\n",
        "          target: runtime\n          platforms: [linux/amd64, wasi/wasm]\n",
    )

    with pytest.raises(BerthError) as caught:
        built(target, write, compose)

    assert caught.value.field == "build.platforms"
    assert "the builder cannot build for wasi/wasm" in caught.value.message


@pytest.mark.parametrize("target", available_targets())
def test_an_inline_dockerfile_or_a_remote_context_s_own_reaches_the_builder(
    project_dir, write, target
):
    write("name: shop\nservices:\n  web:\n    build:\n      dockerfile_inline: FROM busybox\n"
          "  git:\n    build: https://github.com/docker/welcome.git\n")  # fmt: skip

    plan = program(["compose.yaml"], target=target)

    inputs = {r.name.removeprefix("shop-"): r.inputs for r in of_type(plan, IMAGE)}
    assert inputs["web-image"]["dockerfile"] == {"inline": "FROM busybox"}
    assert inputs["git-image"]["context"] == {"location": "https://github.com/docker/welcome.git"}
    assert "dockerfile" not in inputs["git-image"], "the builder finds it in the context"


@pytest.mark.parametrize("target", CLOUDS)
def test_a_compose_cache_to_alone_keeps_reading_the_target_s_cache(project_dir, write, target):
    runtime = "          target: runtime\n"
    compose = COMPOSE.replace(runtime, runtime + "          cache_to: [type=inline]\n")

    inputs = built(target, write, compose)

    assert inputs["cacheTo"] == [{"raw": "type=inline"}]
    assert inputs["cacheFrom"] == [{"registry": {"ref": CACHE_OF[target]}}]


def test_a_local_image_is_kept_at_destroy_as_before(project_dir, write):
    """The builder's delete would also send a DELETE of ``<tag>@<digest>`` to the registry an
    ``image:`` name names; pulumi-docker deleted nothing, nor does Berth."""
    write(DOCKERFILE, "Dockerfile")
    write("x\n", "assets/logo.svg")
    write(COMPOSE.replace("      web:\n", "      web:\n        image: ghcr.io/acme/web:1\n"))

    with resource_options() as options:
        plan = program(["compose.yaml"], target="local", secrets={"NPM_TOKEN": TOKEN})

    (image,) = of_type(plan, IMAGE)
    assert options[image.urn].retainOnDelete is True
    assert image.inputs["tags"] == ["ghcr.io/acme/web:1"]


@pytest.mark.parametrize(
    ("platform", "listed", "built_for"),
    [
        ("linux/arm64", "", ["linux/arm64"]),
        ("linux/arm64/v8", "", ["linux/arm64"]),
        ("", "[linux/arm64]", ["linux/arm64"]),
        ("", "[linux/amd64, linux/arm64]", None),
        ("wasi/wasm", "", None),
    ],
)
def test_the_local_engine_holds_one_platform_of_an_image(
    project_dir, write, platform, listed, built_for
):
    """The service's platform, else the one its build lists, else the builder's own (an engine
    holds one platform of an image); one the builder cannot build for is a warning."""
    compose = COMPOSE
    if platform:
        compose = compose.replace("        ports:", f"        platform: {platform}\n        ports:")
    if listed:
        runtime = "          target: runtime\n"
        compose = compose.replace(runtime, f"{runtime}          platforms: {listed}\n")
    write(DOCKERFILE, "Dockerfile")
    write("x\n", "assets/logo.svg")
    write(compose)

    plan = program(["compose.yaml"], target="local", secrets={"NPM_TOKEN": TOKEN})

    (image,) = of_type(plan, IMAGE)
    assert image.inputs.get("platforms") == built_for
    warned = any("the builder cannot build for wasi/wasm" in w for w in plan.warnings)
    assert warned is (platform == "wasi/wasm")
