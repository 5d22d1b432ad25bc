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

from berth.components.names import Names
from berth.errors import BerthError
from berth.model import FileMount, Secret, Service, Text
from berth.names import shortened
from berth.providers.aws.containers import FILE_ENV_PREFIX, FILES_DIR
from berth.providers.aws.names import SECRET_NAME
from berth.sources import Sources

SECRET_STRING = 65536
"""Bytes a Secrets Manager value holds at most (CreateSecret's SecretString; 64 KB quota)."""


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
        sources: Sources,
        parent: pulumi.Resource,
    ) -> None:
        self.names = names
        self.prefix = prefix
        self.values = values
        """The stack secrets, by key."""
        self.sources = sources
        self.parent = parent
        self.by_key: dict[str, StoredSecret] = {}

    def environment(self, service: Service, parent: pulumi.Resource) -> dict[str, SecretInput]:
        """Secret environment values, each from Secrets Manager."""
        secrets = {k: v for k, v in sorted(service.environment.items()) if isinstance(v, Secret)}
        for key, value in secrets.items():
            self._check_size(len(value.value.encode()), f"the secret value of {key}", service)
        return {
            key: SecretInput(self._store(value, f"{service.name}-env-{key}", parent), value.value)
            for key, value in secrets.items()
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
                    file=self.sources.origin(service.name, "secrets"),
                    service=service.name,
                    field="secrets",
                    hint=f"remove its target (it defaults to {FILES_DIR}/{file.name})",
                )
            self._check_size(file.size, f"the secret {file.name!r}", service, file.kind)
            value = file.content.value if isinstance(file.content, Secret) else file.content
            stored = self._store(file.content, f"{service.name}-file-{file.name}", parent)
            files[f"{FILE_ENV_PREFIX}{index}"] = (file, SecretInput(stored, value))
        return files

    def _check_size(
        self, size: int, what: str, service: Service, field: str = "environment"
    ) -> None:
        """Refused at plan time rather than by Secrets Manager half-way through ``pulumi up``:
        a SecretString holds 1 to 65,536 bytes. ``what`` names the value, never shows it."""
        if 0 < size <= SECRET_STRING:
            return
        empty = size == 0
        raise BerthError(
            f"{what} "
            + (
                "is empty; Secrets Manager, where aws keeps it, stores no empty value"
                if empty
                else f"has {size} bytes: Secrets Manager, where aws keeps it, holds at most "
                f"{SECRET_STRING} (64 KiB)"
            ),
            file=self.sources.origin(service.name, field),
            service=service.name,
            field=field,
            hint="give the secret's file or variable a value, or remove the secret"
            if empty
            else "make it smaller, or build it into the image as a file",
        )

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
            name=shortened(f"berth/{self.prefix}/{name}", SECRET_NAME),
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
