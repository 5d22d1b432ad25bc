"""Shared fixtures: compose projects in temporary folders, the program under mocks, Docker."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import hypothesis  # noqa: F401 - imported before any Pulumi run, see the note below
import pytest

from berth.errors import BerthError
from berth.model import ComposeProject
from berth.offline.plan import Failure, Plan, plan_config, run_plan
from berth.variables import Variables

# CPython 3.11.7 can fail to parse (``AST constructor recursion depth mismatch``) once the
# Pulumi runtime has run in the process; pytest parses the hypothesis plugin lazily at the end
# of the session, so it is imported here, first.

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder, as the working directory (where Pulumi runs the program)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write(project_dir: Path) -> Callable[..., str]:
    """Write a file (dedented) into the project folder; returns its relative path."""

    def write_file(text: str, name: str = "compose.yaml") -> str:
        path = project_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return name

    return write_file


@pytest.fixture
def load(write: Callable[..., str]) -> Callable[..., ComposeProject]:
    """Load compose text through the real loader (the Compose binary included)."""
    from berth.load import load_project

    def load_text(
        text: str,
        variables: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        profiles: tuple[str, ...] = (),
    ) -> ComposeProject:
        file = write(text)
        values = {**(variables or {}), **(secrets or {})}
        return load_project([file], Variables(values, frozenset(secrets or {})), profiles=profiles)

    return load_text


def refused(load: Callable[..., ComposeProject], text: str, **kwargs: object) -> BerthError:
    """The BerthError that loading ``text`` ends in; it always names the file and advises."""
    with pytest.raises(BerthError) as caught:
        load(text, **kwargs)
    assert caught.value.file == "compose.yaml", caught.value.message
    assert caught.value.hint, f"no advice in: {caught.value.message}"
    return caught.value


def program(
    files: list[str],
    *,
    target: str = "local",
    variables: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    fail: Failure | None = None,
    stack: str = "dev",
) -> Plan:
    """Run the real Pulumi program under mocks, with every output known (applies run)."""
    config, secret_keys = plan_config(files, target=target, variables=variables, secrets=secrets)
    return run_plan(config, secret_keys, stack=stack, preview=False, fail=fail)


def copy_example(name: str, destination: Path) -> str:
    """The example's compose file, copied into ``destination``; its path relative to it."""
    source = EXAMPLES / name
    target = destination / "examples" / name
    target.mkdir(parents=True)
    for file in source.iterdir():
        if file.is_file():
            (target / file.name).write_bytes(file.read_bytes())
    return f"examples/{name}/compose.yaml"


TEST_IMAGE = "berth-test/busybox:latest"
BUSYBOX = Path("/bin/busybox")
APPLETS = ("sh", "echo", "env", "sleep", "cat", "nc", "wget", "httpd", "printenv", "true", "false")


@pytest.fixture(scope="session")
def docker_client():
    """A client of a reachable Docker engine, or a skip that says why there is none."""
    import docker
    import docker.errors

    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except docker.errors.DockerException as error:
        pytest.skip(f"no Docker engine reachable ({error.__class__.__name__}): {error}")
    return client


@pytest.fixture(scope="session")
def busybox_image(docker_client) -> str:
    """A tiny image built offline: Debian's static busybox imported as a root filesystem."""
    import io
    import tarfile

    import docker.errors

    try:
        docker_client.images.get(TEST_IMAGE)
        return TEST_IMAGE
    except docker.errors.ImageNotFound:
        pass
    if not BUSYBOX.exists():
        pytest.skip("no test image: install Debian's busybox-static (no registry is used)")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as rootfs:
        rootfs.add(BUSYBOX, arcname="bin/busybox")
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            rootfs.addfile(link)
        for folder in ("tmp", "etc", "run"):
            entry = tarfile.TarInfo(folder)
            entry.type = tarfile.DIRTYPE
            entry.mode = 0o1777
            rootfs.addfile(entry)
    repository, tag = TEST_IMAGE.split(":")
    docker_client.api.import_image_from_data(buffer.getvalue(), repository=repository, tag=tag)
    return TEST_IMAGE


@pytest.fixture(autouse=True, scope="session")
def compose_outputs_remembered() -> Iterator[None]:
    """Each ``compose config`` output, kept for the session by all it reads: the arguments,
    the variables, the Compose binary, its environment, and the text of every file in the
    compose files' folders (a compose file reaching outside them, ``../``, always runs the
    binary). Tests plan the same files on every target: the binary runs once per input
    instead (a quarter of the suite's time). A spied or patched ``subprocess.run`` always
    reaches the binary, and a failure is never kept."""
    import copy
    import os
    import subprocess

    from berth import binary, load

    original = load.run_config
    kept: dict[tuple[object, ...], object] = {}

    def remembered(
        files: Sequence[str],
        profiles: Sequence[str],
        variables: Mapping[str, str],
        project_name: str = "",
    ) -> object:
        try:
            state = _folder_state(files)
        except OSError:  # an unreadable file: Berth's own refusal, from the binary's answer
            state = None
        if binary.subprocess.run is not subprocess.run or state is None:
            return original(files, profiles, variables, project_name)
        key = (
            tuple(files), tuple(profiles), tuple(sorted(variables.items())), project_name,
            tuple(binary.compose_command()), os.getcwd(),
            tuple(sorted((k, v) for k, v in os.environ.items() if k in binary.COMPOSE_OWN)),
            state,
        )  # fmt: skip
        if key not in kept:
            kept[key] = original(files, profiles, variables, project_name)
        return copy.deepcopy(kept[key])

    load.run_config = remembered
    yield
    load.run_config = original


def _folder_state(files: Sequence[str]) -> tuple[tuple[str, bytes], ...] | None:
    """Every file under the folders of ``files``, with its text; None where the binary must
    run: folders too large to read, compose files that are missing or reach outside them
    (``../``)."""
    found: dict[str, bytes] = {}
    size = 0
    for folder in {Path(file).resolve().parent for file in files}:
        for path in folder.rglob("*"):
            if path.is_file():
                size += path.stat().st_size
                if size > FOLDER_BYTES:
                    return None
                found[str(path)] = path.read_bytes()
    texts = [found.get(str(Path(file).resolve())) for file in files]
    if any(text is None or b"../" in text for text in texts):  # missing: Berth's refusal
        return None
    return tuple(sorted(found.items()))


FOLDER_BYTES = 4 * 1024 * 1024
