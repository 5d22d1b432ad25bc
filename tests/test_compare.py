"""``berth.offline.compare``: which compose fields of a service changed, as the user wrote them.

The whole comparison, planned on every target, is in tests/test_diff.py; these are its rules
on the model alone."""

from __future__ import annotations

from dataclasses import replace

from berth.model import ContainerSettings, FileMount, Mount, Resources, Service
from berth.offline.compare import changed_fields

WEB = Service(
    name="web",
    image="nginx:1.27",
    command=("serve",),
    mounts=(Mount("volume", "/data", "data"), Mount("volume", "/cache", "cache")),
)


def test_nothing_changed_is_no_field() -> None:
    assert changed_fields(WEB, replace(WEB)) == []


def test_reordering_an_order_free_list_is_no_change() -> None:
    assert changed_fields(WEB, replace(WEB, mounts=WEB.mounts[::-1])) == []


def test_reordering_a_command_is_a_change() -> None:
    assert changed_fields(WEB, replace(WEB, command=("serve", "-v"))) == ["command"]


def test_fields_are_named_as_compose_names_them() -> None:
    now = replace(WEB, resources=Resources(cpus=2.0), mounts=WEB.mounts[:1], run_always=True)
    assert changed_fields(WEB, now) == ["deploy.resources", "volumes", "x-berth-run"]


def test_container_settings_and_extensions_count() -> None:
    now = replace(WEB, container=ContainerSettings(privileged=True), extensions={"x-team": "a"})
    assert changed_fields(WEB, now) == ["privileged", "x-team"]


def test_placed_files_are_named_by_the_field_they_come_from() -> None:
    secret = FileMount("key", "/run/secrets/key", "v1", kind="secrets")
    before = replace(WEB, files=(secret,), fields=("secrets",))
    now = replace(before, files=(replace(secret, content="v2"),))
    assert changed_fields(before, now) == ["secrets"]
