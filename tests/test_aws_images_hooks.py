"""A ``pre_start`` hook on aws runs its service's image, made once for both (review H1, H2,
M1): a built service's context is built and pushed once, into the service's one ECR
repository, not once more per hook into a repository of its own; a service with ``image:``
and ``build:`` gives its hooks the image it builds, not the tag pulled from a registry; every
hook's run-once definition holds the service's image (``serviceImage``), so a new one runs
every hook of the service again, as Compose recreates the service on a new image digest and
then runs all its hooks; and the image keeps its place (aliases) when a service gains its
first hook or loses its last."""

from __future__ import annotations

import json
from typing import Any

from berth.components.offline_images import tag_digest
from berth.offline.plan import Plan
from berth.providers.aws.run_once import EcsJobProvider
from tests.aws_support import IMAGE, JOB, TASK_DEFINITION, aws_program, containers
from tests.plans import find, of_type

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
POLICY = "aws:iam/rolePolicy:RolePolicy"
HOOKS = ["web-pre-start-0", "web-pre-start-1"]
COMPOSE = """
name: shop
services:
  web:
{image}    build:
      context: .
      args: {{VERSION: "{version}"}}
    ports: ["80:80"]
{hooks}
"""
WEB_HOOKS = """    pre_start:
      - command: ["./migrate"]
      - image: busybox
        command: ["./seed"]"""


def plan_of(write: Any, *, hooks: bool = True, version: str = "1", image: str = "") -> Plan:
    """web, built (and tagged ``image``), with a hook that runs its image and one that names
    busybox, or none (``hooks``); ``version``: a build argument (a new one, a new image)."""
    write("FROM busybox\n", "Dockerfile")
    tagged = f"    image: {image}\n" if image else ""
    write(COMPOSE.format(image=tagged, version=version, hooks=WEB_HOOKS if hooks else ""))
    return aws_program(["compose.yaml"])


def image_of(plan: Plan, name: str) -> str:
    """The image the essential container of task definition ``name`` runs."""
    return str(containers(find(plan, TASK_DEFINITION, name))[-1]["image"])


def definition(plan: Plan, hook: str) -> dict[str, Any]:
    return dict(find(plan, JOB, f"{hook}-run").inputs["definition"])


def test_aws_a_hook_runs_its_services_image_built_and_pushed_once(project_dir, write):
    plan = plan_of(write)

    assert of_type(plan, IMAGE) == [find(plan, IMAGE, "web-image")], "one build: web's"
    repositories = sorted(of_type(plan, REPOSITORY), key=lambda r: r.name)
    assert repositories == [
        find(plan, REPOSITORY, "web-buildcache"),
        find(plan, REPOSITORY, "web-repo"),
    ], "one repository, and its cache's"
    assert len(of_type(plan, LIFECYCLE)) == 2, "each repository's"
    web = image_of(plan, "web")
    assert web.startswith("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-dev/web@sha256:")
    assert image_of(plan, "web-pre-start-0") == web, "the hook runs the service's image"
    assert image_of(plan, "web-pre-start-1") == f"busybox@{tag_digest('busybox:latest')}"
    for hook in HOOKS:
        assert definition(plan, hook)["serviceImage"] == web, hook


def test_aws_a_hook_of_a_tagged_build_runs_the_built_image_not_the_tag(project_dir, write):
    """``image:`` with ``build:``: Compose builds the image under that tag and runs the hook
    in it; the tag is never pulled from Docker Hub."""
    plan = plan_of(write, image="shop/app:dev")

    web = image_of(plan, "web")
    assert "/shop-dev/web@sha256:" in web
    assert image_of(plan, "web-pre-start-0") == web
    assert "shop/app" not in json.dumps([r.inputs for r in plan.registrations if r.custom])


def test_aws_a_new_service_image_runs_every_hook_again(project_dir, write):
    """A new build argument leaves the service's definition as Compose hashes it (``build``
    is not in it) but gives a new image: both hooks run again, the one with its own image
    too, whose own containers are unchanged."""
    before, after = plan_of(write), plan_of(write, version="2")

    provider = EcsJobProvider()
    for hook in HOOKS:
        old, new = definition(before, hook), definition(after, hook)
        assert old["serviceDefinition"] == new["serviceDefinition"]
        assert old["serviceImage"] != new["serviceImage"], hook
        olds, news = (find(p, JOB, f"{hook}-run").inputs for p in (before, after))
        assert provider.diff("id", olds, news).replaces == ["definition"], hook
    own = definition(before, "web-pre-start-1")["containers"]
    assert own == definition(after, "web-pre-start-1")["containers"]


def test_aws_the_services_image_keeps_its_place_when_hooks_come_and_go(project_dir, write):
    """Hooks deploy first, so the first makes its service's image and repository under its
    own component; each carries an alias to its place under the service, and the service's
    one to its place under the first hook: adding a service's first hook or removing its
    last rebuilds nothing, and never makes a second repository of the same name."""
    without, hooked = plan_of(write, hooks=False), plan_of(write)

    kept = [(REPOSITORY, "web-repo"), (LIFECYCLE, "web-repo"), (IMAGE, "web-image")]
    for type_, name in [*kept, (REPOSITORY, "web-buildcache"), (LIFECYCLE, "web-buildcache")]:
        alone, first = find(without, type_, name), find(hooked, type_, name)
        assert "$berth:index:Service$" in without.engine_urn(alone.urn)
        assert "$berth:index:Job$" in hooked.engine_urn(first.urn)
        assert alone.urn in first.aliases, name
        assert first.urn in alone.aliases, name
        assert first.inputs == alone.inputs


def test_aws_a_hook_of_a_private_ecr_image_is_pulled_with_its_services_grant(project_dir, write):
    """A hook of a service whose ``image:`` is in another account's ECR repository runs that
    image, and the execution role may pull from the repository, listed once."""
    image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/team/app:1"
    write(f"""
        name: shop
        services:
          web:
            image: {image}
            pre_start:
              - command: ["./migrate"]
        """)
    plan = aws_program(["compose.yaml"])

    web = image_of(plan, "web")
    assert web.startswith("111122223333.dkr.ecr.us-east-1.amazonaws.com/team/app@sha256:")
    assert image_of(plan, "web-pre-start-0") == definition(plan, "web-pre-start-0")["serviceImage"]
    assert image_of(plan, "web-pre-start-0") == web
    policy = json.loads(find(plan, POLICY, "shop-execution").inputs["policy"])
    pulls = next(s["Resource"] for s in policy["Statement"] if "ecr:BatchGetImage" in s["Action"])
    assert pulls.count("arn:aws:ecr:us-east-1:111122223333:repository/team/app") == 1
    assert of_type(plan, REPOSITORY) == [] and of_type(plan, IMAGE) == []
