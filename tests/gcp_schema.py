"""A plan's Google Cloud resources as the API requests that create them, held to Google's own
API discovery documents.

Why: the offline plan holds Berth to pulumi-gcp's types, which say a name is a string but not
which strings Google takes. Google's API discovery documents (the ones google-api-python-client
ships, pinned in requirements-dev.txt) carry each API's request bodies: every field's type,
format and enum, the fields a method requires, patterns of names and URL parameters, and, in
its description, what the field accepts. Each planned pulumi-gcp resource becomes the request
its provider sends (terraform-provider-google: the create method, its URL parameters and its
body, pulumi-gcp's input names mapped to the API's field names), and ``check`` holds it to the
document, then to the rules Google documents in prose (names, labels, sizes, combinations),
each quoted where it is encoded.

The conversion is strict: a Pulumi type or input it has no mapping for raises ``Unmapped``, so
a field Berth starts to send cannot pass unchecked; an input Google never receives (a guard
Terraform keeps for itself) is listed as ``TerraformOnly``, with why. Values that are another
resource's id or output become what that resource's provider reports (``projects/p/global/
networks/n``, not the offline plan's ``<name>-id``); names pulumi-gcp generates (autonaming)
are generated as it does, so their rules are checked too.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import googleapiclient

from berth.offline.plan import Plan, Registration
from berth.providers.gcp import PLAN_PROJECT, PLAN_REGION
from tests.plans import Created, UnknownInput, sent

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
SKIPPED = (
    "pulumi-python:dynamic/",
    "berth:index:",
    "docker:",
    "docker-build:",
    "pulumi:providers:",
    "random:",
)
"""Not Google Cloud resources: Berth's dynamic resources (job executions, readiness, pinned
digests, which call Google's APIs themselves, with tests of their own), its components, images
built with pulumi-docker-build, explicit providers."""
LONGEST_PROJECT_ID = 30
"""Resource Manager: a project ID "must be 6 to 30 lowercase ASCII letters, digits, or
hyphens" (cloudresourcemanager.v3.json, Project.projectId). The plan deploys to ``berth-plan``;
a name whose rule counts the project ID is checked against the longest one, since Berth
deploys to whichever project the stack sets."""


class Unmapped(Exception):
    """A Pulumi type or input the converter has no API mapping for."""


# -- the discovery documents ----------------------------------------------------------------


@functools.cache
def discovery(api: str) -> dict[str, Any]:
    """A discovery document, ``compute.v1``, as google-api-python-client ships it."""
    return json.loads((DOCUMENTS / f"{api}.json").read_text())


@functools.cache
def methods(api: str) -> dict[str, dict[str, Any]]:
    """The document's methods, by id (``compute.instances.insert``)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(resources: Mapping[str, Any]) -> None:
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                found[method["id"]] = method
            walk(resource.get("resources", {}))

    walk(discovery(api).get("resources", {}))
    return found


# -- how pulumi-gcp's inputs become a request ---------------------------------------------

Inputs = Mapping[str, Any]
Convert = Callable[[Any, Inputs], Any]
"""A value as the API takes it, given the resource's inputs (a machine type needs its zone)."""


@dataclass(frozen=True)
class Field:
    """Where an input goes in the request body: the field ``to`` (a dotted path into nested
    objects; empty, merged into its parent), with ``fields`` for an object's (or each list
    item's) own inputs, then ``convert``."""

    to: str
    fields: Shape | None = None
    convert: Convert | None = None


@dataclass(frozen=True)
class Param:
    """An input that is a URL parameter of the method, not a body field (``Spec.params``
    composes those the method names, such as ``parent``)."""

    name: str
    convert: Convert | None = None


@dataclass(frozen=True)
class TerraformOnly:
    """An input the provider keeps for itself: Google never receives it."""

    why: str


Shape = Mapping[str, "Field | Param | TerraformOnly"]


def same(keys: str) -> dict[str, Field]:
    """Inputs (space-separated) whose API field has the same name."""
    return {key: Field(key) for key in keys.split()}


def listed(value: Any, _: Inputs) -> list[Any]:
    """pulumi-gcp's single object (a Terraform block of at most one), where the API has a list."""
    return value if isinstance(value, list) else [value]


def _put(out: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        out = out.setdefault(part, {})
    if isinstance(value, dict) and isinstance(out.get(last), dict):
        out[last].update(value)
    elif isinstance(value, list) and isinstance(out.get(last), list):
        out[last].extend(value)
    else:
        out[last] = value


@dataclass(frozen=True)
class _At:
    """Where a conversion is: for errors (``where``, list indices included), for coverage
    (``path``, the input's place in the shape), and the resource's inputs."""

    where: str
    path: str
    inputs: Inputs
    used: set[str]

    def at(self, key: str) -> _At:
        path = f"{self.path}.{key}" if self.path else key
        return _At(f"{self.where}.{key}", path, self.inputs, self.used)

    def item(self, index: int) -> _At:
        return _At(f"{self.where}.{index}", self.path, self.inputs, self.used)


def _body(values: Mapping[str, Any], shape: Shape, at: _At) -> dict[str, Any]:
    """``values`` as body fields; an input ``shape`` does not know raises."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        rule = shape.get(key)
        here = at.at(key)
        if rule is None or isinstance(rule, Param):
            raise Unmapped(f"{here.where}: no API mapping for input {key!r}")
        here.used.add(here.path)
        if isinstance(rule, TerraformOnly) or value is None:
            continue
        converted = _field(value, rule, here)
        if rule.to:
            _put(out, rule.to, converted)
        else:
            for name, item in converted.items():
                _put(out, name, item)
    return out


def _field(value: Any, rule: Field, at: _At) -> Any:
    if rule.fields is not None:
        if isinstance(value, list):
            value = [_body(item, rule.fields, at.item(index)) for index, item in enumerate(value)]
        else:
            value = _body(value, rule.fields, at)
    return rule.convert(value, at.inputs) if rule.convert else value


# -- value conversions ----------------------------------------------------------------------


def zonal(kind: str) -> Convert:
    """A compute resource of the instance's zone by name, as the provider expands it
    (``zones/<zone>/machineTypes/e2-small``)."""
    return lambda value, inputs: (
        value if "/" in value else f"zones/{inputs.get('zone')}/{kind}/{value}"
    )


def scopes(value: list[str], _: Inputs) -> list[str]:
    """OAuth scopes, the aliases Terraform accepts (``cloud-platform``) expanded as it does
    (``canonicalizeServiceScope``)."""
    return [s if "/" in s else f"https://www.googleapis.com/auth/{s}" for s in value]


def metadata(value: Mapping[str, str], _: Inputs) -> dict[str, Any]:
    """An instance's metadata map, as Compute Engine's list of key/value items."""
    return {"items": [{"key": key, "value": value[key]} for key in sorted(value)]}


def tag_items(value: list[str], _: Inputs) -> dict[str, Any]:
    return {"items": value}


def boot_disk(value: dict[str, Any], _: Inputs) -> list[dict[str, Any]]:
    """Terraform's ``boot_disk``: the instance's first disk, deleted with it (its default)."""
    return [{"boot": True, "autoDelete": True, **value}]


def one_to_one_nat(value: list[dict[str, Any]], _: Inputs) -> list[dict[str, Any]]:
    """Terraform's ``access_config``: the one type Compute Engine takes, always sent."""
    return [{"type": "ONE_TO_ONE_NAT", **config} for config in value]


def uniform_access(value: bool, _: Inputs) -> dict[str, Any]:
    return {"uniformBucketLevelAccess": {"enabled": value}}


def cleanup_policies(value: list[dict[str, Any]], _: Inputs) -> dict[str, Any]:
    """Terraform's list of policies, each with its ``id``: the API's map by that id."""
    return {policy["id"]: policy for policy in value}


def secret_data(value: str, _: Inputs) -> str:
    """Secret Manager takes the payload's bytes base64-encoded (format ``byte``)."""
    return base64.b64encode(value.encode()).decode()


def replication(value: dict[str, Any], _: Inputs) -> dict[str, Any]:
    """Terraform's ``replication { auto {} }``: the API's ``automatic``."""
    if set(value) != {"auto"}:
        raise Unmapped(f"replication {value}: only auto is mapped")
    return {"automatic": value["auto"]}


def scheduler_job_name(value: str, inputs: Inputs) -> str:
    """A Cloud Scheduler job's ``name``, as the provider expands it
    (``projects/{{project}}/locations/{{region}}/jobs/{{name}}``)."""
    project, region = inputs.get("project", PLAN_PROJECT), inputs.get("region", PLAN_REGION)
    return f"projects/{project}/locations/{region}/jobs/{value}"


def without_empty(value: dict[str, Any], _: Inputs) -> dict[str, Any]:
    """An object whose empty values the provider does not send (``IsEmptyValue``: ``0``,
    ``""``): a ``retry_config`` of ``retry_count = 0`` sends no ``retryCount``."""
    return {key: item for key, item in value.items() if item not in (0, "", None)}


def binding() -> Shape:
    """An IAM member resource's role and member, as one binding (``Spec.finish`` puts it in
    the policy ``setIamPolicy`` sends)."""
    return {
        "role": Field("binding.role"),
        "member": Field("binding.members", convert=lambda v, _: [v]),
    }


def in_policy(body: dict[str, Any]) -> dict[str, Any]:
    """A binding in the request of ``setIamPolicy`` (``SetIamPolicyRequest.policy``)."""
    return {"policy": {"bindings": [body.pop("binding")]}, **body}


def as_policy(body: dict[str, Any]) -> dict[str, Any]:
    """A binding in the policy Cloud Storage's ``setIamPolicy`` takes as its body."""
    return {"bindings": [body.pop("binding")], **body}


def in_router(body: dict[str, Any]) -> dict[str, Any]:
    """A NAT is one of its router's ``nats``: the provider patches the router."""
    return {"nats": [body]}


def in_account(body: dict[str, Any]) -> dict[str, Any]:
    """``CreateServiceAccountRequest``: the ID beside the account it creates."""
    account_id = body.pop("accountId", None)
    return {"accountId": account_id, "serviceAccount": body}


def disks_boot_first(body: dict[str, Any]) -> dict[str, Any]:
    if "disks" in body:
        body["disks"].sort(key=lambda disk: not disk.get("boot"))
    return body


# -- each Pulumi type -----------------------------------------------------------------------

LIVENESS: Shape = {
    **same("initialDelaySeconds timeoutSeconds periodSeconds failureThreshold"),
    "httpGet": Field("httpGet", same("path port")),
}
STARTUP: Shape = {**LIVENESS, "tcpSocket": Field("tcpSocket", same("port"))}
"""A probe from a health check: HTTP when it fetches a URL of the container; else TCP, at
startup only (providers/gcp/cloudrun.py)."""
CONTAINER: Shape = {
    **same("image args workingDir"),
    "commands": Field("command"),
    "envs": Field(
        "env",
        {
            **same("name value"),
            "valueSource": Field(
                "valueSource", {"secretKeyRef": Field("secretKeyRef", same("secret version"))}
            ),
        },
    ),
    "resources": Field("resources", same("limits")),
    "volumeMounts": Field("volumeMounts", same("name mountPath")),
}
"""A Cloud Run container (providers/gcp/cloudrun.py), as a job's task and a worker pool run it."""
SERVING: Shape = {
    **CONTAINER,
    "ports": Field("ports", same("containerPort"), listed),
    "startupProbe": Field("startupProbe", STARTUP),
    "livenessProbe": Field("livenessProbe", LIVENESS),
}
"""A Cloud Run service's container: its port, and probes from the health check."""
VOLUME: Shape = {
    **same("name"),
    "secret": Field(
        "secret", {**same("secret"), "items": Field("items", same("path version mode"))}
    ),
    "emptyDir": Field("emptyDir", same("medium")),
    "gcs": Field("gcs", same("bucket readOnly")),
}
VPC_ACCESS: Shape = {
    **same("egress"),
    "networkInterfaces": Field("networkInterfaces", same("subnetwork")),
}


def workload(container: Shape) -> Shape:
    """What a Cloud Run revision (a service's, a pool's) or task runs, as its own account."""
    return {
        "containers": Field("containers", container),
        "volumes": Field("volumes", VOLUME),
        "vpcAccess": Field("vpcAccess", VPC_ACCESS),
        **same("serviceAccount"),
    }


CLOUD_RUN_DELETION = TerraformOnly(
    "Terraform's guard against deleting the resource (the provider refuses a destroy while it "
    "is true); run.v2.json's Service, Job and WorkerPool have no such field"
)
PLACED: Shape = {
    "project": Param("project"),
    "location": Param("location"),
    "deletionProtection": CLOUD_RUN_DELETION,
}
MEMBER_PLACED: Shape = {"project": Param("project"), "location": Param("location")}


def compute_id(path: str) -> Callable[[Inputs], str]:
    """The provider's ID of a compute resource: ``projects/{project}/`` and ``path``."""
    return lambda inputs: f"projects/{inputs.get('project', PLAN_PROJECT)}/" + path.format(**inputs)


COMPUTE_LINK = "https://www.googleapis.com/compute/v1/"


@dataclass(frozen=True)
class Spec:
    """A Pulumi type as the request that creates it: the discovery document, the method, how
    its inputs map, and how other resources refer to it."""

    api: str
    method: str
    shape: Shape
    params: Mapping[str, str] = field(default_factory=dict)
    """URL parameters composed of ``Param`` inputs: ``{"parent":
    "projects/{project}/locations/{location}"}`` (the plan's project and region stand in for
    those the provider fills in)."""
    finish: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """The body as the method takes it, from the mapped fields."""
    id: Callable[[Inputs], str] | None = None
    """The ID the provider reports (``d.SetId``), from the inputs."""
    outputs: Mapping[str, Callable[[Inputs], str]] = field(default_factory=dict)
    """Outputs others use whose plan value is not the provider's (a compute ``selfLink``)."""
    autoname: str | None = None
    """The input pulumi-gcp generates when the program gives none (``SetAutonaming(255,
    "-")``, provider/resources.go: every ``name``): the resource's name, ``-``, 7 hex."""


SPECS: dict[str, Spec] = {
    # -- Compute Engine ------------------------------------------------------------------
    "gcp:compute/network:Network": Spec(
        "compute.v1",
        "compute.networks.insert",
        {"project": Param("project"), **same("name autoCreateSubnetworks")},
        id=compute_id("global/networks/{name}"),
    ),
    "gcp:compute/subnetwork:Subnetwork": Spec(
        "compute.v1",
        "compute.subnetworks.insert",
        {
            "project": Param("project"),
            "region": Param("region"),
            **same("name network ipCidrRange privateIpGoogleAccess"),
        },
        id=compute_id("regions/{region}/subnetworks/{name}"),
    ),
    "gcp:compute/firewall:Firewall": Spec(
        "compute.v1",
        "compute.firewalls.insert",
        {
            "project": Param("project"),
            **same("name network direction sourceRanges targetTags"),
            "allows": Field("allowed", {"protocol": Field("IPProtocol"), **same("ports")}),
        },
        id=compute_id("global/firewalls/{name}"),
    ),
    "gcp:compute/router:Router": Spec(
        "compute.v1",
        "compute.routers.insert",
        {"project": Param("project"), "region": Param("region"), **same("name network")},
        id=compute_id("regions/{region}/routers/{name}"),
    ),
    "gcp:compute/routerNat:RouterNat": Spec(
        "compute.v1",
        "compute.routers.patch",
        {
            "project": Param("project"),
            "region": Param("region"),
            "router": Param("router"),
            **same("name natIpAllocateOption sourceSubnetworkIpRangesToNat"),
        },
        finish=in_router,
        id=lambda i: f"{i.get('project')}/{i.get('region')}/{i.get('router')}/{i.get('name')}",
    ),
    "gcp:compute/address:Address": Spec(
        "compute.v1",
        "compute.addresses.insert",
        {
            "project": Param("project"),
            "region": Param("region"),
            **same("name addressType subnetwork"),
        },
        id=compute_id("regions/{region}/addresses/{name}"),
    ),
    "gcp:compute/globalAddress:GlobalAddress": Spec(
        "compute.v1",
        "compute.globalAddresses.insert",
        {"project": Param("project"), **same("name purpose addressType prefixLength network")},
        id=compute_id("global/addresses/{name}"),
    ),
    "gcp:compute/disk:Disk": Spec(
        "compute.v1",
        "compute.disks.insert",
        {
            "project": Param("project"),
            "zone": Param("zone"),
            **same("name"),
            "size": Field("sizeGb"),
            "type": Field("type", convert=zonal("diskTypes")),
        },
        id=compute_id("zones/{zone}/disks/{name}"),
        outputs={"selfLink": lambda i: COMPUTE_LINK + compute_id("zones/{zone}/disks/{name}")(i)},
    ),
    "gcp:compute/instance:Instance": Spec(
        "compute.v1",
        "compute.instances.insert",
        {
            "project": Param("project"),
            "zone": Param("zone"),
            **same("name"),
            "machineType": Field("machineType", convert=zonal("machineTypes")),
            "bootDisk": Field(
                "disks",
                {"initializeParams": Field("initializeParams", {"image": Field("sourceImage")})},
                boot_disk,
            ),
            "attachedDisks": Field("disks", same("source deviceName")),
            "networkInterfaces": Field(
                "networkInterfaces",
                {
                    **same("subnetwork"),
                    "networkIp": Field("networkIP"),
                    "accessConfigs": Field(
                        "accessConfigs", {"natIp": Field("natIP")}, one_to_one_nat
                    ),
                },
            ),
            "serviceAccount": Field(
                "serviceAccounts",
                {**same("email"), "scopes": Field("scopes", convert=scopes)},
                listed,
            ),
            "metadata": Field("metadata", convert=metadata),
            "tags": Field("tags", convert=tag_items),
            "shieldedInstanceConfig": Field("shieldedInstanceConfig", same("enableSecureBoot")),
            "allowStoppingForUpdate": TerraformOnly(
                "how Terraform updates a running instance (stop, update, start); no API field"
            ),
        },
        finish=disks_boot_first,
        id=compute_id("zones/{zone}/instances/{name}"),
    ),
    # -- Cloud Run -----------------------------------------------------------------------
    "gcp:cloudrunv2/service:Service": Spec(
        "run.v2",
        "run.projects.locations.services.create",
        {
            **PLACED,
            "name": Param("serviceId"),
            **same("ingress invokerIamDisabled"),
            "template": Field(
                "template",
                {
                    **workload(SERVING),
                    **same("executionEnvironment"),
                    "scaling": Field("scaling", same("minInstanceCount")),
                },
            ),
        },
        params={"parent": "projects/{project}/locations/{location}"},
        id=lambda i: f"projects/{i['project']}/locations/{i['location']}/services/{i['name']}",
    ),
    "gcp:cloudrunv2/job:Job": Spec(
        "run.v2",
        "run.projects.locations.jobs.create",
        {
            **PLACED,
            "name": Param("jobId"),
            "template": Field(
                "template",
                {
                    **same("labels taskCount parallelism"),
                    "template": Field(
                        "template",
                        {**workload(CONTAINER), **same("maxRetries timeout executionEnvironment")},
                    ),
                },
            ),
        },
        params={"parent": "projects/{project}/locations/{location}"},
        id=lambda i: f"projects/{i['project']}/locations/{i['location']}/jobs/{i['name']}",
    ),
    "gcp:cloudrunv2/workerPool:WorkerPool": Spec(
        "run.v2",
        "run.projects.locations.workerPools.create",
        {
            **PLACED,
            "name": Param("workerPoolId"),
            "scaling": Field("scaling", same("manualInstanceCount")),
            "template": Field("template", workload(CONTAINER)),
        },
        params={"parent": "projects/{project}/locations/{location}"},
        id=lambda i: f"projects/{i['project']}/locations/{i['location']}/workerPools/{i['name']}",
    ),
    "gcp:cloudrunv2/jobIamMember:JobIamMember": Spec(
        "run.v2",
        "run.projects.locations.jobs.setIamPolicy",
        {**MEMBER_PLACED, "name": Param("job"), **binding()},
        params={"resource": "projects/{project}/locations/{location}/jobs/{job}"},
        finish=in_policy,
    ),
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": Spec(
        "run.v2",
        "run.projects.locations.services.setIamPolicy",
        {**MEMBER_PLACED, "name": Param("service"), **binding()},
        params={"resource": "projects/{project}/locations/{location}/services/{service}"},
        finish=in_policy,
    ),
    # -- Cloud Scheduler -----------------------------------------------------------------
    "gcp:cloudscheduler/job:Job": Spec(
        "cloudscheduler.v1",
        "cloudscheduler.projects.locations.jobs.create",
        {
            "project": Param("project"),
            "region": Param("region"),
            "name": Field("name", convert=scheduler_job_name),
            **same("description schedule timeZone attemptDeadline"),
            "retryConfig": Field("retryConfig", same("retryCount"), without_empty),
            "httpTarget": Field(
                "httpTarget",
                {
                    **same("uri httpMethod"),
                    "oauthToken": Field("oauthToken", same("serviceAccountEmail scope")),
                },
            ),
        },
        params={"parent": "projects/{project}/locations/{region}"},
        finish=lambda body: {k: v for k, v in body.items() if v != {}},
        id=lambda i: f"projects/{i['project']}/locations/{i['region']}/jobs/{i['name']}",
    ),
    # -- Cloud SQL, Memorystore, private services access -----------------------------------
    "gcp:sql/databaseInstance:DatabaseInstance": Spec(
        "sqladmin.v1",
        "sql.instances.insert",
        {
            "project": Param("project"),
            **same("name region databaseVersion rootPassword"),
            "deletionProtection": TerraformOnly(
                "Terraform's guard against deleting the instance; Cloud SQL's own is "
                "settings.deletionProtectionEnabled, which Berth sets too"
            ),
            "settings": Field(
                "settings",
                {
                    **same("tier edition availabilityType deletionProtectionEnabled userLabels"),
                    "diskType": Field("dataDiskType"),
                    "diskSize": Field("dataDiskSizeGb"),
                    "diskAutoresize": Field("storageAutoResize"),
                    "ipConfiguration": Field(
                        "ipConfiguration", same("ipv4Enabled privateNetwork sslMode")
                    ),
                    "backupConfiguration": Field(
                        "backupConfiguration",
                        {
                            **same("enabled pointInTimeRecoveryEnabled"),
                            "backupRetentionSettings": Field(
                                "backupRetentionSettings", same("retainedBackups")
                            ),
                        },
                    ),
                    "finalBackupConfig": Field("finalBackupConfig", same("enabled retentionDays")),
                },
            ),
        },
        id=lambda i: str(i["name"]),
        outputs={"name": lambda i: str(i["name"])},
        autoname="name",
    ),
    "gcp:sql/user:User": Spec(
        "sqladmin.v1",
        "sql.users.insert",
        {
            "project": Param("project"),
            "instance": Param("instance"),
            **same("name password"),
            "deletionPolicy": TerraformOnly(
                "ABANDON: Terraform forgets the user instead of deleting it; no API field"
            ),
        },
    ),
    "gcp:sql/database:Database": Spec(
        "sqladmin.v1",
        "sql.databases.insert",
        {
            "project": Param("project"),
            "instance": Param("instance"),
            **same("name"),
            "deletionPolicy": TerraformOnly(
                "ABANDON: Terraform forgets the database instead of deleting it; no API field"
            ),
        },
    ),
    "gcp:redis/instance:Instance": Spec(
        "redis.v1",
        "redis.projects.locations.instances.create",
        {
            "project": Param("project"),
            "region": Param("region"),
            "name": Param("instanceId"),
            **same(
                "tier memorySizeGb redisVersion authorizedNetwork connectMode authEnabled"
                " transitEncryptionMode labels"
            ),
            "persistenceConfig": Field(
                "persistenceConfig", same("persistenceMode rdbSnapshotPeriod")
            ),
            "deletionProtection": TerraformOnly(
                "Terraform's guard against deleting the instance; redis.v1.json's Instance "
                "has no such field"
            ),
        },
        params={"parent": "projects/{project}/locations/{region}"},
        id=lambda i: f"projects/{i['project']}/locations/{i['region']}/instances/{i['name']}",
    ),
    "gcp:projects/serviceIdentity:ServiceIdentity": Spec(
        "serviceusage.v1beta1",
        "serviceusage.services.generateServiceIdentity",
        {"project": Param("project"), "service": Param("service")},
        params={"parent": "projects/{project}/services/{service}"},
    ),
    "gcp:servicenetworking/connection:Connection": Spec(
        "servicenetworking.v1",
        "servicenetworking.services.connections.create",
        {
            "service": Param("service"),
            **same("network reservedPeeringRanges"),
            "deletionPolicy": TerraformOnly(
                "REMOVE_PEERING: how Terraform deletes the connection (it removes the VPC "
                "peering instead of calling deleteConnection); no field of the create request"
            ),
        },
        params={"parent": "services/{service}"},
    ),
    # -- Secret Manager, IAM, Artifact Registry, Cloud Storage, Service Usage ---------------
    "gcp:secretmanager/secret:Secret": Spec(
        "secretmanager.v1",
        "secretmanager.projects.secrets.create",
        {
            "project": Param("project"),
            "secretId": Param("secretId"),
            "replication": Field("replication", convert=replication),
        },
        params={"parent": "projects/{project}"},
        id=lambda i: f"projects/{i['project']}/secrets/{i['secretId']}",
    ),
    "gcp:secretmanager/secretVersion:SecretVersion": Spec(
        "secretmanager.v1",
        "secretmanager.projects.secrets.addVersion",
        {"secret": Param("parent"), "secretData": Field("payload.data", convert=secret_data)},
    ),
    "gcp:secretmanager/secretIamMember:SecretIamMember": Spec(
        "secretmanager.v1",
        "secretmanager.projects.secrets.setIamPolicy",
        {
            "project": TerraformOnly(
                "completes a bare secret_id; Berth gives the secret's full ID"
            ),
            "secretId": Param("resource"),
            **binding(),
        },
        finish=in_policy,
    ),
    "gcp:serviceaccount/account:Account": Spec(
        "iam.v1",
        "iam.projects.serviceAccounts.create",
        {"project": Param("project"), **same("accountId displayName")},
        params={"name": "projects/{project}"},
        finish=in_account,
        id=lambda i: (
            f"projects/{i['project']}/serviceAccounts/"
            f"{i['accountId']}@{i['project']}.iam.gserviceaccount.com"
        ),
    ),
    "gcp:projects/iAMMember:IAMMember": Spec(
        "cloudresourcemanager.v1",
        "cloudresourcemanager.projects.setIamPolicy",
        {"project": Param("resource"), **binding()},
        finish=in_policy,
    ),
    "gcp:projects/iAMCustomRole:IAMCustomRole": Spec(
        "iam.v1",
        "iam.projects.roles.create",
        {
            "project": Param("project"),
            "roleId": Field("roleId"),
            "title": Field("role.title"),
            "description": Field("role.description"),
            "permissions": Field("role.includedPermissions"),
        },
        params={"parent": "projects/{project}"},
        id=lambda i: f"projects/{i['project']}/roles/{i['roleId']}",
        outputs={"name": lambda i: f"projects/{i['project']}/roles/{i['roleId']}"},
    ),
    "gcp:projects/service:Service": Spec(
        "serviceusage.v1",
        "serviceusage.services.enable",
        {
            "project": Param("project"),
            "service": Param("service"),
            "disableOnDestroy": TerraformOnly(
                "whether Terraform disables the API when the resource is deleted"
            ),
        },
        params={"name": "projects/{project}/services/{service}"},
    ),
    "gcp:artifactregistry/repository:Repository": Spec(
        "artifactregistry.v1",
        "artifactregistry.projects.locations.repositories.create",
        {
            "project": Param("project"),
            "location": Param("location"),
            "repositoryId": Param("repositoryId"),
            **same("format mode description cleanupPolicyDryRun"),
            "cleanupPolicies": Field(
                "cleanupPolicies",
                {
                    **same("id action"),
                    "condition": Field("condition", same("tagState")),
                    "mostRecentVersions": Field("mostRecentVersions", same("keepCount")),
                },
                cleanup_policies,
            ),
            "remoteRepositoryConfig": Field(
                "remoteRepositoryConfig",
                {
                    **same("description"),
                    "commonRepository": Field("commonRepository", same("uri")),
                },
            ),
        },
        params={"parent": "projects/{project}/locations/{location}"},
        id=lambda i: (
            f"projects/{i['project']}/locations/{i['location']}/repositories/{i['repositoryId']}"
        ),
    ),
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": Spec(
        "artifactregistry.v1",
        "artifactregistry.projects.locations.repositories.setIamPolicy",
        {**MEMBER_PLACED, "repository": Param("repository"), **binding()},
        params={"resource": "projects/{project}/locations/{location}/repositories/{repository}"},
        finish=in_policy,
    ),
    "gcp:storage/bucket:Bucket": Spec(
        "storage.v1",
        "storage.buckets.insert",
        {
            "project": Param("project"),
            **same("name location"),
            "uniformBucketLevelAccess": Field("iamConfiguration", convert=uniform_access),
        },
        id=lambda i: str(i["name"]),
    ),
    "gcp:storage/bucketIAMMember:BucketIAMMember": Spec(
        "storage.v1",
        "storage.buckets.setIamPolicy",
        {"bucket": Param("bucket"), **binding()},
        finish=as_policy,
    ),
}
"""Every Google Cloud type the gcp target registers, as the request its provider
(terraform-provider-google) sends; the API side is the discovery documents'."""


# -- the requests ---------------------------------------------------------------------------


@dataclass
class Request:
    """One resource's create request: the method's URL parameters and its body."""

    registration: Registration
    spec: Spec
    params: dict[str, Any]
    body: dict[str, Any]
    used: set[str] = field(default_factory=set)
    """The inputs of the shape this request used (``tests.plans.shape_paths``)."""

    @property
    def label(self) -> str:
        return f"{self.registration.type} {self.registration.name}"

    @property
    def method(self) -> dict[str, Any]:
        return methods(self.spec.api)[self.spec.method]


def autoname(registration: Registration) -> str:
    """The name pulumi-gcp generates: the resource's name, ``-``, 7 random hex characters
    (``NewUniqueHex``); here from the URN, so that a plan converts the same every time."""
    return f"{registration.name}-{hashlib.sha256(registration.urn.encode()).hexdigest()[:7]}"


def requests(plan: Plan, created: Mapping[str, Created]) -> list[Request]:
    """The plan's Google Cloud resources as create requests; ``created`` holds each one's id
    and outputs (``tests.plans.recorded``). Raises ``Unmapped`` for what it cannot map."""
    google = [r for r in plan.registrations if r.custom and not r.type.startswith(SKIPPED)]
    for registration in google:
        if registration.type not in SPECS:
            raise Unmapped(f"{registration.type} ({registration.name}): no API mapping")
    inputs: dict[str, dict[str, Any]] = {}
    real: dict[str, dict[str, str]] = {}
    """By URN: the plan's values of a resource's id and outputs, and what its provider
    reports instead (only those that differ)."""
    for registration in google:
        spec = SPECS[registration.type]
        try:
            given = sent(registration)
        except UnknownInput as error:
            raise Unmapped(str(error)) from None
        if spec.autoname and spec.autoname not in given:
            given[spec.autoname] = autoname(registration)
        inputs[registration.urn] = given
        real[registration.urn] = _real_values(registration, spec, given, created)
    plan_ids = {created[r.urn].id: r.type for r in google}
    made = [
        _request(registration, SPECS[registration.type], inputs[registration.urn], real, created)
        for registration in google
    ]
    for request in made:
        for value in _strings([request.params, request.body]):
            if value in plan_ids:
                raise Unmapped(
                    f"{request.label}: {value!r} is the plan's id of a {plan_ids[value]}, "
                    "whose provider ID the converter does not know (Spec.id)"
                )
    return made


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def _real_values(
    registration: Registration, spec: Spec, inputs: Inputs, created: Mapping[str, Created]
) -> dict[str, str]:
    made = created.get(registration.urn)
    if made is None:
        raise Unmapped(f"{registration.urn}: no id recorded (run the plan in recorded())")
    values: dict[str, str] = {}
    if spec.id is not None:
        values[made.id] = spec.id(inputs)
    for output, make in spec.outputs.items():
        plan_value = made.outputs.get(output)
        if isinstance(plan_value, str):
            values[plan_value] = make(inputs)
    return {plan: value for plan, value in values.items() if plan != value}


def _request(
    registration: Registration,
    spec: Spec,
    inputs: dict[str, Any],
    real: Mapping[str, Mapping[str, str]],
    created: Mapping[str, Created],
) -> Request:
    given = created[registration.urn].inputs_from
    resolved = {
        key: _resolve(value, given.get(key, ()), real, registration, key)
        for key, value in inputs.items()
    }
    at = _At(f"{registration.type} {registration.name}", "", resolved, set())
    params: dict[str, Any] = {}
    body_inputs: dict[str, Any] = {}
    for key, value in resolved.items():
        rule = spec.shape.get(key)
        if isinstance(rule, Param):
            params[rule.name] = rule.convert(value, resolved) if rule.convert else value
            at.used.add(key)
        else:
            body_inputs[key] = value
    body = _body(body_inputs, spec.shape, at)
    if spec.finish:
        body = spec.finish(body)
    for name, template in spec.params.items():
        parts = set(re.findall(r"{(\w+)}", template))
        values = {"project": PLAN_PROJECT, "location": PLAN_REGION, "region": PLAN_REGION}
        values |= {part: params.pop(part) for part in parts if part in params}
        params[name] = template.format(**values)
    return Request(registration, spec, params, body, at.used)


def _resolve(
    value: Any,
    sources: Sequence[str],
    real: Mapping[str, Mapping[str, str]],
    registration: Registration,
    key: str,
) -> Any:
    """``value`` with each plan value of a resource it came from replaced by the real one."""
    known: dict[str, str] = {}
    for source in sources:
        for plan_value, value_there in real.get(source, {}).items():
            if known.setdefault(plan_value, value_there) != value_there:
                raise Unmapped(f"{registration.urn}: {key} {plan_value!r} is two resources' value")

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return known.get(node, node) if isinstance(node, str) else node

    return walk(value)


# -- checking a request against its discovery document --------------------------------------

_INT32 = (-(2**31), 2**31 - 1)
_DURATION = re.compile(r"-?\d+(\.\d{1,9})?s")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def check(plan: Plan, created: Mapping[str, Created]) -> list[str]:
    """What Google would refuse in the plan's resources, one line each: the rule, the
    resource, where in its request, and why. Raises ``Unmapped`` for what it cannot map."""
    findings: list[str] = []
    for request in requests(plan, created):
        findings += check_request(request)
    return sorted(set(findings))


def check_request(request: Request) -> list[str]:
    found: list[str] = []

    def find(rule: str, where: str, message: str) -> None:
        found.append(f"{rule} {request.label} {where}: {message}")

    method = request.method
    _check_params(request, method, find)
    request_schema = method.get("request")
    if request_schema is None:
        if request.body:
            find("GCP-FIELD", "body", f"{request.spec.method} takes no body")
    else:
        _check_value(request.body, request_schema, "body", request, find)
    for check_rule in RULES.get(request.spec.method, ()):
        check_rule(request, find)
    _check_names(request, find)
    return found


Find = Callable[[str, str, str], None]


def _check_params(request: Request, method: Mapping[str, Any], find: Find) -> None:
    parameters = method.get("parameters", {})
    for name, value in request.params.items():
        parameter = parameters.get(name)
        if parameter is None:
            raise Unmapped(f"{request.label}: {request.spec.method} has no parameter {name!r}")
        _check_value(value, parameter, f"param {name}", request, find)
    for name, parameter in parameters.items():
        if parameter.get("required") and name not in request.params:
            find("GCP-REQUIRED", f"param {name}", "the method requires it")


def _check_value(
    value: Any, schema: Mapping[str, Any], where: str, request: Request, find: Find
) -> None:
    """``value`` against a discovery schema: its type, format, enum and pattern; an object's
    fields (none the schema lacks, each the method requires), a map's values, a list's items."""
    if "$ref" in schema:
        schema = discovery(request.spec.api)["schemas"][schema["$ref"]]
    if schema.get("deprecated"):
        find("GCP-DEPRECATED", where, "the field is deprecated")
    if schema.get("readOnly"):
        find("GCP-OUTPUT-ONLY", where, "the field is output only")
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        _check_object(value, schema, where, request, find)
    elif kind == "array":
        if not isinstance(value, list):
            find("GCP-TYPE", where, f"{value!r} is not an array")
            return
        for index, item in enumerate(value):
            _check_value(item, schema.get("items", {}), f"{where}[{index}]", request, find)
    elif not _typed(value, kind, schema.get("format")):
        find("GCP-TYPE", where, f"{value!r} is not a {schema.get('format') or kind}")
    else:
        _check_scalar(value, schema, where, find)


def _check_object(
    value: Any, schema: Mapping[str, Any], where: str, request: Request, find: Find
) -> None:
    if not isinstance(value, dict):
        find("GCP-TYPE", where, f"{value!r} is not an object")
        return
    properties = schema.get("properties")
    if properties is None:  # a map
        for key, item in value.items():
            _check_value(
                item, schema.get("additionalProperties", {}), f"{where}[{key!r}]", request, find
            )
        return
    for key, item in value.items():
        if key in properties:
            _check_value(item, properties[key], f"{where}.{key}", request, find)
        else:
            find("GCP-FIELD", f"{where}.{key}", f"not a field of {_schema_name(schema)}")
    for key, field_schema in properties.items():
        required = field_schema.get("annotations", {}).get("required", ())
        if request.spec.method in required and key not in value:
            find("GCP-REQUIRED", f"{where}.{key}", f"{request.spec.method} requires it")


def _check_scalar(value: Any, schema: Mapping[str, Any], where: str, find: Find) -> None:
    """An enum's value: one of the enum, not its ``*_UNSPECIFIED``, not deprecated; a
    string's pattern."""
    if "enum" in schema:
        enum = schema["enum"]
        deprecated = schema.get("enumDeprecated") or [False] * len(enum)
        if value not in enum:
            find("GCP-ENUM", where, f"{value!r} is not one of {enum}")
        elif str(value).endswith("_UNSPECIFIED"):
            find("GCP-ENUM", where, f"{value!r} leaves it unspecified")
        elif deprecated[enum.index(value)]:
            find("GCP-DEPRECATED", where, f"{value!r} is a deprecated value")
    pattern = schema.get("pattern")
    if pattern and isinstance(value, str) and not re.fullmatch(pattern.strip("^$"), value):
        find("GCP-PATTERN", where, f"{value!r} does not match {pattern!r}")


_STRINGS: dict[str | None, Callable[[Any], bool]] = {
    "int64": lambda v: isinstance(v, int) or (isinstance(v, str) and v.isdigit()),
    "uint64": lambda v: isinstance(v, int) or (isinstance(v, str) and v.isdigit()),
    "google-duration": lambda v: isinstance(v, str) and bool(_DURATION.fullmatch(v)),
    "byte": lambda v: isinstance(v, str) and len(v) % 4 == 0 and bool(_BASE64.fullmatch(v)),
}
"""String formats: int64 is a string in Google's JSON (which parses a number there too), a
duration is seconds with an ``s``, bytes are base64."""


def _typed(value: Any, kind: str | None, form: str | None) -> bool:
    """Whether ``value`` is what JSON for this type and format may hold."""
    if isinstance(value, bool) or kind == "boolean":
        return isinstance(value, bool) and kind == "boolean"
    checks: dict[str | None, Callable[[Any], bool]] = {
        "integer": lambda v: (
            isinstance(v, int) and (form != "int32" or _INT32[0] <= v <= _INT32[1])
        ),
        "number": lambda v: isinstance(v, int | float),
        "string": _STRINGS.get(form, lambda v: isinstance(v, str)),
    }
    return checks.get(kind, lambda _: True)(value)


def _schema_name(schema: Mapping[str, Any]) -> str:
    return str(schema.get("id") or "the object")


# -- names ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A documented constraint on a name: its pattern (whole value), length, and the text
    that says so."""

    pattern: str
    source: str
    longest: int | None = None
    also: Callable[[str], str | None] | None = None
    """A constraint a pattern does not say well; the problem, or None."""

    def problem(self, value: str) -> str | None:
        if not re.fullmatch(self.pattern, value):
            return f"does not match {self.pattern}"
        if self.longest is not None and len(value) > self.longest:
            return f"is {len(value)} characters, more than {self.longest}"
        return self.also(value) if self.also is not None else None


RFC1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
COMPUTE_NAME = Rule(
    RFC1035,
    "compute.v1.json, every resource's name: \"must be 1-63 characters long and match the "
    'regular expression `[a-z]([-a-z0-9]*[a-z0-9])?`"',
    63,
)
CLOUD_RUN_ID = Rule(
    r"[a-z]([-a-z0-9]*[a-z0-9])?",
    'run.v2.json, serviceId and workerPoolId: "It must begin with letter, and cannot end with '
    'hyphen; must contain fewer than 50 characters"; lowercase letters, digits and hyphens '
    "as the name is a DNS label of the service's URL (run.v1.json: services are Knative "
    "resources named by RFC 1035 labels)",
    49,
)
CLOUD_RUN_JOB_ID = Rule(
    RFC1035,
    "run.v2.json documents no rule for jobId; a Cloud Run job, a Knative resource "
    "(run.v1.json), is named by an RFC 1035 label: `[a-z]([-a-z0-9]*[a-z0-9])?`, 63 at most",
    63,
)


def _bucket(value: str) -> str | None:
    """Cloud Storage's bucket naming rules (cloud.google.com/storage/docs/buckets#naming):
    "Bucket names cannot begin with the goog prefix", "cannot contain google or close
    misspellings, such as g00gle", "cannot be represented as an IP address in dotted-decimal
    notation", and "Each dot-separated component can be no longer than 63 characters"."""
    if value.startswith("goog"):
        return "begins with 'goog'"
    if re.search(r"g[o0][o0]g[l1]e", value):
        return "contains 'google' or a close misspelling"
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", value):
        return "is an IP address"
    if any(len(part) > 63 for part in value.split(".")):
        return "has a dot-separated component longer than 63 characters"
    return None


def _sql_instance(value: str) -> str | None:
    total = LONGEST_PROJECT_ID + 1 + len(value)
    if total > 98:
        return (
            f"with a project ID of {LONGEST_PROJECT_ID} characters, project-ID:instance-ID is "
            f"{total} characters, more than 98"
        )
    return None


NAME_RULES: dict[tuple[str, str], Rule] = {
    **{
        (f"compute.{kind}.insert", "body.name"): COMPUTE_NAME
        for kind in (
            "networks",
            "subnetworks",
            "firewalls",
            "routers",
            "addresses",
            "globalAddresses",
            "disks",
            "instances",
        )
    },
    ("compute.routers.patch", "body.nats[].name"): Rule(
        RFC1035,
        'compute.v1.json, RouterNat.name: "The name must be 1-63 characters long and comply '
        'with RFC1035"',
        63,
    ),
    ("compute.instances.insert", "body.tags.items[]"): Rule(
        RFC1035,
        'compute.v1.json, Tags.items: "Each tag must be 1-63 characters long, and comply with '
        'RFC1035"',
        63,
    ),
    ("compute.firewalls.insert", "body.targetTags[]"): Rule(
        RFC1035, "the instance tags it names (compute.v1.json, Tags.items: RFC1035, 1-63)", 63
    ),
    ("compute.instances.insert", "body.disks[].deviceName"): Rule(
        RFC1035,
        "compute.v1.json, AttachedDisk.deviceName: the disk's name under "
        "/dev/disk/by-id/google-*; Compute Engine takes an RFC1035 name, 63 at most",
        63,
    ),
    ("run.projects.locations.services.create", "param.serviceId"): CLOUD_RUN_ID,
    ("run.projects.locations.workerPools.create", "param.workerPoolId"): CLOUD_RUN_ID,
    ("run.projects.locations.jobs.create", "param.jobId"): CLOUD_RUN_JOB_ID,
    **{
        (f"run.projects.locations.{kind}.create", path): Rule(
            r"[a-z0-9]([-a-z0-9]*[a-z0-9])?",
            "run.v2.json, Volume.name and VolumeMount.name: a volume's name, which its mounts "
            "name; Cloud Run (Knative) takes a DNS label (RFC 1123): lowercase letters, "
            "digits and hyphens, 63 at most",
            63,
        )
        for kind in ("services", "jobs", "workerPools")
        for path in (
            "body.template.volumes[].name",
            "body.template.containers[].volumeMounts[].name",
            "body.template.template.volumes[].name",
            "body.template.template.containers[].volumeMounts[].name",
        )
    },
    ("sql.instances.insert", "body.name"): Rule(
        r"[a-z][-a-z0-9]*",
        'Cloud SQL, instance ID: "Composed of lowercase letters, numbers, and hyphens; must '
        'start with a letter. The total length must be 98 characters or less" (Instance '
        'settings); the create-instance guide counts the project in it: "The total length of '
        'project-ID:instance-ID must be 98 characters or less", the stricter reading, checked',
        also=_sql_instance,
    ),
    ("sql.users.insert", "body.name"): Rule(
        r"[^\s\x00-\x1f\x7f]{1,63}",
        "PostgreSQL: an identifier of at most 63 bytes (NAMEDATALEN - 1); Cloud SQL refuses "
        "spaces and control characters in user names",
    ),
    ("sql.databases.insert", "body.name"): Rule(
        r"[^\s\x00-\x1f\x7f]{1,63}",
        "PostgreSQL: an identifier of at most 63 bytes (NAMEDATALEN - 1)",
    ),
    ("redis.projects.locations.instances.create", "param.instanceId"): Rule(
        RFC1035,
        'redis.v1.json, instances.create instanceId: "Must contain only lowercase letters, '
        "numbers, and hyphens. * Must start with a letter. * Must be between 1-40 characters. "
        '* Must end with a number or a letter"',
        40,
    ),
    ("secretmanager.projects.secrets.create", "param.secretId"): Rule(
        r"[A-Za-z0-9_-]{1,255}",
        'secretmanager.v1.json, secrets.create secretId: "A secret ID is a string with a '
        "maximum length of 255 characters and can contain uppercase and lowercase letters, "
        'numerals, and the hyphen (`-`) and underscore (`_`) characters"',
    ),
    ("iam.projects.serviceAccounts.create", "body.accountId"): Rule(
        r"[a-z]([-a-z0-9]*[a-z0-9])",
        'iam.v1.json, CreateServiceAccountRequest.accountId: "must be 6-30 characters long, '
        "and match the regular expression `[a-z]([-a-z0-9]*[a-z0-9])` to comply with "
        'RFC1035"',
        30,
        lambda value: None if len(value) >= 6 else "is shorter than 6 characters",
    ),
    ("iam.projects.serviceAccounts.create", "body.serviceAccount.displayName"): Rule(
        r".*",
        'iam.v1.json, ServiceAccount.displayName: "The maximum length is 100 UTF-8 bytes"',
        also=lambda value: None if len(value.encode()) <= 100 else "is over 100 UTF-8 bytes",
    ),
    ("artifactregistry.projects.locations.repositories.create", "param.repositoryId"): Rule(
        r"[a-z]([-a-z0-9]*[a-z0-9])?",
        "Artifact Registry's repository names (Create standard repositories): lowercase "
        "letters, digits and hyphens, a letter first, a letter or digit last, 63 at most; "
        "artifactregistry.v1.json states no rule for repositoryId",
        63,
    ),
    ("storage.buckets.insert", "body.name"): Rule(
        r"[a-z0-9][-a-z0-9_.]*[a-z0-9]",
        'Cloud Storage (Bucket naming): "Bucket names can only contain lowercase letters, '
        'numeric characters, dashes (-), underscores (_), and dots (.)", "must start and end '
        'with a number or letter", "must contain 3-63 characters" (up to 222 with dots)',
        222,
        lambda value: (
            _bucket(value)
            or (None if 3 <= len(value) <= 63 or "." in value else "is not 3-63 characters")
        ),
    ),
    ("cloudscheduler.projects.locations.jobs.create", "body.name"): Rule(
        r"projects/[A-Za-z0-9:.-]+/locations/[^/]+/jobs/[A-Za-z0-9_-]{1,500}",
        "cloudscheduler.v1.json, Job.name: `projects/PROJECT_ID/locations/LOCATION_ID/jobs/"
        'JOB_ID`, "`JOB_ID` can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), '
        'or underscores (_). The maximum length is 500 characters"',
    ),
    ("cloudscheduler.projects.locations.jobs.create", "body.description"): Rule(
        r"(?s).*",
        'cloudscheduler.v1.json, Job.description: "This string must not contain more than 500 '
        'characters"',
        500,
    ),
    ("serviceusage.services.enable", "param.name"): Rule(
        r"projects/[^/]+/services/[a-z0-9-]+\.googleapis\.com",
        "a Google API: <name>.googleapis.com (serviceusage.v1.json, services.enable name)",
    ),
}
"""Names and IDs, by method and where the request holds them (``param.<name>``, or
``body.<path>`` with ``[]`` for each item of a list), held to the rule Google documents."""

LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
LABELS = (
    'Labels (Resource Manager, Requirements for labels): "Keys have a minimum length of 1 '
    'character and a maximum length of 63 characters", "Values can be empty, and have a '
    'maximum length of 63 characters", "Keys and values can contain only lowercase letters, '
    'numeric characters, underscores, and dashes", "Keys must start with a lowercase letter", '
    '"Each resource can have multiple labels, up to a maximum of 64"'
)
LABEL_FIELDS: dict[str, tuple[str, ...]] = {
    "run.projects.locations.services.create": ("labels", "template.labels"),
    "run.projects.locations.jobs.create": ("labels", "template.labels"),
    "run.projects.locations.workerPools.create": ("labels", "template.labels"),
    "sql.instances.insert": ("settings.userLabels",),
    "redis.projects.locations.instances.create": ("labels",),
    "secretmanager.projects.secrets.create": ("labels",),
    "artifactregistry.projects.locations.repositories.create": ("labels",),
    "storage.buckets.insert": ("labels",),
    "compute.instances.insert": ("labels",),
    "compute.disks.insert": ("labels",),
}
RESERVED_LABEL_PREFIXES = (
    "run.googleapis.com",
    "cloud.googleapis.com",
    "serving.knative.dev",
    "autoscaling.knative.dev",
)
"""run.v2.json, labels: "Cloud Run API v2 does not support labels with `run.googleapis.com`,
`cloud.googleapis.com`, `serving.knative.dev`, or `autoscaling.knative.dev` namespaces"."""


def values_at(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """The values at ``path`` (dotted; ``name[]`` for each item of a list), with where."""
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(node, dict) or key not in node:
        return
    found = node[key]
    items = list(enumerate(found)) if many and isinstance(found, list) else [(None, found)]
    for index, item in items:
        here = key if index is None else f"{key}[{index}]"
        if not rest:
            yield here, item
        else:
            for where, value in values_at(item, rest):
                yield f"{here}.{where}", value


def _check_names(request: Request, find: Find) -> None:
    method = request.spec.method
    for (rule_method, path), rule in NAME_RULES.items():
        if rule_method != method:
            continue
        place, _, inner = path.partition(".")
        root = request.params if place == "param" else request.body
        for where, value in values_at(root, inner):
            if not isinstance(value, str):
                continue
            if problem := rule.problem(value):
                find("GCP-NAME", f"{place} {where}", f"{value!r} {problem} ({rule.source})")
    for path in LABEL_FIELDS.get(method, ()):
        for where, labels in values_at(request.body, path):
            if len(labels) > 64:
                find("GCP-LABEL", f"body {where}", f"{len(labels)} labels, more than 64 ({LABELS})")
            for key, value in labels.items():
                if not LABEL_KEY.fullmatch(key) or not LABEL_VALUE.fullmatch(str(value)):
                    find("GCP-LABEL", f"body {where}", f"{key}={value!r} ({LABELS})")
                if method.startswith("run.") and key.startswith(RESERVED_LABEL_PREFIXES):
                    find("GCP-LABEL", f"body {where}", f"{key}: a namespace Cloud Run refuses")


# -- what Google documents as refused together ------------------------------------------------

GIB = 1024
_MEMORY = re.compile(r"(\d+)(Mi|Gi|M|G)?")
CLOUD_RUN_MEMORY = {1: (128, 4 * GIB), 2: (128, 8 * GIB), 4: (2 * GIB, 16 * GIB),
                    6: (4 * GIB, 24 * GIB), 8: (4 * GIB, 32 * GIB)}  # fmt: skip
"""Cloud Run (Configure CPU limits, "CPU and memory table"): "1 vCPU 128 MiB to 4 GiB, 2 vCPU
128 MiB to 8 GiB, 4 vCPU 2 to 16 GiB, 6 vCPU 4 to 24 GiB, 8 vCPU 4 to 32 GiB"; "Values greater
than 1 must be integer values" (MiB by CPU count)."""
GEN2_MEMORY = 512
"""Cloud Run (Execution environments): the second generation takes at least 512 MiB of memory;
"Cloud Run jobs and worker pools only use the second generation execution environment"."""
RESERVED_ENV = {
    "services": {"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"},
    "jobs": {
        "CLOUD_RUN_JOB",
        "CLOUD_RUN_EXECUTION",
        "CLOUD_RUN_TASK_INDEX",
        "CLOUD_RUN_TASK_ATTEMPT",
        "CLOUD_RUN_TASK_COUNT",
    },
    "workerPools": set(),
}
"""Cloud Run (Configure environment variables, "Reserved names"): "The environment variables
defined in the container runtime contract are reserved and cannot be set"; the contract's
variables for services and for jobs."""
PROBE_LIMITS = {"startupProbe": 240, "livenessProbe": 3600}
"""run.v2.json, Probe: periodSeconds and initialDelaySeconds, "Maximum value for liveness probe
is 3600. Maximum value for startup probe is 240"."""
SQL_SHARED_CORE = ("db-f1-micro", "db-g1-small")
_SQL_CUSTOM = re.compile(r"db-custom-(\d+)-(\d+)")


def _memory_mib(text: str) -> int | None:
    match = _MEMORY.fullmatch(text)
    if not match:
        return None
    number, unit = int(match[1]), match[2] or ""
    return {"Mi": number, "Gi": number * GIB, "M": number * 10**6 // 2**20,
            "G": number * 10**9 // 2**20, "": number // 2**20}[unit]  # fmt: skip


def _workload_template(request: Request) -> tuple[str, dict[str, Any]]:
    """A Cloud Run request's kind (services, jobs, workerPools) and what runs (a revision or a
    task template)."""
    kind = request.spec.method.split(".")[3]
    template = request.body.get("template", {})
    return kind, template.get("template", {}) if kind == "jobs" else template


def cloud_run(request: Request, find: Find) -> None:
    """Cloud Run's sizes, probes, environment and mounts."""
    kind, template = _workload_template(request)
    # jobs and worker pools run in the second generation only (GEN2_MEMORY)
    gen2 = kind != "services" or template.get("executionEnvironment") == GEN2
    volumes = {volume.get("name") for volume in template.get("volumes", [])}
    for index, container in enumerate(template.get("containers", [])):
        where = f"container {index}"
        _cloud_run_size(container, gen2, where, find)
        _cloud_run_env_and_mounts(container, kind, volumes, where, find)
        for probe_name, longest in PROBE_LIMITS.items():
            if probe_name in container:
                _cloud_run_probe(container[probe_name], longest, f"{where} {probe_name}", find)
        for port in container.get("ports", []):
            if not 0 < port.get("containerPort", 8080) < 65536:
                find("GCP-PORT", where, f'{port["containerPort"]}: "0 < container_port < 65536"')
    scaling = template.get("scaling", {})
    if scaling.get("minInstanceCount", 0) > scaling.get("maxInstanceCount", DEFAULT_MAX_INSTANCES):
        find(
            "GCP-SCALING",
            "template.scaling",
            f"more minimum instances than the maximum ({DEFAULT_MAX_INSTANCES} unless given)",
        )
    if kind == "jobs" and not 0 <= template.get("maxRetries", 3) <= 10:
        find("GCP-JOB", "task", f"maxRetries {template['maxRetries']}: Cloud Run takes 0 to 10")
    for volume in template.get("volumes", []):
        for item in volume.get("secret", {}).get("items", []):
            if "mode" in item and not 1 <= item["mode"] <= 0o777:
                find(
                    "GCP-MOUNT",
                    f"volume {volume.get('name')}",
                    f'mode {item["mode"]:o}: "a value between 01 and 0777 (octal)"',
                )


GEN2 = "EXECUTION_ENVIRONMENT_GEN2"
DEFAULT_MAX_INSTANCES = 100
"""run.v2.json, RevisionScaling.maxInstanceCount: "When unspecified, the field is set to the
server default value of 100"; Cloud Run refuses fewer maximum instances than minimum ones."""
SECRET_VERSION = re.compile(r"latest|\d+|[a-zA-Z][\w-]*")
"""run.v2.json, SecretKeySelector.version: "Can be 'latest' for the latest version, an integer
for a specific version, or a version alias"."""


def _cloud_run_env_and_mounts(
    container: Mapping[str, Any], kind: str, volumes: set[Any], where: str, find: Find
) -> None:
    for env in container.get("env", []):
        if env.get("name") in RESERVED_ENV[kind]:
            find("GCP-ENV", where, f"{env['name']} is reserved by Cloud Run")
        version = env.get("valueSource", {}).get("secretKeyRef", {}).get("version", "latest")
        if not SECRET_VERSION.fullmatch(str(version)):
            find("GCP-ENV", where, f"{env['name']}: secret version {version!r}")
    for mount in container.get("volumeMounts", []):
        if mount.get("name") not in volumes:
            find("GCP-MOUNT", where, f"mount {mount.get('name')!r} names no volume")
        if ":" in mount.get("mountPath", ""):
            find("GCP-MOUNT", where, f"{mount['mountPath']!r}: \"Must not contain ':'\"")


def _cloud_run_size(container: Mapping[str, Any], gen2: bool, where: str, find: Find) -> None:
    limits = container.get("resources", {}).get("limits", {})
    cpu, memory = limits.get("cpu", "1"), _memory_mib(limits.get("memory", "512Mi"))
    cpus = int(cpu) if str(cpu).isdigit() else None
    if cpus not in CLOUD_RUN_MEMORY:
        find("GCP-SIZE", where, f"cpu {cpu!r}: Cloud Run takes 1, 2, 4, 6 or 8 ({CPU_SOURCE})")
        return
    low, high = CLOUD_RUN_MEMORY[cpus]
    if memory is None or not low <= memory <= high:
        find(
            "GCP-SIZE",
            where,
            f"memory {limits.get('memory')!r} with {cpus} CPU: Cloud Run "
            f"takes {low} to {high} MiB ({CPU_SOURCE})",
        )
    if gen2 and memory is not None and memory < GEN2_MEMORY:
        find("GCP-SIZE", where, f"memory {memory} MiB: the second generation needs 512")


def _cloud_run_probe(probe: Mapping[str, Any], longest: int, where: str, find: Find) -> None:
    """run.v2.json, Probe: "Exactly one of httpGet, tcpSocket, or grpc must be specified";
    periodSeconds "Minimum value is 1" and "Must be greater or equal than timeout_seconds";
    failureThreshold "Minimum value is 1"; the most a period or initial delay may be."""
    actions = [action for action in ("httpGet", "tcpSocket", "grpc") if action in probe]
    if len(actions) != 1:
        find("GCP-PROBE", where, f"{actions}: not exactly one of httpGet, tcpSocket, grpc")
    period, timeout = probe.get("periodSeconds", 10), probe.get("timeoutSeconds", 1)
    if not 1 <= period <= longest or not 0 <= probe.get("initialDelaySeconds", 0) <= longest:
        find("GCP-PROBE", where, f"period or initial delay beyond {longest} s")
    if not 1 <= timeout <= period:
        find("GCP-PROBE", where, f"timeout {timeout} s with a period of {period} s")
    if probe.get("failureThreshold", 3) < 1:
        find("GCP-PROBE", where, "failureThreshold below 1")


CPU_SOURCE = "Cloud Run, Configure CPU limits: the CPU and memory table"


def cloud_sql(request: Request, find: Find) -> None:
    """Cloud SQL's editions, tiers and disks."""
    settings = request.body.get("settings", {})
    tier, edition = settings.get("tier", ""), settings.get("edition")
    if edition is None:
        find(
            "GCP-SQL",
            "settings.edition",
            "not given: the default edition depends on the project and the version (Enterprise "
            "Plus, which takes no shared-core or custom tier, for new PostgreSQL 16+ instances)",
        )
    if edition == "ENTERPRISE_PLUS" and not tier.startswith("db-perf-optimized-"):
        find(
            "GCP-SQL",
            "settings.tier",
            f"{tier!r} with ENTERPRISE_PLUS: that edition takes db-perf-optimized-N-* machine "
            "types only, no shared-core or custom tier (Cloud SQL, Machine series overview)",
        )
    if edition == "ENTERPRISE" and tier.startswith("db-perf-optimized-"):
        find("GCP-SQL", "settings.tier", f"{tier!r}: db-perf-optimized tiers are ENTERPRISE_PLUS's")
    if tier in SQL_SHARED_CORE and settings.get("availabilityType") == "REGIONAL":
        find("GCP-SQL", "settings.tier", f"{tier!r}: shared-core tiers have no high availability")
    if custom := _SQL_CUSTOM.fullmatch(tier):
        cpus, memory = int(custom[1]), int(custom[2])
        if not (cpus == 1 or (cpus % 2 == 0 and cpus <= 96)):
            find("GCP-SQL", "settings.tier", f"{tier!r}: vCPUs must be 1 or an even number to 96")
        if memory % 256 or memory < 3840 or not 0.9 * GIB * cpus <= memory <= 6.5 * GIB * cpus:
            find(
                "GCP-SQL",
                "settings.tier",
                f'{tier!r}: memory "must be 0.9 to 6.5 GB per vCPU", "a multiple of 256 '
                'MB" and "at least 3.75 GB (3840 MB)" (Cloud SQL, Instance settings)',
            )
    elif tier not in SQL_SHARED_CORE and not tier.startswith("db-perf-optimized-"):
        find("GCP-SQL", "settings.tier", f"{tier!r} is no Cloud SQL for PostgreSQL tier")
    size = int(settings.get("dataDiskSizeGb", 10))
    if size < 10:
        find("GCP-SQL", "settings.dataDiskSizeGb", f'{size}: "The data disk size minimum is 10GB"')
    backup = settings.get("backupConfiguration", {})
    if backup.get("pointInTimeRecoveryEnabled") and not backup.get("enabled"):
        find("GCP-SQL", "settings.backupConfiguration", "point-in-time recovery needs backups")
    if not request.body.get("databaseVersion", "").startswith("POSTGRES_"):
        find("GCP-SQL", "databaseVersion", "Berth creates PostgreSQL instances only")


def redis(request: Request, find: Find) -> None:
    """Memorystore's versions and sizes."""
    version = request.body.get("redisVersion")
    described = discovery("redis.v1")["schemas"]["Instance"]["properties"]["redisVersion"]
    documented = re.findall(r"`(REDIS_\w+)`", described["description"])
    if version is not None and version not in documented:
        find(
            "GCP-ENUM",
            "body.redisVersion",
            f"{version!r} is not one of {documented} (redis.v1.json)",
        )
    size = request.body.get("memorySizeGb", 0)
    low = 5 if request.body.get("tier") == "STANDARD_HA" else 1
    if not low <= size <= 300:
        find(
            "GCP-SIZE",
            "body.memorySizeGb",
            f"{size} GB: Memorystore takes {low} to 300 GB for its tier",
        )
    if request.body.get("connectMode") == "PRIVATE_SERVICE_ACCESS" and not request.body.get(
        "authorizedNetwork"
    ):
        find("GCP-REDIS", "body.authorizedNetwork", "private services access needs the network")


def metadata_size(request: Request, find: Find) -> None:
    """compute.v1.json, Metadata: a value's "size must be less than or equal to 262144 bytes
    (256 KiB)"; "The total size of all keys and values must be less than 512 KB"."""
    items = request.body.get("metadata", {}).get("items", [])
    total = 0
    for item in items:
        size = len(item.get("value", "").encode())
        total += size + len(item.get("key", "").encode())
        if size > 256 * 1024:
            find("GCP-SIZE", f"metadata {item.get('key')}", f"{size} bytes, more than 256 KiB")
    if total >= 512 * 1024:
        find("GCP-SIZE", "metadata", f"{total} bytes in all, not less than 512 KB")


def firewall(request: Request, find: Find) -> None:
    """compute.v1.json, Firewall.allowed: IPProtocol "can either be one of the following well
    known protocol strings (tcp, udp, icmp, esp, ah, ipip, sctp) or the IP protocol number";
    ports: "only applicable for the UDP or TCP protocol"."""
    for index, rule in enumerate(request.body.get("allowed", [])):
        protocol = rule.get("IPProtocol", "")
        if protocol not in {"tcp", "udp", "icmp", "esp", "ah", "ipip", "sctp", "all"} and not (
            protocol.isdigit() and int(protocol) <= 255
        ):
            find("GCP-FIREWALL", f"allowed[{index}]", f"protocol {protocol!r}")
        if rule.get("ports") and protocol not in {"tcp", "udp", "sctp"}:
            find("GCP-FIREWALL", f"allowed[{index}]", f"ports with protocol {protocol!r}")
        for port in rule.get("ports", []):
            low, _, high = str(port).partition("-")
            if not all(p.isdigit() and 0 <= int(p) <= 65535 for p in (low, high or low)):
                find("GCP-FIREWALL", f"allowed[{index}]", f"port {port!r} is no port or range")


def peering_range(request: Request, find: Find) -> None:
    """Private services access (Configure private services access): the allocated range's
    "minimum size is /24" (a prefix length of 24 at most), a VPC_PEERING INTERNAL range."""
    body = request.body
    if body.get("purpose") != "VPC_PEERING":
        return
    if body.get("addressType") != "INTERNAL" or not 8 <= body.get("prefixLength", 0) <= 24:
        find("GCP-RANGE", "body", "a VPC_PEERING range is INTERNAL, with a prefix length to 24")


def secret_payload(request: Request, find: Find) -> None:
    """secretmanager.v1.json, SecretPayload.data: "Must be no larger than 64KiB"; and not
    empty, which addVersion refuses ("Field [payload] is required")."""
    data = request.body.get("payload", {}).get("data", "")
    size = len(base64.b64decode(data)) if data else 0
    if size == 0:
        find("GCP-EMPTY", "body.payload.data", "an empty payload")
    if size > 64 * 1024:
        find("GCP-SIZE", "body.payload.data", f"{size} bytes, more than 64 KiB")


MEMBER = re.compile(
    r"allUsers|allAuthenticatedUsers|(user|serviceAccount|group):[^@\s]+@[^@\s]+"
    r"|domain:[a-z0-9.-]+|principal(Set)?://\S+"
)
ROLE = re.compile(r"roles/[a-zA-Z0-9_.]+|(projects|organizations)/[^/]+/roles/[a-zA-Z0-9_.]+")


def iam_binding(request: Request, find: Find) -> None:
    """iam.v1.json, Binding: members are `allUsers`, `allAuthenticatedUsers`, `user:`,
    `serviceAccount:`, `group:`, `domain:`, `principal://`, `principalSet://`; a role is
    `roles/...` (predefined) or a custom role's name."""
    policy = request.body.get("policy", request.body)
    for index, binding_ in enumerate(policy.get("bindings", [])):
        for member in binding_.get("members", []):
            if not MEMBER.fullmatch(member):
                find("GCP-IAM", f"bindings[{index}]", f"member {member!r}")
        if not ROLE.fullmatch(binding_.get("role", "")):
            find("GCP-IAM", f"bindings[{index}]", f"role {binding_.get('role')!r}")


CUSTOM_ROLE_ID = re.compile(r"[a-zA-Z0-9_.]{3,64}")


def custom_role(request: Request, find: Find) -> None:
    """iam.v1.json, CreateRoleRequest.roleId: "A role ID may contain alphanumeric characters,
    underscores (`_`), and periods (`.`). It must contain a minimum of 3 characters and a
    maximum of 64 characters"; Role.title: "Typically this is limited to 100 UTF-8 bytes"; and
    a role grants a permission at least (terraform-provider-google: ``permissions``,
    ``MinItems: 1``)."""
    body = request.body
    if not CUSTOM_ROLE_ID.fullmatch(body.get("roleId", "")):
        find("GCP-ROLE", "body.roleId", f"{body.get('roleId')!r}")
    role = body.get("role", {})
    if len(role.get("title", "").encode()) > 100:
        find("GCP-ROLE", "body.role.title", "more than 100 bytes")
    if not role.get("includedPermissions"):
        find("GCP-ROLE", "body.role.includedPermissions", "no permission")


def cleanup(request: Request, find: Find) -> None:
    """Artifact Registry (Configure cleanup policies): a policy's "name" (its id) is "1 to 128
    characters", keepCount at least 1; each policy has a condition or mostRecentVersions
    matching its action (DELETE: condition; KEEP: either)."""
    for key, policy in request.body.get("cleanupPolicies", {}).items():
        if not 1 <= len(key) <= 128:
            find("GCP-CLEANUP", f"cleanupPolicies {key!r}", "an id of 1 to 128 characters")
        keep = policy.get("mostRecentVersions", {}).get("keepCount")
        if keep is not None and keep < 1:
            find("GCP-CLEANUP", f"cleanupPolicies {key!r}", f"keepCount {keep}")
        if policy.get("action") == "DELETE" and "condition" not in policy:
            find("GCP-CLEANUP", f"cleanupPolicies {key!r}", "DELETE needs a condition")


CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of the month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                      "NOV", "DEC")),
    ("day of the week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)  # fmt: skip
"""Cloud Scheduler (Cron job format and time zone): "a set of five fields in a line": Minute
0-59, Hour 0-23, Day of the month 1-31, Month "1-12 (or JAN to DEC)", Day of the week "0-6
(or SUN to SAT; or 7 for Sunday)"; names are "the first three letters ... in uppercase"."""
_CRON_ITEM = re.compile(r"(?P<range>\*|(?P<low>\w+)(-(?P<high>\w+))?)(/(?P<step>\d+))?")
SCHEDULER_DEADLINE = (15, 30 * 60)
"""cloudscheduler.v1.json, Job.attemptDeadline: "For HTTP targets, ... The deadline must be in
the interval [15 seconds, 30 minutes]"."""
SCHEDULER_URI = 2083
"""cloudscheduler.v1.json, HttpTarget.uri: "This string must begin with either "http://" or
"https://"", "The maximum allowed URL length is 2083 characters after encoding"."""


def cron_problem(expression: str) -> str | None:
    """What Cloud Scheduler's unix-cron refuses in ``expression``: five fields, each ``*`` or
    a list of values and ranges (``*`` or a range stepped by ``/n``), within the field's
    values (a name where it has names); None when it takes it."""
    fields = expression.split(" ")
    if len(fields) != len(CRON_FIELDS):
        return f"{len(fields)} fields, not 5"
    for text, (name, low, high, names) in zip(fields, CRON_FIELDS, strict=True):
        for item in text.split(","):
            match = _CRON_ITEM.fullmatch(item)
            if not match:
                return f"{name} {item!r} is not a value, range or step"
            for bound in (match["low"], match["high"]):
                if bound is None:
                    continue
                value = names.index(bound) + low if bound in names else None
                if value is None and not bound.isdigit():
                    return f"{name} {bound!r} is not a number or an upper-case name"
                if not low <= (value if value is not None else int(bound)) <= high:
                    return f"{name} {bound} is not within {low}-{high}"
            if match["step"] is not None and int(match["step"]) < 1:
                return f"{name} step {match['step']!r}"
    return None


def scheduler(request: Request, find: Find) -> None:
    """A Cloud Scheduler job's schedule, time zone, deadline, target and OAuth account."""
    body = request.body
    if problem := cron_problem(body.get("schedule", "")):
        find("GCP-CRON", "body.schedule", f"{body.get('schedule')!r}: {problem}")
    zone = body.get("timeZone")
    if zone is not None and zone != "utc" and zone not in zoneinfo.available_timezones():
        find(
            "GCP-TIMEZONE",
            "body.timeZone",
            f'{zone!r}: "must be a time zone name from the tz database" (Job.timeZone)',
        )
    deadline = body.get("attemptDeadline")
    if deadline is not None and _DURATION.fullmatch(deadline):
        seconds = float(deadline[:-1])
        if not SCHEDULER_DEADLINE[0] <= seconds <= SCHEDULER_DEADLINE[1]:
            find("GCP-SCHEDULER", "body.attemptDeadline", f"{deadline}: not within 15s to 30m")
    target = body.get("httpTarget", {})
    uri = target.get("uri", "")
    if not uri.startswith(("http://", "https://")) or len(uri) > SCHEDULER_URI:
        find("GCP-SCHEDULER", "body.httpTarget.uri", f"{uri!r}: not an http(s) URL of 2083 at most")
    project = request.params.get("parent", "").split("/")[1]
    email = target.get("oauthToken", {}).get("serviceAccountEmail", "")
    if email and not email.endswith(f"@{project}.iam.gserviceaccount.com"):
        find(
            "GCP-SCHEDULER",
            "body.httpTarget.oauthToken",
            f'{email!r}: "The service account must be within the same project as the job"',
        )


RULES: dict[str, tuple[Callable[[Request, Find], None], ...]] = {
    "cloudscheduler.projects.locations.jobs.create": (scheduler,),
    "run.projects.locations.jobs.setIamPolicy": (iam_binding,),
    "run.projects.locations.services.create": (cloud_run,),
    "run.projects.locations.jobs.create": (cloud_run,),
    "run.projects.locations.workerPools.create": (cloud_run,),
    "sql.instances.insert": (cloud_sql,),
    "redis.projects.locations.instances.create": (redis,),
    "compute.instances.insert": (metadata_size,),
    "compute.firewalls.insert": (firewall,),
    "compute.globalAddresses.insert": (peering_range,),
    "secretmanager.projects.secrets.addVersion": (secret_payload,),
    "run.projects.locations.services.setIamPolicy": (iam_binding,),
    "secretmanager.projects.secrets.setIamPolicy": (iam_binding,),
    "cloudresourcemanager.projects.setIamPolicy": (iam_binding,),
    "artifactregistry.projects.locations.repositories.setIamPolicy": (iam_binding,),
    "storage.buckets.setIamPolicy": (iam_binding,),
    "iam.projects.roles.create": (custom_role,),
    "artifactregistry.projects.locations.repositories.create": (cleanup,),
}
"""What each method's request must also satisfy: what Google documents beyond the schema."""


def coverage(request_list: Sequence[Request]) -> dict[str, int]:
    """How many requests of each Pulumi type were checked."""
    counts: dict[str, int] = {}
    for request in request_list:
        counts[request.registration.type] = counts.get(request.registration.type, 0) + 1
    return counts
