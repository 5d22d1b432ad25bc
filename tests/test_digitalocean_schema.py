"""Every DigitalOcean resource Berth plans, held to DigitalOcean's own OpenAPI description.

Each plan's DigitalOcean resources become the requests that create them (tests/
digitalocean_schema.py: the app spec of ``POST /v2/apps``, the registry, database clusters,
their databases, users and firewalls) and are validated against the request schemas of
DigitalOcean's public OpenAPI description (tests/fixtures/digitalocean_openapi, its README names
the commit): each field's type, enum, pattern, length and range, the fields required, fields
the schema does not declare, then the rules it states in prose (component names unique in the
app, an image by tag or by digest, ...). The examples (with managed stores and stack options),
every corpus sample that plans on digitalocean, projects of long and of odd names, and a
generated 100-service project are checked; any finding fails.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from berth.errors import BerthError
from berth.model import ComposeProject
from berth.offline.plan import Plan, Registration
from tests.conftest import program
from tests.digitalocean_schema import (
    APP,
    OPENAPI,
    OPERATIONS,
    Request,
    Unmapped,
    check,
    check_request,
    requests,
)
from tests.plans import (
    LONG_NAMES as BASE_LONG_NAMES,
)
from tests.plans import (
    ODD_NAMES as BASE_ODD_NAMES,
)
from tests.plans import (
    SCHEMA_SECRETS,
    assert_sample_accepted,
    compose_with,
    corpus_findings,
    example_plans,
    fleet_compose,
    of_type,
    planned_samples,
    refusals,
    unused_inputs,
    write_examples,
    write_project,
)
from tests.test_contract_corpus import SAMPLES

MIN_CORPUS_CHECKED = 26
"""Corpus samples that must plan on digitalocean and be checked (as many as plan:
tests/test_contract_corpus.py lists why the others are refused); fewer means the corpus, or the
filter that picks it, no longer checks anything. Raise it when a fix makes another sample plan."""
SECRETS = SCHEMA_SECRETS
STACK_OPTIONS = {
    "digitaloceanRegion": "lon",
    "digitaloceanInstanceSize": "apps-d-1vcpu-2gb",
    "digitaloceanDatabaseSize": "db-s-2vcpu-4gb",
    "digitaloceanRegistryTier": "professional",
}
"""The stack settings that change what is sent: a region whose datacenter has no registry
(lon1), another instance size, database size and registry plan."""


def findings(run: Callable[[], Plan]) -> tuple[Plan, list[str]]:
    """The plan ``run`` makes, and what DigitalOcean's API would refuse in it."""
    plan = run()
    return plan, check(plan)


report = functools.partial(refusals, "what DigitalOcean's API would refuse")


def digitalocean(files: list[str], variables: Mapping[str, str] | None = None) -> Plan:
    return program(files, target="digitalocean", secrets=SECRETS, variables=variables)


# -- the examples -------------------------------------------------------------------------

LONG_NAMES = BASE_LONG_NAMES
"""Names as long as compose allows and real projects have: a 70-character project, services
of 60 and more, against App Platform's 32 (app and component names) and a registry's 63."""
ODD_NAMES = compose_with(
    BASE_ODD_NAMES,
    {
        "services": {
            "legacy_DB": {"image": "postgres:15-alpine"},
            "Web_front": {
                "image": "nginx@sha256:" + "0" * 64,
                "environment": {
                    "_private": "1",
                    "x": "1",
                    "Mixed_Case9": "${API_KEY}",
                    "EMPTY": "",
                    "DB": "Orders_DB",
                    "DB_ADDRESS": "Orders_DB:5432",
                    "DB_PASSWORD": "${POSTGRES_PASSWORD}",
                    "CACHE_URL": "redis://my.cache:6379",
                },
                "healthcheck": {
                    "test": ["CMD", "wget", "-qO-", "http://localhost:80/healthz?full=1"],
                    "interval": "400s",
                    "timeout": "0s",
                    "retries": 99,
                    "start_period": "2h",
                },
            },
            "Api.v2": {
                "build": ".",
                "ports": ["8080:8080", "9090:9090"],
                "expose": ["7000"],
                "healthcheck": {"test": ["CMD", "/bin/check"]},
            },
            "2fa-service": {
                "image": "ghcr.io/acme/2fa:2.0",
                "expose": ["5000"],
                "command": ["serve", "--port=5000"],
                "environment": {"OTP_SECRET": "${API_KEY}"},
            },
            "Queue.Worker": {
                "image": "ghcr.io/acme/worker@sha256:" + "1" * 64,
                "command": ["work", "--queue=default"],
                "healthcheck": {"test": ["CMD", "true"]},
            },
            "Report_After": {"build": ".", "restart": "no", "command": ["./report.sh"]},
        },
        "order": [
            "Orders_DB", "legacy_DB", "my.cache", "Web_front", "Api.v2", "2fa-service",
            "Queue.Worker", "job_x.y", "Report_After", "Search.Engine",
        ],
    },
)  # fmt: skip
"""Names compose allows that App Platform's do not all take: capitals, underscores, dots,
digits first (``9lives_shop`` an app name, ``2fa-service`` a component), and environment keys
that are odd but App Platform's (``_private``, ``x``); a database user with capitals and a dot;
and the settings each kind of component carries: images by digest, from Docker Hub and GHCR,
a dev database and managed ones, internal ports, two public services (the second at a path),
health checks past App Platform's bounds, a PRE_DEPLOY and a POST_DEPLOY job, a worker."""


HOOKS: dict[str, Any] = {
    "services": {
        "db": {"image": "postgres:16"},
        "web": {
            "build": ".",
            "ports": ["80:80"],
            "environment": {"DATABASE_URL": "postgres://postgres@db:5432/postgres"},
            "depends_on": ["db"],
            "pre_start": [{"command": ["./migrate"], "environment": {"STEP": "migrate"}}],
        },
        "api": {
            "image": "nginx:1.27",
            "expose": ["8080"],
            "pre_start": [{"image": "busybox:1.37", "command": ["echo", "ready"]}],
        },
    }
}
"""``pre_start`` hooks App Platform's phases can order, as PRE_DEPLOY jobs: one running its
service's built image, one an image of its own."""


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples, the migrate example with a managed cache with and without a password,
    the projects of long and of odd names, and one with hooks."""
    return write_examples(
        tmp_path_factory.mktemp("examples"),
        {"long-names": LONG_NAMES, "odd-names": ODD_NAMES, "hooks": HOOKS},
    )


EXAMPLE_PLANS = example_plans(
    STACK_OPTIONS,
    **{
        "migrate/the-accounts-registry": (("compose.yaml",), {"digitaloceanRegistry": "acme"}),
        "hooks": (("compose.yaml",), {}),
    },
)


@functools.cache
def example(examples: Path, case: str) -> tuple[list[Request], list[str]]:
    """The case's requests, and what DigitalOcean would refuse in them (once per worker: the
    tests below read them again)."""
    files, variables = EXAMPLE_PLANS[case]
    with contextlib.chdir(examples / case.split("/", maxsplit=1)[0]):
        plan = digitalocean(list(files), variables)
    return requests(plan), check(plan)


@pytest.mark.parametrize("case", EXAMPLE_PLANS)
def test_the_examples_resources_are_what_digitalocean_accepts(case: str, examples: Path) -> None:
    _, lines = example(examples, case)

    assert lines == [], report(lines)


def test_every_mapped_input_is_sent_by_an_example(examples: Path) -> None:
    """No mapping goes unused: the examples send every type and every input the converter
    maps, so each mapping is checked against a request Berth really makes, and one Berth no
    longer sends is noticed (and removed)."""
    sent = (request for case in EXAMPLE_PLANS for request in example(examples, case)[0])
    shapes = {type_: op.shape for type_, op in OPERATIONS.items()}

    assert unused_inputs(sent, shapes) == {}


def test_the_hooks_are_sent_as_pre_deploy_jobs(examples: Path) -> None:
    """The hooks case checks what it means to: each hook a PRE_DEPLOY job of the app."""
    (app,) = [r for r in example(examples, "hooks")[0] if r.registration.type == APP]
    jobs = {job["name"]: job["kind"] for job in app.body["spec"]["jobs"]}

    assert jobs == {"web-pre-start-0": "PRE_DEPLOY", "api-pre-start-0": "PRE_DEPLOY"}


def test_the_long_names_reach_each_limit(examples: Path) -> None:
    """The long names are long enough to be cut: the app's and its components' names reach
    App Platform's 32 characters."""
    (app,) = [r for r in example(examples, "long-names")[0] if r.registration.type == APP]
    spec = app.body["spec"]
    names = [c["name"] for section in ("services", "workers", "jobs", "databases")
             for c in spec.get(section, ())]  # fmt: skip

    assert len(spec["name"]) == 32
    assert max(map(len, names)) == 32


# -- the corpus ---------------------------------------------------------------------------


@functools.cache
def corpus(sample: str) -> list[str] | BerthError:
    """What checking one corpus sample's plan finds, or the BerthError that refused it."""
    return corpus_findings(sample, "digitalocean", findings)


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_corpus_samples_resources_are_what_digitalocean_accepts(sample: str) -> None:
    assert_sample_accepted(corpus(sample), report)


def test_most_corpus_samples_are_checked() -> None:
    checked = planned_samples(corpus)

    assert len(checked) >= MIN_CORPUS_CHECKED, f"only {len(checked)} samples checked: {checked}"


# -- what the schema found ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["discovery.type", "my-var", "9LIVES"])
def test_an_environment_name_app_platform_does_not_take_is_refused(
    key: str, project_dir: Path, write: Callable[..., str]
) -> None:
    """app_variable_definition.yml, ``key``: ``pattern: ^[_A-Za-z][_A-Za-z0-9]*$``. The
    elasticsearch corpus sample's ``discovery.type`` was sent, and App Platform refuses the
    whole spec (at ``pulumi up``, once the images are built); now the plan is refused, naming
    the service, the field and the name."""
    write(
        "services:\n  search:\n    image: elasticsearch:8.15.0\n    ports: ['9200:9200']\n"
        f"    environment:\n      {key}: single-node\n      ES_JAVA_OPTS: -Xms1g\n"
    )

    with pytest.raises(BerthError) as refused:
        digitalocean(["compose.yaml"])
    assert (refused.value.service, refused.value.field) == ("search", "environment")
    assert repr(key) in refused.value.message
    assert "ES_JAVA_OPTS" not in refused.value.message
    assert refused.value.hint


def test_the_corpus_sample_with_such_a_name_is_refused() -> None:
    result = corpus("elasticsearch-logstash-kibana/compose.yaml")

    assert isinstance(result, BerthError)
    assert "'discovery.type'" in result.message


# -- a large project ----------------------------------------------------------------------

SERVICES = 100


def test_a_100_service_projects_resources_are_what_digitalocean_accepts(tmp_path: Path) -> None:
    document = fleet_compose(SERVICES)
    for service in document["services"].values():
        service.pop("secrets", None)  # files App Platform cannot place: refused on their own
    write_project(tmp_path, document)
    with contextlib.chdir(tmp_path):
        plan, lines = findings(lambda: digitalocean(["compose.yaml"]))

    (app,) = of_type(plan, APP)
    spec = app.inputs["spec"]
    parts = sum(len(spec.get(section, ())) for section in ("services", "workers", "jobs"))
    assert (parts, len(spec["databases"])) == (SERVICES - 2, 2)
    assert lines == [], report(lines)


# -- the check itself ---------------------------------------------------------------------


def handmade(type_: str, inputs: dict[str, Any]) -> Plan:
    """A plan of one registration."""
    registration = Registration(
        urn=f"urn:pulumi:dev::berth::{type_}::shop-x",
        type=type_,
        name="shop-x",
        parent="",
        custom=True,
        dependencies=(),
        inputs=inputs,
        raw_inputs=inputs,
    )
    return Plan(
        ComposeProject("shop", ("compose.yaml",), {}), "digitalocean", "dev", [registration]
    )


IMAGE = {"registryType": "DOCR", "repository": "shop-dev-web", "digest": "sha256:" + "0" * 64}
SPEC: dict[str, Any] = {
    "name": "shop-dev",
    "region": "nyc",
    "services": [
        {
            "name": "web",
            "image": IMAGE,
            "httpPort": 80,
            "instanceCount": 1,
            "instanceSizeSlug": "apps-s-1vcpu-1gb",
            "envs": [{"key": "LOG_LEVEL", "value": "info", "scope": "RUN_TIME", "type": "GENERAL"}],
            "healthCheck": {"port": 80, "httpPath": "/health", "timeoutSeconds": 1},
        }
    ],
    "jobs": [
        {
            "name": "migrate",
            "kind": "PRE_DEPLOY",
            "image": {**IMAGE, "repository": "shop-dev-migrate"},
            "runCommand": "./m.sh",
        }
    ],
    "databases": [{"name": "db", "engine": "PG", "production": False}],
    "ingress": {"rules": [{"component": {"name": "web"}, "match": {"path": {"prefix": "/"}}}]},
}


def app_findings(change: Callable[[dict[str, Any]], Any]) -> list[str]:
    spec = copy.deepcopy(SPEC)
    change(spec)
    return check(handmade(APP, {"spec": spec}))


def test_a_well_formed_app_passes() -> None:
    assert app_findings(lambda spec: None) == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(spec: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = spec
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[last] = value

    return change


@pytest.mark.parametrize(
    ("path", "value", "rule"),
    [
        ("name", "Shop-dev", "DO-PATTERN"),
        ("name", "shop-" + "d" * 28, "DO-LENGTH DO-PATTERN"),
        ("region", "lon1", "DO-ENUM"),
        ("jobs.0.name", "db-migrate-", "DO-PATTERN"),
        ("services.0.envs.0.key", "discovery.type", "DO-PATTERN"),
        ("services.0.envs.0.type", "PLAIN", "DO-ENUM"),
        ("services.0.envs.0.scope", "RUNTIME", "DO-ENUM"),
        ("services.0.instanceSizeSlug", "apps-s-9vcpu-1gb", "DO-ENUM"),
        ("services.0.instanceCount", 0, None),
        ("services.0.httpPort", 70000, "DO-RANGE"),
        ("services.0.healthCheck.timeoutSeconds", 2**31, "DO-FORMAT"),
        ("services.0.image.registryType", "QUAY", "DO-ENUM"),
        ("services.0.image.registry", "acme", "DO-RULE"),
        ("services.0.image.tag", "1.0", "DO-RULE"),
        ("jobs.0.kind", "SCHEDULED", "DO-ENUM"),
        ("jobs.0.name", "web", "DO-UNIQUE"),
        ("databases.0.engine", "POSTGRES", "DO-ENUM"),
        ("databases.0.production", True, "DO-RULE"),
        ("ingress.rules.0.component.name", "migrate", "DO-RULE"),
        ("ingress.rules.0.match.path.prefix", "/" * 257, "DO-LENGTH"),
    ],
    ids=lambda value: str(value)[:24],
)
def test_what_digitalocean_refuses_is_found(path: str, value: Any, rule: str | None) -> None:
    """One change each to a well-formed app, and the rules it breaks (an instance count of 0
    breaks none: godo omits it, and the API takes its default, 1; 33 characters are too many
    for the name's length and for its pattern, ``^[a-z][a-z0-9-]{0,30}[a-z0-9]$``)."""
    lines = app_findings(_set(path, value))

    assert [line.split(" ", 1)[0] for line in lines] == (rule.split() if rule else []), lines


REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster"
FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"


@pytest.mark.parametrize(
    ("type_", "inputs", "rules"),
    [
        (REGISTRY, {"name": "shop-dev", "subscriptionTierSlug": "basic", "region": "ams3"}, []),
        (REGISTRY, {"name": "shop-dev", "subscriptionTierSlug": "basic", "region": "lon1"},
         ["DO-ENUM"]),
        (REGISTRY, {"name": "Shop_dev", "subscriptionTierSlug": "basic"}, ["DO-PATTERN"]),
        (REGISTRY, {"name": "shop-dev", "region": "ams3"}, ["DO-REQUIRED"]),
        (REGISTRY, {"name": "shop-dev", "subscriptionTierSlug": "free"}, ["DO-ENUM"]),
        (CLUSTER, {"name": "shop-db", "engine": "pg", "version": "17", "size": "db-s-1vcpu-1gb",
                   "region": "nyc3", "nodeCount": 1}, []),
        (CLUSTER, {"name": "shop-db", "engine": "postgres", "size": "db-s-1vcpu-1gb",
                   "region": "nyc3", "nodeCount": 1}, ["DO-ENUM"]),
        (CLUSTER, {"name": "shop-db", "engine": "redis", "size": "db-s-1vcpu-1gb",
                   "region": "nyc3", "nodeCount": 1}, ["DO-RULE"]),
        (CLUSTER, {"name": "shop-db", "engine": "pg", "size": "db-s-1vcpu-1gb",
                   "region": "nyc3"}, ["DO-REQUIRED"]),
        (FIREWALL, {"clusterId": "c-id", "rules": [{"type": "app", "value": "app-id"}]}, []),
        (FIREWALL, {"clusterId": "c-id", "rules": [{"type": "apps", "value": "app-id"}]},
         ["DO-ENUM"]),
    ],
    ids=["registry", "registry-region", "registry-name", "registry-tier-required",
         "registry-tier", "cluster", "cluster-engine", "cluster-redis", "cluster-nodes",
         "firewall", "firewall-type"],
)  # fmt: skip
def test_the_other_resources_are_held_to_their_requests(
    type_: str, inputs: dict[str, Any], rules: list[str]
) -> None:
    lines = check(handmade(type_, inputs))

    assert [line.split(" ", 1)[0] for line in lines] == rules, lines


@pytest.mark.parametrize(
    ("type_", "inputs"),
    [
        (APP, {"spec": {**SPEC, "domainNames": [{"name": "shop.example.com"}]}}),
        (APP, {"spec": SPEC, "projectId": "p"}),
        ("digitalocean:index/droplet:Droplet", {}),
    ],
    ids=["a-spec-input", "an-input", "a-type"],
)
def test_what_the_converter_cannot_map_fails(type_: str, inputs: dict[str, Any]) -> None:
    """A field or type Berth starts to send is never passed over unchecked."""
    with pytest.raises(Unmapped, match=r"domainNames|projectId|Droplet"):
        requests(handmade(type_, inputs))


def test_a_field_the_schema_does_not_declare_is_found() -> None:
    (request,) = requests(handmade(APP, {"spec": copy.deepcopy(SPEC)}))
    request.body["spec"]["services"][0]["cpus"] = 2

    assert [line.split(" ", 1)[0] for line in check_request(request)] == ["DO-FIELD"]


def test_the_schema_is_kept_with_its_source() -> None:
    readme = (OPENAPI / "README.md").read_text()

    assert "github.com/digitalocean/openapi" in readme
    for request in OPERATIONS.values():
        assert (OPENAPI / "specification" / "resources" / request.file).is_file()
        assert request.file in readme
