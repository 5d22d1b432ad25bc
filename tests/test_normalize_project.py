"""berth/normalize/project.py: the whole of Compose's output, fed as YAML loads it."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.model import Secret
from berth.normalize import Normalizer, normalized
from berth.normalize.context import Context
from berth.sources import Sources
from berth.variables import Variables
from tests.normalize_support import BASE, context, placeholder


def test_services_come_in_the_files_order_then_by_name():
    ctx = context({"services": {"web": {}, "db": {}}})
    loaded = {"name": "shop", "services": {"db": {}, "extra": {}, "web": {}, "api": {}}}
    assert list(normalized(ctx, loaded).services) == ["web", "db", "api", "extra"]


def test_the_project_s_name_volumes_and_extensions():
    ctx = context(secrets={"PW": "hunter22"})
    loaded = {
        "name": "shop",
        "services": {"db": {"image": "postgres"}},
        "volumes": {"data": None},
        "x-env": {"pw": placeholder(ctx, "PW"), "cost": "$$5"},
    }
    project = normalized(ctx, loaded, ("warning in /project/compose.yaml",))

    assert project.name == "shop"
    assert project.volumes["data"].name == "shop_data"
    assert project.extensions == {
        "x-env": {"pw": Secret(value="hunter22", keys=("PW",)), "cost": "$5"}
    }
    assert project.warnings == ("warning in compose.yaml",), "paths relative to the project"


def test_a_project_without_a_name_is_named_after_its_first_file_s_folder():
    ctx = Context(Sources(("/srv/shop/compose.yaml",), ({},)), Variables().seal(), BASE)
    assert normalized(ctx, {"services": {}}).name == "shop"


def test_secrets_are_checked_before_anything_else():
    ctx = context(secrets={"PW": "hunter22"})
    loaded = {"services": {"web": {"image": placeholder(ctx, "PW"), "restart": "never"}}}
    with pytest.raises(BerthError, match="the secret PW is used where"):
        normalized(ctx, loaded)


def test_every_unset_variable_is_refused_after_every_service_was_read():
    ctx = context()
    loaded = {"services": {"a": {"environment": {"X": None}}, "b": {"environment": {"Y": None}}}}
    with pytest.raises(BerthError, match="X, Y have no value"):
        normalized(ctx, loaded)


def test_the_normalizer_reads_compose_s_yaml_output():
    project = Normalizer(context().sources, context().sealed).project(
        "name: shop\nservices:\n  web:\n    image: nginx\n"
    )
    assert project.services["web"].image == "nginx"
