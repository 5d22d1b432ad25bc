"""``berth diff``'s inputs (issue 21): a stack config of any shape, and a base that is the
deployed project at the same place, or one line, exit 2, saying how to give one."""

# ruff: noqa: F811 - the tests take the fixture `versions` of tests.test_diff

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from berth.offline.cli import main
from berth.offline.diff_inputs import as_deployed
from tests.test_diff import SECRET, _cli, edit, versions  # noqa: F401 - a fixture

# -- the stack config ------------------------------------------------------------------------


def diff_with_config(
    config: object, folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """``berth diff --stack-config -`` from the checkouts' parent, the config on stdin."""
    text = config if isinstance(config, str) else json.dumps(config)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folders[1].parent)
        patch.setattr("sys.stdin", io.StringIO(text))
        code = main(["diff", "--stack-config", "-", "--base-root", str(folders[0].parent),
                     "--secret", f"DB_PASSWORD={SECRET}"])  # fmt: skip
    out, err = capsys.readouterr()
    return code, out, err


def entries(**values: str) -> dict[str, dict[str, object]]:
    defaults = {"berth:composeFiles": '["app/compose.yaml"]'}
    return {k: {"value": v, "secret": False} for k, v in {**defaults, **values}.items()}


BAD_CONFIGS = {
    "not JSON": ("{not json", "cannot be read (JSONDecodeError"),
    "a list": ("[]", "is a JSON array, not an object of entries"),
    "null": ("null", "is JSON null, not an object of entries"),
    "an entry without value": (
        {"berth:target": {"secret": False}},
        'entry \'berth:target\' is not of the shape {"value": "<text>"',
    ),
    "an entry that is a string": ({"berth:target": "aws"}, "entry 'berth:target' is not of"),
    "a secret without its value": (
        {"berth:API_KEY": {"secret": True}},
        "entry 'berth:API_KEY' is a secret without its value. add --show-secrets",
    ),
    "profiles a number": (entries(**{"berth:profiles": "5"}), "berth:profiles must be a"),
    "profiles an object": (entries(**{"berth:profiles": '{"a": 1}'}), "berth:profiles must be a"),
    "composeFiles a list of numbers": (
        entries(**{"berth:composeFiles": "[1, 2]"}),
        "berth:composeFiles must be a",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_bad_stack_config_is_one_line_naming_the_entry(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str], case: str
) -> None:
    config, expected = BAD_CONFIGS[case]
    code, out, err = diff_with_config(config, versions, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected in err


def test_settings_not_in_json_read_as_pulumi_up_reads_them(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A plain string is one file, or one profile, as the program itself reads it."""
    config = entries(**{"berth:composeFiles": "app/compose.yaml", "berth:profiles": "tools"})
    code, out, err = diff_with_config(config, versions, capsys)
    assert code == 0, err
    assert "migrate: does not run" in out


def test_no_value_of_the_stack_config_is_printed(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config = {"berth:API_KEY": {"value": ["sk-not-printed"], "secret": True}}
    _, _, err = diff_with_config(config, versions, capsys)
    assert "sk-not-printed" not in err and "entry 'berth:API_KEY'" in err


# -- the base ----------------------------------------------------------------------------------


def refused(*args: str, cwd: Path, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        code = main(["diff", *args, "--secret", f"DB_PASSWORD={SECRET}"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, ""), err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def json_diff(base: Path, head: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``berth diff --base-root BASE -f compose.yaml --format json``, run in ``head``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(head)
        code = main(["diff", "--base-root", str(base), "-f", "compose.yaml", "--format", "json",
                     "--secret", f"DB_PASSWORD={SECRET}"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    return result


def test_a_checkout_in_a_folder_of_another_name_is_read_as_the_new_files_project(
    versions: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``git worktree add ../old``: the deployed checkout's folder is not named as the deployed
    one was; read under its own folder's name, every resource would look replaced."""
    base, head = versions
    old = tmp_path / "old"
    shutil.copytree(base, old)
    edit(head, "compose.yaml", '"8080:80"', '"8081:80"')
    result = json_diff(old, head, capsys)
    assert {job["name"]: job["runs"] for job in result["jobs"]} == {"migrate": False}, result
    assert {s["name"]: s["change"] for s in result["services"]}["web"] == "update"


def test_a_base_is_named_as_this_checkout_names_it_unless_it_names_itself(tmp_path: Path) -> None:
    """A base without ``name:`` was deployed from a checkout like this one: named after this
    folder, whatever its own folder is called; one with ``name:`` keeps it."""
    for folder, name in (("old", "shop"), ("My.Checkout", "store")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "compose.yaml").write_text(
            f"name: {name}\nservices:\n  app:\n    image: nginx\n"
        )
    base, files = [str(tmp_path / "old" / "compose.yaml")], [str(tmp_path / "My.Checkout" / "x")]
    assert as_deployed(base, files, {}) == {}
    (tmp_path / "old" / "compose.yaml").write_text("services:\n  app:\n    image: nginx\n")
    assert as_deployed(base, files, {}) == {"berth:projectName": "mycheckout"}
    mine = {"berth:projectName": "mine"}
    assert as_deployed(base, files, mine) == mine


def test_a_project_named_in_the_new_files_only_is_a_rename(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Adding ``name:`` renames every resource: the job runs again and nothing is "none"."""
    base, head = versions
    edit(head, "compose.yaml", "services:", "name: renamed\nservices:")
    result = json_diff(base, head, capsys)
    assert {job["name"]: job["runs"] for job in result["jobs"]} == {"migrate": True}, result
    assert {s["change"] for s in result["services"]} == {"replace"}, result


def test_a_base_whose_contexts_are_not_a_checkout_is_refused(
    versions: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same folder name, hence same project name, but no Dockerfile: not the deployed files."""
    old = tmp_path / "saved" / "app" / "compose.yaml"
    old.parent.mkdir(parents=True)
    shutil.copy(versions[0] / "compose.yaml", old)
    err = refused("--base", str(old), "-f", "app/compose.yaml", cwd=versions[1].parent,
                  capsys=capsys)  # fmt: skip
    assert "the base is not a checkout of the project: the build context '.' has no " in err


def test_a_base_beside_the_new_files_is_refused(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """It shares the build contexts: what the deployed images were built from is unknown."""
    shutil.copy(versions[1] / "compose.yaml", versions[1] / "compose.old.yaml")
    err = refused("--base", "app/compose.old.yaml", "-f", "app/compose.yaml",
                  cwd=versions[1].parent, capsys=capsys)  # fmt: skip
    assert "in both versions, so what the deployed image was built from is not known" in err


@pytest.mark.parametrize("how", ["--base-root .", "--base same"])
def test_a_base_that_is_the_new_files_is_refused(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str], how: str
) -> None:
    flag, value = how.split()
    base = [flag, "app/compose.yaml" if value == "same" else value]
    err = refused(*base, "-f", "app/compose.yaml", cwd=versions[1].parent, capsys=capsys)
    assert "the base is the new files themselves (app/compose.yaml)" in err


def test_an_absolute_file_under_base_root_is_found_in_the_base(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """``-f /abs/compose.yaml`` is the same file at the same place in the deployed checkout,
    not the new file compared with itself."""
    base, head = versions
    edit(head, "migrate.sh", "migrating", "migrating twice")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(head.parent)
        code = main(["diff", "--base-root", str(base.parent), "-f", str(head / "compose.yaml"),
                     "--secret", f"DB_PASSWORD={SECRET}"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "migrate: runs: the image is rebuilt from a changed context (migrate.sh)" in out


def test_a_file_outside_the_checkout_under_base_root_is_refused(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = versions
    (head / "docs").mkdir()
    err = refused("--base-root", str(base.parent), "-f", "../compose.yaml",
                  cwd=head / "docs", capsys=capsys)  # fmt: skip
    assert "../compose.yaml is outside the working directory" in err


def test_many_changed_files_are_counted_not_all_listed(versions: tuple[Path, Path]) -> None:
    base, head = versions
    for index in range(12):
        (head / f"page{index:02}.html").write_text("new\n")
    result = _cli("--base", "base/app/compose.yaml", "-f", "head/app/compose.yaml",
                  "--secret", f"DB_PASSWORD={SECRET}", cwd=base.parent.parent)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "(12 files: page00.html, page01.html, page02.html, page03.html, page04.html and 7 more)"
    ) in result.stdout
    assert "page05.html" not in result.stdout
