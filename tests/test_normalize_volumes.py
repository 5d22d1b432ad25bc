"""berth/normalize/volumes.py: a top-level volume's name, as Docker knows it."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.model import Volume
from berth.normalize.volumes import volume
from tests.normalize_support import context


def test_a_volume_is_named_after_the_project_unless_named():
    sources = context().sources
    assert volume(sources, "data", {}, "shop") == Volume(key="data", name="shop_data")
    named = volume(sources, "data", {"name": "kept", "driver": "local", "x-size": 5}, "shop")
    assert (named.name, named.driver, named.extensions) == ("kept", "local", {"x-size": 5})


def test_an_external_volume_s_name_must_be_one_docker_makes():
    sources = context({"services": {}}, {"volumes": {"data": {"external": True}}}).sources
    assert volume(sources, "data", {"external": True, "name": "ok_name"}, "shop").external
    with pytest.raises(BerthError) as refused:
        volume(sources, "data", {"external": True, "name": "-bad"}, "shop")
    assert refused.value.file == "compose1.yaml", "the file that declares the volumes"
