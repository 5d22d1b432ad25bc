"""berth/normalize/extensions.py: Berth's own ``x-berth-*`` keys."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.normalize.extensions import check_extensions, run_policy
from tests.normalize_support import context

FAIL = context().fail("migrate")


def test_known_and_foreign_extensions_pass():
    check_extensions({"x-berth-run": "always", "x-berth-timeout": "5m", "x-other": 1}, FAIL)


def test_an_unknown_berth_extension_is_refused_listing_the_known():
    with pytest.raises(BerthError) as refused:
        check_extensions({"x-berth-runs": "always"}, FAIL)
    assert refused.value.field == "x-berth-runs"
    assert "use one of x-berth-run, x-berth-timeout" in refused.value.message


@pytest.mark.parametrize(
    ("value", "always"), [(None, False), ("on-change", False), ("always", True)]
)
def test_the_run_policy(value, always):
    assert run_policy(value, FAIL) is always


def test_another_run_policy_is_refused():
    with pytest.raises(BerthError, match="'sometimes' is not a run policy"):
        run_policy("sometimes", FAIL)
