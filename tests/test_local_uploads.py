"""A service's secret and config files on the local target, as the docker provider uploads
them, against a real Docker engine (skipped, with the reason, without one).

Pulumi's CLI is not here, so the provider itself does not run: the uploads Berth plans are
replayed as terraform-provider-docker creates them (``internal/provider/
resource_docker_container_funcs.go`` at 83c00e0b, ``resourceDockerContainerCreate``): each is
checked against the resource schema's rules, its content is ``content`` or the bytes of the file
``source`` names, read where ``pulumi up`` runs (``os.ReadFile``), and it becomes a one-entry tar
archive (name ``file``, mode ``permissions`` or 0644) copied to ``/`` of the created container
before it starts. What this proves is Berth's half and the engine's: the planned inputs pass the
provider's checks, and an engine given that archive starts the container with the file in place.
The provider's own reading of ``source`` is mirrored, not run.
"""

from __future__ import annotations

import base64
import io
import re
import tarfile
import time
import uuid
from collections.abc import Callable

from tests.conftest import program
from tests.plans import find

CONTAINER = "docker:index/container:Container"
PERMISSIONS = re.compile(r"^0[0-7]{3}$")
"""The schema's ``upload.permissions`` (``validateStringMatchesPattern``)."""
FILES = ("/empty", "/full", "/run/secrets/token")


def provider_archive(upload: dict[str, str]) -> bytes:
    """The tar archive the provider copies into the container for one ``upload`` block; an
    AssertionError where the provider refuses the block."""
    given = [upload.get(key) for key in ("content", "content_base64", "source")]
    assert sum(1 for value in given if value) == 1, f"one of content/source must be set: {upload}"
    permissions = upload.get("permissions")
    assert permissions is None or PERMISSIONS.match(permissions), permissions
    content, encoded, source = given
    if encoded:
        data = base64.b64decode(encoded)
    elif source:
        with open(source, "rb") as read:  # the provider: os.ReadFile(source)
            data = read.read()
    else:
        data = (content or "").encode()
    entry = tarfile.TarInfo(upload["file"])
    entry.mode = int(permissions, 8) if permissions else 0o644
    entry.size = len(data)
    entry.mtime = int(time.time())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        archive.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


COMPOSE = """
    services:
      web:
        image: nginx
        configs: [empty, full]
        secrets:
          - source: token
            mode: 0400
    configs:
      empty:
        content: ""
      full:
        content: "x"
    secrets:
      token:
        environment: API_TOKEN
"""


def planned_uploads(write: Callable[..., str]) -> list[dict[str, str]]:
    write(COMPOSE)
    plan = program(["compose.yaml"], secrets={"API_TOKEN": ""})
    return find(plan, CONTAINER, "web").inputs["uploads"]


def test_every_planned_upload_passes_the_providers_checks(project_dir, write):
    """No engine needed: a block the provider would refuse fails here too."""
    uploads = planned_uploads(write)

    assert sorted(u["file"] for u in uploads) == sorted(FILES)
    assert all(provider_archive(upload) for upload in uploads)
    token = next(u for u in uploads if u["file"] == "/run/secrets/token")
    assert token["permissions"] == "0400"


def test_empty_and_full_files_reach_a_real_container(
    project_dir, write, docker_client, busybox_image
):
    """An empty config and an empty secret (uploaded from the null device) and a full config
    are in the container when it starts, with their content and modes."""
    uploads = planned_uploads(write)
    assert sorted(u["file"] for u in uploads) == sorted(FILES)

    api = docker_client.api
    name = f"berth-test-uploads-{uuid.uuid4().hex[:8]}"
    created = api.create_container(busybox_image, ["cat", *FILES], name=name)["Id"]
    try:
        for upload in uploads:
            assert api.put_archive(created, "/", provider_archive(upload))
        api.start(created)
        assert api.wait(created, timeout=30)["StatusCode"] == 0, api.logs(created)
        assert api.logs(created) == b"x"
        modes = {}
        for path in FILES:
            _, stat = api.get_archive(created, path)
            modes[path] = (stat["size"], stat["mode"] & 0o777)
    finally:
        api.remove_container(created, force=True)
    assert modes == {"/empty": (0, 0o644), "/full": (1, 0o644), "/run/secrets/token": (0, 0o400)}
