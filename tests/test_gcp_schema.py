"""Every Google Cloud resource Berth plans, held to Google's own API discovery documents.

Each plan's Google Cloud resources become the requests that create them (tests/gcp_schema.py)
and are checked against the discovery documents google-api-python-client ships (each field's
type, format, enum, pattern, the fields a method requires), then against the rules Google
documents in prose: names and IDs, labels, sizes, and the combinations it refuses (Cloud Run's
CPU and memory, Cloud SQL's editions and tiers, ...). The examples (with managed stores and
stack options), every corpus sample that plans on gcp, projects of long and of odd names, and
a generated project of every kind of service ``fleet_compose`` makes are checked; any finding
fails.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from berth.errors import BerthError
from berth.model import ComposeProject
from berth.offline.plan import Plan, Registration
from berth.providers.gcp.run_once import run_overrides
from tests.conftest import program
from tests.gcp_schema import (
    LONGEST_PROJECT_ID,
    SPECS,
    Request,
    Spec,
    Unmapped,
    check,
    check_request,
    requests,
)
from tests.plans import (
    FLEET_JOBS,
    SCHEMA_SECRETS,
    Created,
    assert_sample_accepted,
    compose_with,
    corpus_findings,
    example_plans,
    fleet_compose,
    of_type,
    planned_samples,
    recorded,
    refusals,
    unused_inputs,
    write_examples,
    write_project,
)
from tests.plans import (
    LONG_NAMES as BASE_LONG_NAMES,
)
from tests.plans import (
    ODD_NAMES as BASE_ODD_NAMES,
)
from tests.test_contract_corpus import SAMPLES

MIN_CORPUS_CHECKED = 29
"""Corpus samples that must plan on gcp and be checked (as many as plan:
tests/test_contract_corpus.py lists why the others are refused); fewer means the corpus, or the
filter that picks it, no longer checks anything. Raise it when a fix makes another sample plan."""
SECRETS = SCHEMA_SECRETS
STACK_OPTIONS = {
    "gcpThrowawayStores": "true",
    "gcpInvokerIamDisabled": "true",
    "gcpPublicNonHttpPorts": "true",
    "gcpDeletionProtection": "false",
    "gcpMachineType": "e2-standard-2",
}
"""The stack settings that change what is sent: no final backup, no allUsers binding,
non-HTTP ports opened on VMs, no Terraform guard, one machine type."""


def findings(run: Callable[[], Plan]) -> tuple[Plan, list[str]]:
    """The plan ``run`` makes, and what Google would refuse in it."""
    with recorded() as created:
        plan = run()
    return plan, check(plan, created)


report = functools.partial(refusals, "what Google Cloud would refuse")


def gcp(files: list[str], variables: Mapping[str, str] | None = None) -> Plan:
    return program(files, target="gcp", secrets=SECRETS, variables=variables)


# -- the examples -------------------------------------------------------------------------

LONG_NAMES = compose_with(
    BASE_LONG_NAMES,
    {
        "services": {
            "payments-reconciliation-and-settlement-worker-for-european-markets": {
                "volumes": ["ledger-data-for-payments-reconciliation-and-settlement:/data"],
                "x-defang-llm": True,
            },
            "inventory-search-engine-elasticsearch-cluster-node-for-the-catalogue": {
                "volumes": ["search-index-for-the-inventory-catalogue-and-price-lists:/data"],
            },
        },
        "volumes": {
            "ledger-data-for-payments-reconciliation-and-settlement": {},
            "search-index-for-the-inventory-catalogue-and-price-lists": {},
        },
        "jobs": {
            "quarterly-reconciliation-report-for-the-european-payment-providers": {
                "build": ".",
                "command": ["./report.sh"],
                "triggers": {
                    "schedule": [
                        {"cron": "0 6 1 JAN,APR,JUL,OCT *", "timezone": "Europe/Amsterdam"},
                        "0 6 * * MON",
                    ]
                },
            },
        },
    },
)
"""Names as long as compose allows and real projects have: a 70-character project, services
of 60 and more, against Google's shortest limits (service accounts 30, Memorystore 40, Cloud
Run 49, Cloud SQL's 98 with the project ID; a custom role's ID, 64, from the longest prefix)."""
ODD_NAMES = compose_with(
    BASE_ODD_NAMES,
    {
        "services": {
            "my.cache": {"x-defang-redis": True},
            "Web_front": {
                "image": "nginx",
                "working_dir": "/usr/share/nginx",
                "volumes": ["data.v:/data", "google-drive:/drive:ro"],
                "environment": {"spring.datasource.password": "${POSTGRES_PASSWORD}", "x": "1"},
                "secrets": ["tls.key"],
                "tmpfs": ["/var/cache/nginx"],
            },
            "2fa-service": {
                "image": "quay.io/acme/2fa:2.0",
                "entrypoint": ["/bin/2fa"],
                "command": ["serve"],
                "working_dir": "/srv",
                "environment": {"CACHE_URL": "redis://my.cache:6379", "OTP_SECRET": "${API_KEY}"},
                "volumes": ["google-drive:/drive", "data.v:/ro:ro"],
                "secrets": ["tls.key"],
                "tmpfs": ["/tmp"],
            },
            "job_x.y": {
                "working_dir": "/in",
                "volumes": ["data.v:/in:ro"],
                "secrets": ["tls.key"],
                "tmpfs": ["/scratch"],
            },
            "A": {"build": ".", "expose": ["5000"], "volumes": ["Cache.Dir:/var/cache"]},
        },
        "order": [
            "Orders_DB", "my.cache", "Web_front", "2fa-service", "job_x.y", "A", "Search.Engine",
        ],
        "volumes": {"data.v": {}, "google-drive": {}, "Cache.Dir": {}},
        "secrets": {"tls.key": {"environment": "API_KEY"}},
        "jobs": {
            "Nightly_Export.v2": {
                "image": "busybox",
                "environment": {"TOKEN": "${API_KEY}", "DB_HOST": "Orders_DB"},
                "volumes": ["data.v:/export"],
                "triggers": {
                    "schedule": [{"cron": "@daily", "timezone": "America/Argentina/Buenos_Aires"}]
                },
            },
        },
    },
)  # fmt: skip
"""Names compose allows that Google's do not all take: capitals, underscores, dots, digits
first, a one-letter service, a volume named ``google-...`` (Cloud Storage refuses ``google``
in a bucket name), environment keys with dots, a Cloud SQL user with capitals and a dot; and
the settings each kind of Cloud Run workload carries (entrypoint, command, working directory,
tmpfs, secret files, read-only buckets, replicas; a job awaited by another service, retried
on failure)."""


HOOKS_AND_JOBS: dict[str, Any] = {
    "name": "shop",
    "services": {
        "db": {
            "image": "postgres:16",
            "environment": {"POSTGRES_PASSWORD": "${POSTGRES_PASSWORD}"},
            "pre_start": [{"command": ["echo", "checking the data directory"]}],
        },
        "web": {
            "build": ".",
            "ports": ["8080:8080"],
            "environment": {"DATABASE_URL": "postgres://app:${POSTGRES_PASSWORD}@db/app"},
            "volumes": ["uploads:/srv/uploads"],
            "depends_on": ["db"],
            "pre_start": [
                {"command": ["./migrate"], "environment": {"MIGRATE_LOCK": "1"}},
                {"image": "busybox", "command": ["echo", "seeded"], "user": "root"},
            ],
        },
    },
    "jobs": {
        "backup": {
            "image": "postgres:16",
            "command": ["sh", "-c", "pg_dump -h db -U app app > /backup/dump.sql"],
            "environment": {"PGPASSWORD": "${POSTGRES_PASSWORD}"},
            "volumes": ["backups:/backup"],
            "depends_on": ["db"],
            "triggers": {
                "schedule": [
                    {"cron": "0 3 * * *", "timezone": "Europe/Paris"},
                    {"cron": "*/30 9-17 * * MON-FRI", "concurrency": "queue",
                     "missed_fires": "skip"},
                ],
            },
        },
        "report": {
            "build": ".",
            "command": ["./report"],
            "triggers": {"manual": False, "schedule": ["0 0 1 * *"]},
        },
        "adhoc": {"image": "busybox", "triggers": {"manual": True}},
    },
    "volumes": {"uploads": {}, "backups": {}},
}  # fmt: skip
"""The hooks and jobs Compose v5 adds: hooks of a VM service and of a Cloud Run service (one
with an image and user of its own), and jobs of ``jobs:``: scheduled (with a time zone, and a
second schedule of its own), scheduled and built, manual only."""


MODELS: dict[str, Any] = {
    "name": "assistant",
    "services": {
        "chat": {
            "image": "ghcr.io/open-webui/open-webui:0.6.18",
            "ports": ["8080:8080"],
            "environment": {"OPENAI_API_KEY": "${API_KEY}"},
            "models": {"llm": {"endpoint_var": "OPENAI_API_BASE_URL", "model_var": "MODEL"}},
        },
        "indexer": {"image": "busybox", "restart": "no", "models": ["embedding"]},
        "summary": {"image": "busybox", "depends_on": ["helper"]},
        "helper": {"provider": {"type": "model", "options": {"model": "chat-default"}}},
        "proxy": {"image": "litellm/litellm:v1.92.0", "x-defang-llm": True},
    },
    "models": {"llm": {"model": "ai/llama3.3"}, "embedding": {"model": "embedding-default"}},
}
"""Language models in the three forms Compose writes (top-level ``models:``, short and long,
a ``provider: type: model`` service) and an ``x-defang-llm`` service: a gateway VM per model,
Vertex AI's API, the custom role and each caller's grant of it."""


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples, the migrate example with a managed cache with and without a password,
    the projects of long and of odd names, one of hooks and jobs, and one of models."""
    return write_examples(
        tmp_path_factory.mktemp("examples"),
        {
            "long-names": LONG_NAMES,
            "odd-names": ODD_NAMES,
            "hooks-and-jobs": HOOKS_AND_JOBS,
            "models": MODELS,
        },
    )


EXAMPLE_PLANS = example_plans(
    STACK_OPTIONS,
    **{"hooks-and-jobs": (("compose.yaml",), {}), "models": (("compose.yaml",), {})},
)


@functools.cache
def example(examples: Path, case: str) -> tuple[list[Request], list[str]]:
    """The case's requests, and what Google would refuse in them (once per worker: the
    tests below read them again)."""
    files, variables = EXAMPLE_PLANS[case]
    with contextlib.chdir(examples / case.split("/", maxsplit=1)[0]), recorded() as created:
        plan = gcp(list(files), variables)
    return requests(plan, created), check(plan, created)


@pytest.mark.parametrize("case", EXAMPLE_PLANS)
def test_the_examples_resources_are_what_google_accepts(case: str, examples: Path) -> None:
    _, lines = example(examples, case)

    assert lines == [], report(lines)


def test_every_mapped_input_is_sent_by_an_example(examples: Path) -> None:
    """No mapping goes unused: the examples send every type and every input the converter
    maps, so each mapping is checked against a request Berth really makes, and one Berth no
    longer sends is noticed (and removed)."""
    sent = (request for case in EXAMPLE_PLANS for request in example(examples, case)[0])
    shapes = {type_: spec.shape for type_, spec in SPECS.items()}

    assert unused_inputs(sent, shapes) == {}


LIMITS = {
    ("run.projects.locations.services.create", "serviceId"): 49,
    ("run.projects.locations.jobs.create", "jobId"): 49,
    ("run.projects.locations.workerPools.create", "workerPoolId"): 49,
    ("redis.projects.locations.instances.create", "instanceId"): 40,
    ("iam.projects.serviceAccounts.create", "accountId"): 30,
    ("sql.instances.insert", "name"): 98 - LONGEST_PROJECT_ID - 1,
    ("compute.instances.insert", "name"): 63,
    ("storage.buckets.insert", "name"): 63,
}
"""The shortest limits of Google's names, by method and the parameter or field holding them
(Berth keeps every Cloud Run name within 49)."""


def test_the_long_names_reach_each_limit(examples: Path) -> None:
    """The long names are long enough to be cut: each reaches its limit (a cut name may end
    one short, where a hyphen was dropped)."""
    longest: dict[tuple[str, str], int] = {}
    for request in example(examples, "long-names")[0]:
        for key in LIMITS:
            if key[0] == request.spec.method:
                name = request.params.get(key[1]) or request.body.get(key[1])
                longest[key] = max(longest.get(key, 0), len(name))
    missed = {
        f"{method} {name}": (longest.get((method, name), 0), limit)
        for (method, name), limit in LIMITS.items()
        if not limit - 1 <= longest.get((method, name), 0) <= limit
    }

    assert missed == {}, "(longest, limit) of names that do not reach their limit"


# -- the corpus ---------------------------------------------------------------------------


@functools.cache
def corpus(sample: str) -> list[str] | BerthError:
    """What checking one corpus sample's plan finds, or the BerthError that refused it."""
    return corpus_findings(sample, "gcp", findings)


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_corpus_samples_resources_are_what_google_accepts(sample: str) -> None:
    assert_sample_accepted(corpus(sample), report)


def test_most_corpus_samples_are_checked() -> None:
    checked = planned_samples(corpus)

    assert len(checked) >= MIN_CORPUS_CHECKED, f"only {len(checked)} samples checked: {checked}"


# -- a large project ----------------------------------------------------------------------

SERVICES = 2 + FLEET_JOBS[0] + 1
"""The smallest fleet holding every kind of service ``fleet_compose`` makes (its first job is
service 45; from 40 on none publishes a port): each request is checked on its own, so 100
services checked what these 48 do, twice over."""


def test_a_project_of_every_kind_of_service_is_what_google_accepts(tmp_path: Path) -> None:
    write_project(tmp_path, fleet_compose(SERVICES))
    with contextlib.chdir(tmp_path):
        plan, lines = findings(lambda: gcp(["compose.yaml"]))

    assert len(of_type(plan, "gcp:serviceaccount/account:Account")) == SERVICES - 2
    assert lines == [], report(lines)


# -- the check itself ---------------------------------------------------------------------


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
    plan = Plan(ComposeProject("shop", ("compose.yaml",), {}), "gcp", "dev", [registration])
    return plan, {registration.urn: Created(f"{name}-id", {})}


SERVICE = "gcp:cloudrunv2/service:Service"
CLOUD_RUN: dict[str, Any] = {
    "name": "shop-dev-web",
    "project": "berth-plan",
    "location": "us-central1",
    "ingress": "INGRESS_TRAFFIC_ALL",
    "template": {
        "containers": [
            {
                "image": "nginx@sha256:" + "0" * 64,
                "resources": {"limits": {"cpu": "1", "memory": "512Mi"}},
            }
        ],
        "executionEnvironment": "EXECUTION_ENVIRONMENT_GEN2",
    },
}


def findings_of(type_: str, inputs: dict[str, Any]) -> list[str]:
    return check(*handmade(type_, "shop-web", inputs))


def test_a_well_formed_service_passes() -> None:
    assert findings_of(SERVICE, CLOUD_RUN) == []


JOB = "gcp:cloudrunv2/job:Job"
CLOUD_RUN_JOB: dict[str, Any] = {
    "name": "shop-dev-migrate",
    "project": "berth-plan",
    "location": "us-central1",
    "template": {
        "labels": {"berth-job": "migrate"},
        "template": {
            "containers": CLOUD_RUN["template"]["containers"],
            "maxRetries": 0,
            "timeout": "600s",
        },
    },
}


SCHEDULER = "gcp:cloudscheduler/job:Job"
CLOUD_SCHEDULER: dict[str, Any] = {
    "name": "shop-dev-backup-schedule-0",
    "project": "berth-plan",
    "region": "us-central1",
    "schedule": "0 3 * * MON-FRI",
    "timeZone": "Europe/Paris",
    "attemptDeadline": "180s",
    "retryConfig": {"retryCount": 0},
    "httpTarget": {
        "uri": "https://run.googleapis.com/v2/projects/berth-plan/locations/us-central1/jobs/"
        "shop-dev-backup:run",
        "httpMethod": "POST",
        "oauthToken": {
            "serviceAccountEmail": "shop-dev-backup--schedule-0@berth-plan.iam.gserviceaccount.com",
            "scope": "https://www.googleapis.com/auth/cloud-platform",
        },
    },
}
JOB_INVOKER: dict[str, Any] = {
    "name": "shop-dev-backup",
    "project": "berth-plan",
    "location": "us-central1",
    "role": "roles/run.invoker",
    "member": "serviceAccount:shop-dev-backup--schedule-0@berth-plan.iam.gserviceaccount.com",
}


def test_a_well_formed_schedule_and_its_grant_pass() -> None:
    assert findings_of(SCHEDULER, CLOUD_SCHEDULER) == []
    assert findings_of("gcp:cloudrunv2/jobIamMember:JobIamMember", JOB_INVOKER) == []


def test_berth_run_s_request_is_what_google_accepts() -> None:
    """``jobs.run`` with ``berth run``'s arguments as the job's overrides."""
    plan, _ = handmade(JOB, "shop-backup", CLOUD_RUN_JOB)
    run = Spec("run.v2", "run.projects.locations.jobs.run", {})
    request = Request(
        plan.registrations[0],
        run,
        {"name": "projects/berth-plan/locations/us-central1/jobs/shop-dev-backup"},
        {"overrides": run_overrides(["--full", "--to", "gs://b/dump.sql"])},
    )

    assert check_request(request) == []
    assert run_overrides([]) is None, "no arguments: the job's own command"


@pytest.mark.parametrize(
    ("type_", "inputs", "rule"),
    [
        (SERVICE, {**CLOUD_RUN, "name": "shop-dev-Web"}, "GCP-NAME"),
        (SERVICE, {**CLOUD_RUN, "name": "s" * 50}, "GCP-NAME"),
        (SERVICE, {**CLOUD_RUN, "ingress": "INGRESS_TRAFFIC_EVERYWHERE"}, "GCP-ENUM"),
        (SERVICE, {**CLOUD_RUN, "ingress": "INGRESS_TRAFFIC_UNSPECIFIED"}, "GCP-ENUM"),
        (SERVICE, {**CLOUD_RUN, "invokerIamDisabled": "yes"}, "GCP-TYPE"),
        (JOB, CLOUD_RUN_JOB | {"template": {**CLOUD_RUN_JOB["template"], "labels": {"Team": "x"}}},
         "GCP-LABEL"),
        (JOB, CLOUD_RUN_JOB | {"template": {**CLOUD_RUN_JOB["template"], "taskCount": 2**31}},
         "GCP-TYPE"),
        (JOB, CLOUD_RUN_JOB | {"template": {**CLOUD_RUN_JOB["template"], "template": {
            **CLOUD_RUN_JOB["template"]["template"], "timeout": "10m"}}}, "GCP-TYPE"),
        ("gcp:secretmanager/secretVersion:SecretVersion",
         {"secret": "projects/berth-plan/secrets/shop-web-file-c", "secretData": ""}, "GCP-EMPTY"),
        (SCHEDULER, {**CLOUD_SCHEDULER, "schedule": "0 3 * * mon"}, "GCP-CRON"),
        (SCHEDULER, {**CLOUD_SCHEDULER, "schedule": "0 24 * * *"}, "GCP-CRON"),
        (SCHEDULER, {**CLOUD_SCHEDULER, "timeZone": "Paris"}, "GCP-TIMEZONE"),
        (SCHEDULER, {**CLOUD_SCHEDULER, "attemptDeadline": "3600s"}, "GCP-SCHEDULER"),
        (SCHEDULER, {**CLOUD_SCHEDULER, "name": "shop.dev.backup"}, "GCP-NAME"),
        (SCHEDULER, {**CLOUD_SCHEDULER, "httpTarget": {**CLOUD_SCHEDULER["httpTarget"],
         "oauthToken": {"serviceAccountEmail": "x@other-project.iam.gserviceaccount.com"}}},
         "GCP-SCHEDULER"),
        (SCHEDULER, {**CLOUD_SCHEDULER, "retryConfig": {"retryCount": "none"}}, "GCP-TYPE"),
        ("gcp:cloudrunv2/jobIamMember:JobIamMember", {**JOB_INVOKER, "role": "run.invoker"},
         "GCP-IAM"),
    ],
    ids=["capital-in-name", "name-of-50", "unknown-enum", "unspecified-enum",
         "string-for-boolean", "label-key", "int32-overflow", "duration", "empty-secret",
         "cron-lowercase-name", "cron-hour-24", "time-zone", "attempt-deadline",
         "scheduler-job-id", "account-of-another-project", "retry-count-type", "job-role"],
)  # fmt: skip
def test_what_google_refuses_is_found(type_: str, inputs: dict[str, Any], rule: str) -> None:
    lines = findings_of(type_, inputs)

    assert [line.split(" ", 1)[0] for line in lines] == [rule], lines


@pytest.mark.parametrize(
    ("cpu", "memory", "refused"),
    [
        ("1", "512Mi", False),
        ("4", "1Gi", True),
        ("8", "4Gi", False),
        ("2", "9Gi", True),
        ("3", "4Gi", True),
        ("1", "256Mi", True),
    ],
)
def test_cloud_run_sizes_are_held_to_the_cpu_and_memory_table(
    cpu: str, memory: str, refused: bool
) -> None:
    """4 CPUs need 2 GiB; 2 CPUs take at most 8 GiB; 3 is no CPU count; the second
    generation needs 512 MiB."""
    template = CLOUD_RUN["template"]
    container = {
        **template["containers"][0],
        "resources": {"limits": {"cpu": cpu, "memory": memory}},
    }
    lines = findings_of(SERVICE, {**CLOUD_RUN, "template": {**template, "containers": [container]}})

    assert bool(lines) is refused, lines


SQL = "gcp:sql/databaseInstance:DatabaseInstance"


@pytest.mark.parametrize(
    ("edition", "tier", "refused"),
    [
        ("ENTERPRISE", "db-f1-micro", False),
        ("ENTERPRISE", "db-custom-2-7680", False),
        ("ENTERPRISE_PLUS", "db-f1-micro", True),
        ("ENTERPRISE_PLUS", "db-custom-2-7680", True),
        ("ENTERPRISE", "db-custom-3-7680", True),
        ("ENTERPRISE", "db-custom-1-1024", True),
    ],
)
def test_cloud_sql_editions_take_only_their_tiers(edition: str, tier: str, refused: bool) -> None:
    inputs = {
        "project": "berth-plan",
        "region": "us-central1",
        "databaseVersion": "POSTGRES_16",
        "settings": {"tier": tier, "edition": edition},
    }
    lines = findings_of(SQL, inputs)

    assert bool(lines) is refused, lines


@pytest.mark.parametrize(
    ("type_", "inputs"),
    [
        (SERVICE, {**CLOUD_RUN, "customAudiences": ["https://shop.example.com"]}),
        ("gcp:compute/forwardingRule:ForwardingRule", {}),
    ],
    ids=["an-input", "a-type"],
)
def test_what_the_converter_cannot_map_fails(type_: str, inputs: dict[str, Any]) -> None:
    """A field or type Berth starts to send is never passed over unchecked."""
    with pytest.raises(Unmapped, match=r"customAudiences|ForwardingRule"):
        requests(*handmade(type_, "shop-x", inputs))


def test_a_request_is_checked_on_its_own() -> None:
    (request,) = requests(*handmade(SERVICE, "shop-web", CLOUD_RUN))
    request.params["serviceId"] = "9-lives"

    assert [line.split(" ", 1)[0] for line in check_request(request)] == ["GCP-NAME"]
