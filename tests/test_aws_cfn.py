"""Every AWS resource Berth plans, held to AWS's own resource schemas.

Each plan's AWS resources become the equivalent CloudFormation template (tests/aws_cfn.py) and
cfn-lint checks it in the plan's region: the patterns, lengths, enums and cross-property rules of
the CloudFormation registry's schemas, which are AWS's, plus the names pulumi-aws generates and
the constraints AWS documents where CloudFormation has no property. The examples (with managed
stores, and with long names), every corpus sample that plans on aws and a generated project of
every kind of service ``fleet_compose`` makes are checked; any error or warning fails, but for
the rules ``IGNORED`` names.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from berth.errors import BerthError
from berth.model import ComposeProject
from berth.offline.plan import Plan, Registration, plan_config, run_plan
from tests.aws_cfn import Unmapped, lint, template
from tests.aws_support import JOB, TASK_DEFINITION, aws_program
from tests.conftest import copy_example
from tests.plans import (
    FLEET_JOBS,
    SCHEMA_SECRETS,
    Created,
    assert_sample_accepted,
    corpus_findings,
    fleet_compose,
    of_type,
    planned_samples,
    recorded,
    refusals,
    write_examples,
)
from tests.plans import (
    ODD_NAMES as BASE_ODD_NAMES,
)
from tests.test_contract_corpus import SAMPLES

IGNORED: dict[str, str] = {
    "E3010": "more than 500 resources in one template: a CloudFormation stack's quota, and "
    "the template stands for a whole Pulumi stack, which has none",
    "W2501": "a password in plain text: the converter inlines secret values so that AWS's "
    "constraints check them; Berth sends them as Pulumi secrets, never in a template",
    "W3010": "a hardcoded availability zone: Berth takes the zones from "
    "aws.get_availability_zones when the program runs (what Fn::GetAZs does in a "
    "template); the template holds the plan's answer",
}
"""The cfn-lint rules this module does not fail on, and why: each is about the template the
conversion makes, not about a value Berth sends."""
IGNORED_WHEN: dict[str, tuple[re.Pattern[str], str]] = {
    "W3691": (
        re.compile(r"Engine version '\d+' for engine 'postgres' is deprecated"),
        "a bare major version (RDS takes it as that major's default minor: \"If you specify "
        "only a major version, Amazon RDS updates the DB instance to the default minor "
        "version\", ModifyDBInstance; Terraform documents the prefix form). cfn-lint's list "
        "marks a bare major deprecated once its oldest minors are (16 and 17, not 18); a "
        "deprecated minor, such as 16.1, still fails",
    ),
}
"""Rules ignored only for the findings their pattern matches, and why."""
MIN_CORPUS_LINTED = 20
"""Corpus samples that must plan on aws and be linted: fewer means the corpus, or the filter
that picks it, no longer checks anything."""
SECRETS = SCHEMA_SECRETS
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0b7e4b52-1c3a-4f7e-9c3d-2f1e0a9b8c7d"
HTTPS_IN_AN_EXISTING_VPC = {
    "awsCertificateArn": CERTIFICATE,
    "awsVpcId": "vpc-0a1b2c3d4e5f60718",
    "awsSubnetIds": json.dumps(["subnet-0a1b2c3d4e5f60718", "subnet-1a2b3c4d5e6f70819"]),
}


def findings(run: Callable[[], Plan]) -> tuple[Plan, list[str]]:
    """The plan ``run`` makes, and what cfn-lint and the conversion find in it (but the
    ignored rules)."""
    with recorded() as created:
        plan = run()
    lines = lint(template(plan, created))
    return plan, [line for line in lines if not _ignored(line)]


def _ignored(line: str) -> bool:
    rule = line.split(" ", 1)[0]
    narrowly = IGNORED_WHEN.get(rule)
    return rule in IGNORED or bool(narrowly and narrowly[0].search(line))


report = functools.partial(refusals, "what AWS would refuse or warn about")


# -- the examples -------------------------------------------------------------------------

LONG_NAMES = {
    "name": "acme-customer-facing-platform-backend",
    "services": {
        "payments-reconciliation-and-settlement-worker": {
            "image": "nginx:1.27",
            "ports": ["8080:80"],
            "volumes": ["ledger-data-for-payments-reconciliation:/data"],
            "healthcheck": {"test": ["CMD-SHELL", "curl -f http://localhost/health"]},
        },
        "customer-notifications-database": {
            "image": "postgres:16",
            "x-defang-postgres": True,
            "environment": {"POSTGRES_PASSWORD": "${POSTGRES_PASSWORD}"},
        },
    },
    "volumes": {"ledger-data-for-payments-reconciliation": {}},
}
"""Names as long as real projects have, against AWS's shortest limits (IAM roles 64, load
balancers and target groups 32)."""
LONGEST = 500
LONGEST_NAMES = {
    "name": "p" * LONGEST,
    "services": {
        "s" * 63: {
            "image": "nginx:1.27",
            "ports": ["8080:80"],
            "volumes": [f"{'v' * LONGEST}:/data"],
            "environment": {"TOKEN": "token=${API_KEY}"},
        },
        "j" * LONGEST: {
            "build": ".",
            "restart": "no",
            "volumes": [f"{'v' * LONGEST}:/in:ro"],
            "environment": {"TOKEN": "token=${API_KEY}"},
            "secrets": ["k" * LONGEST],
        },
        "d" * 63: {
            "image": "postgres:16",
            "x-defang-postgres": True,
            "environment": {"POSTGRES_PASSWORD": "${POSTGRES_PASSWORD}"},
        },
        "r" * 63: {"image": "redis:7", "x-defang-redis": True},
    },
    "jobs": {
        "b" * LONGEST: {
            "build": ".",
            "volumes": [f"{'v' * LONGEST}:/in:ro"],
            "environment": {"TOKEN": "token=${API_KEY}"},
            "triggers": {
                "schedule": [{"cron": "0 3 * * *", "timezone": "America/Argentina/ComodRivadavia"}]
            },
        },
    },
    "volumes": {"v" * LONGEST: {}},
    "secrets": {"k" * LONGEST: {"environment": "API_KEY"}},
}
"""Names as long as compose takes (it sets no limit): a project, a job, a scheduled job (in the
longest time zone name there is), a volume and a secret of 500 characters, services of 63 (the
longest DNS label, which other services reach them by). Each AWS name made of them is cut, and
ends in a hash of the whole, where it would pass AWS's limit: ECS families, container and
volume names 255, Cloud Map's DNS labels 63, tag values 256, schedule names 64, schedule
descriptions 512."""
SCHEDULED = {
    "name": "nightly",
    "services": {
        "db": {
            "image": "postgres:16",
            "environment": {"POSTGRES_PASSWORD": "${POSTGRES_PASSWORD}"},
            "volumes": ["data:/var/lib/postgresql/data"],
        },
        "web": {
            "build": ".",
            "ports": ["80:80"],
            "depends_on": ["db"],
            "pre_start": [
                {"command": ["./migrate"], "environment": {"STEP": "migrate"}},
                {"image": "busybox", "command": "echo ready"},
            ],
        },
    },
    "jobs": {
        "backup": {
            "image": "postgres:16",
            "command": ["sh", "-c", "pg_dump -h db -U postgres > /backup/dump.sql"],
            "environment": {"PGPASSWORD": "${POSTGRES_PASSWORD}"},
            "volumes": ["data:/backup"],
            "depends_on": ["db"],
            "triggers": {
                "schedule": [
                    {"cron": "0 3 * * *", "timezone": "Europe/Paris"},
                    {"cron": "30 12 * * MON-FRI", "concurrency": "queue", "missed_fires": "skip"},
                ]
            },
        },
        "report": {
            "build": ".",
            "triggers": {"manual": False, "schedule": ["*/15 9-17 1,15 * *"]},
        },
        "reindex": {"image": "busybox", "triggers": {"manual": True}},
    },
    "volumes": {"data": {}},
}
"""``pre_start`` hooks and the top-level ``jobs:``: scheduled (in a time zone, on weekdays,
every quarter of an hour on days of the month), manual only, and scheduled only."""
ODD_NAMES = {
    "name": BASE_ODD_NAMES["name"],
    "services": {
        "Orders_DB": {
            "image": "postgres:16",
            "x-defang-postgres": True,
            "environment": {"POSTGRES_PASSWORD": "${POSTGRES_PASSWORD}"},
        },
        "my_cache": {"image": "redis:7", "x-defang-redis": True},
        "Web_front": {
            "image": "nginx",
            "ports": ["80:80"],
            "volumes": ["data.v:/data", "_scratch_:/tmp"],
            "secrets": ["api.key_v1"],
        },
        "job_x.y": {"image": "busybox", "restart": "no", "volumes": ["data.v:/in:ro"]},
    },
    "volumes": {"data.v": {}, "_scratch_": {}},
    "secrets": {"api.key_v1": {"environment": "API_KEY"}},
}
"""Names compose allows that AWS's names do not all take: capitals (RDS stores subnet group
names lowercased, and Terraform refuses capitals there), underscores (ElastiCache takes
letters, digits and hyphens), dots, and a project name with ``_`` and a digit first (every
name begins with it). Compose drops dots from a project's name; a stack's name keeps them
(``ODD_STACK``)."""
ODD_STACK = "eu_west.prod"
"""A stack name Pulumi takes, with ``_`` and ``.``: AWS names carry it."""


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples (the scheduled backup and the pre_start migration too), the migrate
    example with a managed cache (``x-defang-redis``) with and without a password, and
    projects of long names, odd names, and hooks and scheduled jobs."""
    folder = tmp_path_factory.mktemp("examples")
    written = write_examples(
        folder,
        {
            "long-names": LONG_NAMES,
            "longest-names": LONGEST_NAMES,
            "odd-names": ODD_NAMES,
            "scheduled": SCHEDULED,
        },
    )
    for example in ("backup", "pre-start", "models"):
        copy_example(example, folder)
    return written


EXAMPLE_PLANS: dict[str, tuple[str, ...]] = {
    "migrate": ("compose.yaml",),
    "release": ("compose.yaml",),
    "migrate/managed-postgres": ("compose.yaml", "compose.managed.yaml"),
    "migrate/managed-redis-with-password": ("compose.yaml", "compose.redis-auth.yaml"),
    "migrate/managed-redis-without-password": ("compose.yaml", "compose.redis.yaml"),
    "migrate/managed-postgres-and-redis": (
        "compose.yaml",
        "compose.managed.yaml",
        "compose.redis-auth.yaml",
    ),
    "long-names": ("compose.yaml",),
    "longest-names": ("compose.yaml",),
    "odd-names": ("compose.yaml",),
    "scheduled": ("compose.yaml",),
    "pre-start": ("compose.yaml",),
    "models": ("compose.yaml",),
}
"""Each case: the example's folder (before a slash), and the compose files it deploys."""


@pytest.mark.parametrize("case", EXAMPLE_PLANS)
def test_the_examples_resources_are_what_aws_accepts(case: str, examples: Path) -> None:
    with contextlib.chdir(examples / case.split("/", maxsplit=1)[0]):
        _, lines = findings(lambda: aws_program(list(EXAMPLE_PLANS[case]), secrets=SECRETS))

    assert lines == [], report(lines)


def test_the_backup_examples_scheduled_job_is_what_aws_accepts(examples: Path) -> None:
    """examples/backup with its ``scheduled`` profile on, as a cloud stack deploys it."""
    config, secret_keys = plan_config(
        ["compose.yaml"], "aws", profiles=["scheduled"], secrets=SECRETS
    )
    with contextlib.chdir(examples / "backup"):
        plan, lines = findings(lambda: run_plan(config, secret_keys, preview=False))

    assert len(of_type(plan, "aws:scheduler/schedule:Schedule")) == 1
    assert lines == [], report(lines)


def test_odd_names_with_an_odd_stack_name_are_what_aws_accepts(examples: Path) -> None:
    with contextlib.chdir(examples / "odd-names"):
        _, lines = findings(lambda: aws_program(["compose.yaml"], secrets=SECRETS, stack=ODD_STACK))

    assert lines == [], report(lines)


def test_a_runs_tags_fit_with_the_longest_names(examples: Path) -> None:
    """RunTask's tags (256 characters a value) and startedBy (128), which no template holds:
    Berth's run-once resource starts the job."""
    with contextlib.chdir(examples / "longest-names"):
        plan = aws_program(["compose.yaml"], secrets=SECRETS)

    (run,) = of_type(plan, JOB)
    assert [len(value) <= 256 for value in run.inputs["tags"].values()] == [True, True]
    assert len(run.inputs["startedBy"]) <= 128


# -- the corpus ---------------------------------------------------------------------------


@functools.cache
def corpus(sample: str) -> list[str] | BerthError:
    """What linting one corpus sample's plan finds, or the BerthError that refused it."""
    return corpus_findings(sample, "aws", findings)


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_corpus_samples_resources_are_what_aws_accepts(sample: str) -> None:
    assert_sample_accepted(corpus(sample), report)


def test_most_corpus_samples_are_linted() -> None:
    linted = planned_samples(corpus)

    assert len(linted) >= MIN_CORPUS_LINTED, f"only {len(linted)} samples linted: {linted}"


# -- a large project ----------------------------------------------------------------------

SERVICES = 2 + FLEET_JOBS[0] + 1
"""The smallest fleet holding every kind of service ``fleet_compose`` makes (its first job is
service 45, and services from 40 on publish no port): cfn-lint checks each resource on its
own, so 120 services linted what these 48 do, twice over, in 25 more seconds. What grows with a
project's size is tested where it is decided (IAM policy sizes and a load balancer's ports,
tests/test_aws_first_deploy.py)."""
VARIANT_SERVICES = 24
"""The variant with HTTPS and an existing VPC has fewer services (no jobs)."""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project (compose.yaml) and its smaller variant (compose.variant.yaml)."""
    folder = tmp_path_factory.mktemp("fleet")
    for name, count in (("compose.yaml", SERVICES), ("compose.variant.yaml", VARIANT_SERVICES)):
        (folder / name).write_text(json.dumps(fleet_compose(count), indent=1))
    (folder / "Dockerfile").write_text("FROM busybox\n")
    return folder


@pytest.mark.parametrize(
    ("file", "count", "settings"),
    [
        ("compose.yaml", SERVICES, {}),
        ("compose.variant.yaml", VARIANT_SERVICES, HTTPS_IN_AN_EXISTING_VPC),
    ],
    ids=["every-kind-of-service-new-vpc", "https-and-an-existing-vpc"],
)
def test_a_large_projects_resources_are_what_aws_accepts(
    fleet: Path, file: str, count: int, settings: Mapping[str, str]
) -> None:
    with contextlib.chdir(fleet):
        plan, lines = findings(
            lambda: aws_program([file], variables=dict(settings), secrets=SECRETS)
        )

    assert len(of_type(plan, TASK_DEFINITION)) == count - 2, "the stores are not tasks"
    assert len(of_type(plan, JOB)) == len([job for job in FLEET_JOBS if job < count - 2])
    assert lines == [], report(lines)


# -- the check itself ---------------------------------------------------------------------

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"


def handmade(type_: str, name: str, inputs: dict[str, Any]) -> tuple[Plan, dict[str, Created]]:
    """A plan of one registration, and the engine's answer to it."""
    registration = Registration(
        urn=f"urn:pulumi:dev::berth::{type_}::{name}",
        type=type_,
        name=name,
        parent="",
        custom=True,
        dependencies=(),
        inputs=inputs,
        raw_inputs=inputs,
    )
    plan = Plan(ComposeProject("shop", ("compose.yaml",), {}), "aws", "dev", [registration])
    return plan, {registration.urn: Created(f"{name}-id", {})}


def test_an_apostrophe_in_a_security_group_description_is_an_error() -> None:
    """EC2 takes only ``a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*`` in a group description."""
    inputs = {"description": "Berth shop: the project's tasks", "vpcId": "vpc-0a1b2c3d4e5f60718"}

    lines = lint(template(*handmade(SECURITY_GROUP, "shop-tasks", inputs)))

    assert [line for line in lines if line.startswith("E3031")] == [
        "E3031 ShopTasksSecurityGroup (AWS::EC2::SecurityGroup) Properties/GroupDescription: "
        '"Berth shop: the project\'s tasks" does not match '
        "'^([a-z,A-Z,0-9,. _\\\\-:/()#,@[\\\\]+=&;\\\\{\\\\}!$*])*$'"
    ], lines


def test_a_name_pulumi_cannot_generate_is_an_error() -> None:
    """pulumi-aws names a target group ``<name>-`` and 7 hex characters, at most 32."""
    plan = handmade("aws:lb/targetGroup:TargetGroup", "shop-a-rather-long-service-8080", {})

    lines = lint(template(*plan))

    assert any(line.startswith("PULUMI-AUTONAME") for line in lines), lines


@pytest.mark.parametrize(
    ("type_", "inputs"),
    [
        (SECURITY_GROUP, {"description": "Berth shop", "revokeRulesOnDelete": True}),
        ("aws:ec2/natGateway:NatGateway", {}),
    ],
    ids=["an-input", "a-type"],
)
def test_what_the_converter_cannot_map_fails(type_: str, inputs: dict[str, Any]) -> None:
    """A field or type Berth starts to send is never passed over unchecked."""
    with pytest.raises(Unmapped, match=r"revokeRulesOnDelete|NatGateway"):
        template(*handmade(type_, "shop-x", inputs))


@pytest.mark.parametrize(("version", "kept"), [("16", False), ("16.1", True)])
def test_only_a_bare_major_version_is_spared_the_deprecation_rule(version: str, kept: bool):
    """A deprecated minor version (RDS refuses new instances on it) still fails."""
    inputs = {
        "engine": "postgres",
        "engineVersion": version,
        "instanceClass": "db.t4g.micro",
        "allocatedStorage": 20,
    }
    plan = handmade("aws:rds/instance:Instance", "shop-db-db", inputs)
    found = [line for line in lint(template(*plan)) if line.startswith("W3691")]
    assert len(found) == 1, "cfn-lint calls both deprecated"
    assert [line for line in found if not _ignored(line)] == (found if kept else [])


def test_the_scheduled_examples_schedules_and_roles_are_linted(examples: Path) -> None:
    """The scheduled example's template holds every schedule and its own role and policy, so
    the example's lint above checks them against AWS::Scheduler::Schedule and IAM's schemas."""
    with contextlib.chdir(examples / "scheduled"), recorded() as created:
        plan = aws_program(["compose.yaml"], secrets=SECRETS)
    resources = template(plan, created)["Resources"]
    schedules = {k: r for k, r in resources.items() if r["Type"] == "AWS::Scheduler::Schedule"}

    assert len(schedules) == 3, "backup twice, report once; reindex is manual only"
    for schedule in schedules.values():
        role = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
        assert resources[role]["Type"] == "AWS::IAM::Role"
        policies = [
            r for r in resources.values()
            if r["Type"] == "AWS::IAM::RolePolicy" and r["Properties"]["RoleName"] == {"Ref": role}
        ]  # fmt: skip
        assert len(policies) == 1, "each schedule's own role, with its own policy"


def test_a_schedule_name_over_awss_limit_is_an_error() -> None:
    """CreateSchedule takes a name of 1 to 64 letters, digits, '-', '_' and '.'."""
    inputs = {
        "name": "s" * 65,
        "scheduleExpression": "cron(0 3 * * ? *)",
        "flexibleTimeWindow": {"mode": "OFF"},
        "target": {
            "arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/shop",
            "roleArn": "arn:aws:iam::123456789012:role/shop-backup",
        },
    }

    lines = lint(template(*handmade("aws:scheduler/schedule:Schedule", "shop-backup", inputs)))

    assert any(line.startswith("E3033") and "Properties/Name" in line for line in lines), lines
