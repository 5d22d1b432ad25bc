"""What the gcp target refuses, or warns about, before it creates any resource."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from berth.components.images import check_build_platforms
from berth.durations import format_duration
from berth.errors import BerthError
from berth.model import ComposeProject, Secret, Service, held_secrets
from berth.providers.gcp import cloud_init, vm
from berth.providers.gcp.images import PLATFORM, BadImage, ImageRef
from berth.providers.gcp.mounts import SECRET_PAYLOAD, named_sources
from berth.providers.gcp.names import cloud_name
from berth.providers.gcp.options import NETWORK, GcpOptions
from berth.providers.gcp.placement import (
    Kind,
    Placement,
    ignored_here,
    inherited_fields,
    label,
)
from berth.providers.gcp.sizing import TooLarge, cloud_run_limits, machine_type
from berth.providers.gcp.stores import check_store
from berth.sizing import Request
from berth.sources import Sources
from berth.stores import ManagedStore, StoreKind, store_warnings

Fail = Callable[[str, str, str], BerthError]
"""A service's error: field, problem, hint."""
CLOUD_RUN_JOB_TIMEOUT = 168 * 3600.0
"""The longest a Cloud Run job's task may run (its ``timeout``): 7 days."""
EXTERNAL_NAMES = {
    True: (re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"), "persistent disk", "1 to 63 "
           "lowercase letters, digits and '-', a letter first and no '-' last"),
    False: (re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]"), "Cloud Storage bucket", "3 to 63 "
            "lowercase letters, digits, '-', '_' and '.', a letter or digit first and last"),
}  # fmt: skip
"""By whether a VM uses it: an external volume is an existing disk (a VM's) or bucket (Cloud
Run's) of that name, held to Compute Engine's rule for a resource name or Cloud Storage's for a
bucket's."""


@dataclass(frozen=True)
class Checks:
    project: ComposeProject
    options: GcpOptions
    sources: Sources
    stores: Mapping[str, ManagedStore]
    containers: Sequence[Service]
    placements: Mapping[str, Placement]

    def run(self) -> None:
        """Refuse what the project cannot deploy; log where each service runs and warn of
        what is ignored."""
        self._check_stores()
        self._check_disk_names()
        check_build_platforms(self.project, lambda _service: PLATFORM, self.sources)
        for service in self.containers:
            placement = self.placements[service.name]
            self._check_image(service)
            self._check(service, placement)
            pulumi.log.info(f"{label(service)}: {placement.kind}, {placement.reason}")
            for warning in self._warnings(service):
                pulumi.log.warn(warning)

    def _check_stores(self) -> None:
        """Refuse what a managed store cannot take; say what each store becomes."""
        for warning in store_warnings(self.project):
            pulumi.log.warn(warning)
        if self.options.network is not None and self.stores:
            name = next(iter(self.stores))
            raise BerthError(
                f"a managed store needs a private services peering, which Berth would make on "
                f"your network (berth:{NETWORK}), replacing the one it may have for your own "
                "Cloud SQL or Memorystore, and removing it on destroy",
                file=self.sources.origin(name),
                service=name,
                field=f"x-defang-{self.stores[name].kind.value}",
                hint=lambda terms: (
                    "run the store as a container (remove the marking), or let Berth create "
                    f"the network ({terms.how_to_remove(NETWORK)})"
                ),
            )
        for name, store in self.stores.items():
            for warning in check_store(store, self.project.services[name], self.sources):
                pulumi.log.warn(warning)
            managed = "Cloud SQL" if store.kind is StoreKind.POSTGRES else "Memorystore"
            pulumi.log.info(f"service '{name}': {managed}, it is marked a managed {store.kind}")

    def _warnings(self, service: Service) -> list[str]:
        placement = self.placements[service.name]
        warnings = ignored_here(service, placement, self._inherited(service))
        if placement.kind is Kind.VM and self.options.public_services:
            warnings += vm.public_ports(service, self.options.public_non_http_ports)[1]
        if placement.kind is Kind.VM:
            warnings += [
                f"service '{service.name}': port {p.published or p.target} is bound to "
                f"{p.host_ip} in compose: "
                + (
                    "not published on gcp (only the VM itself could reach it)"
                    if vm.loopback(p)
                    else "host_ip is ignored on gcp: published on the VM's internal address"
                )
                for p in service.ports
                if p.host_ip and p.host_ip not in ("0.0.0.0", "::")  # noqa: S104 - compose's "any"
            ]
        warnings += [
            f"{label(service)}: bind mount {m.source} -> {m.target} is ignored on gcp: "
            "files of the deploying machine are not uploaded; build them into the image"
            for m in service.mounts
            if m.type == "bind"
        ]
        return warnings

    def _inherited(self, hook: Service) -> list[str]:
        """A hook's fields from its service (``inherited_fields``): it runs as a Cloud Run
        job even when its service runs on a VM, and is checked as one (its refusals by
        ``_check``, its model holding what it inherits; its warnings here)."""
        if not hook.hook:
            return []
        owner = hook.hook.service
        return inherited_fields(hook, self.project.services[owner], self.placements.get(owner))

    def _check(self, service: Service, placement: Placement) -> None:
        """Refuse, before anything is created, what this placement cannot deploy."""

        def fail(field: str, problem: str, hint: str) -> BerthError:
            return BerthError(problem, **self._written_at(service, field), hint=hint)

        try:
            if placement.kind.cloud_run:
                cloud_run_limits(Request.of(service.resources))
            elif not self.options.machine_type:
                machine_type(Request.of(service.resources))
        except TooLarge as error:
            raise fail("deploy", f"{error} ({placement.kind})", "ask for less") from None
        self._check_volumes(service, placement, fail)
        if placement.kind is Kind.JOB and service.timeout > CLOUD_RUN_JOB_TIMEOUT:
            most = format_duration(CLOUD_RUN_JOB_TIMEOUT)
            raise fail(
                "x-berth-timeout",
                f"{format_duration(service.timeout)} is longer than Cloud Run lets a job's "
                f"task run, {most} (7 days)",
                f"use x-berth-timeout: {most} or less",
            )
        self._check_files(service, fail)
        self._check_secret_arguments(service, placement, fail)
        if not placement.kind.cloud_run:
            self._check_env_file(service, fail)
            self._check_vm_ports(service, fail)
            return
        if service.image and not service.build and ImageRef.parse(service.image).unreachable:
            raise fail(
                "image",
                f"{service.image} is in a registry of this machine, which Cloud Run cannot reach",
                "push it to a registry Google Cloud can reach, or add build:",
            )
        folders: set[str] = set()
        for file in service.files:
            folder = posixpath.dirname(file.target)
            if folder == "/" or folder in folders:
                raise fail(
                    file.kind,
                    f"{file.name!r}: Cloud Run mounts each secret or config as a folder of its "
                    "own, "
                    + ("never /" if folder == "/" else f"and {folder} already holds another"),
                    f"give it a target: in a folder of its own, e.g. /run/{file.name}/{file.name}",
                )
            folders.add(folder)
        port = service.environment.get("PORT")
        if placement.port is not None and port is not None and str(port) != str(placement.port):
            raise fail(
                "environment",
                f"Cloud Run sets PORT to the served port {placement.port}",
                f"remove PORT, or publish port {port}",
            )

    def _check_secret_arguments(self, service: Service, placement: Placement, fail: Fail) -> None:
        """Secrets only through environment and files: an argument is stored in plain text in
        a Cloud Run definition, and on a VM every user sees it in the process list."""
        arguments = [("command", service.command), ("entrypoint", service.entrypoint)]
        if not placement.kind.cloud_run and service.healthcheck:
            arguments.append(("healthcheck", service.healthcheck.test))
        where = (
            f"stored in plain text in the {placement.kind}"
            if placement.kind.cloud_run
            else "in the VM's process list (a command line) for the container's life"
        )
        for name, values in arguments:
            if held := held_secrets(values or ()):
                raise fail(
                    name,
                    f"a secret ({held}) in {name} would be {where}",
                    "pass the secret through environment and let the container's shell read "
                    "it, e.g. sh -c 'exec tool --password \"$$PASSWORD\"' ($$ keeps compose "
                    "from interpolating it)",
                )

    def _check_files(self, service: Service, fail: Fail) -> None:
        """Each secret or config file is a Secret Manager secret (on Cloud Run and VMs), which
        holds no empty value ("Field [payload] is required")."""
        for file in service.files:
            if file.size == 0:
                raise fail(
                    file.kind,
                    f"{file.kind[:-1]} {file.name!r} is empty: Secret Manager, where gcp keeps "
                    "it, stores no empty value",
                    "give it content, or build the file into the image",
                )
            if file.size > SECRET_PAYLOAD:
                raise fail(
                    file.kind,
                    f"{file.kind[:-1]} {file.name!r} has {file.size} bytes: Secret Manager, "
                    f"where gcp keeps it, holds at most {SECRET_PAYLOAD} (64 KiB)",
                    "make it smaller, or build the file into the image",
                )

    def _check_env_file(self, service: Service, fail: Fail) -> None:
        """A VM passes secret environment values through Docker's env file: one line each."""
        for key, value in sorted(service.environment.items()):
            if isinstance(value, Secret) and any(c in value.value for c in "\r\n"):
                raise fail(
                    "environment",
                    f"the secret value of {key} holds a line break, which Docker's env file "
                    "(how a VM passes secrets to the container) cannot carry",
                    "pass it as a file (compose secrets:), or encode it on one line (e.g. base64)",
                )

    def _check_image(self, service: Service) -> None:
        if service.image and not service.build:
            try:
                ImageRef.parse(service.image)
            except BadImage as error:
                raise BerthError(
                    f"image {service.image!r} is not a valid image reference: {error}",
                    **self._written_at(service, "image"),
                    hint="e.g. image: quay.io/prometheus/prometheus:v2.53.0",
                ) from None

    def _written_at(self, service: Service, field: str) -> dict[str, Any]:
        """Where an error about ``field`` of ``service`` points: the service's own field, a
        hook's in its service (``pre_start[0].command``), a job's under ``jobs:``."""
        if service.hook:
            hook = service.hook
            return {
                "file": self.sources.origin(hook.service, "pre_start"),
                "service": hook.service,
                "field": f"pre_start[{hook.index}].{field}",
            }
        section = "jobs" if service.triggers else "services"
        return {
            "file": self.sources.origin(service.name, field, section),
            "service": service.name,
            "field": field,
            "kind": "job" if service.triggers else "service",
        }

    def _check_vm_ports(self, service: Service, fail: Fail) -> None:
        """Port 22 of a VM is Container-Optimized OS's SSH server: publishing it there too
        fails, and the container would never start."""
        own = [p.host for p in vm.ports(service) if not p.optional and p.host == vm.SSH_PORT]
        if own:
            field = (
                "ports"
                if any(vm.SSH_PORT in (p.published, p.target) for p in service.ports)
                else "expose"
            )
            raise fail(
                field,
                f"port {vm.SSH_PORT} of its VM is the VM's own SSH server",
                f'publish it on another port of the VM, e.g. "2222:{vm.SSH_PORT}"',
            )

    def _check_disk_names(self) -> None:
        """A named volume's disk and a VM's own state disk share a zone and a naming scheme
        (``<project>-<stack>-<volume>``, ``<project>-<stack>-<service>-state``), and the
        state disk's device name is fixed: refuse a volume whose names would collide."""
        vms = [s.name for s in self.containers if self.placements[s.name].kind is Kind.VM]
        states = {cloud_name("p", name, "state"): name for name in vms}  # "p": any prefix
        for key in self.project.volumes:
            owner = states.get(cloud_name("p", key))
            clash = (
                f"service {owner!r}'s own state disk"
                if owner
                else "a VM's own state disk device"
                if cloud_name(key) == cloud_init.STATE_DEVICE
                else None
            )
            if clash:
                raise BerthError(
                    f"named volume {key!r} would be named like {clash} on gcp",
                    file=self.sources.origin(),
                    field="volumes",
                    hint=f"rename the volume (e.g. {key}-data)",
                )

    def _check_volumes(self, service: Service, placement: Placement, fail: Fail) -> None:
        for key in named_sources(service):
            users = [s.name for s in self.containers if key in named_sources(s)]
            vms = [u for u in users if self.placements[u].kind is Kind.VM]
            if service.hook and vms:  # Compose shares the service's volumes with its hooks
                raise fail(
                    "volumes",
                    f"named volume {key!r} is the persistent disk of {vms[0]}'s VM on gcp, "
                    "which its pre_start hook, a Cloud Run job, cannot mount",
                    "do the hook's work in the service's own entrypoint, or remove the hook",
                )
            kinds = {self.placements[u].kind is Kind.VM for u in users}
            if (placement.kind is Kind.VM and len(users) > 1) or len(kinds) > 1:
                raise fail(
                    "volumes",
                    f"named volume {key!r} is used by {', '.join(users)}; on gcp a volume is "
                    "either a VM's persistent disk (one VM) or a bucket shared by Cloud Run",
                    "give each VM service its own volume",
                )
            volume = self.project.volumes[key]
            pattern, kind, rule = EXTERNAL_NAMES[placement.kind is Kind.VM]
            if volume.external and not pattern.fullmatch(volume.name):
                raise fail(
                    "volumes",
                    f"external volume {key!r} is the {kind} {volume.name!r} on gcp, a name "
                    f"it cannot have ({rule})",
                    f"set the volume's name: to the name of your existing {kind}",
                )
