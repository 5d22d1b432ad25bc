"""Secrets Manager: where the values a task must not hold in plain text live.

A stack secret used as a whole value is one secret per key, ``berth/<prefix>/stack-KEY``,
shared by the services that use it; a value that interpolates a secret, and each compose secret
file, gets its own. Tasks read a secret by the version deployed with them (``value_from``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from berth.errors import BerthError
from berth.model import FileMount, Secret, Service, Text
from components.names import Names
from providers.aws.containers import FILE_ENV_PREFIX, FILES_DIR


@dataclass(frozen=True)
class StoredSecret:
    """A value in Secrets Manager, and the version tasks read and must wait for."""

    arn: pulumi.Output[str]
    version: aws.secretsmanager.SecretVersion

    @property
    def value_from(self) -> pulumi.Output[str]:
        """What a task definition reads: this very version (``arn:json-key:stage:version``),
        not whatever is current when a task starts. A new value is thus a new task definition
        revision, which rolls the services that read it, as it re-runs the jobs."""
        return pulumi.Output.concat(self.arn, ":::", self.version.version_id)


@dataclass(frozen=True)
class SecretInput:
    """An environment variable of a task, filled from Secrets Manager."""

    stored: StoredSecret
    value: str = field(repr=False)


class SecretStore:
    """The stack's secrets in Secrets Manager, each stack key stored once."""

    def __init__(
        self,
        names: Names,
        *,
        prefix: str,
        values: Mapping[str, str],
        file: str,
        parent: pulumi.Resource,
    ) -> None:
        self.names = names
        self.prefix = prefix
        self.values = values
        """The stack secrets, by key."""
        self.file = file
        self.parent = parent
        self.by_key: dict[str, StoredSecret] = {}

    def environment(self, service: Service, parent: pulumi.Resource) -> dict[str, SecretInput]:
        """Secret environment values, each from Secrets Manager."""
        return {
            key: SecretInput(self._store(value, f"{service.name}-env-{key}", parent), value.value)
            for key, value in sorted(service.environment.items())
            if isinstance(value, Secret)
        }

    def files(
        self, service: Service, parent: pulumi.Resource
    ) -> dict[str, tuple[FileMount, SecretInput]]:
        """Compose secrets, by the variable that brings each one to the init container, which
        writes it under /run/secrets."""
        files = {}
        for index, file in enumerate(service.files):
            if posixpath.dirname(file.target.rstrip("/")) != FILES_DIR:
                raise BerthError(
                    f"the secret {file.name!r} goes to {file.target}; on aws Berth places "
                    f"compose secrets directly in {FILES_DIR}",
                    file=self.file,
                    service=service.name,
                    field="secrets",
                    hint=f"remove its target (it defaults to {FILES_DIR}/{file.name})",
                )
            value = file.content.value if isinstance(file.content, Secret) else file.content
            if not value:
                raise BerthError(
                    f"the secret {file.name!r} is empty; Secrets Manager, where aws keeps it, "
                    "stores no empty value",
                    file=self.file,
                    service=service.name,
                    field="secrets",
                    hint="give the secret's file or variable a value, or remove the secret",
                )
            stored = self._store(file.content, f"{service.name}-file-{file.name}", parent)
            files[f"{FILE_ENV_PREFIX}{index}"] = (file, SecretInput(stored, value))
        return files

    def key(self, key: str) -> StoredSecret:
        """The stack secret ``key``, stored once for every service that uses it."""
        if key not in self.by_key:
            name = f"stack-{key}"
            self.by_key[key] = self._new(name, self.values[key], self.parent, legacy=True)
        return self.by_key[key]

    def _store(self, value: Text, name: str, parent: pulumi.Resource) -> StoredSecret:
        """A stack secret used as the whole value is that key's secret; any other value (one
        that interpolates secrets, a compose secret's file) gets its own."""
        if isinstance(value, Secret):
            if len(value.keys) == 1 and self.values.get(value.keys[0]) == value.value:
                return self.key(value.keys[0])
            value = value.value
        return self._new(name, value, parent)

    def _new(
        self, name: str, value: str, parent: pulumi.Resource, *, legacy: bool = False
    ) -> StoredSecret:
        """A Secrets Manager secret, deleted at once with the stack (no recovery window), so
        that a new stack of the same name can create it again. ``name`` names the cloud
        secret; the resource is that under the Project's name, aliased to it when ``legacy``
        (a resource parented to the Project; a component's child needs no alias)."""
        opts = pulumi.ResourceOptions(parent=parent)
        if legacy:
            opts = pulumi.ResourceOptions.merge(opts, self.names.aliased(name))
        secret = aws.secretsmanager.Secret(
            self.names(name),
            name=f"berth/{self.prefix}/{name}",
            recovery_window_in_days=0,
            opts=opts,
        )
        version = aws.secretsmanager.SecretVersion(
            self.names(name),
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(value),
            opts=opts,
        )
        return StoredSecret(secret.arn, version)
