"""A hint names the fix in the user's own terms: ``pulumi config`` for the Pulumi program,
the flags they typed for ``python -m berth`` (``tests/test_cli.py`` runs the CLI itself)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from berth.components.stores import password_input
from berth.components.target import load_target
from berth.errors import BerthError
from berth.load import load_project
from berth.model import Secret, Service
from berth.providers.aws.options import AwsOptions
from berth.providers.aws.stores import _PASSWORD_RULES as AWS_PASSWORD_RULES
from berth.providers.digitalocean.options import DigitalOceanOptions
from berth.providers.digitalocean.target import registry_tier
from berth.providers.gcp.options import GcpOptions
from berth.settings import StackSettings
from berth.sources import read_sources
from berth.stores import secret_password
from berth.terms import Terms
from berth.variables import Variables


def compose(text: str) -> Callable[[], object]:
    """Loading ``text`` as compose.yaml, in the project folder."""

    def load() -> object:
        with open("compose.yaml", "w", encoding="utf-8") as file:
            file.write(text)
        return load_project(["compose.yaml"])

    return load


CASES: dict[str, tuple[Callable[[], object], str, str]] = {
    "missing compose file": (
        lambda: read_sources(["missing.yaml"]),
        "check berth:composeFiles in the stack config (paths are relative to the project)",
        "check the -f paths (relative to the current directory)",
    ),
    "compose file from stdin": (
        lambda: read_sources(["-"]),
        "`pulumi config set composeFiles FILE`",
        "`-f FILE`",
    ),
    "bare environment key": (
        compose("services:\n  web:\n    image: nginx\n    environment: [API_KEY]\n"),
        "set it with `pulumi config set --secret API_KEY <value>` (or `pulumi config set API_KEY",
        "set it with `--secret API_KEY=<value>` (or `--set API_KEY=<value>` for a value",
    ),
    "secret read by a compose secret": (
        compose(
            "services:\n  web:\n    image: nginx\n    secrets: [token]\n"
            "secrets:\n  token:\n    environment: TOKEN\n"
        ),
        "set it with `pulumi config set --secret TOKEN <value>`",
        "set it with `--secret TOKEN=<value>`",
    ),
    "required variable": (
        compose("services:\n  web:\n    image: nginx\n    command: ['${TAG:?tag it}']\n"),
        "`pulumi config set TAG <value>` (`pulumi config set --secret TAG <value>` for a secret)",
        "`--set TAG=<value>` (`--secret TAG=<value>` for a secret)",
    ),
    "short secret": (
        lambda: Variables({"KEY": "ab"}, frozenset({"KEY"})),
        "(`pulumi config set --secret KEY <value>`), or `pulumi config set KEY <value>` if",
        "(`--secret KEY=<value>`), or `--set KEY=<value>` if it is not secret",
    ),
    "compose's own variable": (
        lambda: Variables({"COMPOSE_FILE": "x"}),
        "remove it (`pulumi config rm COMPOSE_FILE`); choose files and profiles with `pulumi",
        "remove it (leave out `COMPOSE_FILE=…`); choose files and profiles with `-f FILE` and "
        "`--profile NAME`",
    ),
    "bad variable name": (
        lambda: Variables({"1-key": "x"}),
        "`pulumi config rm 1-key`, then set it again under a name such as _key",
        "leave out `1-key=…`, then set it again under a name such as _key",
    ),
    "secret setting": (
        lambda: StackSettings.from_config({"berth:target": "aws"}, ["berth:target"]),
        "set it without --secret: `pulumi config set target <value>`",
        "set it without --secret: `--target <value>`",
    ),
    "bad number setting": (
        lambda: AwsOptions.parse({"awsEcrKeepImages": "many"}),
        "`pulumi config set awsEcrKeepImages 10`",
        "`--set awsEcrKeepImages=10`",
    ),
    "no compose file": (
        lambda: read_sources([]),
        '`pulumi config set --path "composeFiles[0]" compose.yaml`',
        "`-f compose.yaml`",
    ),
    "dependency in a profile left off": (
        compose(
            "services:\n  web:\n    image: nginx\n    depends_on: [db]\n"
            "  db:\n    image: postgres\n    profiles: [data]\n"
        ),
        'enable its profile: add it to berth:profiles (`pulumi config set --path "profiles[N]" '
        "data`)",
        "enable its profile: add `--profile data`",
    ),
    "unknown target": (
        lambda: load_target("azure"),
        "e.g. `pulumi config set target local`",
        "e.g. `--target local`",
    ),
    "aws: public IPs without a NAT": (
        lambda: AwsOptions.parse({"awsAssignPublicIp": "false"}),
        "remove it (`pulumi config rm awsAssignPublicIp`)",
        "remove it (leave out `awsAssignPublicIp=…`)",
    ),
    "aws: a retention CloudWatch lacks": (
        lambda: AwsOptions.parse({"awsLogRetentionDays": "2"}),
        "e.g. `pulumi config set awsLogRetentionDays 30`",
        "e.g. `--set awsLogRetentionDays=30`",
    ),
    "aws: subnets not a list": (
        lambda: AwsOptions.parse({"awsSubnetIds": "[1]"}),
        'e.g. `pulumi config set --path "awsSubnetIds[0]" subnet-0123`',
        "e.g. `--set awsSubnetIds=subnet-0123`",
    ),
    "aws: a store password RDS refuses": (
        lambda: password_input(
            Secret("a/b", ("DB_PASSWORD",)),
            Service(name="db"),
            "POSTGRES_PASSWORD",
            "compose.yaml",
            AWS_PASSWORD_RULES["POSTGRES_PASSWORD"],
        ),
        "set another value with `pulumi config set --secret DB_PASSWORD <password>`: 8 to 128",
        "set another value with `--secret DB_PASSWORD=<password>`: 8 to 128",
    ),
    "gcp: IAM check skipped for no public service": (
        lambda: GcpOptions.parse({"gcpInvokerIamDisabled": "true", "gcpPublicServices": "false"}),
        "`pulumi config set gcpInvokerIamDisabled false`, or make services public with "
        "`pulumi config set gcpPublicServices true`",
        "`--set gcpInvokerIamDisabled=false`, or make services public with "
        "`--set gcpPublicServices=true`",
    ),
    "gcp: a zone that is none": (
        lambda: GcpOptions.parse({"gcpZone": "Europe West"}),
        "e.g. `pulumi config set gcpZone europe-west1-b`",
        "e.g. `--set gcpZone=europe-west1-b`",
    ),
    "gcp: a public subnet": (
        lambda: GcpOptions.parse({"gcpSubnetRange": "8.8.8.0/24"}),
        "e.g. `pulumi config set gcpSubnetRange 10.20.0.0/20`",
        "e.g. `--set gcpSubnetRange=10.20.0.0/20`",
    ),
    "gcp: a boolean that is none": (
        lambda: GcpOptions.parse({"gcpAdoptVolumes": "yes"}),
        "e.g. `pulumi config set gcpAdoptVolumes false`",
        "e.g. `--set gcpAdoptVolumes=false`",
    ),
    "digitalocean: a region App Platform lacks": (
        lambda: DigitalOceanOptions.parse({"digitaloceanRegion": "mars"}),
        "e.g. `pulumi config set digitaloceanRegion nyc`",
        "e.g. `--set digitaloceanRegion=nyc`",
    ),
    "digitalocean: a registry name": (
        lambda: DigitalOceanOptions.parse({"digitaloceanRegistry": "My Registry"}),
        "e.g. `pulumi config set digitaloceanRegistry my-registry`",
        "e.g. `--set digitaloceanRegistry=my-registry`",
    ),
    "digitalocean: a registry plan too small": (
        lambda: registry_tier(
            2, DigitalOceanOptions.parse({"digitaloceanRegistryTier": "starter"}), []
        ),
        "`pulumi config set digitaloceanRegistryTier basic`, or leave it unset",
        "`--set digitaloceanRegistryTier=basic`, or leave it unset",
    ),
    "store password": (
        lambda: secret_password(None, Service(name="db"), "POSTGRES_PASSWORD", "compose.yaml"),
        "`pulumi config set --secret POSTGRES_PASSWORD <password>`",
        "`--secret POSTGRES_PASSWORD=<password>`",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hint_speaks_of_the_stack_config_or_of_flags(project_dir, case):
    cause, in_stack_config, in_flags = CASES[case]

    with pytest.raises(BerthError) as caught:
        cause()

    program = caught.value.message
    cli = caught.value.message_in(Terms.FLAGS)
    assert in_stack_config in program
    assert in_flags in cli
    assert "pulumi config" not in cli and "stack config" not in cli
    assert "berth:composeFiles" not in cli
    assert program.split(". ")[0] == cli.split(". ")[0], "only the hint differs"


def test_a_copy_of_an_error_keeps_its_hint_in_both_terms():
    error = BerthError("x is not set", hint=lambda terms: terms.how_to_set("X"))

    located = error.located("compose.yaml")

    assert located.hint == "`pulumi config set X <value>`"
    assert located.hint_in(Terms.FLAGS) == "`--set X=<value>`"
