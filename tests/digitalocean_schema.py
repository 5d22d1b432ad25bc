"""A plan's DigitalOcean resources as the API requests that create them, held to DigitalOcean's
own OpenAPI description of its API.

Why: the offline plan holds Berth to pulumi-digitalocean's types, which say an app spec's
component name or environment key is a string but not which strings App Platform takes.
DigitalOcean's public OpenAPI description (github.com/digitalocean/openapi; the request
schemas Berth needs are kept in tests/fixtures/digitalocean_openapi/, its README names the
commit) carries each request body: every field's type, enum, pattern, length and range, and
the fields it requires. Each planned pulumi-digitalocean resource becomes the request its
provider sends (terraform-provider-digitalocean through godo: ``do.App``'s ``spec`` is the
body of ``POST /v2/apps``, pulumi-digitalocean's camelCase input names mapped to the API's
snake_case fields, explicitly, as a few differ), and ``check`` validates it with ``jsonschema``
against the operation's request schema, ``$ref``s resolved; then finds every field the schema
does not declare (OpenAPI objects allow unknown fields, App Platform refuses them) or marks
read-only, and the rules the schema states in prose, each quoted where it is encoded.

The conversion is strict: a Pulumi type or input it has no mapping for raises ``Unmapped``, so a
field Berth starts to send cannot pass unchecked. godo omits a zero value (``omitempty``), so
an input of ``0``, ``""`` or ``false`` is left out of the request as the provider leaves it out.
Fields the provider itself always sends (godo's ``project_id: ""`` and ``rules: null`` on a
database cluster) are the provider's, not Berth's, and are not added.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import referencing
import referencing.exceptions
import referencing.jsonschema
import yaml

from berth.offline.plan import Plan, Registration
from tests.plans import UnknownInput, sent

if TYPE_CHECKING:
    from referencing._core import Resolver

OPENAPI = Path(__file__).parent / "fixtures" / "digitalocean_openapi"
RESOURCES = OPENAPI / "specification" / "resources"
SKIPPED = (
    "pulumi-python:dynamic/",
    "berth:index:",
    "docker:",
    "docker-build:",
    "pulumi:providers:",
    "random:",
)
"""Not DigitalOcean resources: Berth's dynamic resources and components, images built and
pushed with pulumi-docker-build (to the registry checked here), explicit providers."""
APP = "digitalocean:index/app:App"


class Unmapped(Exception):
    """A Pulumi type or input the converter has no API mapping for."""


# -- the OpenAPI description ----------------------------------------------------------------


@functools.cache
def registry() -> referencing.Registry:
    """Every kept file of the description as a schema resource at its own file URI, so that
    each relative ``$ref`` (``app_service_spec.yml``, ``parameters.yml#/registry_read_write``)
    resolves as in the repository."""
    resources = [
        (
            path.as_uri(),
            referencing.Resource.from_contents(
                yaml.safe_load(path.read_text()),
                default_specification=referencing.jsonschema.DRAFT202012,
            ),
        )
        for path in sorted(RESOURCES.rglob("*.yml"))
    ]
    return referencing.Registry().with_resources(resources)


def _uri(file: str) -> str:
    return (RESOURCES / file).as_uri()


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("int32")
def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@FORMATS.checks("int64")
def _int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


@functools.cache
def validator(file: str, pointer: str) -> jsonschema.protocols.Validator:
    """A validator of the schema at ``pointer`` in the operation ``file``; OpenAPI's own words
    (``nullable``, ``example``) are annotations to it, ``format``s are asserted."""
    schema = {"$ref": f"{_uri(file)}#{pointer}"}
    return jsonschema.Draft202012Validator(schema, registry=registry(), format_checker=FORMATS)


def _deref(node: Any, resolver: Resolver) -> tuple[Any, Resolver]:
    while isinstance(node, dict) and "$ref" in node:
        resolved = resolver.lookup(node["$ref"])
        node, resolver = resolved.contents, resolved.resolver
    return node, resolver


def _resolver(file: str) -> Resolver:
    return registry().resolver(base_uri=_uri(file))


def _lookup(file: str, pointer: str) -> tuple[Any, Resolver]:
    return _deref({"$ref": f"{_uri(file)}#{pointer}"}, _resolver(file))


Found = tuple[Any, "Resolver"]


def _properties(node: Any, resolver: Resolver) -> dict[str, Found]:
    """An object schema's properties, its ``allOf`` members' included."""
    node, resolver = _deref(node, resolver)
    found: dict[str, Found] = {}
    if isinstance(node, dict):
        for name, schema in node.get("properties", {}).items():
            found[name] = (schema, resolver)
        for member in node.get("allOf", ()):
            found |= _properties(member, resolver)
    return found


def _items(node: Any, resolver: Resolver) -> Found | None:
    node, resolver = _deref(node, resolver)
    if not isinstance(node, dict):
        return None
    if "items" in node:
        return node["items"], resolver
    return next(
        (found for member in node.get("allOf", ()) if (found := _items(member, resolver))), None
    )


def _read_only(node: Any, resolver: Resolver) -> bool:
    node, resolver = _deref(node, resolver)
    return isinstance(node, dict) and (
        node.get("readOnly") is True
        or any(_read_only(member, resolver) for member in node.get("allOf", ()))
    )


def _undeclared(node: Any, resolver: Resolver, value: Any, where: str) -> Iterator:
    """(rule, where, why) for each field of ``value`` its schema does not declare, or declares
    read-only: OpenAPI's objects take unknown fields, App Platform's parser does not."""
    if isinstance(value, dict):
        properties = _properties(node, resolver)
        for key, item in value.items():
            if key not in properties:
                yield "DO-FIELD", f"{where}.{key}", "not a field of the API's schema"
                continue
            schema, inner = properties[key]
            if _read_only(schema, inner):
                yield "DO-READONLY", f"{where}.{key}", "a read-only field: the API sets it"
            yield from _undeclared(schema, inner, item, f"{where}.{key}")
    elif isinstance(value, list):
        items = _items(node, resolver)
        for index, item in enumerate(value):
            if items is not None:
                yield from _undeclared(*items, item, f"{where}.{index}")


# -- how pulumi-digitalocean's inputs become a request --------------------------------------


@dataclass(frozen=True)
class Field:
    """Where an input goes in the request body: the field ``to``, with ``fields`` for an
    object's (or each list item's) own inputs."""

    to: str
    fields: Shape | None = None


@dataclass(frozen=True)
class Param:
    """An input that is a path or query parameter of the operation, not a body field."""

    name: str


@dataclass(frozen=True)
class ProviderOnly:
    """An input the provider keeps for itself: the API never receives it."""

    why: str


Shape = Mapping[str, "Field | Param | ProviderOnly"]


def snake(keys: str) -> dict[str, Field]:
    """Inputs (space-separated, camelCase) whose API field is the same name in snake_case."""
    return {
        key: Field("".join(f"_{c.lower()}" if c.isupper() else c for c in key))
        for key in keys.split()
    }


KEEP_EMPTY = frozenset({"name", "key", "prefix"})
"""Fields godo sends even when empty (``json:"name"``, ``json:"key"``; a path prefix is a
pointer, sent when set): every other field is ``omitempty``."""


def _omitted(key: str, value: Any) -> bool:
    return key not in KEEP_EMPTY and (value in (0, "", False, None) or value in ([], {}))


@dataclass(frozen=True)
class _At:
    """Where a conversion is: for errors (``where``, list indices included), for coverage
    (``path``, the input's place in the shape), and what it collects."""

    where: str
    path: str
    used: set[str]
    params: dict[str, Any]

    def at(self, key: str) -> _At:
        path = f"{self.path}.{key}" if self.path else key
        return _At(f"{self.where}.{key}", path, self.used, self.params)

    def item(self, index: int) -> _At:
        return _At(f"{self.where}.{index}", self.path, self.used, self.params)


def _body(values: Mapping[str, Any], shape: Shape, at: _At) -> dict[str, Any]:
    """``values`` as body fields (parameters into ``at.params``); an input ``shape`` does not
    know raises."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        rule = shape.get(key)
        here = at.at(key)
        if rule is None:
            raise Unmapped(f"{here.where}: no API mapping for input {key!r}")
        here.used.add(here.path)
        if isinstance(rule, ProviderOnly):
            continue
        if isinstance(rule, Param):
            here.params[rule.name] = value
            continue
        converted = _field(value, rule, here)
        if not _omitted(rule.to, converted):
            out[rule.to] = converted
    return out


def _field(value: Any, rule: Field, at: _At) -> Any:
    if rule.fields is None:
        return value
    if isinstance(value, list):
        return [_body(item, rule.fields, at.item(index)) for index, item in enumerate(value)]
    return _body(value, rule.fields, at)


# -- the app spec (terraform-provider-digitalocean digitalocean/app/app_spec.go, godo's
# apps.gen.go): pulumi flattens the provider's one-item blocks to objects and names its
# repeated blocks in the plural, as the API does (``service`` -> ``services``) --------------

ENV = snake("key value scope type")
IMAGE = snake("registryType registry repository tag digest")
HEALTH_CHECK = snake(
    "port httpPath initialDelaySeconds periodSeconds timeoutSeconds failureThreshold"
)
COMPONENT: Shape = {
    **snake("name runCommand instanceSizeSlug"),
    "image": Field("image", IMAGE),
    "envs": Field("envs", ENV),
}
SPEC: Shape = {
    **snake("name region"),
    "services": Field(
        "services",
        {
            **COMPONENT,
            **snake("instanceCount httpPort internalPorts"),
            "healthCheck": Field("health_check", HEALTH_CHECK),
        },
    ),
    "workers": Field("workers", {**COMPONENT, **snake("instanceCount")}),
    "jobs": Field("jobs", {**COMPONENT, **snake("kind")}),
    "databases": Field(
        "databases", snake("name engine version production clusterName dbName dbUser")
    ),
    "ingress": Field(
        "ingress",
        {
            "rules": Field(
                "rules",
                {
                    "component": Field("component", snake("name")),
                    "match": Field("match", {"path": Field("path", snake("prefix"))}),
                },
            )
        },
    ),
}


@dataclass(frozen=True)
class Operation:
    """A Pulumi type as the API operation its provider calls to create it: the operation's
    file in the description, how the inputs map, and where its request schema is."""

    file: str
    shape: Shape
    body: str | None = "/requestBody/content/application~1json/schema"
    """The request schema's JSON pointer in ``file``; None for an operation without a body."""


OPERATIONS: dict[str, Operation] = {
    # POST /v2/apps {"spec": ...} (godo Apps.Create; an update PUTs the same spec)
    APP: Operation("apps/apps_create.yml", {"spec": Field("spec", SPEC)}),
    # POST /v2/registry (godo Registry.Create): held to the newer description of the same
    # create, POST /v2/registries (_registry_tier says why)
    "digitalocean:index/containerRegistry:ContainerRegistry": Operation(
        "registry/registries_create.yml", snake("name subscriptionTierSlug region")
    ),
    # GET /v2/registry/docker-credentials?read_write=... (after GET /v2/registries/{name})
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials": (
        Operation(
            "registry/registry_get_dockerCredentials.yml",
            {
                "write": Param("read_write"),
                "registryName": ProviderOnly(
                    "read by the provider to look the registry up; the credentials are the "
                    "account's"
                ),
            },
            body=None,
        )
    ),
    # POST /v2/databases (godo Databases.Create: node_count is num_nodes)
    "digitalocean:index/databaseCluster:DatabaseCluster": Operation(
        "databases/databases_create_cluster.yml",
        {**snake("name engine version size region"), "nodeCount": Field("num_nodes")},
    ),
    # POST /v2/databases/{uuid}/dbs and .../users
    "digitalocean:index/databaseDb:DatabaseDb": Operation(
        "databases/databases_add.yml",
        {"clusterId": Param("database_cluster_uuid"), **snake("name")},
    ),
    "digitalocean:index/databaseUser:DatabaseUser": Operation(
        "databases/databases_add_user.yml",
        {"clusterId": Param("database_cluster_uuid"), **snake("name")},
    ),
    # PUT /v2/databases/{uuid}/firewall {"rules": [...]}
    "digitalocean:index/databaseFirewall:DatabaseFirewall": Operation(
        "databases/databases_update_firewall_rules.yml",
        {"clusterId": Param("database_cluster_uuid"), "rules": Field("rules", snake("type value"))},
    ),
}


@dataclass
class Request:
    """One resource's create request: its parameters and its body."""

    registration: Registration
    operation: Operation
    params: dict[str, Any]
    body: dict[str, Any]
    used: set[str] = field(default_factory=set)
    """The inputs of the shape this request used (``tests.plans.shape_paths``)."""

    @property
    def label(self) -> str:
        return f"{self.registration.type} {self.registration.name}"


def requests(plan: Plan) -> list[Request]:
    """The plan's DigitalOcean resources as their create requests. Raises ``Unmapped`` for
    a type or input it cannot map, and for an input the plan does not know (a preview's)."""
    made = []
    for registration in plan.registrations:
        if not registration.custom or registration.type.startswith(SKIPPED):
            continue
        operation = OPERATIONS.get(registration.type)
        if operation is None:
            raise Unmapped(f"{registration.type} ({registration.name}): no API mapping")
        try:
            given = sent(registration)
        except UnknownInput as error:
            raise Unmapped(str(error)) from None
        at = _At(registration.name, "", set(), {})
        body = _body(given, operation.shape, at)
        made.append(Request(registration, operation, at.params, body, at.used))
    return made


# -- the check ------------------------------------------------------------------------------

RULE_OF = {
    "pattern": "DO-PATTERN",
    "enum": "DO-ENUM",
    "oneOf": "DO-ENUM",
    "type": "DO-TYPE",
    "maxLength": "DO-LENGTH",
    "minLength": "DO-LENGTH",
    "minimum": "DO-RANGE",
    "maximum": "DO-RANGE",
    "format": "DO-FORMAT",
    "required": "DO-REQUIRED",
}
"""The finding's rule, by the JSON Schema keyword that refused a value."""


def check(plan: Plan) -> list[str]:
    """What DigitalOcean's API would refuse in the plan's resources, one line each: the rule,
    the resource, where in its request, and why. Raises ``Unmapped`` for what it cannot map."""
    found: list[str] = []
    for request in requests(plan):
        found += check_request(request)
    return sorted(set(found))


def check_request(request: Request) -> list[str]:
    found: list[str] = []

    def find(rule: str, where: str, message: str) -> None:
        found.append(f"{rule} {request.label} {where}: {message}")

    operation = request.operation
    _check_params(request, find)
    if operation.body is None:
        if request.body:
            find("DO-FIELD", "body", f"{operation.file} takes no body")
    else:
        for error in validator(operation.file, operation.body).iter_errors(request.body):
            where = ".".join(["body", *map(str, error.absolute_path)])
            find(RULE_OF.get(str(error.validator), "DO-SCHEMA"), where, error.message[:300])
        schema, resolver = _lookup(operation.file, operation.body)
        for rule, where, why in _undeclared(schema, resolver, request.body, "body"):
            find(rule, where, why)
    for rule in RULES.get(request.registration.type, ()):
        rule(request, find)
    return found


Find = Callable[[str, str, str], None]


def _check_params(request: Request, find: Find) -> None:
    """Query parameters against the operation's. A path parameter is another resource's id,
    which the offline plan makes up (``<name>-id``): not checked (nor kept in the fixture)."""
    operation = yaml.safe_load((RESOURCES / request.operation.file).read_text())
    declared: dict[str, Found] = {}
    resolver = _resolver(request.operation.file)
    for parameter in operation.get("parameters", ()):
        try:
            node, inner = _deref(parameter, resolver)
        except referencing.exceptions.Unresolvable:
            continue  # a header, or a path parameter: their files are not kept
        declared[node["name"]] = (node, inner)
    for name, value in request.params.items():
        if name not in declared:
            if not name.endswith("_uuid"):
                find("DO-FIELD", f"params.{name}", "not a parameter of the operation")
            continue
        node, inner = declared[name]
        checker = jsonschema.Draft202012Validator(
            node["schema"], registry=registry(), format_checker=FORMATS
        )
        for error in checker.iter_errors(value):
            find(RULE_OF.get(str(error.validator), "DO-SCHEMA"), f"params.{name}", error.message)


# -- the rules the description states in prose ----------------------------------------------


def _components(spec: Mapping[str, Any]) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    for section in ("services", "static_sites", "workers", "jobs", "functions", "databases"):
        for index, component in enumerate(spec.get(section, ())):
            yield section, index, component


def _unique_names(request: Request, find: Find) -> None:
    """app_component_base.yml, name: "Must be unique across all components within the same
    app."; app_database_spec.yml, name: "The name must be unique across all components within
    the same app"."""
    spec = request.body.get("spec", {})
    seen: dict[str, str] = {}
    for section, index, component in _components(spec):
        where = f"body.spec.{section}.{index}.name"
        name = component.get("name")
        if name in seen:
            find("DO-UNIQUE", where, f"{name!r} also names {seen[name]}")
        seen.setdefault(name, where)


def _images(request: Request, find: Find) -> None:
    """apps_image_source_spec.yml: registry "Must be left empty for the `DOCR` registry type";
    tag "Cannot be specified if digest is provided"; deploy_on_push "Can only be used for
    images hosted in DOCR and can only be used with an image tag, not a specific digest"."""
    for section, index, component in _components(request.body.get("spec", {})):
        image = component.get("image")
        if not image:
            continue
        where = f"body.spec.{section}.{index}.image"
        if image.get("registry_type") == "DOCR" and image.get("registry"):
            find("DO-RULE", f"{where}.registry", "must be left empty for DOCR")
        if image.get("tag") and image.get("digest"):
            find("DO-RULE", f"{where}.tag", "cannot be specified if digest is provided")
        push = image.get("deploy_on_push", {}).get("enabled")
        if push and (image.get("registry_type") != "DOCR" or image.get("digest")):
            find("DO-RULE", f"{where}.deploy_on_push", "only for a DOCR image by tag")


def _databases(request: Request, find: Find) -> None:
    """app_database_spec.yml, cluster_name: "This is required for production databases."."""
    for index, database in enumerate(request.body.get("spec", {}).get("databases", ())):
        if database.get("production") and not database.get("cluster_name"):
            find("DO-RULE", f"body.spec.databases.{index}", "production, without cluster_name")


def _ingress(request: Request, find: Find) -> None:
    """app_ingress_spec_rule_routing_component.yml: "The component to route to" (a service,
    static site or function of the app: the components that serve HTTP)."""
    spec = request.body.get("spec", {})
    routable = {
        c.get("name")
        for section, _, c in _components(spec)
        if section in ("services", "static_sites", "functions")
    }
    for index, rule in enumerate(spec.get("ingress", {}).get("rules", ())):
        name = rule.get("component", {}).get("name")
        if name is not None and name not in routable:
            where = f"body.spec.ingress.rules.{index}.component.name"
            find("DO-RULE", where, f"{name!r} is no service, static site or function of the app")


def _scaling(request: Request, find: Find) -> None:
    """app_component_instance_base.yml, instance_count: "Must not be set if autoscaling is
    used."."""
    for section, index, component in _components(request.body.get("spec", {})):
        if "instance_count" in component and "autoscaling" in component:
            find("DO-RULE", f"body.spec.{section}.{index}", "instance_count with autoscaling")


def _cluster_engine(request: Request, find: Find) -> None:
    """databases_create_cluster.yml: "Caching cluster creates are no longer supported as of
    2025-04-30T00:00:00Z." (``redis``; ``valkey`` is its successor)."""
    if request.body.get("engine") == "redis":
        find("DO-RULE", "body.engine", "no new Caching (redis) clusters since 2025-04-30")


def _registry_tier(request: Request, find: Find) -> None:
    """The provider creates a registry with ``POST /v2/registry`` (registry/registry_create.yml,
    its schema of 2022 listing five regions); the request is validated against the description
    of the newer ``POST /v2/registries`` (registries_create.yml, 2025: the same name and tier
    rules, and eight regions, sfo2, blr1 and syd1 besides, where registries are created today).
    What only the older operation asks is checked here: its schema's ``required: [name,
    subscription_tier_slug]``."""
    if not request.body.get("subscription_tier_slug"):
        find("DO-REQUIRED", "body.subscription_tier_slug", "POST /v2/registry requires a tier")


RULES: dict[str, tuple[Callable[[Request, Find], None], ...]] = {
    APP: (_unique_names, _images, _databases, _ingress, _scaling),
    "digitalocean:index/databaseCluster:DatabaseCluster": (_cluster_engine,),
    "digitalocean:index/containerRegistry:ContainerRegistry": (_registry_tier,),
}
