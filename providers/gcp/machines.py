"""A VM service's boot script, assembled from its compose definition (see ``vm``).

The pieces that need resources (the service's secrets, its disks, its image) come from the
target; what the script does with them is ``vm``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from berth.model import Secret, Service
from providers.gcp import vm
from providers.gcp.mounts import FILE_MODE, file_data, named
from providers.gcp.names import cloud_name

if TYPE_CHECKING:
    from providers.gcp.target import GcpTarget


class Boot:
    """A VM service's boot script, assembled: the secret versions it reads, the files and
    disks it mounts, and the ``docker run`` words (see ``vm``)."""

    def __init__(self, target: GcpTarget, service: Service, parent: pulumi.Resource) -> None:
        self.target = target
        self.service = service
        self.parent = parent
        self.secrets: list[dict[str, Any]] = []
        self.env: list[dict[str, str]] = []
        self.files: list[dict[str, Any]] = []
        self.disks: list[dict[str, str]] = []
        self.attached: list[dict[str, Any]] = []
        self.grants: list[pulumi.Resource] = []
        self.run: list[vm.Group] = [["--name", service.name], *vm.ports(service)]
        self._environment()
        self._files()
        self._mounts()
        self.run += vm.settings_words(service)
        self.run += vm.health_words(service.healthcheck)
        self._command()

    def user_data(self) -> pulumi.Output[str]:
        spec = {
            "name": self.service.name,
            "registry": self.target.registry_host if self.service.build else None,
            "secrets": self.secrets,
            "env": self.env,
            "files": self.files,
            "disks": self.disks,
            "run": self.run,
        }
        return pulumi.Output.from_input(spec).apply(vm.cloud_config)

    def secret(self, label: str, data: pulumi.Input[str]) -> str:
        """A shell variable the script reads the secret into: the metadata names its version."""
        ref = self.target.secret_ref(self.service.name, label, data, self.parent)
        self.grants.append(ref.grant)
        self.secrets.append({"var": f"s{len(self.secrets)}", "version": ref.version.name})
        return str(self.secrets[-1]["var"])

    def _environment(self) -> None:
        service = self.service
        for key in sorted(service.environment):
            value = service.environment[key]
            rewritten = self.target.rewritten(service, key, value)
            if isinstance(value, Secret):
                self.env.append({"key": key, "var": self.secret(key, rewritten)})
            else:
                self.run.append(["--env", vm.env_word(key, rewritten)])
        for other, address in sorted(self.target.addresses.items()):
            if other != service.name:
                self.run.append(["--add-host", pulumi.Output.concat(other, ":", address.address)])

    def _files(self) -> None:
        for index, file in enumerate(self.service.files):
            label = f"file-{file.name}"
            ref = self.target.secret_ref(
                self.service.name, label, file_data(file.content), self.parent
            )
            self.grants.append(ref.grant)
            path = f"{vm.FILES_DIR}/{self.service.name}/{index}"
            mode = f"{FILE_MODE if file.mode is None else file.mode:o}"
            self.files.append({"version": ref.version.name, "path": path, "mode": mode})
            self.run.append(["--volume", f"{path}:{file.target}:ro"])

    def _mounts(self) -> None:
        for mount in self.service.mounts:
            if mount.type == "tmpfs":
                self.run.append(["--tmpfs", mount.target])
            elif named(mount):
                device = cloud_name(str(mount.source))
                path = f"{vm.DISKS_DIR}/{device}"
                self.disks.append({"device": device, "path": path})
                disk = self.target.volumes[str(mount.source)].disk
                self.attached.append({"source": disk, "device_name": device})
                read_only = ":ro" if mount.read_only else ""
                self.run.append(["--volume", f"{path}:{mount.target}{read_only}"])
            elif mount.type == "volume":
                self.run.append(["--volume", mount.target])

    def _command(self) -> None:
        """``--entrypoint`` takes one word: the rest of compose's entrypoint follows the image
        (the target refused secrets in both)."""
        entrypoint = [str(word) for word in self.service.entrypoint or ()]
        if entrypoint:
            self.run.append(["--entrypoint", entrypoint[0]])
        command = [*entrypoint[1:], *(str(word) for word in self.service.command or ())]
        self.run.append([self.target.image(self.service, self.parent), *command])
