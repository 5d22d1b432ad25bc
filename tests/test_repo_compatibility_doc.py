"""docs/compatibility.md is generated from the targets' support tables and must match them."""

from __future__ import annotations

from berth.fields import ALL_FIELDS, SERVICE_FIELDS
from berth.offline.cli import compatibility
from tests.conftest import ROOT


def test_the_compatibility_page_matches_the_code():
    page = (ROOT / "docs" / "compatibility.md").read_text()
    assert page == compatibility(), (
        "regenerate: python -m berth compatibility > docs/compatibility.md"
    )


def test_every_compose_service_field_has_a_row():
    page = compatibility()
    for field in ALL_FIELDS:
        assert f"| `{field}` |" in page
    assert len(SERVICE_FIELDS) == 93  # Compose v5.6 added pre_start
