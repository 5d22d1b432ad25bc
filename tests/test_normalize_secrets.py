"""berth/normalize/secrets.py, fed dicts: ``$$`` undone, a secret refused where it would be
stored in plain text."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.normalize.secrets import refuse_misplaced_secrets, unescape
from tests.normalize_support import context, placeholder


def test_compose_s_doubled_dollar_is_one_everywhere():
    assert unescape({"a": ["$$HOME", {"b": "x$$$$y"}], "n": 3}) == {
        "a": ["$HOME", {"b": "x$$y"}],
        "n": 3,
    }


@pytest.mark.parametrize(
    "where",
    [
        lambda secret: {"environment": {"DB": f"postgres://app:{secret}@db/app"}},
        lambda secret: {"command": ["run", f"--password={secret}"]},
        lambda secret: {"entrypoint": [secret]},
        lambda secret: {"healthcheck": {"test": ["CMD", secret]}},
    ],
)
def test_a_secret_may_go_where_every_target_keeps_it_secret(where):
    ctx = context(secrets={"PW": "hunter22"})
    secret = placeholder(ctx, "PW")
    refuse_misplaced_secrets(ctx, {"services": {"web": where(secret)}, "x-anchors": {"pw": secret}})


def test_a_secret_anywhere_else_is_refused_naming_it_and_where():
    ctx = context({"services": {"web": {"labels": {"pw": "${PW}"}}}}, secrets={"PW": "hunter22"})
    data = {"services": {"web": {"labels": {"pw": f"pw={placeholder(ctx, 'PW')}"}}}}

    with pytest.raises(BerthError) as refused:
        refuse_misplaced_secrets(ctx, data)

    error = refused.value
    assert "the secret PW is used where it would be stored in plain text" in error.message
    assert (error.service, error.field, error.file) == ("web", "labels.pw", "compose.yaml")
    assert "hunter22" not in error.message


def test_a_secret_in_a_top_level_field_names_its_path():
    ctx = context(secrets={"PW": "hunter22"})
    with pytest.raises(BerthError) as refused:
        refuse_misplaced_secrets(ctx, {"volumes": {"data": {"name": placeholder(ctx, "PW")}}})
    assert (refused.value.service, refused.value.field) == (None, "volumes.data.name")
