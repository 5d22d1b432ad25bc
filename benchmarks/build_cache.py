"""A registry build cache against none (issue 24): an example's images built by the engine's
BuildKit in fresh builder states, with no cache, with the inline cache of a warm-up build
pushed to a local registry container, and with that cache after one COPYed file changed.

    .venv/bin/python benchmarks/build_cache.py [--example release] [--base IMAGE]
        [--run-cost 3] [--run-mb 20] [--repeat 3]

The registry is Debian's docker-registry (apt-get installed if missing) in a ``docker import``ed
image. The base (the Dockerfile's FROM if here or pullable, else a busybox-static root fs, said
so) is pushed to it and named in FROM: every build pulls it, as a fresh CI runner would. A
stand-in RUN (``--run-cost`` s, ``--run-mb`` MB of random data) goes before the first COPY of
a Dockerfile without RUN, and replaces the RUN lines (``apk add``) when the base is another.
Services building one context are one build, tagged for each. All builds pass
``BUILDKIT_INLINE_CACHE=1``; the modes differ by ``cachefrom``. Before each build: no built
tags, no local base, ``docker builder prune -af`` (the engine's whole cache); the registry is
kept. Prints each mode's median and samples in seconds, and each image against the warm-up's
(the same id: a job keyed on the digest runs nothing). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import requests
import yaml
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = Path("/usr/bin/docker-registry")
REGISTRY_CONFIG = b"""version: 0.1
storage: {filesystem: {rootdirectory: /var/lib/registry}}
http: {addr: ":5000"}
"""
PREFIX = "berth-bench"
MODES = ("no cache", "registry cache", "cache, one file changed")
FROM = re.compile(r"^FROM\s+(\S+)", re.MULTILINE | re.IGNORECASE)
INLINE = {"buildargs": json.dumps({"BUILDKIT_INLINE_CACHE": "1"})}


def import_root_fs(api: docker.APIClient, tag: str, files: dict[str, Any], *changes: str) -> str:
    """``docker import`` of ``files``: a name ending in / a folder, a str value a link's target."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name.rstrip("/"))
            if isinstance(data, str):
                info.type, info.linkname = tarfile.SYMTYPE, data
            elif name.endswith("/"):
                info.type, info.mode = tarfile.DIRTYPE, 0o1777 if name == "tmp/" else 0o755
            else:
                info.size, info.mode = len(data), 0o755
            archive.addfile(info, io.BytesIO(data) if isinstance(data, bytes) else None)
    api.import_image_from_data(buffer.getvalue(), repository=tag, changes=list(changes))
    return tag


def registry_image(api: docker.APIClient) -> str:
    """An image of Debian's docker-registry binary, the libraries it links and a config."""
    if not REGISTRY.exists():
        print("installing the registry: apt-get install -y docker-registry")
        subprocess.run(["/usr/bin/apt-get", "install", "-y", "docker-registry"], check=True)
    linked = subprocess.check_output(["/usr/bin/ldd", str(REGISTRY)], text=True)
    folders = ["etc/", "etc/docker/", "etc/docker/registry/", "var/", "var/lib/", "tmp/"]
    files = {
        **dict.fromkeys([*folders, "var/lib/registry/"], b""),
        "usr/bin/docker-registry": REGISTRY.read_bytes(),
        "etc/docker/registry/config.yml": REGISTRY_CONFIG,
        **{path[1:]: Path(path).read_bytes() for path in re.findall(r"(/\S+) \(0x", linked)},
    }
    entrypoint = 'ENTRYPOINT ["/usr/bin/docker-registry"]'
    command = 'CMD ["serve", "/etc/docker/registry/config.yml"]'
    return import_root_fs(api, f"{PREFIX}/registry:local", files, entrypoint, command)


def busybox_image(api: docker.APIClient) -> str:
    """A base of busybox-static, each applet a link in /bin."""
    applets = subprocess.check_output(["/bin/busybox", "--list"], text=True).split()
    files = {"bin/": b"", "tmp/": b"", "bin/busybox": Path("/bin/busybox").read_bytes()}
    files.update({f"bin/{name}": "busybox" for name in applets if name != "busybox"})
    return import_root_fs(api, f"{PREFIX}/busybox:local", files, 'CMD ["sh"]')


def start_registry(api: docker.APIClient, image: str, name: str) -> str:
    """A container of ``image`` named ``name`` on a free port of 127.0.0.1: its address."""
    host = api.create_host_config(port_bindings={5000: ("127.0.0.1",)})
    api.start(api.create_container(image, ports=[5000], name=name, host_config=host))
    address = f"127.0.0.1:{api.port(name, 5000)[0]['HostPort']}"
    for _ in range(100):
        with contextlib.suppress(OSError), urllib.request.urlopen(f"http://{address}/v2/"):
            return address
        time.sleep(0.3)
    raise RuntimeError(f"the registry on {address} does not answer")


def fresh(api: docker.APIClient, *images: str) -> None:
    """Remove ``images`` (built tags, the base's local copy) and the engine's build cache."""
    for image in filter(None, images):
        with contextlib.suppress(NotFound):
            api.remove_image(image, force=True)
    api.prune_builds(all=True)


def push(api: docker.APIClient, ref: str) -> None:
    for message in api.push(*ref.rsplit(":", 1), stream=True, decode=True):
        if "error" in message:
            raise RuntimeError(f"push {ref}: {message['error']}")


def build(api: docker.APIClient, context: Path, tags: list[str], **params: str) -> str:
    """One BuildKit build through the Engine API (no buildx needed): the image id."""
    buffer = io.BytesIO()  # USTAR: BuildKit reads a PAX body as a Dockerfile
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        archive.add(context, arcname=".")
    response = api._post(
        api._url("/build"),
        params={"version": "2", "t": tags, **params},
        data=buffer.getvalue(),
        headers={"Content-Type": "application/x-tar"},
        stream=True,
    )
    image = ""
    for message in api._stream_helper(response, decode=True):
        if "error" in message or "errorDetail" in message:
            raise RuntimeError(f"build: {message.get('error') or message['errorDetail']}")
        if isinstance(message.get("aux"), dict) and "ID" in message["aux"]:
            image = message["aux"]["ID"]
    if not image:
        raise RuntimeError("build: no image id in the engine's answer")
    return image


def dockerfile(text: str, base: str, own_base: bool, stand_in: str) -> tuple[str, list[str]]:
    """``text`` with its FROM naming ``base`` and the stand-in RUN; what was substituted."""
    original, lines, notes = FROM.findall(text)[0], [], []
    added = bool(re.search(r"^RUN\s", text, re.MULTILINE | re.IGNORECASE))
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        word, out = (line.split(maxsplit=1) or [""])[0].upper(), line
        if word == "FROM" and line.split()[1] == original:
            out = line.replace(original, base, 1)
        elif word == "RUN" and not own_base:
            notes.append(f"SUBSTITUTED (the base is not {original}): {line} -> {stand_in}")
            out = stand_in
        elif word == "COPY" and not added:
            lines.append(stand_in)
            notes.append(f"ADDED before the first COPY: {stand_in}")
            added = True
        lines.append(out)
    return "\n".join(lines) + "\n", notes


def base_image(api: docker.APIClient, wanted: str, explicit: bool) -> tuple[str, str, bool]:
    """The base: its name, how it came here and whether this run made it (to remove)."""
    with contextlib.suppress(ImageNotFound):
        api.inspect_image(wanted)
        return wanted, "here already, kept: a build may download none of its layers", False
    try:
        api.pull(wanted if ":" in wanted.rsplit("/", 1)[-1] else f"{wanted}:latest")
        return wanted, "pulled", True
    except APIError as error:
        if explicit:
            sys.exit(f"--base {wanted} cannot be pulled: {error.explanation}")
        why = f"FALLBACK: {wanted} cannot be pulled ({error.explanation})"
        return busybox_image(api), f"{why}; a busybox-static root fs made with docker import", True


@dataclass
class Build:
    """One build as Compose makes it: a context, a tag for each service that builds it."""

    source: Path
    tags: list[str]
    context: Path = Path()
    text: str = ""  # the Dockerfile built
    base: str = ""  # the base's copy in the registry
    ref: str = ""  # the warm-up's image in the registry
    image: str = ""  # the warm-up's image id
    layers: list[str] = field(default_factory=list)


def compose_builds(example: Path, prefix: str) -> list[Build]:
    builds: dict[Path, Build] = {}
    for name, service in yaml.safe_load((example / "compose.yaml").read_text())["services"].items():
        spec = service.get("build")
        context = spec.get("context", ".") if isinstance(spec, dict) else spec
        if context is not None:
            source = (example / context).resolve()
            builds.setdefault(source, Build(source, [])).tags.append(f"{prefix}-{name}")
    return list(builds.values())


def warm_up(api: docker.APIClient, builds: list[Build], remote: str, run: str, own: bool) -> None:
    """Each build's context copied, its Dockerfile rewritten, built and pushed (inline cache)."""
    for index, item in enumerate(builds):
        item.base, original = f"{remote}/base:latest", (item.source / "Dockerfile").read_text()
        item.text, notes = dockerfile(original, item.base, own, run)
        item.context = Path(tempfile.mkdtemp(prefix="berth-bench-")) / "context"
        shutil.copytree(item.source, item.context)
        (item.context / "Dockerfile").write_text(item.text)
        heading = f"one build of {item.source.relative_to(ROOT)} tagged {', '.join(item.tags)}"
        print(heading, *notes, "  " + item.text.strip().replace("\n", "\n    "), sep="\n  ")
        item.ref = f"{remote}/{item.source.name}{index}:cache"
        fresh(api, *[tag for other in builds for tag in other.tags], item.base)
        item.image = build(api, item.context, [item.ref], **INLINE)
        item.layers = api.inspect_image(item.ref)["RootFS"]["Layers"]
        push(api, item.ref)
        fresh(api, item.ref)
        print(f"warm-up (not measured): {item.image[:19]} pushed as {item.ref}")


def measure(api: docker.APIClient, builds: list[Build], mode: str, run: int) -> tuple[float, str]:
    """One run of every build in ``mode``: its seconds, each image against the warm-up's."""
    fresh(api, *[tag for item in builds for tag in [*item.tags, item.base]])
    started, images = time.perf_counter(), []
    for item in builds:
        cache = {"cachefrom": json.dumps([item.ref])} if mode != MODES[0] else {}
        if mode == MODES[2]:  # the last file the last COPY names
            file = item.context / re.findall(r"^COPY\s.*\s(\S+)\s+\S+$", item.text, re.M)[-1]
            mark = f"<!-- run {run} -->" if file.suffix == ".html" else f"# run {run}"
            file.write_text(file.read_text() + mark + "\n")
        images.append(build(api, item.context, item.tags, **INLINE, **cache))
        if mode == MODES[2]:
            shutil.copy2(item.source / file.relative_to(item.context), file)
    seconds, same = time.perf_counter() - started, []
    for item, image in zip(builds, images, strict=True):
        layers = api.inspect_image(image)["RootFS"]["Layers"]
        equal = [*(a == b for a, b in zip(layers, item.layers, strict=True)), False].index(False)
        same.append(f"{'=' if image == item.image else '≠'}{equal}/{len(layers)}")
    return seconds, " ".join(same)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--example", choices=["release", "migrate"], default="release")
    parser.add_argument("--base", help="the base image (default: the Dockerfile's FROM)")
    parser.add_argument("--run-cost", type=float, default=3.0, help="stand-in RUN's seconds")
    parser.add_argument("--run-mb", type=int, default=20, help="stand-in RUN's MB of data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        api = docker.from_env(timeout=900).api
        api.ping()
    except (DockerException, requests.RequestException) as error:
        sys.exit(f"no Docker engine reachable: {error}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the cleanup below runs
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started ignoring it
    example = ROOT / "examples" / args.example
    builds = compose_builds(example, f"{PREFIX}/{args.example}")
    made, name, remote = [registry_image(api)], f"{PREFIX}-registry-{os.getpid()}", ""
    try:
        remote = start_registry(api, made[0], name)
        print(f"registry: a container of {made[0]} (Docker Distribution) on {remote}")
        own = FROM.findall((builds[0].source / "Dockerfile").read_text())[0]
        base, how, ours = base_image(api, args.base or own, bool(args.base))
        made += [base] if ours else []
        api.tag(base, f"{remote}/base:latest")
        push(api, f"{remote}/base:latest")
        print(f"base: {base} ({how}), pushed as {remote}/base:latest, whence every build pulls it")
        fresh(api, f"{remote}/base:latest", *made[1:])
        cost = f"sleep {args.run_cost:g} && head -c {args.run_mb * 2**20} /dev/urandom > /stand-in"
        warm_up(api, builds, remote, f"RUN {cost}", base == own)
        runs: dict[str, list[tuple[float, str]]] = {mode: [] for mode in MODES}
        for run in range(args.repeat):
            for mode in MODES:  # alternating, so that the machine's drift falls on all
                runs[mode].append(measure(api, builds, mode, run))
        print("seconds: median (samples); image id = or ≠ the warm-up's, leading layers equal")
        for mode, samples in runs.items():
            times = ", ".join(f"{seconds:.2f}" for seconds, _ in samples)
            median = statistics.median(seconds for seconds, _ in samples)
            print(f"  {mode}: {median:.2f} ({times}); {' '.join(same for _, same in samples)}")
    finally:
        with contextlib.suppress(NotFound):
            api.remove_container(name, force=True, v=True)
        tags = [tag for item in builds for tag in item.tags] + [item.ref for item in builds]
        fresh(api, *tags, *made, f"{remote}/base:latest" if remote else "")
        for item in (item for item in builds if item.context.parts):
            shutil.rmtree(item.context.parent, ignore_errors=True)
        print("removed: the registry container and its data, the images made, the build cache")


if __name__ == "__main__":
    main()
