"""Docker Compose's normalized output, turned into the typed model.

The binary has already expanded short syntax into long syntax, merged the files and checked the
schema; this step converts types (durations, byte sizes, ports), resolves secrets and relative
paths, and reads Berth's own ``x-berth-*`` extensions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from berth.builds import read_build
from berth.consistency import check_consistency
from berth.durations import parse_duration
from berth.errors import BerthError
from berth.files import CONTENT_LIMIT, FileRefused, read_capped
from berth.model import (
    ComposeProject,
    Condition,
    ContainerSettings,
    Dependency,
    FileMount,
    Healthcheck,
    Mount,
    Port,
    Resources,
    Secret,
    Service,
    Text,
    Volume,
)
from berth.quantities import (
    MAX_REPLICAS,
    PORT_PROTOCOLS,
    count,
    cpus,
    file_mode,
    file_owner,
    health_duration,
    host_address,
    job_timeout,
    port_range,
    size,
    sysctl,
    tmpfs_entry,
    ulimit,
    volume_name,
    working_dir,
)
from berth.quantities import Fail as _Fail
from berth.sources import MAX_PORTS, Sources, too_many_ports
from berth.stores import EXTENSIONS as STORE_EXTENSIONS
from berth.terms import Hint
from berth.variables import Sealed

BERTH_EXTENSIONS = {
    "x-berth-run": "run the job on every deployment (always) or only when it changed (on-change)",
    "x-berth-timeout": "how long the job may run, as a compose duration such as 30m",
}
_SECRET_PATHS = [
    ("services", "*", "environment", "*"),
    ("services", "*", "command", "*"),
    ("services", "*", "entrypoint", "*"),
    ("services", "*", "healthcheck", "test", "*"),
    ("configs", "*", "content"),
]
"""Where a secret may go: places every target can keep secret. Top-level ``x-*`` blocks may
hold one too (they are often YAML anchors for environment values): they stay in the model's
extensions as ``Secret`` values and reach no resource unless a target reads them."""
_COMPOSE_DEFAULT_NETWORKS = {"default": None}


class Normalizer:
    """Builds a ComposeProject from one ``config`` output, reporting errors where they are."""

    def __init__(self, sources: Sources, sealed: Sealed, base_dir: Path | None = None) -> None:
        self.sources = sources
        self.sealed = sealed
        self.base_dir = (base_dir or Path.cwd()).resolve()
        self.warnings: list[str] = []
        self.unset: dict[str, BerthError] = {}
        """Bare environment keys without a value, each with where it was first met."""

    def project(self, output: str, binary_warnings: tuple[str, ...] = ()) -> ComposeProject:
        data = _unescape(yaml.load(output, Loader=yaml.CSafeLoader) or {})
        self._refuse_misplaced_secrets(data, ())
        check_consistency(data, self.sources)
        self.warnings.extend(w.replace(f"{self.base_dir}/", "") for w in binary_warnings)
        raw_services: dict[str, Any] = data.get("services") or {}
        order = [n for n in self.sources.service_order() if n in raw_services]
        order += sorted(n for n in raw_services if n not in order)
        files_defined = {
            "secrets": data.get("secrets") or {},
            "configs": data.get("configs") or {},
        }
        services = {name: self.service(name, raw_services[name], files_defined) for name in order}
        self._refuse_unset()
        volumes = {
            key: self.volume(key, spec or {}, data.get("name", ""))
            for key, spec in (data.get("volumes") or {}).items()
        }
        return ComposeProject(
            name=str(data.get("name") or Path(self.sources.files[0]).resolve().parent.name),
            files=self.sources.files,
            services=services,
            volumes=volumes,
            extensions={k: self._revealed(v) for k, v in data.items() if k.startswith("x-")},
            warnings=tuple(self.warnings),
        )

    # -- one service -------------------------------------------------------------------

    def service(self, name: str, raw: dict[str, Any], defined: Mapping[str, Any]) -> Service:
        def fail(field: str, problem: str, hint: Hint | None = None) -> BerthError:
            return BerthError(
                problem,
                file=self.sources.origin(name, field),
                service=name,
                field=field,
                hint=hint,
            )

        extensions = {k: v for k, v in raw.items() if k.startswith("x-")}
        for key in extensions:
            if key.startswith("x-berth-") and key not in BERTH_EXTENSIONS:
                known = ", ".join(sorted(BERTH_EXTENSIONS))
                raise fail(key, "unknown Berth extension", f"use one of {known}")
        resources, replicas = self._deploy(raw, fail)
        ports = tuple(self._port(p, fail) for p in raw.get("ports") or ())
        expose = tuple(p for spec in raw.get("expose") or () for p in port_range(spec, fail))
        for field, listed in (("ports", ports), ("expose", expose)):
            if len(listed) > MAX_PORTS:
                raise too_many_ports(len(listed), self.sources.origin(name, field), name, field)
        return Service(
            name=name,
            image=raw.get("image"),
            build=read_build(raw["build"], self._relative, fail) if raw.get("build") else None,
            command=self._texts(raw.get("command")),
            entrypoint=self._texts(raw.get("entrypoint")),
            environment=self._environment(raw.get("environment") or {}, fail),
            ports=ports,
            expose=expose,
            depends_on=tuple(
                Dependency(
                    service=dep,
                    condition=Condition(spec.get("condition") or Condition.STARTED),
                    required=spec.get("required", True) is not False,
                )
                for dep, spec in (raw.get("depends_on") or {}).items()
            ),
            healthcheck=self._healthcheck(raw.get("healthcheck"), fail),
            restart=_restart(raw.get("restart"), fail),
            replicas=replicas,
            resources=resources,
            mounts=tuple(self._mount(m, fail) for m in raw.get("volumes") or ()),
            files=self._files(name, raw, defined, fail),
            working_dir=working_dir(raw.get("working_dir"), fail),
            user=_optional_str(raw.get("user")),
            hostname=raw.get("hostname"),
            container_name=raw.get("container_name"),
            platform=raw.get("platform"),
            labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
            container=self._container(raw, fail),
            extensions=extensions,
            fields=_present_fields(raw),
            run_always=self._run_policy(extensions.get("x-berth-run"), fail),
            timeout=job_timeout(
                extensions.get("x-berth-timeout"),
                fail,
                self.sources.written(name, "x-berth-timeout"),
            ),
        )

    def _texts(self, values: list[Any] | None) -> tuple[Text, ...] | None:
        if values is None:
            return None
        return tuple(self.sealed.reveal(str(v)) for v in values)

    def _environment(self, raw: dict[str, Any], fail: _Fail) -> dict[str, Text]:
        environment: dict[str, Text] = {}
        for key, value in sorted(raw.items()):
            if value is None:
                self.unset[str(key)] = fail("environment", "")
                continue
            environment[str(key)] = self.sealed.reveal(str(value))
        return environment

    def _refuse_unset(self) -> None:
        """One error for every bare environment key no value reached, so that a first
        deployment needs one round of setting values, not one per key."""
        if not self.unset:
            return
        keys = sorted(self.unset)
        first = self.unset[keys[0]]
        services = sorted({str(e.service) for e in self.unset.values()})
        raise BerthError(
            f"{', '.join(keys)} {'has' if len(keys) == 1 else 'have'} no value: no variable "
            f"sets {'it' if len(keys) == 1 else 'them'} and .env does not either (used by "
            f"{', '.join(services)})",
            file=first.file,
            service=first.service if len(services) == 1 else None,
            field="environment",
            hint=lambda terms: (
                f"set {'it' if len(keys) == 1 else 'each'} with "
                + "; ".join(terms.how_to_set(key, secret=True) for key in keys)
                + f" (or {terms.how_to_set(keys[0])} for a value that is not secret)"
            ),
        )

    def _port(self, raw: dict[str, Any], fail: _Fail) -> Port:
        published = raw.get("published")
        try:
            published_port = int(published) if published not in (None, "") else None
        except ValueError:
            raise fail(
                "ports",
                f"published port {published!r} is not a single port number",
                'publish one port per entry, e.g. "8080:80"',
            ) from None
        target = int(raw.get("target") or 0)  # Compose drops a container port of 0
        for port in (target, published_port):
            if port is not None and not 0 < port < 65536:
                raise fail("ports", f"{port} is not a port number", "use a port from 1 to 65535")
        protocol = str(raw.get("protocol") or "tcp")
        if protocol not in PORT_PROTOCOLS:
            raise fail(
                "ports",
                f"{protocol!r} is not a protocol Docker publishes",
                f'use {", ".join(PORT_PROTOCOLS)}, e.g. "53:53/udp"',
            )
        return Port(
            target=target,
            published=published_port,
            protocol=protocol,
            host_ip=raw.get("host_ip"),
            mode="host" if raw.get("mode") == "host" else "ingress",
            app_protocol=raw.get("app_protocol"),
        )

    def _healthcheck(self, raw: dict[str, Any] | None, fail: _Fail) -> Healthcheck | None:
        if not raw or raw.get("disable") or not raw.get("test"):
            return None
        test = self._texts(raw["test"]) or ()
        if test and test[0] == "NONE":
            return None

        def seconds(key: str) -> float | None:
            return health_duration(raw.get(key), f"healthcheck.{key}", fail)

        return Healthcheck(
            test=test,
            interval=seconds("interval"),
            timeout=seconds("timeout"),
            retries=count(raw.get("retries"), "healthcheck.retries", fail),
            start_period=seconds("start_period"),
            start_interval=seconds("start_interval"),
        )

    def _deploy(self, raw: dict[str, Any], fail: _Fail) -> tuple[Resources, int | None]:
        deploy = raw.get("deploy") or {}
        limits = (deploy.get("resources") or {}).get("limits") or {}
        reservations = (deploy.get("resources") or {}).get("reservations") or {}
        replicas = deploy.get("replicas")
        if raw.get("scale") is not None and replicas is None:
            replicas = raw["scale"]

        def written(section: str, key: str, legacy: str) -> tuple[Any, str]:
            """The value, and the field it was written in: deploy's or the legacy one."""
            values = limits if section == "limits" else reservations
            if key in values:
                return values[key], f"deploy.resources.{section}.{key}"
            return raw.get(legacy), legacy

        resources = Resources(
            cpus=cpus(*written("limits", "cpus", "cpus"), fail),
            memory=size(*written("limits", "memory", "mem_limit"), fail, memory=True),
            reserved_cpus=cpus(
                reservations.get("cpus"), "deploy.resources.reservations.cpus", fail
            ),
            reserved_memory=size(
                *written("reservations", "memory", "mem_reservation"), fail, memory=True
            ),
        )
        if replicas is None:
            return resources, None
        if not isinstance(replicas, int) or not 0 <= replicas <= MAX_REPLICAS:
            raise fail(
                "deploy.replicas",
                f"{replicas!r} is not a number of replicas",
                f"use a whole number from 0 to {MAX_REPLICAS}",
            )
        return resources, replicas

    def _container(self, raw: dict[str, Any], fail: _Fail) -> ContainerSettings:
        logging = raw.get("logging") or {}
        grace = raw.get("stop_grace_period")
        try:
            stop_grace_period = parse_duration(grace) if grace is not None else None
        except ValueError as error:
            raise fail("stop_grace_period", str(error), "e.g. 30s") from None
        return ContainerSettings(
            cap_add=_strings(raw.get("cap_add")),
            cap_drop=_strings(raw.get("cap_drop")),
            privileged=bool(raw.get("privileged")),
            read_only=bool(raw.get("read_only")),
            init=raw.get("init"),
            tty=bool(raw.get("tty")),
            stdin_open=bool(raw.get("stdin_open")),
            extra_hosts=dict(
                _host_entry(str(entry), fail) for entry in raw.get("extra_hosts") or ()
            ),
            dns=_strings(raw.get("dns")),
            dns_search=_strings(raw.get("dns_search")),
            dns_opt=_strings(raw.get("dns_opt")),
            domainname=raw.get("domainname"),
            tmpfs=tuple(tmpfs_entry(entry, fail) for entry in _strings(raw.get("tmpfs"))),
            shm_size=size(raw.get("shm_size"), "shm_size", fail),
            stop_signal=raw.get("stop_signal"),
            stop_grace_period=stop_grace_period,
            sysctls={sysctl(str(k), fail): str(v) for k, v in (raw.get("sysctls") or {}).items()},
            ulimits={
                str(name): ulimit(str(name), limit, fail)
                for name, limit in (raw.get("ulimits") or {}).items()
            },
            security_opt=_strings(raw.get("security_opt")),
            group_add=_strings(raw.get("group_add")),
            runtime=raw.get("runtime"),
            log_driver=logging.get("driver"),
            log_options={str(k): str(v) for k, v in (logging.get("options") or {}).items()},
        )

    def _mount(self, raw: dict[str, Any], fail: _Fail) -> Mount:
        kind = raw.get("type")
        if kind not in ("volume", "bind", "tmpfs"):
            raise fail(
                "volumes",
                f"mount type {kind!r} is not supported",
                "use a named volume, a bind mount or tmpfs",
            )
        source = raw.get("source")
        if kind == "bind" and source:
            source = self._relative(str(source))
        target = str(raw["target"])
        if not target.startswith("/"):
            drive = re.match(r"[A-Za-z]:", target)  # Compose's reading of v:/data
            raise fail(
                "volumes",
                f"the container path {target!r} is not absolute"
                + (": Compose reads a one-letter volume name as a Windows drive" if drive else ""),
                "name the volume with two letters or more, e.g. vd:/data"
                if drive
                else "mount at a path starting with /, e.g. data:/var/lib/data",
            )
        return Mount(
            type=kind,
            target=target,
            source=source or None,
            read_only=bool(raw.get("read_only")),
        )

    def _files(
        self, name: str, raw: dict[str, Any], defined: Mapping[str, Any], fail: _Fail
    ) -> tuple[FileMount, ...]:
        mounts: list[FileMount] = []
        for kind in ("secrets", "configs"):
            for ref in raw.get(kind) or ():
                source = ref.get("source")
                spec = (defined.get(kind) or {}).get(source)
                if spec is None:
                    raise fail(
                        kind,
                        f"{kind[:-1]} {source!r} is not defined",
                        f"define it under the top-level {kind}: section",
                    )
                target = ref.get("target") or (
                    f"/run/secrets/{source}" if kind == "secrets" else f"/{source}"
                )
                content = self._file_content(kind, source, spec, fail)
                if ignored := file_owner(ref, kind, fail):
                    self.warnings.append(f"service '{name}': {kind[:-1]} '{source}': {ignored}")
                if kind == "secrets" and isinstance(content, str):
                    content = Secret(value=content, keys=(f"{kind}.{source}",))
                mounts.append(
                    FileMount(
                        name=source,
                        target=str(target),
                        content=content,
                        mode=file_mode(ref.get("mode"), kind, fail),
                        kind=kind,
                    )
                )
        return tuple(mounts)

    def _file_content(self, kind: str, source: str, spec: dict[str, Any], fail: _Fail) -> Text:
        if spec.get("external"):
            raise fail(
                kind,
                f"external {kind[:-1]} {source!r} cannot be read at deploy time",
                "define it with file:, environment: or content: instead",
            )
        if "content" in spec:
            return self.sealed.reveal(str(spec["content"]))
        if not {"environment", "file"} & spec.keys():
            return ""  # Compose drops an empty content: (or environment:) from its output
        if "environment" in spec:
            variable = str(spec["environment"])
            if variable not in self.sealed.values:
                raise fail(
                    kind,
                    f"{kind[:-1]} {source!r} reads {variable}, which is not set",
                    lambda terms: f"set it with {terms.how_to_set(variable, secret=True)}",
                )
            value = self.sealed.values[variable]
            return (
                Secret(value=value, keys=(variable,))
                if variable in self.sealed.keys.values()
                else value
            )
        path = Path(str(spec.get("file", "")))
        try:
            return read_capped(path, CONTENT_LIMIT).decode("utf-8")
        except (OSError, UnicodeDecodeError, FileRefused) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise fail(
                kind,
                f"{kind[:-1]} {source!r}: cannot read {self._relative(str(path))} ({reason})",
                "create the file or fix its path",
            ) from None

    def volume(self, key: str, raw: dict[str, Any], project: str) -> Volume:
        name = str(raw.get("name") or f"{project}_{key}")
        if raw.get("external"):  # looked up by that name: one Docker could have made
            file = self.sources.declaring("volumes")
            volume_name(
                name,
                lambda field, problem, hint: BerthError(problem, file=file, field=field, hint=hint),
            )
        return Volume(
            key=key,
            name=name,
            external=bool(raw.get("external")),
            driver=raw.get("driver"),
            extensions={k: v for k, v in raw.items() if str(k).startswith("x-")},
        )

    # -- Berth's own extensions ------------------------------------------------------------

    @staticmethod
    def _run_policy(value: Any, fail: _Fail) -> bool:
        if value is None or value == "on-change":
            return False
        if value == "always":
            return True
        raise fail("x-berth-run", f"{value!r} is not a run policy", "use always or on-change")

    # -- helpers ---------------------------------------------------------------------------

    def _relative(self, text: str) -> str:
        """Paths under the project directory, relative to it: the same on every machine."""
        if text.startswith(str(self.base_dir)):
            path = Path(text)
            try:
                return os.path.relpath(path, self.base_dir)
            except ValueError:
                return text
        return text

    def _revealed(self, node: Any) -> Any:
        if isinstance(node, str):
            return self.sealed.reveal(node)
        if isinstance(node, list):
            return [self._revealed(v) for v in node]
        if isinstance(node, dict):
            return {k: self._revealed(v) for k, v in node.items()}
        return node

    def _refuse_misplaced_secrets(self, node: Any, path: tuple[str, ...]) -> None:
        if len(path) == 1 and path[0].startswith("x-"):
            return
        if isinstance(node, dict):
            for key, value in node.items():
                self._refuse_misplaced_secrets(value, (*path, str(key)))
        elif isinstance(node, list):
            for value in node:
                self._refuse_misplaced_secrets(value, (*path, "*"))
        elif (
            isinstance(node, str)
            and self.sealed.contains_secret(node)
            and not any(_matches(pattern, path) for pattern in _SECRET_PATHS)
        ):
            names = ", ".join(self.sealed.secret_names(node))
            service = path[1] if len(path) > 1 and path[0] == "services" else None
            field = ".".join(p for p in path[2:] if p != "*") if service else ".".join(path)
            raise BerthError(
                f"the secret {names} is used where it would be stored in plain text",
                file=self.sources.origin(service, field),
                service=service,
                field=field,
                hint="use secrets only in environment, command, entrypoint or healthcheck",
            )


def _matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return len(pattern) == len(path) and all(
        p in ("*", q) for p, q in zip(pattern, path, strict=True)
    )


def _unescape(node: Any) -> Any:
    """Compose prints ``$`` as ``$$`` so its output can be loaded again; undo that."""
    if isinstance(node, str):
        return node.replace("$$", "$")
    if isinstance(node, list):
        return [_unescape(v) for v in node]
    if isinstance(node, dict):
        return {k: _unescape(v) for k, v in node.items()}
    return node


def _present_fields(raw: dict[str, Any]) -> tuple[str, ...]:
    present = []
    for key, value in raw.items():
        if (key.startswith("x-") and key not in STORE_EXTENSIONS) or value in (None, False):
            continue
        if key == "networks" and value == _COMPOSE_DEFAULT_NETWORKS:
            continue
        present.append(key)
        if key in ("build", "deploy") and isinstance(value, dict):
            present += [f"{key}.{sub}" for sub in value if value[sub] not in (None, {}, [])]
    return tuple(sorted(present))


_RESTART = re.compile(r"no|always|unless-stopped|on-failure(?::\d{1,9})?")


def _restart(value: Any, fail: _Fail) -> str | None:
    if value is None or _RESTART.fullmatch(str(value)):
        return value
    raise fail(
        "restart",
        f"{value!r} is not a restart policy",
        'use "no", always, unless-stopped, on-failure or on-failure:N (N a whole number)',
    )


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _host_entry(entry: str, fail: _Fail) -> tuple[str, str]:
    """``host=ip`` as Compose prints it (``host:ip`` as users may write it)."""
    host, sep, address = entry.partition("=")
    if not sep:
        host, sep, address = entry.partition(":")
    if not sep or not host or not address:
        raise fail("extra_hosts", f"{entry!r} is not HOST=IP", 'e.g. "db.internal=10.0.0.5"')
    return host_address(host, address, fail)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)
