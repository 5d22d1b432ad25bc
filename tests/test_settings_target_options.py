"""Every number, boolean and choice a target reads from the stack config (``berth:aws*``,
``gcp*``, ``digitalocean*``), proved with a value its cloud would refuse (issue 21): one line
naming the key, what is allowed and an example, in the user's own terms; never a traceback
(``int()`` of more than 4300 digits), never a value that fails half-way through ``pulumi up``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from berth.errors import BerthError
from berth.providers.aws.options import AwsOptions
from berth.providers.digitalocean.options import (
    INSTANCE_SIZES,
    LEGACY_INSTANCE_SIZES,
    DigitalOceanOptions,
)
from berth.providers.gcp.options import GcpOptions
from berth.terms import Terms
from tests.test_contract_hostile_input import refused_line

Parse = Callable[[Mapping[str, str]], Any]
HUGE = "9" * 5000
"""More digits than Python's ``int()`` takes (4300): it raised ValueError, uncaught on gcp."""
INT32 = "2147483648"
AWS, GCP, DO = AwsOptions.parse, GcpOptions.parse, DigitalOceanOptions.parse

BAD: list[tuple[Parse, str, str, str]] = [
    # (parse, key, bad value, words the line must hold: the range or the choices)
    (GCP, "gcpDiskSizeGb", HUGE, "from 10 to 65536"),
    (GCP, "gcpDiskSizeGb", "65537", "from 10 to 65536"),
    (GCP, "gcpDiskSizeGb", "9", "from 10 to 65536"),
    (GCP, "gcpDiskSizeGb", "²", "from 10 to 65536"),  # isdigit(), not int()
    (GCP, "gcpDiskSizeGb", "1_000", "from 10 to 65536"),  # int() takes it
    (GCP, "gcpRegistryKeepVersions", "0", "from 1 to 2147483647"),
    (GCP, "gcpRegistryKeepVersions", INT32, "from 1 to 2147483647"),
    (GCP, "gcpRegistryKeepVersions", HUGE, "from 1 to 2147483647"),
    (GCP, "gcpDeletionProtection", "yes", "true or false"),
    (GCP, "gcpPublicServices", HUGE, "true or false"),
    (GCP, "gcpPublicNonHttpPorts", "1", "true or false"),
    (GCP, "gcpInvokerIamDisabled", "on", "true or false"),
    (GCP, "gcpThrowawayStores", "no", "true or false"),
    (GCP, "gcpAdoptVolumes", "maybe", "true or false"),
    (GCP, "gcpSubnetRange", "10.0.0.0/27", "/26 or larger"),
    (AWS, "awsEcrKeepImages", INT32, "from 1 to 2147483647"),
    (AWS, "awsEcrKeepImages", HUGE, "from 1 to 2147483647"),
    (AWS, "awsEcrKeepImages", "0", "from 1 to 2147483647"),
    (AWS, "awsEcrKeepImages", "-3", "from 1 to 2147483647"),
    (AWS, "awsLogRetentionDays", HUGE, "from 1 to 3653"),
    (AWS, "awsLogRetentionDays", "8", "one of 1, 3, 5, 7, 14"),
    (AWS, "awsAssignPublicIp", "nope", "true or false"),
    (AWS, "awsThrowawayStores", "2", "true or false"),
    (DO, "digitaloceanRegion", "mars", "one of ams, atl"),
    (DO, "digitaloceanInstanceSize", "apps-s-64vcpu", "apps-s-1vcpu-0.5gb"),
    (DO, "digitaloceanRegistryRegion", "lon1", "one of nyc3"),
    (DO, "digitaloceanRegistryTier", "gold", "one of starter, basic"),
    (DO, "digitaloceanRegistry", "a" * 64, "up to 63 lowercase"),
    (DO, "digitaloceanDatabaseSize", "DB.Large", "lowercase letters"),
    (DO, "digitaloceanThrowawayStores", "y", "true or false"),
]


@pytest.mark.parametrize(
    ("parse", "key", "value", "words"),
    [pytest.param(*case, id=f"{case[1]}={case[2][:12]}") for case in BAD],
)
def test_a_value_the_cloud_refuses_is_one_line_naming_key_range_and_example(
    parse: Parse, key: str, value: str, words: str
) -> None:
    with pytest.raises(BerthError) as caught:
        parse({key: value})

    program, cli = caught.value.message, caught.value.message_in(Terms.FLAGS)
    assert program.startswith(f"berth:{key} "), program
    assert words in program
    assert f"`pulumi config set {key} " in program, "an example, in the stack config's terms"
    assert f"`--set {key}=" in cli and "pulumi config" not in cli, "in the CLI's, its flags"
    assert "\n" not in program and len(program) < 500, "a 5000-digit value is cut short"


GOOD: list[tuple[Parse, str, str, str, object]] = [
    # (parse, key, value, the option it sets, as read)
    (GCP, "gcpDiskSizeGb", "65536", "disk_size_gb", 65536),
    (GCP, "gcpDiskSizeGb", "010", "disk_size_gb", 10),
    (GCP, "gcpRegistryKeepVersions", "2147483647", "registry_keep_versions", 2**31 - 1),
    (AWS, "awsEcrKeepImages", "1", "ecr_keep_images", 1),
    (AWS, "awsLogRetentionDays", "3653", "log_retention_days", 3653),
    (DO, "digitaloceanInstanceSize", "apps-s-1vcpu-0.5gb", "instance_size", "apps-s-1vcpu-0.5gb"),
    (DO, "digitaloceanInstanceSize", "basic-xxs", "instance_size", "basic-xxs"),
    (DO, "digitaloceanDatabaseSize", "so1_5-2vcpu-16gb", "database_size", "so1_5-2vcpu-16gb"),
    (DO, "digitaloceanRegistry", "a", "registry", "a"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("parse", "key", "value", "attribute", "expected"),
    [pytest.param(*case, id=f"{case[1]}={case[2]}") for case in GOOD],
)
def test_the_edges_of_what_the_cloud_takes_are_taken(
    parse: Parse, key: str, value: str, attribute: str, expected: object
) -> None:
    assert getattr(parse({key: value}), attribute) == expected


def test_the_instance_sizes_are_app_platform_s_own():
    """The sizes App Platform's API takes (its OpenAPI description, tests/fixtures): a refresh
    of the description that adds or drops one shows here."""
    spec = Path(__file__).parent / "fixtures" / "digitalocean_openapi" / "specification"
    model = spec / "resources" / "apps" / "models" / "app_component_instance_base.yml"
    current, legacy = yaml.safe_load(model.read_text())["properties"]["instance_size_slug"]["oneOf"]

    assert tuple(current["enum"]) == INSTANCE_SIZES
    assert tuple(legacy["enum"]) == LEGACY_INSTANCE_SIZES


def test_a_disk_size_past_int_s_digits_is_one_line_from_the_cli(tmp_path: Path) -> None:
    """It was a ValueError traceback: ``int()`` takes 4300 digits at most."""
    line = refused_line(
        tmp_path,
        "services:\n  app:\n    image: alpine\n",
        "--target",
        "gcp",
        "--set",
        f"gcpDiskSizeGb={HUGE}",
    )

    assert "berth:gcpDiskSizeGb must be a whole number from 10 to 65536" in line
    assert "(5000 characters)" in line
    assert line.endswith("e.g. `--set gcpDiskSizeGb=10`.")


def test_options_made_in_code_are_held_to_the_rules_of_the_stack_config() -> None:
    """``Options(...)`` in a program of one's own: the same one line as a stack value."""
    for make, words in (
        (lambda: GcpOptions(disk_size_gb=5), "berth:gcpDiskSizeGb must be a whole number from 10"),
        (lambda: AwsOptions(log_retention_days=8), "berth:awsLogRetentionDays 8 is not a Cloud"),
        (lambda: DigitalOceanOptions(region="mars"), "berth:digitaloceanRegion must be an App"),
        (lambda: GcpOptions(zone="Europe West"), "berth:gcpZone 'Europe West' is not a valid"),
    ):
        with pytest.raises(BerthError) as caught:
            make()
        assert caught.value.message.startswith(words)
