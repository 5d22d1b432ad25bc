"""Children are named from the Project's name, and a stack deployed before keeps them all.

``fixtures/names_before.json`` holds every resource URN of the examples' plans, per target, as
Berth named them before names began with the Project's name (commit 46593eb). After the rename,
``pulumi up`` on such a stack must find each of them again: as the resource's URN, as one of its
explicit aliases, or as the alias the engine derives for a component's child from the
component's alias (``inheritedChildAlias`` and ``generateAliases`` in pulumi/pulumi's
``pkg/resource/deploy/step_generator.go``, modelled in ``_engine_aliases`` below).

One type is replaced on purpose since: an image pulumi-docker built (``docker:index/image:Image``)
is now built by pulumi-docker-build (``docker-build:index:Image``), a new resource that takes the
old one's place (docs/builds.md, "Moving a stack from pulumi-docker's builds"). The old image's
URN must be found again as that type's, at the same place (``REBUILT``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pulumi_docker as docker
import pytest
from pulumi import ResourceOptions

from berth.components.project import Project, ProjectArgs
from berth.components.target import available_targets
from berth.offline.plan import Plan, Registration, plan_config, run_plan
from tests.conftest import FIXTURES, ROOT

BEFORE = json.loads((FIXTURES / "names_before.json").read_text())["urns"]
CASES = {
    "migrate": ["examples/migrate/compose.yaml"],
    "migrate-prod": ["examples/migrate/compose.yaml", "examples/migrate/compose.prod.yaml"],
    "migrate-managed": [
        "examples/migrate/compose.yaml",
        "examples/migrate/compose.managed.yaml",
    ],
    "release": ["examples/release/compose.yaml"],
}
SECRETS = {"POSTGRES_PASSWORD": "plan-password-1"}
SCOPED = {"aws:servicediscovery/service:Service"}
"""Types whose names are scoped by a parent each Project owns (a Cloud Map namespace)."""
REBUILT = {"docker:index/image:Image": "docker-build:index:Image"}
"""Types recorded in the fixture that a type of another provider replaces (see above)."""


def _plan(files: list[str], target: str, program: Callable[[], Project] | None = None) -> Plan:
    config, secret_keys = plan_config(files, target, secrets=SECRETS)
    if program is None:
        return run_plan(config, secret_keys)
    return run_plan(config, secret_keys, program=program)


def _urn(parent: str, type_: str, name: str) -> str:
    """A URN as the mock engine makes them (its parent's own type before the child's)."""
    stack, project, qualified = parent.split("::")[:3] if parent else ("", "", "")
    prefix = f"{qualified.split('$')[-1]}$" if parent else ""
    return "::".join([stack, project, f"{prefix}{type_}", name])


def _rebuilt(urn: str) -> str:
    """``urn`` with a type ``REBUILT`` replaces (as the last type or a parent's) as its new one."""
    qualified, name = urn.rsplit("::", 1)
    head, types = qualified.rsplit("::", 1)
    types = "$".join(REBUILT.get(type_, type_) for type_ in types.split("$"))
    return f"{head}::{types}::{name}"


def _engine_aliases(plan: Plan, old: set[str]) -> dict[str, set[str]]:
    """Each resource's URN and the aliases the engine gives it, resolved as the engine does:
    explicit ones, then the one inherited from the alias its parent was matched by."""
    by_urn = {r.urn: r for r in plan.registrations}
    matched: dict[str, str] = {}
    claims: dict[str, set[str]] = {}
    for registration in plan.registrations:  # parents register before their children
        own = {registration.urn, *registration.aliases}
        parent = by_urn.get(registration.parent)
        if parent is not None and parent.urn in matched:
            own |= {_inherited(registration, parent, matched[parent.urn], urn) for urn in set(own)}
        claims[registration.urn] = own
        if found := own & old:
            matched[registration.urn] = found.pop()
    return claims


def _inherited(child: Registration, parent: Registration, parent_alias: str, alias: str) -> str:
    name = alias.rsplit("::", 1)[1]
    if name.startswith(parent.name):
        name = parent_alias.rsplit("::", 1)[1] + name[len(parent.name) :]
    return _urn(parent_alias, child.type, name)


@pytest.mark.parametrize("key", sorted(BEFORE))
def test_an_existing_stack_keeps_every_resource(key: str) -> None:
    case, target = key.split("|")
    recorded = set(BEFORE[key])
    old = {_rebuilt(urn) for urn in recorded}
    assert len(old) == len(recorded)
    assert any(urn != _rebuilt(urn) for urn in recorded), "the fixture holds images built before"
    plan = _plan(CASES[case], target)
    claims = _engine_aliases(plan, old)
    kept = set().union(*claims.values())
    assert sorted(old - kept) == [], "resources `pulumi up` would replace"
    ambiguous = [urn for urn in old if sum(urn in c for c in claims.values()) > 1]
    assert ambiguous == [], "old URNs two resources claim (the engine refuses that)"


@pytest.mark.parametrize("target", available_targets())
def test_every_child_is_named_from_the_project(target: str) -> None:
    plan = _plan(CASES["migrate"], target)
    project = next(r for r in plan.registrations if r.type == "berth:index:Project")
    strays = [r.urn for r in plan.registrations if r is not project]
    strays = [urn for urn in strays if not urn.rsplit("::", 1)[1].startswith(f"{project.name}-")]
    assert strays == []


@pytest.mark.parametrize("target", available_targets())
def test_two_projects_of_one_compose_file_live_in_one_program(target: str) -> None:
    """Blue and green: the same compose file twice, no URN and no cloud name in common."""

    def program() -> Project:
        files = [str(ROOT / "examples/release/compose.yaml")]
        blue = Project("blue", ProjectArgs.from_files(files, target))
        # Locally, green runs on a Docker engine of its own: on blue's, both would publish host
        # port 80, which is refused (tests/test_local_host_ports.py).
        engine = [docker.Provider("green", host="ssh://green.example")] if target == "local" else []
        Project("green", ProjectArgs.from_files(files, target), ResourceOptions(providers=engine))
        return blue

    plan = _plan(CASES["release"], target, program)
    by_project: dict[str, set[str]] = {"blue": set(), "green": set()}
    for registration in plan.registrations:
        named = isinstance(registration.inputs.get("name"), str)
        if registration.custom and named and registration.type not in SCOPED:
            owner = "blue" if "blue" in registration.urn.rsplit("::", 1)[1] else "green"
            by_project[owner].add(f"{registration.type} {registration.inputs['name']}")
    assert by_project["blue"] and by_project["green"]
    assert by_project["blue"] & by_project["green"] == set(), "cloud names both would claim"


def test_aliases_are_given_only_to_a_stack_that_may_hold_old_names() -> None:
    """A program of one's own starts fresh: two Projects aliasing one old name would make
    the engine refuse the deployment."""

    def program() -> Project:
        files = [str(ROOT / "examples/migrate/compose.yaml")]
        return Project("shop", ProjectArgs.from_files(files, "local"))

    plan = _plan(CASES["migrate"], "local", program)
    renamed = [
        alias
        for r in plan.registrations
        for alias in r.aliases
        if alias.rsplit("::", 1)[1] != r.name  # an SDK's own type aliases keep the name
    ]
    assert renamed == []
