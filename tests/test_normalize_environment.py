"""berth/normalize/environment.py, fed dicts: secrets stay secrets, bare keys refused at once."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.model import Secret
from berth.normalize.environment import environment, refuse_unset
from tests.normalize_support import context, placeholder


def test_values_are_strings_and_a_value_holding_a_secret_is_a_secret():
    ctx = context(secrets={"PW": "hunter22"})
    raw = {"URL": f"postgres://app:{placeholder(ctx, 'PW')}@db/app", "N": 3, "A": "plain"}

    env = environment(ctx, raw, ctx.fail("api"))

    assert list(env) == ["A", "N", "URL"], "sorted"
    assert (env["A"], env["N"]) == ("plain", "3")
    assert env["URL"] == Secret(value="postgres://app:hunter22@db/app", keys=("PW",))


def test_a_bare_key_is_kept_aside_with_where_it_was_met():
    ctx = context({"services": {"api": {"environment": ["TOKEN"]}}})
    assert environment(ctx, {"TOKEN": None}, ctx.fail("api")) == {}
    assert ctx.unset["TOKEN"].file == "compose.yaml"
    assert ctx.unset["TOKEN"].service == "api"


def test_every_bare_key_is_refused_in_one_error():
    ctx = context()
    environment(ctx, {"B": None}, ctx.fail("api"))
    environment(ctx, {"A": None}, ctx.fail("web"))

    with pytest.raises(BerthError) as refused:
        refuse_unset(ctx.unset)

    error = refused.value
    assert error.problem.startswith("A, B have no value"), error.problem
    assert "used by api, web" in error.problem
    assert error.service is None, "two services: neither is named alone"
    assert "pulumi config set --secret A" in error.message
    assert "pulumi config set --secret B" in error.message


def test_nothing_unset_is_nothing_refused():
    refuse_unset({})
