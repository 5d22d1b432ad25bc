"""Questions tests ask of a recorded plan."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import dill
import pulumi
import pytest
from google.protobuf import empty_pb2, json_format
from pulumi.dynamic import ResourceProvider

from berth.components.project import Project, ProjectArgs
from berth.components.pulumi_internals import UNKNOWN, is_secret
from berth.components.target import Phased, Sequenced, available_targets, load_target
from berth.errors import BerthError
from berth.offline.plan import Plan, RecordingMonitor, Registration, plan_config, run_plan
from berth.variables import Variables
from tests.conftest import copy_example
from tests.test_contract_corpus import SAMPLES, stubbed_corpus


def find(plan: Plan, type_: str, name: str) -> Registration:
    """The resource of ``type_`` named ``name``, or the Project's name, ``-`` and ``name``."""
    names = {name, f"{plan.compose.name}-{name}"}
    matches = [r for r in plan.registrations if r.type == type_ and r.name in names]
    assert len(matches) == 1, f"{type_} {name}: {[r.urn for r in plan.registrations]}"
    return matches[0]


def of_type(plan: Plan, type_: str) -> list[Registration]:
    return [r for r in plan.registrations if r.type == type_]


def named(registrations: list[Registration], name: str) -> Registration | None:
    """The custom resource named ``name``, or ending in ``-`` and ``name`` (the Project's
    name comes first)."""
    return next(
        (r for r in registrations if r.custom and (r.name == name or r.name.endswith(f"-{name}"))),
        None,
    )


def waits_on_services(plan: Plan, registration: Registration) -> set[str]:
    """The compose services whose resources ``registration`` waits on (other than its own)."""
    by_urn = {r.urn: r for r in plan.registrations}
    own = plan.service_of(registration)
    services = {plan.service_of(by_urn[urn]) for urn in registration.dependencies}
    return {s for s in services if s is not None and s != own}


def resources_of(plan: Plan, service: str) -> list[Registration]:
    """The custom resources that belong to one compose service."""
    return [r for r in plan.registrations if r.custom and plan.service_of(r) == service]


def ordered_targets(ordering: type[Sequenced | Phased]) -> list[str]:
    """The registry's targets that order a deployment the ``ordering`` way: tests of one way
    pick a new target up by what it declares, not by its name."""
    return [t for t in available_targets() if isinstance(load_target(t).ORDERING, ordering)]


def user_program(
    files: list[str],
    target: str,
    built: list[Project],
    *,
    opts: pulumi.ResourceOptions | None = None,
    options: Any = None,
    variables: Variables | None = None,
) -> Callable[[], Project]:
    """A program of one's own that deploys ``files`` as the Project ``shop``, keeping it in
    ``built`` for the test to read its attributes."""

    def program() -> Project:
        args = ProjectArgs.from_files(files, target, options=options, variables=variables)
        built.append(Project("shop", args, opts=opts))
        return built[-1]

    return program


def provider_inputs(node: Any) -> Any:
    """Registered inputs as the engine hands them to a dynamic provider: secrets as their
    values (it does not accept secrets), without the provider itself (``__provider``)."""
    if isinstance(node, dict):
        if is_secret(node):
            return provider_inputs(node["value"])
        return {k: provider_inputs(v) for k, v in node.items() if k != "__provider"}
    if isinstance(node, list):
        return [provider_inputs(v) for v in node]
    return node


def dynamic_provider(registration: Registration) -> ResourceProvider:
    """A dynamic resource's provider, unpickled from its ``__provider`` input as the engine's
    dynamic provider process does (``pulumi.dynamic.__main__.get_provider``); the SDK sends
    it as a secret, which the engine unwraps for the provider."""
    serialized = registration.raw_inputs["__provider"]
    if is_secret(serialized):
        serialized = serialized["value"]
    return dill.loads(base64.b64decode(serialized))  # noqa: S301 - our own program's provider


@contextlib.contextmanager
def resource_options() -> Iterator[dict[str, Any]]:
    """Each RegisterResource request the program sends, by URN: its resource options
    (``protect``, ``retainOnDelete``, ``importId``, ``ignoreChanges``) as the engine gets them."""
    recorded: dict[str, Any] = {}
    original = RecordingMonitor.RegisterResource

    def register(self: RecordingMonitor, request: Any) -> Any:
        response = original(self, request)
        recorded[response.urn] = request
        return response

    with mock.patch.object(RecordingMonitor, "RegisterResource", register):
        yield recorded


@contextlib.contextmanager
def project_outputs(project: str = "shop") -> Iterator[dict[str, Any]]:
    """The outputs the Project ``project`` registers, secret ones in their wrapper: the
    program exports its ``triggered`` as the stack output ``triggered`` (the mock engine
    records no stack outputs)."""
    registered: dict[str, Any] = {}

    def register(self: RecordingMonitor, request: Any) -> Any:
        if request.urn.endswith(f"berth:index:Project::{project}"):
            registered.update(json_format.MessageToDict(request.outputs))
        return empty_pb2.Empty()

    with mock.patch.object(RecordingMonitor, "RegisterResourceOutputs", register):
        yield registered


@dataclass(frozen=True)
class Created:
    """What the engine answered for one registration (its id, its outputs), and the
    resources each of its inputs came from (which of two with one id an input names)."""

    id: str
    outputs: dict[str, Any]
    inputs_from: dict[str, tuple[str, ...]] = field(default_factory=dict)


@contextlib.contextmanager
def recorded() -> Iterator[dict[str, Created]]:
    """Records each registered resource's id, outputs and input dependencies, by URN,
    while plans run (the cloud schema checks, tests/aws_cfn.py and tests/gcp_schema.py,
    turn ids and outputs back into the references a cloud API takes)."""
    created: dict[str, Created] = {}
    original = RecordingMonitor.RegisterResource

    def register(self: RecordingMonitor, request: Any) -> Any:
        response = original(self, request)
        created[response.urn] = Created(
            response.id,
            json_format.MessageToDict(response.object),
            {key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()},
        )
        return response

    with mock.patch.object(RecordingMonitor, "RegisterResource", register):
        yield created


class UnknownInput(ValueError):
    """An input the plan does not know (a preview's): no value to check."""


def sent(registration: Registration) -> dict[str, Any]:
    """The inputs as sent, secrets unwrapped (a cloud checks their values too), numbers that
    are whole as integers (Pulumi sends every number as a double)."""

    def plain(node: Any) -> Any:
        if is_secret(node):
            return plain(node["value"])
        if isinstance(node, dict):
            return {k: plain(v) for k, v in node.items() if k != "__provider"}
        if isinstance(node, list):
            return [plain(v) for v in node]
        if node == UNKNOWN:
            raise UnknownInput(f"{registration.urn}: an unknown input; plan with preview=False")
        if isinstance(node, float) and node.is_integer():
            return int(node)
        return node

    return plain(registration.raw_inputs)


# -- generated projects ---------------------------------------------------------------------

REDIS = """\
services:
  cache:
    image: valkey/valkey:8
    x-defang-redis: true
{environment}
  web:
    environment:
      REDIS_URL: redis://cache:6379
"""
"""An override of the migrate example adding a managed cache (``x-defang-redis``), with
``environment`` given (``REDIS_PASSWORD``) or not."""
FLEET_JOBS = (45, 80, 110)
FLEET_SETTINGS: dict[int, dict[str, Any]] = {
    1: {"labels": {"com.example.team": "payments", "traefik.enable": "true"}, "user": "1000"},
    2: {"working_dir": "/srv/app", "read_only": True, "init": True, "tmpfs": ["/tmp"]},
    3: {"cap_add": ["SYS_PTRACE"], "cap_drop": ["NET_RAW"], "stop_grace_period": "45s"},
    4: {"sysctls": {"net.core.somaxconn": "1024"}, "ulimits": {"nofile": 8192}},
    5: {"tty": True, "stdin_open": True, "entrypoint": ["/entrypoint.sh"], "command": ["serve"]},
    6: {"platform": "linux/arm64", "deploy": {"replicas": 2}, "cpus": 2, "mem_limit": "4g"},
    7: {"healthcheck": {"test": ["CMD", "wget", "-qO-", "http://localhost:8080/ready"]}},
}
"""Container settings a few services add, so that each one a target renders is checked too."""


def fleet_compose(count: int) -> dict[str, Any]:
    """``count`` services: built and pulled images, published ports (the first on 80) and
    internal ones, named volumes, stack secrets in the environment and as a compose secret,
    health checks, a few jobs (``FLEET_JOBS``), and a managed postgres and redis."""
    services: dict[str, Any] = {
        "db": {
            "image": "postgres:16",
            "x-defang-postgres": True,
            "environment": {"POSTGRES_PASSWORD": "${POSTGRES_PASSWORD}"},
        },
        "cache": {
            "image": "valkey/valkey:8",
            "x-defang-redis": True,
            "environment": {"REDIS_PASSWORD": "${REDIS_PASSWORD}"},
        },
    }
    volumes: dict[str, Any] = {}
    for index in range(count - len(services)):
        service: dict[str, Any] = [
            {"build": "."},
            {"image": f"ghcr.io/acme/app-{index}:1.{index}"},
            {"build": {"context": ".", "dockerfile": "Dockerfile"}, "image": f"acme/app-{index}"},
        ][index % 3]
        service["environment"] = {
            "LOG_LEVEL": "info",
            **({"API_KEY": "${API_KEY}"} if index % 4 == 0 else {}),
            **({"DATABASE_URL": "postgres://app:${POSTGRES_PASSWORD}@db:5432/app"}
               if index % 5 == 0 else {}),
        }  # fmt: skip
        if index % 7 == 0:
            service["secrets"] = ["api-key"]
        if index % 10 == 0:
            volumes[f"data-{index}"] = {}
            service["volumes"] = [f"data-{index}:/var/lib/data"]
        if index in FLEET_JOBS:
            service |= {"restart": "no", "command": ["./migrate.sh"], "depends_on": ["db"]}
        else:
            published = 80 if index == 0 else 8000 + index
            service |= {"ports": [f"{published}:8080"]} if index < 40 else {"expose": ["8080"]}
            if index % 2 == 0:
                service["healthcheck"] = {
                    "test": ["CMD-SHELL", "curl -f http://localhost:8080/health"],
                    "interval": "10s",
                    "timeout": "3s",
                }
            if index % 9 == 0:
                service["depends_on"] = ["cache"]
        services[f"svc-{index:03d}"] = service | FLEET_SETTINGS.get(index, {})
    return {
        "name": "fleet",
        "services": services,
        "volumes": volumes,
        "secrets": {"api-key": {"environment": "API_KEY"}},
    }


def corpus_findings(
    sample: str, target: str, findings: Callable[[Callable[[], Plan]], tuple[Any, list[str]]]
) -> list[str] | BerthError:
    """What a contract's ``findings`` reports of one corpus sample's plan on ``target``, or
    the BerthError that refused the sample (tests/test_contract_corpus.py checks those)."""
    with contextlib.chdir(stubbed_corpus()):
        config, secret_keys = plan_config([sample], target=target)
        try:
            return findings(lambda: run_plan(config, secret_keys, preview=False))[1]
        except BerthError as error:
            return error


# -- the cloud schema checks (tests/test_aws_cfn.py, tests/test_digitalocean_schema.py,
# tests/test_gcp_schema.py) -------------------------------------------------------------------

SCHEMA_SECRETS = {
    "POSTGRES_PASSWORD": "pw-managed-0a1b2c3d",
    "REDIS_PASSWORD": "token-0123456789abcdef",
    "API_KEY": "key-4f3e2d1c0b",
}
"""The stack secrets the schema checks plan with."""
LONG_NAMES: dict[str, Any] = {
    "name": "acme-customer-facing-platform-backend-services-for-the-european-union",
    "services": {
        "payments-reconciliation-and-settlement-worker-for-european-markets": {
            "build": ".",
            "ports": ["8080:80"],
            "environment": {"SETTLEMENT_PROVIDER_API_KEY_FOR_THE_EUROPEAN_MARKETS": "${API_KEY}"},
            "healthcheck": {"test": ["CMD-SHELL", "curl -f http://localhost/health"]},
        },
        "customer-notifications-database-with-a-rather-long-descriptive-name": {
            "image": "postgres:16",
            "x-defang-postgres": True,
            "environment": {
                "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD}",
                "POSTGRES_USER": "notifications_service_account_with_a_long_name",
                "POSTGRES_DB": "customer_notifications_and_delivery_receipts",
            },
        },
        "session-cache-for-the-customer-facing-storefront-and-checkout": {
            "image": "redis:7",
            "x-defang-redis": True,
            "environment": {"REDIS_PASSWORD": "${REDIS_PASSWORD}"},
        },
        "inventory-search-engine-elasticsearch-cluster-node-for-the-catalogue": {
            "image": "elasticsearch:8.15.0",
            "ports": ["9200:9200"],
        },
        "nightly-ledger-export-to-the-data-warehouse-and-the-archive-storage": {
            "build": ".",
            "restart": "no",
            "command": ["./export.sh"],
            "environment": {"LEDGER_API_KEY": "${API_KEY}"},
        },
        "background-email-delivery-worker-for-transactional-notifications": {
            "image": "ghcr.io/acme/mailer:1.4",
            "environment": {"MAIL_API_KEY": "${API_KEY}"},
        },
    },
}
"""Names as long as compose allows and real projects have: a 70-character project, services
of 60 and more (each target adds its own settings with ``compose_with``)."""
ODD_NAMES: dict[str, Any] = {
    "name": "9lives_shop",
    "services": {
        "Orders_DB": {
            "image": "postgres:16",
            "x-defang-postgres": True,
            "environment": {
                "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD}",
                "POSTGRES_USER": "Shop.Admin",
                "POSTGRES_DB": "orders.v2",
            },
        },
        "my.cache": {"image": "valkey/valkey:8"},
        "Web_front": {
            "ports": ["80:80"],
            "entrypoint": ["/docker-entrypoint.sh"],
            "command": ["nginx", "-g", "daemon off;"],
            "deploy": {"replicas": 2},
            "depends_on": {"job_x.y": {"condition": "service_completed_successfully"}},
        },
        "job_x.y": {
            "image": "busybox",
            "restart": "on-failure:20",
            "entrypoint": ["/bin/sh", "-c"],
            "command": ["ls /in"],
            "environment": {"MODE": "check", "TOKEN": "${API_KEY}", "DB_HOST": "Orders_DB"},
        },
        "Search.Engine": {"image": "opensearchproject/opensearch:2", "ports": ["9200:9200"]},
    },
}
"""Names compose allows that clouds' names do not all take: capitals, underscores, dots,
digits first (each target adds its own services and settings with ``compose_with``)."""


def compose_with(base: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extras``: its top-level keys but ``services`` replaced, and each of
    its services' settings added to (or the service added). The services come in the order
    ``order`` in ``extras`` gives, else the base's, then the new ones."""
    services = {name: dict(service) for name, service in base["services"].items()}
    for name, settings in extras.get("services", {}).items():
        services[name] = services.get(name, {}) | settings
    order = extras.get("order", list(services))
    assert sorted(order) == sorted(services), "order names each service once"
    rest = {key: value for key, value in extras.items() if key not in ("services", "order")}
    return base | rest | {"services": {name: services[name] for name in order}}


def refusals(what: str, lines: list[str]) -> str:
    """A failure's message: ``what`` would refuse, and each finding on a line."""
    return f"{what}:\n" + "\n".join(lines)


def write_examples(
    folder: Path, documents: dict[str, dict[str, Any]], *, dockerfile: bool = True
) -> Path:
    """The migrate and release examples in ``folder``, the migrate example with a managed
    cache with and without a password, and each of ``documents`` (a compose file, by
    example name), with a Dockerfile if ``dockerfile``; the examples' folder."""
    migrate = folder / copy_example("migrate", folder)
    copy_example("release", folder)
    migrate.with_name("compose.redis-auth.yaml").write_text(
        REDIS.format(environment="    environment:\n      REDIS_PASSWORD: ${REDIS_PASSWORD}")
    )
    migrate.with_name("compose.redis.yaml").write_text(REDIS.format(environment=""))
    for name, document in documents.items():
        (folder / "examples" / name).mkdir()
        (folder / "examples" / name / "compose.yaml").write_text(json.dumps(document))
        if dockerfile:
            (folder / "examples" / name / "Dockerfile").write_text("FROM busybox\n")
    return folder / "examples"


def write_project(folder: Path, document: dict[str, Any]) -> None:
    """``document`` as ``folder``'s compose.yaml, with a Dockerfile for its builds."""
    (folder / "compose.yaml").write_text(json.dumps(document, indent=1))
    (folder / "Dockerfile").write_text("FROM busybox\n")


def assert_sample_accepted(result: list[str] | BerthError, report: Callable[..., str]) -> None:
    """A corpus sample's findings are none; a refused sample is skipped."""
    if isinstance(result, BerthError):
        pytest.skip(f"refused, as tests/test_contract_corpus.py checks: {result.message}")

    assert result == [], report(result)


def planned_samples(corpus: Callable[[str], list[str] | BerthError]) -> list[str]:
    """The corpus samples ``corpus`` checked (those not refused)."""
    return [sample for sample in SAMPLES if not isinstance(corpus(sample), BerthError)]


def example_plans(
    stack_options: Mapping[str, str], **more: tuple[tuple[str, ...], Mapping[str, str]]
) -> dict[str, tuple[tuple[str, ...], Mapping[str, str]]]:
    """The cases a schema contract plans: each an example's folder (before a slash), its
    compose files and stack settings; ``more`` adds a target's own."""
    return {
        "migrate": (("compose.yaml",), {}),
        "migrate/prod": (("compose.yaml", "compose.prod.yaml"), {}),
        "release": (("compose.yaml",), {}),
        "migrate/managed-postgres": (("compose.yaml", "compose.managed.yaml"), {}),
        "migrate/managed-redis-with-password": (("compose.yaml", "compose.redis-auth.yaml"), {}),
        "migrate/managed-redis-without-password": (("compose.yaml", "compose.redis.yaml"), {}),
        "migrate/managed-stores-and-stack-options": (
            ("compose.yaml", "compose.managed.yaml", "compose.redis-auth.yaml"),
            stack_options,
        ),
        **more,
        "long-names": (("compose.yaml",), {}),
        "odd-names": (("compose.yaml",), {}),
        "odd-names/stack-options": (("compose.yaml",), stack_options),
    }


def shape_paths(shape: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Every input a schema contract's shape maps, by its place (``template.containers.image``):
    a rule with ``fields`` maps an object's (or each list item's) own inputs."""
    paths: set[str] = set()
    for key, rule in shape.items():
        path = f"{prefix}.{key}" if prefix else key
        paths.add(path)
        if (fields := getattr(rule, "fields", None)) is not None:
            paths |= shape_paths(fields, path)
    return paths


def unused_inputs(requests: Iterable[Any], shapes: Mapping[str, Mapping[str, Any]]) -> dict:
    """The inputs each type's shape maps that none of ``requests`` used (each has
    ``registration`` and ``used``), by type: a contract's mapping no example checks."""
    used: dict[str, set[str]] = {type_: set() for type_ in shapes}
    for request in requests:
        used[request.registration.type] |= request.used
    unused = {type_: shape_paths(shape) - used[type_] for type_, shape in shapes.items()}
    return {type_: sorted(paths) for type_, paths in unused.items() if paths}
