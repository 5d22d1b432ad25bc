"""berth/normalize/files.py: secrets and configs placed as files, their content read now."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.errors import BerthError
from berth.model import FileMount, Secret
from berth.normalize.files import files
from tests.conftest import refused
from tests.normalize_support import context, placeholder


def test_a_secret_from_a_file_is_a_secret_at_its_default_path(tmp_path):
    (tmp_path / "pw.txt").write_text("hunter22")
    ctx = context()
    defined = {"secrets": {"pw": {"file": str(tmp_path / "pw.txt")}}}

    (placed,) = files(ctx, "api", {"secrets": [{"source": "pw"}]}, defined, ctx.fail("api"))

    assert placed == FileMount(
        name="pw",
        target="/run/secrets/pw",
        content=Secret(value="hunter22", keys=("secrets.pw",)),
        kind="secrets",
    )


def test_a_config_from_content_or_a_variable():
    ctx = context(secrets={"TOKEN": "s3cret-token"}, GREETING="hello")
    defined = {
        "configs": {
            "inline": {"content": f"token={placeholder(ctx, 'TOKEN')}"},
            "plain": {"environment": "GREETING"},
            "empty": {},
        }
    }
    raw = {
        "configs": [
            {"source": "inline", "target": "/etc/app.conf", "mode": 0o440},
            {"source": "plain"},
            {"source": "empty"},
        ]
    }

    inline, plain, empty = files(ctx, "api", raw, defined, ctx.fail("api"))

    assert inline.content == Secret(value="token=s3cret-token", keys=("TOKEN",))
    assert (inline.target, inline.mode) == ("/etc/app.conf", 0o440)
    assert (plain.target, plain.content) == ("/plain", "hello")
    assert empty.content == ""


@pytest.mark.parametrize(
    ("defined", "problem"),
    [
        ({}, "config 'c' is not defined"),
        ({"configs": {"c": {"external": True}}}, "external config 'c' cannot be read"),
        ({"configs": {"c": {"environment": "NOPE"}}}, "config 'c' reads NOPE, which is not set"),
        ({"configs": {"c": {"file": "/nonexistent/c"}}}, "config 'c': cannot read /nonexistent/c"),
    ],
)
def test_content_that_cannot_be_read_now_is_refused(defined, problem):
    ctx = context()
    with pytest.raises(BerthError, match=problem) as refused:
        files(ctx, "api", {"configs": [{"source": "c"}]}, defined, ctx.fail("api"))
    assert refused.value.field == "configs"


def test_an_owner_no_target_sets_is_a_warning():
    ctx = context()
    defined = {"configs": {"c": {"content": "x"}}}
    files(ctx, "api", {"configs": [{"source": "c", "uid": "1000"}]}, defined, ctx.fail("api"))
    assert ctx.warnings and ctx.warnings[0].startswith("service 'api': config 'c': ")


def test_a_secret_file_that_is_not_text_says_what_to_do(write, load):
    """Not "cannot read ... fix its path": the file is there, and it is not text."""
    Path("key.bin").write_bytes(bytes(range(256)))
    text = (
        "secrets:\n  key:\n    file: ./key.bin\nservices:\n  api:\n    image: busybox\n"
        "    secrets: [key]\n"
    )

    error = refused(load, text)

    assert (error.service, error.field) == ("api", "secrets")
    assert "secret 'key': key.bin is not UTF-8 text, and its content is deployed as text" in (
        error.message
    )
    assert "base64-encode the file and decode it where the container reads it" in error.message
