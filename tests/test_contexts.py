"""``berth diff`` and built images: what a Dockerfile takes from its context decides whether a
job built from it runs (issue 21); where Berth cannot tell, the job *may* run, never *runs*."""

from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from berth.offline.contexts import Sources, forget, image_sources
from berth.offline.diff import diff_files
from berth.offline.diff_report import listed
from berth.offline.plan import plan_config
from tests.conftest import ROOT
from tests.plans import dynamic_provider
from tests.test_diff import TARGETS, _run_once, _run_once_inputs, _settings, edit

SEED = ROOT / "examples" / "migrate"


def sources(folder: Path, files: dict[str, str], target: str | None = None) -> Sources:
    """What an image built from ``folder``, holding ``files``, takes from it."""
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    forget()
    return image_sources(str(folder), "Dockerfile", target)


# -- what a Dockerfile takes -----------------------------------------------------------------


def test_the_seed_image_takes_only_what_its_dockerfile_copies() -> None:
    found = image_sources(str(SEED), "Dockerfile", None)
    assert sorted(found.taken) == ["migrate.sh", "schema.sql", "web.py"]
    assert not found.read


def test_copy_of_the_context_takes_what_docker_sends(tmp_path: Path) -> None:
    """``.dockerignore`` honoured; pulumi-docker sends the Dockerfile and ``.dockerignore``
    even when they ignore themselves, so ``COPY . .`` copies them."""
    found = sources(tmp_path, {
        "Dockerfile": "FROM busybox\nCOPY . /app\n",
        ".dockerignore": "notes.txt\nDockerfile\n.dockerignore\n",
        "notes.txt": "out", "docs/notes.txt": "in: no slash matches at the root only",
        "app.py": "in",
    })  # fmt: skip
    assert sorted(found.taken) == [".dockerignore", "Dockerfile", "app.py", "docs/notes.txt"]


def test_the_dockerfiles_own_ignore_file_comes_first(tmp_path: Path) -> None:
    found = sources(tmp_path, {
        "Dockerfile": "FROM busybox\nCOPY . /app\n",
        "Dockerfile.dockerignore": "a.txt\n",
        ".dockerignore": "b.txt\n",
        "a.txt": "", "b.txt": "",
    })  # fmt: skip
    assert "a.txt" not in found.taken and "b.txt" in found.taken


def test_patterns_match_as_copy_matches_them(tmp_path: Path) -> None:
    """Go's filepath.Match: ``*`` stays within a segment and matches dotfiles; ``[^...]``."""
    found = sources(tmp_path, {
        "Dockerfile": "FROM busybox\nCOPY src/*.py [^x]*.cfg /app/\n",
        "src/a.py": "", "src/.b.py": "", "src/sub/c.py": "", "src/readme.md": "",
        "app.cfg": "", "x.cfg": "",
    })  # fmt: skip
    assert sorted(found.taken) == ["app.cfg", "src/.b.py", "src/a.py"]


def test_only_the_stages_the_target_is_built_from_count(tmp_path: Path) -> None:
    dockerfile = (
        "FROM busybox AS build\nCOPY src /src\n"
        "FROM busybox AS test\nCOPY tests /tests\n"
        "FROM busybox AS prod\nCOPY --from=build /src /app\nCOPY <<EOF /etc/motd\nhi\nEOF\n"
        "ADD https://example.com/x.tgz /x\nCOPY --from=alpine /bin/sh /bin/\n"
    )
    files = {"Dockerfile": dockerfile, "src/main.py": "", "tests/t.py": ""}
    assert sorted(sources(tmp_path, files).taken) == ["src/main.py"]
    assert sorted(sources(tmp_path, files, "test").taken) == ["tests/t.py"]


def test_a_source_symlink_is_followed(tmp_path: Path) -> None:
    (tmp_path / "app").symlink_to("real")
    found = sources(tmp_path, {"Dockerfile": "FROM busybox\nCOPY app /app\n", "real/x.py": ""})
    assert sorted(found.taken) == ["app", "real/x.py"]


def test_comments_in_the_dockerfile_change_no_image(tmp_path: Path) -> None:
    first = sources(tmp_path, {"Dockerfile": "# syntax=docker/dockerfile:1\nFROM busybox\n"})
    commented = sources(
        tmp_path, {"Dockerfile": "# syntax=docker/dockerfile:1\n# a\nFROM busybox\n"}
    )
    assert commented.recipe == first.recipe
    other = sources(tmp_path, {"Dockerfile": "# syntax=docker/dockerfile:1.7\nFROM busybox\n"})
    assert other.recipe != first.recipe


def test_a_mode_counts_unless_every_copy_of_the_file_sets_one(tmp_path: Path) -> None:
    """COPY keeps a file's mode, ``--chmod`` replaces it: only the first sees a chmod."""
    dockerfile = "FROM busybox\nCOPY --chmod=755 run.sh /\nCOPY kept.sh /\n"
    files = {"Dockerfile": dockerfile, "run.sh": "run", "kept.sh": "kept"}
    before = sources(tmp_path, files).taken
    (tmp_path / "run.sh").chmod(0o600)
    forget()
    assert image_sources(str(tmp_path), "Dockerfile", None).taken == before
    (tmp_path / "kept.sh").chmod(0o600)
    forget()
    assert image_sources(str(tmp_path), "Dockerfile", None).taken["kept.sh"] != before["kept.sh"]
    plain_first = dockerfile.replace("\n", "\nCOPY run.sh /again\n", 1)
    also = sources(tmp_path, {"Dockerfile": plain_first}).taken
    (tmp_path / "run.sh").chmod(0o644)
    forget()
    assert image_sources(str(tmp_path), "Dockerfile", None).taken["run.sh"] != also["run.sh"]


def test_sources_docker_does_not_send_are_named(tmp_path: Path) -> None:
    """A file or folder COPY names that is left out or absent fails the build; a pattern that
    matches nothing, a folder sent without some of its files, and the context itself do not."""
    found = sources(tmp_path, {
        "Dockerfile": "FROM busybox\nCOPY a.txt gone.txt *.md d ./ /app/\nCOPY out /o\n",
        ".dockerignore": "a.txt\nd/skip\nout\n",
        "a.txt": "", "d/keep": "", "d/skip": "", "out/x": "",
    })  # fmt: skip
    assert found.unsent == ("a.txt", "gone.txt", "out")


UNSURE = {
    "a variable in a source": ("FROM busybox\nARG SRC=app\nCOPY ${SRC} /app\n", "variable"),
    "COPY --exclude": ("FROM busybox\nCOPY --exclude=*.md . /app\n", "--exclude"),
    "a RUN bind-mounting the context": ("FROM busybox\nRUN --mount=target=/s ls /s\n", "mounts"),
    "a stage named by a variable": (
        "FROM busybox AS a\nCOPY . /a\nFROM busybox\nARG S=a\nCOPY --from=${S} /a /a\n",
        "may name stage a",
    ),
    "an unparsable Dockerfile": ("FROM busybox\nCOPY <<EOF /x\n", "cannot be parsed"),
    "an unknown instruction": ("FROM busybox\nCOPPY . /app\n", "cannot be parsed"),
    "no such target": ("FROM busybox AS a\n", "no stage"),
}


@pytest.mark.parametrize("case", sorted(UNSURE))
def test_where_berth_cannot_tell_every_file_may_be_taken(tmp_path: Path, case: str) -> None:
    dockerfile, why = UNSURE[case]
    found = sources(tmp_path, {"Dockerfile": dockerfile, "compose.yaml": "services: {}\n"},
                    "missing" if case == "no such target" else None)  # fmt: skip
    assert "compose.yaml" in found.read and "compose.yaml" not in found.taken
    assert why in found.why["compose.yaml"].shown(str)


def test_a_bind_mounted_file_alone_may_be_read(tmp_path: Path) -> None:
    dockerfile = "FROM busybox\nRUN --mount=type=bind,source=req.txt,target=/r cat /r\n"
    found = sources(tmp_path, {"Dockerfile": dockerfile, "req.txt": "", "other": ""})
    assert list(found.read) == ["req.txt"] and not found.taken


def test_a_file_larger_than_memory_is_hashed_in_chunks(tmp_path: Path) -> None:
    """A context may hold files far larger than memory (8 GiB): each is hashed in chunks,
    never read whole (this one is sparse, 512 MiB, and the whole hashing stays under 16 MiB)."""
    with (tmp_path / "big.bin").open("wb") as big:
        big.truncate(512 * 2**20)
    (tmp_path / "Dockerfile").write_text("FROM busybox\nCOPY . /app\n")
    forget()
    import docker.utils.build  # noqa: F401 - imported before measuring, as in a diff
    import dockerfile  # noqa: F401

    tracemalloc.start()
    try:
        found = image_sources(str(tmp_path), "Dockerfile", None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "big.bin" in found.taken
    assert peak < 16 * 2**20, peak


def test_a_list_of_paths_is_capped_and_counted() -> None:
    assert listed(["a", "b"]) == "a, b"
    names = [f"f{i:02}" for i in range(12)]
    assert listed(names) == "12 files: f00, f01, f02, f03, f04 and 7 more"


# -- on the seed example, with the run-once provider's own rule ------------------------------


@pytest.fixture
def seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The seed's migrate example, deployed (base) and new (head), in two checkouts."""
    monkeypatch.chdir(tmp_path)
    folders = (tmp_path / "base" / "migrate", tmp_path / "head" / "migrate")
    for folder in folders:
        shutil.copytree(SEED, folder)
    return folders


def seed_diff(folders: tuple[Path, Path], target: str = "local") -> dict[str, Any]:
    config, secret_keys = plan_config(["x"], target=target, variables=_settings(target))
    files = [[str(folder / "compose.yaml")] for folder in folders]
    diff = diff_files(*files, config, secret_keys)
    return {"json": json.loads(diff.as_json()), "text": diff.as_text(), "md": diff.as_markdown()}


def replaced(folders: tuple[Path, Path], target: str) -> bool:
    """Whether the migrate job's run-once resource is replaced, by its provider's own diff."""
    old, new = (_run_once(folder, target) for folder in folders)
    olds, news = _run_once_inputs(folders[0], old), _run_once_inputs(folders[1], new)
    return bool(dynamic_provider(new).diff("id", olds, news).replaces)


def migrate(result: dict[str, Any]) -> dict[str, Any]:
    return next(job for job in result["json"]["jobs"] if job["name"] == "migrate")


SEED_EDITS = {
    "a port of web": ("compose.yaml", '"80:80"', '"8080:80"', False),
    "a comment": ("compose.yaml", "# The seed's", "# The seed's own", False),
    "a comment in the Dockerfile": ("Dockerfile", "WORKDIR", "# the app\nWORKDIR", False),
    "migrate.sh": ("migrate.sh", "migration applied", "migration done", True),
    "the Dockerfile": ("Dockerfile", "postgresql16-client", "postgresql16-client curl", True),
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("change", sorted(SEED_EDITS))
def test_seed_edits_run_migrate_as_the_provider_would(
    seed: tuple[Path, Path], target: str, change: str
) -> None:
    """Only what the image takes re-runs migrate; the diff agrees with the provider's rule."""
    name, old, new, runs = SEED_EDITS[change]
    edit(seed[1], name, old, new)
    result = seed_diff(seed, target)
    assert migrate(result)["runs"] is runs
    assert replaced(seed, target) is runs
    if runs:
        assert f"the image is rebuilt from a changed context ({name})" in result["text"]


def test_a_port_of_web_alone_updates_web_and_runs_nothing(seed: tuple[Path, Path]) -> None:
    edit(seed[1], "compose.yaml", '"80:80"', '"8080:80"')
    result = seed_diff(seed)
    assert migrate(result) == {"name": "migrate", "runs": False, "because": []}
    assert "compose.yaml" not in result["text"]
    web = next(s for s in result["json"]["services"] if s["name"] == "web")
    assert web == {"name": "web", "change": "update", "because": ["ports"]}


def test_a_file_the_image_may_take_says_may_run(seed: tuple[Path, Path]) -> None:
    """A variable in a COPY source: a compose edit may change the image, so migrate may run;
    the provider replaces it (the stand-in digest holds every file it may take)."""
    for folder in seed:
        edit(folder, "Dockerfile", "COPY migrate.sh", "ARG EXTRA=web.py\nCOPY ${EXTRA} migrate.sh")
    edit(seed[1], "compose.yaml", '"80:80"', '"8080:80"')
    result = seed_diff(seed)
    assert migrate(result) == {"name": "migrate", "runs": "maybe", "because": ["build"]}
    assert (
        "migrate: may run: compose.yaml changed, which its image may hold or be made from "
        "(COPY ${EXTRA} names a variable, which Berth does not evaluate)"
    ) in result["text"]
    assert (
        "| `migrate` | **maybe** |" in result["md"]
        and "0 of 1 jobs will run, 1 may" in result["md"]
    )
    assert replaced(seed, "local")
    edit(seed[1], "migrate.sh", "migration applied", "migration done")
    assert migrate(seed_diff(seed))["runs"] is True  # a file it surely takes changed too


def test_a_remote_context_may_always_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    compose = (
        "services:\n  migrate:\n    build: https://github.com/example/app.git#main\n"
        '    restart: "no"\n'
    )
    for folder in ("base/app", "head/app"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "compose.yaml").write_text(compose)
    result = seed_diff((tmp_path / "base/app", tmp_path / "head/app"))
    assert migrate(result)["runs"] == "maybe"
    remote = "https://github.com/example/app.git#main"
    assert f"may run: it is built from the remote context {remote}" in result["text"]


def test_a_copied_file_left_out_by_dockerignore_is_a_failing_build(seed: tuple[Path, Path]) -> None:
    """It did not change, and ``up`` fails to build: say so, not "rebuilt from a changed
    context"."""
    (seed[1] / ".dockerignore").write_text("migrate.sh\n")
    result = seed_diff(seed)
    assert (
        "migrate: runs: its build will fail: its Dockerfile copies migrate.sh, which Docker does "
        "not send (not in the context, or left out by .dockerignore)\n"
    ) in result["text"]
    assert "changed context" not in result["text"]
