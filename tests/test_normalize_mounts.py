"""berth/normalize/mounts.py, fed Compose's long syntax."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.model import Mount
from berth.normalize.mounts import mount
from tests.normalize_support import BASE, context


def test_a_bind_mount_under_the_project_is_relative_to_it():
    ctx = context()
    raw = {"type": "bind", "source": f"{BASE}/data", "target": "/data", "read_only": True}
    assert mount(ctx, raw, ctx.fail("api")) == Mount(
        type="bind", target="/data", source="data", read_only=True
    )
    outside = {"type": "bind", "source": "/srv/data", "target": "/data"}
    assert mount(ctx, outside, ctx.fail("api")).source == "/srv/data"


def test_a_bind_mount_that_may_not_create_its_missing_host_path_is_refused(tmp_path):
    """Compose v5's reading: ``create_host_path`` is true unless written false (v2 read an
    empty ``bind: {}`` as false); false and missing, ``docker compose up`` would fail."""
    ctx = context()
    missing = {"type": "bind", "source": f"{tmp_path}/none", "target": "/d"}
    assert mount(ctx, {**missing, "bind": {}}, ctx.fail("api")).source == f"{tmp_path}/none"
    with pytest.raises(BerthError) as refused:
        mount(ctx, {**missing, "bind": {"create_host_path": False}}, ctx.fail("api"))
    assert "create_host_path is false" in refused.value.message
    assert (refused.value.service, refused.value.field) == ("api", "volumes")
    present = {"type": "bind", "source": str(tmp_path), "target": "/d"}
    assert mount(ctx, {**present, "bind": {"create_host_path": False}}, ctx.fail("api"))


def test_a_named_volume_and_tmpfs():
    ctx = context()
    assert (
        mount(ctx, {"type": "volume", "source": "db", "target": "/v"}, ctx.fail("a")).source == "db"
    )
    assert mount(ctx, {"type": "tmpfs", "target": "/tmp"}, ctx.fail("a")).source is None
    anonymous = {"type": "volume", "source": "", "target": "/cache"}
    assert mount(ctx, anonymous, ctx.fail("a")).source is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"type": "npipe", "target": "/x"}, "mount type 'npipe' is not supported"),
        ({"type": "volume", "source": "d", "target": "data"}, "'data' is not absolute. mount at"),
        ({"type": "volume", "source": "v", "target": "v:/data"}, "Windows drive"),
    ],
)
def test_what_no_target_mounts_is_refused(raw, problem):
    ctx = context()
    with pytest.raises(BerthError, match=problem) as refused:
        mount(ctx, raw, ctx.fail("api"))
    assert refused.value.field == "volumes"
