"""Named volumes on gcp outlive ``pulumi destroy`` under fixed names; with ``gcpAdoptVolumes``
the next ``pulumi up`` imports them instead of failing on 409 alreadyExists, and the
``up`` after that imports nothing (the program under Pulumi's mock engine, and the engine's
own rule for when an ``import_`` is an import)."""

from __future__ import annotations

import re
from typing import Any
from unittest import mock

import pulumi
import pytest

from berth.errors import BerthError
from berth.offline.plan import Plan
from tests.plans import of_type, resource_options
from tests.test_gcp_program import gcp

DISK = "gcp:compute/disk:Disk"
BUCKET = "gcp:storage/bucket:Bucket"
DISK_ID = "projects/{project}/zones/{zone}/disks/{name}"
"""The ID terraform-provider-google gives a disk (``d.SetId`` in ``resource_compute_disk.go``);
a bucket's is its name (``res.Id``, which Cloud Storage makes the bucket's name)."""
ADOPT = {"gcpAdoptVolumes": "true"}
COMPOSE = """
    services:
      db:
        image: postgres:16
        volumes: [data:/var/lib/postgresql/data]
      web:
        image: nginx
        ports: ["80:80"]
        volumes: [uploads:/srv/uploads, shared:/srv/shared]
    volumes:
      data: {}
      uploads: {}
      shared:
        external: true
        name: team-files
"""


def provider_id(registration: Any) -> str:
    """The ID the provider gives the created disk or bucket."""
    inputs = registration.inputs
    return DISK_ID.format(**inputs) if registration.type == DISK else inputs["name"]


def is_import(goal_id: str, old_id: str | None = None, old_import_id: str = "") -> bool:
    """pulumi/pulumi ``step_generator.go``: a goal ID is imported when the stack holds no
    resource of that URN, or holds one whose import ID (else its ID) is another."""
    return bool(goal_id) and (old_id is None or (old_import_id or old_id) != goal_id)


def kept(plan: Plan) -> list[Any]:
    return [*of_type(plan, DISK), *of_type(plan, BUCKET)]


def test_kept_volumes_are_created_and_a_line_says_how_to_adopt_them(project_dir, write):
    write(COMPOSE)
    with resource_options() as requests, mock.patch.object(pulumi.log, "info") as info:
        plan = gcp(["compose.yaml"])

    volumes = kept(plan)
    assert {r.type for r in volumes} == {DISK, BUCKET}
    assert "team-files" not in {r.inputs["name"] for r in volumes}, "external: not created"
    lines = [call.args[0] for call in info.call_args_list]
    for volume in volumes:
        request = requests[volume.urn]
        assert request.retainOnDelete and not request.importId, volume.name
        (line,) = [line for line in lines if provider_id(volume) in line]
        assert "`pulumi config set gcpAdoptVolumes true`" in line


def test_with_gcp_adopt_volumes_each_kept_volume_is_imported_by_its_id(project_dir, write):
    write(COMPOSE)
    with resource_options() as requests:
        plan = gcp(["compose.yaml"], variables=ADOPT)

    volumes = kept(plan)
    assert len(volumes) == 3, "the volume's disk, db's own state disk and the bucket"
    for volume in volumes:
        request = requests[volume.urn]
        assert request.importId == provider_id(volume), volume.name
        assert request.retainOnDelete
    disk = next(r for r in volumes if r.name.endswith("-data"))
    assert requests[disk.urn].importId == (
        f"projects/berth-plan/zones/us-central1-b/disks/{disk.inputs['name']}"
    )


def test_the_up_after_an_adoption_imports_nothing(project_dir, write):
    write(COMPOSE)
    runs = []
    for _ in range(2):
        with resource_options() as requests:
            plan = gcp(["compose.yaml"], variables=ADOPT)
        runs.append({r.urn: requests[r.urn].importId for r in kept(plan)})

    first, second = runs
    assert first == second, "the same import IDs on every run"
    for goal_id in first.values():
        assert is_import(goal_id), "after a destroy the stack holds none: imported"
        assert not is_import(goal_id, old_id=goal_id, old_import_id=goal_id), "adopted before"
        assert not is_import(goal_id, old_id=goal_id), "created by this stack before"


def test_gcp_adopt_volumes_must_be_a_boolean(project_dir, write):
    write(COMPOSE)
    with pytest.raises(BerthError, match="gcpAdoptVolumes must be true or false"):
        gcp(["compose.yaml"], variables={"gcpAdoptVolumes": "yes"})


def test_a_bucket_name_never_says_google(project_dir, write):
    """Cloud Storage: "Bucket names cannot contain "google" or close misspellings, such as
    "g00gle"" (tests/test_gcp_schema.py found a volume named google-drive refused): the name
    says ``ggl`` instead and ends with a hash of the name it replaces, so that
    ``google-drive`` and ``ggl-drive`` stay two buckets; other names are as they were."""
    write(
        """
        name: shop
        services:
          web:
            image: nginx
            ports: ["80:80"]
            volumes: [google-drive:/drive, ggl-drive:/other, g00gle:/third, plain:/data]
        volumes:
          google-drive: {}
          ggl-drive: {}
          g00gle: {}
          plain: {}
        """
    )
    plan = gcp(["compose.yaml"])

    buckets = {r.name.removeprefix("shop-"): r.inputs["name"] for r in of_type(plan, BUCKET)}
    assert buckets["plain"] == "berth-plan-shop-dev-plain"
    assert buckets["ggl-drive"] == "berth-plan-shop-dev-ggl-drive"
    assert re.fullmatch(r"berth-plan-shop-dev-ggl-drive-[0-9a-f]{8}", buckets["google-drive"])
    assert re.fullmatch(r"berth-plan-shop-dev-ggl-[0-9a-f]{8}", buckets["g00gle"])
