"""Compute Engine VMs for the services Cloud Run cannot serve: the instance, its account's
roles, and its boot script, assembled from its compose definition (what the script does is
``vm``'s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from berth.components.target import ServiceHandle
from berth.model import Secret, Service
from berth.providers.gcp import cloud_init, vm
from berth.providers.gcp.discovery import Directory
from berth.providers.gcp.iam import Accounts, machine_roles
from berth.providers.gcp.mounts import FILE_MODE, file_data, file_label, named
from berth.providers.gcp.names import cloud_name
from berth.providers.gcp.network import Network, public_access
from berth.providers.gcp.readiness import START_TIMEOUT, VmServiceReady
from berth.providers.gcp.registry import Registry
from berth.providers.gcp.secrets import Secrets
from berth.providers.gcp.shared import Shared
from berth.providers.gcp.sizing import machine_type
from berth.providers.gcp.volumes import Volume, retained_disk
from berth.providers.gcp.workloads import workload_resources
from berth.sizing import Request


@dataclass(frozen=True)
class Machines:
    """Makes the project's VM services."""

    shared: Shared
    network: Network
    accounts: Accounts
    secrets: Secrets
    registry: Registry
    volumes: Mapping[str, Volume]
    directory: Directory
    identity: Mapping[str, pulumi.Output[dict[str, Any]]]
    """What Berth's dynamic providers act as: the gcp provider's identity, if the stack sets
    one."""
    access: Sequence[pulumi.Resource]
    """What every VM needs around it first: the firewall and the NAT."""
    named_ports: Mapping[str, Mapping[int, str]]
    """The ports other services name each service by (``placement.named_ports``)."""

    def service(
        self, service: Service, after: Sequence[pulumi.Resource], parent: pulumi.Resource
    ) -> ServiceHandle:
        """A Compute Engine VM running the service's container (see ``vm``), and the
        resources that wait until it runs, and is healthy when it has a healthcheck."""
        shared = self.shared
        boot = Boot(self, service, parent)
        access, endpoints = public_access(shared, self.network, service, parent)
        address = self.directory.addresses[service.name].address
        interface: Any = {"subnetwork": self.network.subnet.id, "network_ip": address}
        if access:
            interface["access_configs"] = access
        disks: Any = boot.attached or None
        identity: Any = {
            "email": self.accounts[service.name].email,
            "scopes": ["cloud-platform"],
        }
        roles = machine_roles(shared, self.accounts, self.registry.repository, service, parent)
        metadata: Any = {
            "user-data": boot.user_data(),
            "google-logging-enabled": "true",
            "enable-guest-attributes": "TRUE",
        }
        instance = gcp.compute.Instance(
            shared.names(service.name),
            name=cloud_name(shared.prefix, service.name),
            project=shared.gcp_project,
            zone=shared.zone,
            machine_type=shared.options.machine_type or machine_type(Request.of(service.resources)),
            boot_disk={"initialize_params": {"image": vm.COS_IMAGE}},
            network_interfaces=[interface],
            attached_disks=disks,
            service_account=identity,
            metadata=metadata,
            tags=[shared.prefix, cloud_name(shared.prefix, service.name)],
            shielded_instance_config={"enable_secure_boot": True},
            allow_stopping_for_update=True,
            opts=pulumi.ResourceOptions(
                parent=parent,
                depends_on=[
                    *after,
                    shared.apis["compute"],
                    *self.access,
                    *roles,
                    *boot.grants,
                ],
                replace_on_changes=["metadata"],
                delete_before_replace=True,
            ),
        )
        internal = [
            pulumi.Output.concat(address, f":{port}")
            for port in dict.fromkeys(published.container for published in boot.ports)
        ]
        waiting = {
            "service": service.name,
            "instance": pulumi.Output.concat(
                "projects/",
                shared.gcp_project,
                "/zones/",
                shared.zone,
                "/instances/",
                instance.name,
            ),
            "instanceId": instance.instance_id,
            "timeout": START_TIMEOUT,
            **self.identity,
        }
        child = pulumi.ResourceOptions(parent=parent)
        running = VmServiceReady(
            shared.names(service.name, "running"), {**waiting, "want": "running"}, child
        )
        healthy = (
            VmServiceReady(
                shared.names(service.name, "healthy"), {**waiting, "want": "healthy"}, child
            )
            if service.healthcheck
            else running
        )
        return ServiceHandle(
            started=[instance, running],
            healthy=[instance, healthy],
            endpoints=pulumi.Output.all(*(endpoints or internal)),
            resources=workload_resources(
                service.name,
                self.accounts,
                self.registry,
                workload=instance,
                address=self.directory.addresses[service.name],
            ),
        )


class Boot:
    """A VM service's boot script, assembled: the secret versions it reads, the files and
    disks it mounts, and the ``docker run`` words (see ``vm``)."""

    def __init__(self, machines: Machines, service: Service, parent: pulumi.Resource) -> None:
        self.machines = machines
        self.service = service
        self.parent = parent
        self.secrets: list[dict[str, Any]] = []
        self.env: list[dict[str, str]] = []
        self.files: list[dict[str, Any]] = []
        self.disks: list[dict[str, str]] = []
        self.attached: list[dict[str, Any]] = []
        self.grants: list[pulumi.Resource] = []
        self.ports = vm.ports(service, machines.named_ports.get(service.name, {}))
        self.anonymous: list[str] = []
        self.covered: list[str] = [file.target for file in service.files]
        """Where compose mounts something: an image's ``VOLUME`` there needs no volume."""
        self.run: list[vm.Group] = [["--name", vm.container_name(service.name)]]
        self._state()
        self._environment()
        self.hosts_at = len(self.run)
        """Where in ``run`` the ``--add-host`` groups go, after the environment: added once
        the other VMs' addresses are known (``user_data``)."""
        self._files()
        self._mounts()
        self.run += vm.settings_words(service)
        self.run += vm.health_words(service.healthcheck)
        self._command()

    def user_data(self) -> pulumi.Output[str]:
        """The cloud-config, once this VM's own Outputs and the other VMs' addresses are
        known."""
        spec = {
            "name": self.service.name,
            "registry": self.machines.registry.host if self.service.build else None,
            "secrets": self.secrets,
            "env": self.env,
            "files": self.files,
            "disks": self.disks,
            "state": self.state,
            "ports": self.ports,
            "anonymous": self.anonymous,
            "covered": self.covered,
            "run": self.run,
            "image": self.image,
            "command": self.command,
        }
        hosts = self.machines.directory.other_vms(self.service.name)
        return pulumi.Output.all(pulumi.Output.from_input(spec), hosts).apply(self._cloud_config)

    def _cloud_config(self, resolved: list[Any]) -> str:
        spec, hosts = resolved
        run = list(spec["run"])
        run[self.hosts_at : self.hosts_at] = vm.host_words(hosts)
        return cloud_init.cloud_config({**spec, "run": run})

    def secret(self, label: str, data: pulumi.Input[str]) -> str:
        """A shell variable the script reads the secret into: the metadata names its version."""
        ref = self.machines.secrets.ref(self.service.name, label, data, self.parent)
        self.grants.append(ref.grant)
        self.secrets.append({"var": f"s{len(self.secrets)}", "version": ref.version.name})
        return str(self.secrets[-1]["var"])

    def _environment(self) -> None:
        service = self.service
        for key in sorted(service.environment):
            value = service.environment[key]
            rewritten = self.machines.directory.rewritten(service, key, value)
            if isinstance(value, Secret):
                self.env.append({"key": key, "var": self.secret(key, rewritten)})
            else:
                self.run.append(["--env", vm.env_word(key, rewritten)])

    def _files(self) -> None:
        for index, file in enumerate(self.service.files):
            ref = self.machines.secrets.ref(
                self.service.name,
                file_label(self.service, file),
                file_data(file.content),
                self.parent,
            )
            self.grants.append(ref.grant)
            path = f"{cloud_init.FILES_DIR}/{self.service.name}/{index}"
            mode = f"{FILE_MODE if file.mode is None else file.mode:o}"
            self.files.append({"version": ref.version.name, "path": path, "mode": mode})
            self.run.append(["--volume", f"{path}:{file.target}:ro"])

    def _state(self) -> None:
        """The VM's own disk, kept as named volumes are, for its anonymous volumes (``vm``)."""
        shared, name = self.machines.shared, self.service.name
        disk = retained_disk(
            shared, shared.names(name, "state"), cloud_name(shared.prefix, name, "state")
        )
        self.state = f"{cloud_init.DISKS_DIR}/{cloud_init.STATE_DEVICE}"
        self.disks.append({"device": cloud_init.STATE_DEVICE, "path": self.state})
        self.attached.append({"source": disk, "device_name": cloud_init.STATE_DEVICE})

    def _mounts(self) -> None:
        self.covered += list(self.service.container.tmpfs_options)
        for mount in self.service.mounts:
            if mount.type != "bind":
                self.covered.append(mount.target)
            if mount.type == "tmpfs":
                self.run.append(["--tmpfs", mount.target])
            elif named(mount):
                device = cloud_name(str(mount.source))
                path = f"{cloud_init.DISKS_DIR}/{device}"
                self.disks.append({"device": device, "path": path})
                disk = self.machines.volumes[str(mount.source)].disk
                self.attached.append({"source": disk, "device_name": device})
                read_only = ":ro" if mount.read_only else ""
                self.run.append(["--volume", f"{path}:{mount.target}{read_only}"])
            elif mount.type == "volume":
                self.anonymous.append(mount.target)

    def _command(self) -> None:
        """``--entrypoint`` takes one word: the rest of compose's entrypoint follows the image
        (the checks refused secrets in both)."""
        entrypoint = [str(word) for word in self.service.entrypoint or ()]
        if entrypoint:
            self.run.append(["--entrypoint", entrypoint[0]])
        self.command = [*entrypoint[1:], *(str(word) for word in self.service.command or ())]
        self.image = self.machines.registry.image(self.service, self.parent, cloud_run=False)
