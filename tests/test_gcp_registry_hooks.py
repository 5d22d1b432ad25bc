"""A ``pre_start`` hook on gcp runs its service's image, made once for both (review H2/M1):
a build-only service's context is built and pushed once, not once more per hook; a VM's
pinned digest is read once; and every hook's run-once definition holds the service's image,
so a new one runs every hook of the service again, as Compose recreates the service and runs
all its hooks when its image changes."""

from __future__ import annotations

from typing import Any

from berth.offline.plan import Plan
from tests.conftest import program
from tests.plans import find, of_type
from tests.test_gcp_program import IMAGE, INSTANCE, JOB, RUN, SERVICE

PIN = "pulumi-python:dynamic/berth:PinnedDigest"
COMPOSE = """
services:
  db:
    image: postgres:16
{db_hooks}
  web:
    build:
      context: .
      args: {{VERSION: "{version}"}}
    ports: ["80:80"]
{web_hooks}
"""
HOOKS = {
    "db_hooks": """    pre_start:
      - command: ["echo", "before the database"]""",
    "web_hooks": """    pre_start:
      - command: ["./migrate"]
      - image: busybox
        command: ["./seed"]""",
}


def plan_of(write: Any, *, hooks: bool = True, version: str = "1") -> Plan:
    write("FROM busybox\n", "Dockerfile")
    written = HOOKS if hooks else dict.fromkeys(HOOKS, "")
    write(COMPOSE.format(version=version, **written))
    return program(["compose.yaml"], target="gcp")


def image_of(plan: Plan, type_: str, name: str) -> str:
    """The image a Cloud Run job's task or a Cloud Run service runs."""
    template = find(plan, type_, name).inputs["template"]
    return (template["template"] if type_ == JOB else template)["containers"][0]["image"]


def service_image(plan: Plan, hook: str) -> str:
    return find(plan, RUN, f"{hook}-run").inputs["definition"]["serviceImage"]


def test_gcp_a_hook_runs_its_services_image_built_once(project_dir, write):
    plan = plan_of(write)

    built = of_type(plan, IMAGE)
    assert built == [find(plan, IMAGE, "web-image")], "one build: the service's"
    web = image_of(plan, SERVICE, "web")
    assert web.split("@sha256:")[0].endswith("/web"), web
    assert image_of(plan, JOB, "web-pre-start-0") == web, "the hook runs the service's image"
    assert image_of(plan, JOB, "web-pre-start-1").startswith("docker.io/library/busybox@")
    assert service_image(plan, "web-pre-start-0") == service_image(plan, "web-pre-start-1") == web
    assert find(plan, RUN, "web-pre-start-1-run").urn in find(plan, SERVICE, "web").dependencies


def test_gcp_a_vms_hook_runs_its_pinned_digest_read_once(project_dir, write):
    plan = plan_of(write)

    assert len(of_type(plan, PIN)) == 1, "the VM's digest, pinned once for it and its hook"
    digest = find(plan, PIN, "db-pinned-image").inputs["digest"]
    assert f"docker.io/library/postgres@{digest}" in str(find(plan, INSTANCE, "db").inputs)
    assert image_of(plan, JOB, "db-pre-start-0") == f"docker.io/library/postgres@{digest}"
    assert service_image(plan, "db-pre-start-0") == f"docker.io/library/postgres@{digest}"


def test_gcp_a_new_service_image_runs_every_hook_again(project_dir, write):
    """A new build argument leaves the service's definition as Compose hashes it (``build``
    is not in it) but gives a new image: both hooks run again, the one with its own image
    too, as Compose recreates the service on a new image digest and runs all its hooks."""
    before = plan_of(write)
    after = plan_of(write, version="2")

    for hook in ("web-pre-start-0", "web-pre-start-1"):
        old = find(before, RUN, f"{hook}-run").inputs["definition"]
        new = find(after, RUN, f"{hook}-run").inputs["definition"]
        assert old["serviceDefinition"] == new["serviceDefinition"]
        assert old["serviceImage"] != new["serviceImage"], hook
    own = "web-pre-start-1"
    assert image_of(before, JOB, own) == image_of(after, JOB, own), "its own image is the same"


def test_gcp_a_hook_takes_over_its_services_image_where_it_was(project_dir, write):
    """Hooks deploy first, so the first makes its service's image under its own component;
    an alias to the image's place under the service keeps a deployed service's image (no
    rebuild, no new pinned digest) when a hook is added."""
    without = plan_of(write, hooks=False)
    hooked = plan_of(write)

    for type_, name in ((IMAGE, "web-image"), (PIN, "db-pinned-image")):
        before, after = find(without, type_, name), find(hooked, type_, name)
        assert "$berth:index:Service$" in without.engine_urn(before.urn)
        assert "$berth:index:Job$" in hooked.engine_urn(after.urn)
        assert before.urn in after.aliases, name
        assert before.urn not in before.aliases
        assert after.inputs == before.inputs
