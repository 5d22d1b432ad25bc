"""Language models on GCP: the Vertex AI API, and who may call it.

The gateways (``berth.components.models``: a LiteLLM service per model, which only
``expose``s 4000 and so runs on a VM with an internal address, private to the project's
network) call Vertex AI as their own service accounts, as does a service marked
``x-defang-llm`` (its own code calls Vertex AI). Those accounts, and no other, hold one custom
project role of a single permission, ``aiplatform.endpoints.predict``: what a prompt request
needs (Vertex AI's *Access control* page, "Make prompt requests"), whether LiteLLM sends it as
``generateContent`` or ``predict`` to a Google model or as an OpenAI-compatible
``chat/completions`` to a Model-as-a-Service one (whose REST reference names it too).
``roles/aiplatform.user`` would also let them create datasets, endpoints and training jobs.

The role's ID ends with a random part, drawn once per stack (``random.RandomId``): GCP keeps
a deleted custom role for 7 days, then erases it over 30 more, during which no role of that ID
can be created. terraform-provider-google's create undeletes a role of the same ID in the first
7 days (``resourceGoogleProjectIamCustomRoleCreate``: ``Roles.Get``, then ``Undelete`` when
``Deleted``), but from then to day 37 the role can be neither undeleted nor created again: a
fixed ID would break a stack destroyed and deployed again in that window. pulumi-gcp's
autonaming of ``role_id`` joins with ``-``, which a role ID cannot hold, so the ID is Berth's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from berth.ai_models import Platform, cloud_model
from berth.model import ComposeProject, Service
from berth.names import cloud_slug
from berth.providers.gcp.iam import Accounts
from berth.providers.gcp.placement import containers_and_jobs
from berth.providers.gcp.shared import Shared
from berth.sizing import GIB
from berth.sources import Sources

API = "aiplatform"
"""Vertex AI's API, enabled when a workload calls it."""
PERMISSIONS = ("aiplatform.endpoints.predict",)
"""All a caller of Vertex AI's models needs."""
LOCATION_VARIABLE = "VERTEXAI_LOCATION"
"""Where LiteLLM reads the location it calls Vertex AI in (a table's fixed one wins)."""
GATEWAY_VM_MEMORY = 3 * GIB
"""LiteLLM's 2 GiB and the VM's own OS and Docker engine: an ``e2-medium``, not an
``e2-small`` whose 2 GiB LiteLLM alone would fill."""
PROJECT_VARIABLE = "VERTEXAI_PROJECT"
"""Where LiteLLM reads the project it bills Vertex AI to (else it asks the credentials)."""
SUFFIX_BYTES = 4


def model_callers(project: ComposeProject, skip: Sequence[str] = ()) -> list[str]:
    """The workloads that call Vertex AI: the gateways and the ``x-defang-llm`` services
    (``skip``: the managed stores, which run no code of the project)."""
    return [
        service.name
        for service in containers_and_jobs(project)
        if (service.serves_model or service.model_access) and service.name not in skip
    ]


def model_apis(project: ComposeProject) -> list[str]:
    """Vertex AI's API when a workload calls it."""
    return [API] if model_callers(project) else []


def with_vertex_project(service: Service, gcp_project: str, region: str) -> Service:
    """A gateway told the project it calls Vertex AI in (the gcp provider's, known as the
    program starts: ``provider.configured_provider``) and, for a model Vertex AI serves in
    every region, the deployment's region; its VM sized with room for the OS beside LiteLLM's
    2 GiB. Any other service as it is."""
    if not service.serves_model:
        return service
    environment = {LOCATION_VARIABLE: region, **service.environment, PROJECT_VARIABLE: gcp_project}
    resources = dataclasses.replace(service.resources, reserved_memory=GATEWAY_VM_MEMORY)
    return dataclasses.replace(service, environment=environment, resources=resources)


def residency_warnings(project: ComposeProject, sources: Sources, region: str) -> list[str]:
    """A warning for each model Vertex AI serves in one location only, another than the
    deployment's region: its prompts leave the region."""
    warnings = []
    for model in project.models.values():
        location = cloud_model(model, Platform.VERTEX_AI, sources).location
        if location and location != region:
            warnings.append(
                f"{model.label}: Vertex AI serves {model.model!r} in {location} only, so its "
                f"prompts leave {region}"
            )
    return warnings


@dataclasses.dataclass(frozen=True)
class ModelAccess:
    """The custom role, and each caller's grant of it, made only where the project calls
    Vertex AI."""

    shared: Shared
    accounts: Accounts
    callers: Sequence[str]
    role: gcp.projects.IAMCustomRole | None = None

    @classmethod
    def create(cls, shared: Shared, accounts: Accounts, callers: Sequence[str]) -> ModelAccess:
        if not callers:
            return cls(shared, accounts, callers)
        root = pulumi.ResourceOptions(parent=shared.root)
        suffix = random.RandomId(
            shared.names("vertex-ai-role-suffix"), byte_length=SUFFIX_BYTES, opts=root
        )
        role = gcp.projects.IAMCustomRole(
            shared.names("vertex-ai-role"),
            project=shared.gcp_project,
            role_id=suffix.hex.apply(lambda hex_: role_id(shared.prefix, hex_)),
            title=f"Berth {shared.project.name} ({pulumi.get_stack()}): Vertex AI"[:100],
            description="Calls Vertex AI's models (a prediction) and nothing else",
            permissions=list(PERMISSIONS),
            opts=pulumi.ResourceOptions(parent=shared.root, depends_on=[shared.apis["iam"]]),
        )
        return cls(shared, accounts, callers, role)

    def grants(self, name: str, parent: pulumi.Resource) -> list[pulumi.Resource]:
        """The workload's grant of the role, when it calls Vertex AI: made once the API is
        enabled; the workload waits for it."""
        if self.role is None or name not in self.callers:
            return []
        shared = self.shared
        return [
            gcp.projects.IAMMember(
                shared.names(name, "vertex-ai"),
                project=shared.gcp_project,
                role=self.role.name,
                member=self.accounts[name].member,
                opts=pulumi.ResourceOptions(parent=parent, depends_on=[shared.apis[API]]),
            )
        ]


def role_id(prefix: str, suffix: str) -> str:
    """``berth_<prefix>_<suffix>``: letters, digits and ``_``, at most 64 (a prefix holds 30
    characters at most)."""
    return f"berth_{cloud_slug(prefix).replace('-', '_')}_{suffix}"
