"""A ``pre_start`` hook runs as a Cloud Run job on gcp even when its service runs on a VM, and
is checked as one (review M2): what it inherits from its service (Compose merges every field
but the service-only ones into it) and Cloud Run cannot honour is a warning naming it as
written, ``service 'db', field 'pre_start[0].cap_add'``; what Cloud Run cannot take at all is
refused in one line."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from tests.conftest import program

COMPOSE = """
services:
  db:
    image: postgres:16
    privileged: true
    cap_add: [NET_ADMIN]
    user: postgres
    pre_start:
      - command: ["echo", "one"]
      - command: ["echo", "two"]
        cap_add: [SYS_TIME]
        privileged: false
  web:
    image: nginx
    ports: ["80:80"]
    user: app
    pre_start:
      - command: ["./migrate"]
"""
GRANT = "a job runs on Cloud Run, which cannot grant it"
USER = "Cloud Run runs the image's own user"


def hook_warnings(warnings: list[str]) -> list[str]:
    return [w for w in warnings if "pre_start[" in w or "field 'user'" in w]


def test_gcp_what_a_hook_inherits_and_cloud_run_cannot_honour_is_a_warning(project_dir, write):
    write(COMPOSE)
    plan = program(["compose.yaml"], target="gcp")

    assert hook_warnings(plan.warnings) == [
        f"service 'db': field 'pre_start[0].cap_add' (from the service) is ignored on gcp "
        f"(Cloud Run job): {GRANT}",
        f"service 'db': field 'pre_start[0].privileged' (from the service) is ignored on gcp "
        f"(Cloud Run job): {GRANT}",
        f"service 'db': field 'pre_start[0].user' (from the service) is ignored on gcp "
        f"(Cloud Run job): {USER}",
        # its own cap_add; privileged: false gives up the service's
        f"service 'db': field 'pre_start[1].cap_add' is ignored on gcp (Cloud Run job): {GRANT}",
        f"service 'db': field 'pre_start[1].user' (from the service) is ignored on gcp "
        f"(Cloud Run job): {USER}",
        # a Cloud Run service ignores it as its hook does: said once, on the service
        f"service 'web': field 'user' is ignored on gcp (Cloud Run service): {USER}",
    ]


def test_gcp_what_a_hook_inherits_and_cloud_run_cannot_take_is_refused(project_dir, write):
    """A VM may be large; a hook of its service, sized as it is, must fit Cloud Run."""
    write(
        """
        services:
          db:
            image: postgres:16
            deploy: {resources: {limits: {cpus: "16", memory: 64g}}}
            pre_start:
              - command: ["echo", "one"]
        """
    )
    with pytest.raises(BerthError) as refused:
        program(["compose.yaml"], target="gcp")

    assert (refused.value.service, refused.value.field) == ("db", "pre_start[0].deploy")
    assert "\n" not in refused.value.message
