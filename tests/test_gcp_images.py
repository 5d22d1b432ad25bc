"""Images from any registry deploy on gcp, by digest: Cloud Run pulls other registries than
Docker Hub and Artifact Registry through a remote repository; a job runs again when its
image's digest changes, not when only its tag does."""

from __future__ import annotations

import hashlib

import pytest

import berth.providers.gcp as gcp_target
from berth.components.images import PinnedDigestProvider
from berth.errors import BerthError
from berth.providers.gcp.images import BadImage, ImageRef
from berth.providers.gcp.names import cloud_name
from berth.providers.gcp.run_once import CloudRunJobExecutionProvider
from tests.conftest import program
from tests.plans import find, provider_inputs

SERVICE = "gcp:cloudrunv2/service:Service"
JOB = "gcp:cloudrunv2/job:Job"
RUN = "pulumi-python:dynamic/berth:CloudRunJobExecution"
INSTANCE = "gcp:compute/instance:Instance"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
LOOKUP = "pulumi:providers:docker"


def digest_of(name: str) -> str:
    """What the offline plan's registry lookup answers for ``name``."""
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


ANY_REGISTRY = (
    """
    services:
      prometheus:
        image: quay.io/prometheus/prometheus:v2.53.0
        ports: ["9090:9090"]
      alerts:
        image: quay.io/prometheus/alertmanager:v0.27.0
        ports: ["9093:9093"]
      seed:
        image: ghcr.io/example/seed:1.2
        restart: "no"
      web:
        image: nginx:1.27
        ports: ["80:80"]
      pinned:
        image: nginx:1.27@sha256:"""
    + "a" * 64
    + """
        ports: ["81:81"]
      cache:
        image: quay.io/example/keydb:6
"""
)


def test_an_image_of_any_registry_reaches_cloud_run_through_a_remote_repository(project_dir, write):
    write(ANY_REGISTRY)
    plan = program(["compose.yaml"], target="gcp")

    prefix = cloud_name(plan.compose.name, plan.stack, limit=30)
    remotes = [r for r in plan.registrations if r.type == REPOSITORY and r.inputs.get("mode")]
    assert sorted(r.inputs["repositoryId"] for r in remotes) == [
        f"{prefix}-ghcr-io",
        f"{prefix}-quay-io",
    ], "one remote repository per upstream registry"
    quay = next(r for r in remotes if r.inputs["repositoryId"].endswith("quay-io")).inputs
    assert quay["mode"] == "REMOTE_REPOSITORY"
    assert quay["format"] == "DOCKER"
    assert quay["remoteRepositoryConfig"]["commonRepository"] == {"uri": "https://quay.io"}
    image = find(plan, SERVICE, "prometheus").inputs["template"]["containers"][0]["image"]
    assert image == (
        f"us-central1-docker.pkg.dev/berth-plan/{prefix}-quay-io/prometheus/prometheus@"
        + digest_of("quay.io/prometheus/prometheus:v2.53.0")
    )
    quay_urn = next(r.urn for r in remotes if r.inputs["repositoryId"].endswith("quay-io"))
    assert quay_urn in find(plan, SERVICE, "prometheus").dependencies
    job = find(plan, JOB, "seed").inputs["template"]["template"]["containers"][0]["image"]
    assert job.startswith(f"us-central1-docker.pkg.dev/berth-plan/{prefix}-ghcr-io/example/seed@")
    assert find(plan, RUN, "seed-run").inputs["definition"]["container"]["image"] == job


def test_docker_hub_images_are_pulled_directly_by_digest(project_dir, write):
    write(ANY_REGISTRY)
    plan = program(["compose.yaml"], target="gcp")

    web = find(plan, SERVICE, "web").inputs["template"]["containers"][0]["image"]
    assert web == "docker.io/library/nginx@" + digest_of("library/nginx:1.27")
    pinned = find(plan, SERVICE, "pinned").inputs["template"]["containers"][0]["image"]
    assert pinned == "docker.io/library/nginx@sha256:" + "a" * 64, "a given digest is kept"
    lookup = find(plan, LOOKUP, "registry-lookup").inputs
    assert lookup["disableDockerDaemonCheck"] in (True, "true"), "no Docker engine needed"


def test_a_vm_pulls_from_the_upstream_registry_by_digest(project_dir, write):
    write(ANY_REGISTRY)
    plan = program(["compose.yaml"], target="gcp")

    user_data = find(plan, INSTANCE, "cache").inputs["metadata"]["user-data"]
    assert "quay.io/example/keydb@" + digest_of("quay.io/example/keydb:6") in user_data


PIN = "pulumi-python:dynamic/berth:PinnedDigest"


def pin_state(monkeypatch, write, image: str, digest: str) -> dict:
    """The ``db`` VM's pinned digest's inputs for ``image`` when its registry says ``digest``."""
    answer = {"sha256Digest": digest}
    monkeypatch.setitem(gcp_target._PLAN_CALLS, gcp_target.REGISTRY_IMAGE, lambda _args: answer)
    write(f"services:\n  db:\n    image: {image}\n")
    plan = program(["compose.yaml"], target="gcp")
    pin = find(plan, PIN, "db-pinned-image")
    assert pin.urn in find(plan, INSTANCE, "db").dependencies, "the VM runs the pinned digest"
    return provider_inputs(pin.inputs)


def test_a_vm_keeps_its_digest_until_compose_names_another_image(project_dir, write, monkeypatch):
    """``postgres:latest`` moving upstream (to a new major, even) must not replace the VM of a
    database: the pin's diff is empty, so the engine keeps its outputs, the first digest."""
    first, moved = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    deployed = pin_state(monkeypatch, write, "postgres:latest", first)
    upstream_moved = pin_state(monkeypatch, write, "postgres:latest", moved)
    retagged = pin_state(monkeypatch, write, "postgres:17", moved)
    provider = PinnedDigestProvider()

    assert provider.create(deployed).outs["digest"] == first
    assert not provider.diff("id", deployed, upstream_moved).changes
    assert provider.diff("id", upstream_moved, retagged).replaces == ["image"]


def job_state(monkeypatch, write, image: str, digest: str) -> dict:
    """The job execution's inputs for ``image`` when its registry says ``digest``."""
    answer = {"sha256Digest": digest}
    monkeypatch.setitem(gcp_target._PLAN_CALLS, gcp_target.REGISTRY_IMAGE, lambda _args: answer)
    write(f"services:\n  migrate:\n    image: {image}\n    restart: 'no'\n")
    return find(program(["compose.yaml"], target="gcp"), RUN, "migrate-run").inputs


def test_a_job_runs_again_when_the_digest_changes_not_when_only_the_tag_does(
    project_dir, write, monkeypatch
):
    first, second = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    old = job_state(monkeypatch, write, "migrate/migrate:v4.17.0", first)
    retagged = job_state(monkeypatch, write, "migrate/migrate:4.17", first)
    rebuilt = job_state(monkeypatch, write, "migrate/migrate:4.17", second)
    provider = CloudRunJobExecutionProvider()

    assert not provider.diff("id", old, retagged).replaces, "same digest: nothing runs"
    assert provider.diff("id", retagged, rebuilt).replaces == ["definition"]


def test_an_image_on_the_deploying_machine_is_refused_on_cloud_run(project_dir, write):
    write("services:\n  web:\n    image: localhost:5000/web:1\n    ports: ['80:80']\n")
    with pytest.raises(BerthError, match="Cloud Run cannot reach") as error:
        program(["compose.yaml"], target="gcp")
    assert error.value.field == "image"
    assert error.value.hint


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("postgres", ("docker.io", "library/postgres", "latest", True, "library/postgres:latest")),
        ("bitnami/redis:7", ("docker.io", "bitnami/redis", "7", True, "bitnami/redis:7")),
        ("docker.io/library/nginx:1.27",
         ("docker.io", "library/nginx", "1.27", True, "library/nginx:1.27")),
        ("gcr.io/distroless/static",
         ("gcr.io", "distroless/static", "latest", True, "gcr.io/distroless/static:latest")),
        ("europe-west1-docker.pkg.dev/p/r/api:2",
         ("europe-west1-docker.pkg.dev", "p/r/api", "2", True,
          "europe-west1-docker.pkg.dev/p/r/api:2")),
        ("quay.io/prometheus/prometheus:v2.53.0",
         ("quay.io", "prometheus/prometheus", "v2.53.0", False,
          "quay.io/prometheus/prometheus:v2.53.0")),
        ("registry.example.com:5000/team/app:3",
         ("registry.example.com:5000", "team/app", "3", False,
          "registry.example.com:5000/team/app:3")),
    ],
)  # fmt: skip
def test_image_references_are_read_as_docker_reads_them(image, expected):
    ref = ImageRef.parse(image)
    assert (ref.registry, ref.path, ref.tag, ref.served_directly, ref.lookup) == expected


def test_a_bad_digest_is_refused():
    with pytest.raises(BadImage, match="not a sha256 digest"):
        ImageRef.parse("nginx@sha256:abc")


def cleanup(repository: dict) -> tuple[bool, list[dict]]:
    return repository["cleanupPolicyDryRun"], repository["cleanupPolicies"]


def test_every_repository_keeps_the_newest_versions_and_deletes_the_rest(project_dir, write):
    write(ANY_REGISTRY)
    plan = program(["compose.yaml"], target="gcp")

    repositories = [r.inputs for r in plan.registrations if r.type == REPOSITORY]
    assert len(repositories) == 3, "the build repository and two remote ones"
    for repository in repositories:
        dry_run, policies = cleanup(repository)
        assert dry_run is False, "the policies delete for real"
        assert policies == [
            {"action": "DELETE", "condition": {"tagState": "ANY"}, "id": "delete-older"},
            {"action": "KEEP", "id": "keep-newest", "mostRecentVersions": {"keepCount": 10}},
        ]


def test_the_number_of_versions_kept_is_a_setting(project_dir, write):
    write("services:\n  web:\n    build: .\n    ports: ['80:80']\n")
    write("FROM busybox\n", "Dockerfile")
    plan = program(["compose.yaml"], target="gcp", variables={"gcpRegistryKeepVersions": "3"})
    registry = find(plan, REPOSITORY, f"{plan.compose.name}-registry").inputs
    assert cleanup(registry)[1][1]["mostRecentVersions"] == {"keepCount": 3}
    for bad in ("0", "many"):
        with pytest.raises(BerthError, match="berth:gcpRegistryKeepVersions must") as error:
            program(["compose.yaml"], target="gcp", variables={"gcpRegistryKeepVersions": bad})
        assert "pulumi config set gcpRegistryKeepVersions" in str(error.value.hint)
