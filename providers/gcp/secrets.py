"""Secret Manager: each secret value of a service or job is a secret of its own, readable by
that workload's account only."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from berth.providers.gcp.iam import Accounts
from berth.providers.gcp.names import secret_id
from berth.providers.gcp.shared import Shared

ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"


@dataclass(frozen=True)
class SecretRef:
    """A stored secret, the version a workload reads, and its owner's grant to read it."""

    secret: gcp.secretmanager.Secret
    version: gcp.secretmanager.SecretVersion
    grant: gcp.secretmanager.SecretIamMember


@dataclass(frozen=True)
class Secrets:
    shared: Shared
    accounts: Accounts

    def ref(
        self, owner: str, label: str, data: pulumi.Input[str], parent: pulumi.Resource
    ) -> SecretRef:
        """A Secret Manager secret holding ``data``, readable by its owner's account only
        (each secret belongs to one service or job)."""
        shared = self.shared
        name = shared.names(owner, label)
        child = pulumi.ResourceOptions(parent=parent)
        secret = gcp.secretmanager.Secret(
            name,
            secret_id=secret_id(shared.prefix, owner, label),
            project=shared.gcp_project,
            replication={"auto": {}},
            opts=shared.after_api("secretmanager", parent),
        )
        version = gcp.secretmanager.SecretVersion(
            name, secret=secret.id, secret_data=pulumi.Output.secret(data), opts=child
        )
        grant = gcp.secretmanager.SecretIamMember(
            name,
            project=shared.gcp_project,
            secret_id=secret.id,
            role=ACCESSOR_ROLE,
            member=self.accounts[owner].member,
            opts=child,
        )
        return SecretRef(secret, version, grant)
