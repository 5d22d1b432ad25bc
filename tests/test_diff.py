"""``berth diff``: which jobs a deployment runs, and why, offline; and the re-run rule itself."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from berth.components.target import Phased, Sequenced, load_target
from berth.fields import Level
from berth.offline.contexts import digest_outputs
from berth.offline.diff import diff_files
from berth.offline.diff_report import Diff
from berth.offline.plan import Registration, plan_config, run_plan
from tests.conftest import ROOT
from tests.plans import dynamic_provider, ordered_targets, provider_inputs

TARGETS = ordered_targets(Sequenced)
"""The targets with a run-once resource per job, whose own ``diff`` decides a run."""
PHASED = ordered_targets(Phased)
"""The targets that deploy one unit, running every job on each of its deployments."""
SECRET = "s3cret-database-password"  # a test value, checked never to print

COMPOSE = """\
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
  migrate:
    build: .
    command: ["./migrate.sh"]
    environment:
      DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app
    volumes:
      - data:/data
      - cache:/cache
    depends_on: [db]
    restart: "no"
  web:
    build: .
    ports: ["8080:80"]
    environment:
      GREETING: hello
    depends_on:
      migrate:
        condition: service_completed_successfully
volumes:
  data: {}
  cache: {}
"""
FILES = {
    "Dockerfile": "FROM busybox\nCOPY . /app\n",
    "migrate.sh": "#!/bin/sh\necho migrating\n",
    "web.py": "print('web')\n",
    "notes.txt": "not in the image\n",
    ".dockerignore": "# docs and the compose file stay out of the image\nnotes.txt\ncompose.yaml\n",
}


@pytest.fixture
def versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The deployed (base) and the new version of one project, in two checkouts."""
    monkeypatch.chdir(tmp_path)
    folders = (tmp_path / "base" / "app", tmp_path / "head" / "app")
    for folder in folders:
        folder.mkdir(parents=True)
        for name, text in {"compose.yaml": COMPOSE, **FILES}.items():
            (folder / name).write_text(text)
    return folders


@dataclass
class Changed:
    """One change of the project, diffed on one target: its two checkouts, and the diff."""

    versions: tuple[Path, Path]
    diff: Diff


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Changed]:
    """The diff of each change in ``CHANGES`` on each target, made once for the module: the
    issue's cases and the agreement with the run-once provider read the same diffs."""
    made: dict[tuple[str, str], Changed] = {}

    def change_on(target: str, change: str) -> Changed:
        if (target, change) not in made:
            root = tmp_path_factory.mktemp(f"{target}-{change.replace(' ', '-')}")
            folders = (root / "base" / "app", root / "head" / "app")
            for folder in folders:
                folder.mkdir(parents=True)
                for name, text in {"compose.yaml": COMPOSE, **FILES}.items():
                    (folder / name).write_text(text)
            name, old, new = CHANGES[change]
            if old:
                edit(folders[1], name, old, new)
            with contextlib.chdir(root):
                made[target, change] = Changed(folders, run_diff(folders, target))
        return made[target, change]

    return change_on


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new))


def run_diff(versions: tuple[Path, Path], target: str = "local", secret: str = SECRET) -> Diff:
    base, head = versions
    config, secret_keys = plan_config(
        ["x"], target=target, secrets={"DB_PASSWORD": secret}, variables=_settings(target)
    )
    return diff_files(
        [str(base / "compose.yaml")], [str(head / "compose.yaml")], config, secret_keys
    )


def _settings(target: str) -> dict[str, str]:
    return {"gcpProject": "plan-project", "gcpRegion": "europe-west1"} if target == "gcp" else {}


def document(diff: Diff) -> dict[str, Any]:
    return json.loads(diff.as_json())


def job(diff: Diff, name: str = "migrate") -> dict[str, Any]:
    return next(j for j in document(diff)["jobs"] if j["name"] == name)


def service(diff: Diff, name: str) -> dict[str, Any]:
    return next(s for s in document(diff)["services"] if s["name"] == name)


# -- the cases, on every target --------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_same_files_run_nothing(changed: Callable[[str, str], Changed], target: str) -> None:
    diff = changed(target, "nothing").diff
    assert document(diff) == {
        "jobs": [{"name": "migrate", "runs": False, "because": []}],
        "services": [
            {"name": "db", "change": "none", "because": []},
            {"name": "web", "change": "none", "because": []},
        ],
        "notes": [],
    }


@pytest.mark.parametrize("target", TARGETS)
def test_web_environment_alone_runs_no_migration(
    changed: Callable[[str, str], Changed], target: str
) -> None:
    diff = changed(target, "web environment").diff
    assert job(diff) == {"name": "migrate", "runs": False, "because": []}
    assert service(diff, "web")["because"] == ["environment"]
    assert service(diff, "web")["change"] in ("update", "replace")
    assert service(diff, "db")["change"] == "none"


@pytest.mark.parametrize("target", TARGETS)
def test_db_image_alone_runs_no_migration(
    changed: Callable[[str, str], Changed], target: str
) -> None:
    diff = changed(target, "db image").diff
    assert job(diff)["runs"] is False
    assert service(diff, "db")["because"] == ["image"]


@pytest.mark.parametrize("target", TARGETS)
def test_a_changed_command_runs_the_migration(
    changed: Callable[[str, str], Changed], target: str
) -> None:
    diff = changed(target, "command").diff
    assert job(diff) == {"name": "migrate", "runs": True, "because": ["command"]}
    assert "migrate: runs: command changed" in diff.as_text()


@pytest.mark.parametrize("target", TARGETS)
def test_a_changed_script_in_the_context_rebuilds_and_runs(
    changed: Callable[[str, str], Changed], target: str
) -> None:
    diff = changed(target, "context").diff
    assert job(diff) == {"name": "migrate", "runs": True, "because": ["build"]}
    assert "the image is rebuilt from a changed context (migrate.sh)" in diff.as_text()
    assert "the image is rebuilt from a changed context (`migrate.sh`)" in diff.as_markdown()


@pytest.mark.parametrize("target", TARGETS)
def test_an_ignored_file_changes_nothing(
    changed: Callable[[str, str], Changed], target: str
) -> None:
    diff = changed(target, "ignored file").diff
    assert not any(j["runs"] for j in document(diff)["jobs"])
    assert {s["change"] for s in document(diff)["services"]} == {"none"}


@pytest.mark.parametrize("target", PHASED)
def test_a_phased_target_runs_jobs_on_every_deployment_of_its_unit(
    versions: tuple[Path, Path], target: str
) -> None:
    """No run-once resource (App Platform's): a job runs whenever the unit deploys, only then."""
    assert job(run_diff(versions, target))["runs"] is False
    edit(versions[1], "compose.yaml", "GREETING: hello", "GREETING: bonjour")
    diff = run_diff(versions, target)
    assert job(diff) == {"name": "migrate", "runs": True, "because": ["always"]}
    assert "runs jobs on every deployment" in diff.as_text()
    assert service(diff, "web") == {"name": "web", "change": "update", "because": ["environment"]}


def test_a_shared_context_reruns_the_migration_for_web_py(versions: tuple[Path, Path]) -> None:
    """web and migrate share one context: the migration's image holds web.py too."""
    edit(versions[1], "web.py", "'web'", "'web 2'")
    diff = run_diff(versions)
    assert job(diff) == {"name": "migrate", "runs": True, "because": ["build"]}
    assert "(web.py)" in diff.as_text()
    assert service(diff, "web")["because"] == ["build"]


def test_a_new_tag_on_a_built_image_runs_nothing(versions: tuple[Path, Path]) -> None:
    """A job re-runs when its image's digest changes, not its tag."""
    for folder, tag in zip(versions, ("1.0", "1.1"), strict=True):
        edit(folder, "compose.yaml", "    build: .\n    command", f"    image: app/m:{tag}\n"
             "    build: .\n    command")  # fmt: skip
    assert job(run_diff(versions))["runs"] is False


def test_run_always_says_always(versions: tuple[Path, Path]) -> None:
    edit(versions[1], "compose.yaml", 'restart: "no"', 'restart: "no"\n    x-berth-run: always')
    assert job(run_diff(versions)) == {"name": "migrate", "runs": True, "because": ["always"]}


SECRET_JOB = """\
services:
  migrate:
    image: busybox
    environment:
      TOKEN: v1-${DB_PASSWORD}
    restart: "no"
    secrets: [key]
  web:
    image: busybox
    depends_on:
      migrate:
        condition: service_completed_successfully
secrets:
  key:
    file: ./key.txt
"""
KEY = "key-file-content-not-printed"
SECRET_CHANGES = {
    "a value holding a stack secret": ("compose.yaml", "v1-", "v2-", "environment"),
    "a secret file": ("key.txt", KEY, KEY + "-rotated", "secrets"),
}


def _places_files(target: str) -> bool:
    return load_target(target).FIELD_SUPPORT["secrets"].level is not Level.REFUSED


@pytest.mark.parametrize(
    ("target", "change"),
    [
        (target, change)
        for target in TARGETS + PHASED
        for change in SECRET_CHANGES
        if change != "a secret file" or _places_files(target)
    ],
)
def test_a_changed_secret_of_a_job_runs_it_without_printing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, change: str
) -> None:
    """What ``up`` does on every target: on gcp the new value is a new Secret Manager version,
    whose number the job's definition names (issue 21)."""
    monkeypatch.chdir(tmp_path)
    folders = (tmp_path / "base" / "app", tmp_path / "head" / "app")
    for folder in folders:
        folder.mkdir(parents=True)
        compose = SECRET_JOB.replace("    secrets: [key]\n", "")
        (folder / "compose.yaml").write_text(SECRET_JOB if _places_files(target) else compose)
        (folder / "key.txt").write_text(KEY)
    assert job(run_diff(folders, target))["runs"] is False
    name, old, new, field = SECRET_CHANGES[change]
    edit(folders[1], name, old, new)
    diff = run_diff(folders, target)
    assert job(diff)["runs"] is True
    assert job(diff)["because"] == (["always"] if target in PHASED else [field])
    for text in (diff.as_json(), diff.as_text(), diff.as_markdown()):
        assert SECRET not in text and KEY not in text


@pytest.mark.parametrize("target", TARGETS)
def test_reordered_volumes_run_nothing(changed: Callable[[str, str], Changed], target: str) -> None:
    assert job(changed(target, "volumes order").diff)["runs"] is False


# -- the diff agrees with the run-once provider's own diff -------------------------------------


CHANGES = {
    "nothing": ("compose.yaml", "", ""),
    "web environment": ("compose.yaml", "GREETING: hello", "GREETING: hi"),
    "db image": ("compose.yaml", "postgres:16", "postgres:17"),
    "command": ("compose.yaml", '["./migrate.sh"]', '["./migrate.sh", "-v"]'),
    "volumes order": ("compose.yaml", "- data:/data\n      - cache:/cache",
                      "- cache:/cache\n      - data:/data"),
    "context": ("migrate.sh", "migrating", "migrating again"),
    "ignored file": ("notes.txt", "not in", "never in"),
}  # fmt: skip


def _run_once_inputs(folder: Path, run: Registration) -> dict[str, Any]:
    """The migrate job's run-once inputs as the engine hands them to the provider."""
    text = json.dumps(run.raw_inputs).replace(str(folder), "/project")
    return provider_inputs(json.loads(text))


def _run_once(folder: Path, target: str) -> Registration:
    """The migrate job's run-once resource."""
    config, secret_keys = plan_config(
        [str(folder / "compose.yaml")],
        target=target,
        secrets={"DB_PASSWORD": SECRET},
        variables=_settings(target),
    )
    module = load_target(target)
    plan = run_plan(config, secret_keys, preview=False, outputs=digest_outputs(module.plan_outputs))
    (run,) = [
        r
        for r in plan.registrations
        if "__provider" in r.raw_inputs
        and plan.service_of(r) == "migrate"
        and r.name.endswith("-run")
    ]
    return run


@pytest.fixture(scope="module")
def base_run_once_inputs(
    changed: Callable[[str, str], Changed],
) -> Callable[[str], dict[str, Any]]:
    """The unchanged project's run-once inputs (every base checkout's), planned once a target."""

    @functools.cache
    def inputs(target: str) -> dict[str, Any]:
        base = changed(target, "nothing").versions[0]
        return _run_once_inputs(base, _run_once(base, target))

    return inputs


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_diff_agrees_with_the_run_once_provider(
    changed: Callable[[str, str], Changed],
    base_run_once_inputs: Callable[[str], dict[str, Any]],
    target: str,
    change: str,
) -> None:
    """The provider, planned apart from the diff (the base once per target), decides as the
    diff said: the run-once resource's own ``diff`` is what ``pulumi up`` calls."""
    diffed = changed(target, change)
    head = diffed.versions[1]
    run = _run_once(head, target)
    olds, news = base_run_once_inputs(target), _run_once_inputs(head, run)
    replaced = bool(dynamic_provider(run).diff("id", olds, news).replaces)
    assert job(diffed.diff)["runs"] is replaced


# -- the rule inside the run-once provider and the local target --------------------------------


def test_old_state_with_mounts_in_another_order_runs_nothing() -> None:
    """A state written before mounts were sorted must not re-run every job on upgrade."""
    from berth.providers.local.run_once import LocalJobProvider

    mounts = [{"target": "/data", "source": "d"}, {"target": "/cache", "source": "c"}]
    olds = {"definition": {"image": "sha256:1", "mounts": mounts}, "exitCode": 0}
    news = {"definition": {"image": "sha256:1", "mounts": mounts[::-1]}}
    assert LocalJobProvider().diff("id", olds, news).replaces == []
    changed = {"definition": {"image": "sha256:2", "mounts": mounts}}
    assert LocalJobProvider().diff("id", olds, changed).replaces == ["definition"]


def test_local_job_definition_sorts_order_free_lists(versions: tuple[Path, Path]) -> None:
    edit(versions[1], "compose.yaml", "- data:/data\n      - cache:/cache",
         "- cache:/cache\n      - data:/data")  # fmt: skip
    edit(
        versions[1],
        "compose.yaml",
        'restart: "no"',
        'restart: "no"\n    cap_add: [NET_ADMIN, CHOWN]',
    )
    edit(
        versions[0],
        "compose.yaml",
        'restart: "no"',
        'restart: "no"\n    cap_add: [CHOWN, NET_ADMIN]',
    )
    old, new = (
        _run_once_inputs(folder, _run_once(folder, "local"))["definition"] for folder in versions
    )
    assert new == old
    assert [m["target"] for m in new["mounts"]] == ["/cache", "/data"]


# -- the command line ----------------------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "berth", "diff", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_prints_the_json_contract(versions: tuple[Path, Path]) -> None:
    base, head = versions
    edit(head, "compose.yaml", '["./migrate.sh"]', '["./migrate.sh", "--all"]')
    result = _cli(
        "--base", "base/app/compose.yaml", "-f", "head/app/compose.yaml",
        "--secret", f"DB_PASSWORD={SECRET}", "--format", "json", cwd=base.parent.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["jobs"] == [
        {"name": "migrate", "runs": True, "because": ["command"]}
    ]
    assert SECRET not in result.stdout + result.stderr


def test_cli_reads_the_stack_config_as_ci_gives_it(versions: tuple[Path, Path]) -> None:
    """The workflow pipes `pulumi config --json --show-secrets` in; secrets stay unprinted."""
    base, head = versions
    edit(head, "compose.yaml", '["./migrate.sh"]', '["./migrate.sh", "--all"]')
    config = {
        "berth:composeFiles": {"value": '["app/compose.yaml"]', "secret": False},
        "berth:target": {"value": "aws", "secret": False},
        "berth:DB_PASSWORD": {"value": SECRET, "secret": True},
    }
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "berth", "diff", "--stack-config", "-",
         "--base-root", str(base.parent), "--format", "markdown"],
        cwd=head.parent, env=environment, input=json.dumps(config),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "### berth diff (aws): 1 of 1 jobs will run" in result.stdout
    assert "| `migrate` | **yes** | `command` changed |" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_cli_bad_base_is_one_line(versions: tuple[Path, Path]) -> None:
    result = _cli("--base", "missing.yaml", "-f", "head/app/compose.yaml",
                  cwd=versions[0].parent.parent)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "missing.yaml" in result.stderr


# -- speed: parse once, with libyaml; import only what a plan uses --------------------------------


def test_sources_are_parsed_once_with_libyaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gcp reads the sources again after the loader did: the second read parses nothing."""
    import yaml

    from berth import sources

    if hasattr(yaml, "CSafeLoader"):
        assert issubclass(sources._ComposeYamlLoader, yaml.CSafeLoader)
    file = tmp_path / "compose.yaml"
    file.write_text(COMPOSE)
    sources._parsed.cache_clear()  # earlier tests parsed the same text
    parses = []
    for name in ("load", "load_all"):  # whichever the reader uses
        real = getattr(yaml, name)
        monkeypatch.setattr(
            sources.yaml, name, lambda *a, real=real, **k: parses.append(1) or real(*a, **k)
        )
    first = sources.read_sources([str(file)])
    first.documents[0]["services"].clear()  # a reader's change never reaches the next reader
    second = sources.read_sources([str(file)])
    assert len(parses) == 1
    assert list(second.documents[0]["services"]) == ["db", "migrate", "web"]


def test_a_local_plan_imports_no_docker_sdk() -> None:
    """The Docker SDK (0.1 s) is for running a job and for managed stores, not for planning."""
    code = (
        "import contextlib, io, sys\n"
        "from berth.offline.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['plan', '-f', 'examples/migrate/compose.yaml'])\n"
        "print(sorted(m for m in ('docker', 'requests') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_workflow_posts_the_diff_of_each_stack_beside_the_preview() -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pulumi.yml").read_text())
    preview = workflow["jobs"]["preview"]
    steps = preview["steps"]
    names = [step.get("name") for step in steps]
    run = steps[names.index("berth diff (which jobs will run)")]
    assert "${{ matrix.stack }}" in run["env"]["STACK"]
    command = " ".join(run["run"].replace("\\\n", " ").split())
    assert 'pulumi config --stack "$STACK" --json --show-secrets | ' in command
    assert "-m berth diff --stack-config - --base-root" in command
    assert "--format markdown" in command
    comment = steps[names.index("Comment the berth diff")]
    assert "berth-diff.md" in comment["with"]["script"]
    assert preview["permissions"]["pull-requests"] == "write"


# -- BuildKit builds (issue 24): what moves the digest, and what does not ----------------------


def _build_option(versions: tuple[Path, Path], base: str, head: str | None = None) -> None:
    """Give migrate's build ``base`` in the deployed version, ``head`` (else the same) in the
    new one."""
    for folder, extra in zip(versions, (base, base if head is None else head), strict=True):
        build = f"    build:\n      context: .\n{extra}    command"
        edit(folder, "compose.yaml", "    build: .\n    command", build)


def test_a_compose_cache_setting_runs_nothing(versions: tuple[Path, Path]) -> None:
    """Where the cache is read from or written to leaves the image as it is."""
    _build_option(versions, "", "      cache_from: [type=registry,ref=example.com/m:cache]\n")
    assert job(run_diff(versions))["runs"] is False


def test_a_changed_build_secret_runs_nothing(versions: tuple[Path, Path]) -> None:
    """A build secret is mounted for a RUN step, never a layer: not the image's digest."""
    for folder, value in zip(versions, ("one-token-value", "two-token-value"), strict=True):
        (folder.parent / "token.txt").write_text(value)  # outside the context COPY takes
        secrets = "secrets:\n  token:\n    file: ../token.txt\nvolumes:\n  data"
        edit(folder, "compose.yaml", "volumes:\n  data", secrets)
    _build_option(versions, "      secrets: [token]\n")
    diff = run_diff(versions)
    assert job(diff)["runs"] is False
    assert "two-token-value" not in diff.as_json()


def test_a_changed_inline_dockerfile_runs_the_job(versions: tuple[Path, Path]) -> None:
    inline = "      dockerfile_inline: 'FROM {}'\n"
    _build_option(versions, inline.format("busybox"), inline.format("alpine"))
    assert job(run_diff(versions)) == {"name": "migrate", "runs": True, "because": ["build"]}


def test_a_changed_file_of_a_named_context_runs_the_job(versions: tuple[Path, Path]) -> None:
    for folder, text in zip(versions, ("v1\n", "v2\n"), strict=True):
        (folder.parent / "shared").mkdir()  # outside the context COPY takes
        (folder.parent / "shared" / "lib.txt").write_text(text)
    _build_option(versions, "      additional_contexts: {shared: ../shared}\n")
    assert job(run_diff(versions))["runs"] is True


@pytest.mark.parametrize(
    ("base", "head"),
    [
        ("      labels: {version: '1'}\n", "      labels: {version: '2'}\n"),
        ("      extra_hosts: ['h=10.0.0.1']\n", "      extra_hosts: ['h=10.0.0.2']\n"),
        ("", "      no_cache: true\n"),
    ],
    ids=["labels", "extra_hosts", "no_cache"],
)
def test_a_build_setting_that_makes_another_image_runs_the_job(
    versions: tuple[Path, Path], base: str, head: str
) -> None:
    """Labels go into the image's config; a RUN step's hosts, or a build without the cache,
    make its layers anew: the digest moves, as ``up`` would find."""
    _build_option(versions, base, head)
    assert job(run_diff(versions))["runs"] is True
