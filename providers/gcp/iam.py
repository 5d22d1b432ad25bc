"""Identities and what they may do: a service account per service and job, the roles a VM's
account needs, and who may invoke a Cloud Run service."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pulumi
import pulumi_gcp as gcp

from berth.model import Service
from berth.providers.gcp.names import account_id
from berth.providers.gcp.shared import Shared

VM_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter")
"""What a VM's logging and monitoring agents need, on top of its secrets and images."""

Accounts = Mapping[str, gcp.serviceaccount.Account]
"""Each workload's service account, by service or job name."""


def create_accounts(
    shared: Shared, workloads: Iterable[str]
) -> dict[str, gcp.serviceaccount.Account]:
    """Each service's and job's own identity: it reads only its own secrets and volumes.
    The gcp provider waits until a new account is visible before it reports it created,
    so the grants that name it follow it (``member`` is its output)."""
    project = shared.project.name
    return {
        name: gcp.serviceaccount.Account(
            shared.names(f"{name}-account"),
            account_id=account_id(shared.prefix, name),
            project=shared.gcp_project,
            display_name=f"Berth {project} ({pulumi.get_stack()}): {name}"[:100],
            opts=shared.at_root(f"{name}-account", shared.apis["iam"]),
        )
        for name in workloads
    }


def machine_roles(
    shared: Shared,
    accounts: Accounts,
    registry: gcp.artifactregistry.Repository,
    service: Service,
    parent: pulumi.Resource,
) -> list[pulumi.Resource]:
    """The VM's account: its agents write logs and metrics; it pulls the service's image
    from the project's registry when Berth built it."""
    member = accounts[service.name].member
    child = pulumi.ResourceOptions(parent=parent)
    roles: list[pulumi.Resource] = [
        gcp.projects.IAMMember(
            shared.names(service.name, role.rsplit(".", 1)[-1]),
            project=shared.gcp_project,
            role=role,
            member=member,
            opts=child,
        )
        for role in VM_ROLES
    ]
    if service.build:
        roles.append(
            gcp.artifactregistry.RepositoryIamMember(
                shared.names(service.name, "image-reader"),
                project=shared.gcp_project,
                location=shared.region,
                repository=registry.name,
                role="roles/artifactregistry.reader",
                member=member,
                opts=child,
            )
        )
    return roles


def invoker_members(
    accounts: Accounts, name: str, *, public: bool, iam_disabled: bool
) -> dict[str, pulumi.Input[str]]:
    """Who may call a Cloud Run service, by the suffix of the grant's name: everyone
    (``allUsers``, or no check at all with ``gcpInvokerIamDisabled``) when it is public, else
    the project's other workloads."""
    if public:
        return {} if iam_disabled else {"invoker": "allUsers"}
    return {
        f"invoker-{other}": account.member for other, account in accounts.items() if other != name
    }
