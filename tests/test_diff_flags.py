"""``berth diff``'s flags: the stack config under the flags, read once, its problems hinted in
its own terms; the base named by the flag that gave it; a file new in this commit."""

# ruff: noqa: F811 - the tests take the fixture `versions` of tests.test_diff

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from berth.offline.cli import main
from tests.test_diff import SECRET, versions  # noqa: F401 - a fixture


def diff(
    *args: str, cwd: Path, capsys: pytest.CaptureFixture[str], config: object = None
) -> tuple[int, str, str]:
    """``berth diff ARGS`` from ``cwd``, a stack ``config`` on stdin when given."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        if config is not None:
            patch.setattr("sys.stdin", io.StringIO(json.dumps(config)))
            args = ("--stack-config", "-", *args)
        try:
            code = main(["diff", *args])
        except SystemExit as exit_:  # argparse's own refusals
            code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def refused(*args: str, cwd: Path, capsys: pytest.CaptureFixture[str], **kw: object) -> str:
    code, out, err = diff(*args, cwd=cwd, capsys=capsys, **kw)
    assert (code, out) == (2, ""), err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def stored(**values: str) -> dict[str, dict[str, object]]:
    return {f"berth:{k}": {"value": v, "secret": k.endswith("PASSWORD")} for k, v in values.items()}


# -- the stack config, then the flags over it ----------------------------------------------------


def test_a_flag_overrides_a_stored_value_before_it_is_checked(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A 2-character stored secret is refused only when no flag replaces it."""
    base = ("--base-root", str(versions[0].parent), "-f", "app/compose.yaml")
    config = stored(DB_PASSWORD="ab")
    cwd = versions[1].parent
    code, out, err = diff(*base, "--secret", f"DB_PASSWORD={SECRET}", cwd=cwd, capsys=capsys,
                          config=config)  # fmt: skip
    assert code == 0, err
    assert "migrate: does not run" in out
    err = refused(*base, cwd=cwd, capsys=capsys, config=config)
    assert "berth:DB_PASSWORD has 2 character(s)" in err
    assert "(`pulumi config set --secret DB_PASSWORD <value>`)" in err


HINTS = {
    "a compose variable Compose reads": (
        stored(PATH="/bin"),
        ("--set", "PATH=/bin"),
        "remove it (`pulumi config rm PATH`)",
        "remove it (leave out `PATH=…`)",
    ),
    "a missing compose file": (
        stored(composeFiles='["app/missing.yaml"]'),
        ("-f", "app/missing.yaml"),
        "check berth:composeFiles in the stack config",
        "check the -f paths",
    ),
}


@pytest.mark.parametrize("case", sorted(HINTS))
def test_a_value_only_the_stack_config_gave_is_hinted_in_its_terms(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str], case: str
) -> None:
    config, flags, in_stack_config, in_flags = HINTS[case]
    secret = ("--secret", f"DB_PASSWORD={SECRET}", "--base-root", str(versions[0].parent))
    files = () if "-f" in flags else ("-f", "app/compose.yaml")
    cwd = versions[1].parent
    err = refused(*secret, *files, cwd=cwd, capsys=capsys, config=config)
    assert in_stack_config in err and "-f paths" not in err
    err = refused(*secret, *files, *flags, cwd=cwd, capsys=capsys, config=config)
    assert in_flags in err and "pulumi config" not in err


# -- the base ------------------------------------------------------------------------------------

BASES = {
    "--base-root missing": (
        ("--base-root", "../missing", "-f", "app/compose.yaml"),
        "error: the --base-root directory ../missing does not exist. give the deployed files",
    ),
    "--base-root a file": (
        ("--base-root", "../base/app/compose.yaml", "-f", "app/compose.yaml"),
        "error: the --base-root directory ../base/app/compose.yaml is a file, not a checkout.",
    ),
    "--base missing": (
        ("--base", "missing.yaml", "-f", "app/compose.yaml"),
        "error: the --base file missing.yaml does not exist. check the --base paths",
    ),
    "both": (
        ("--base", "x.yaml", "--base-root", "../base", "-f", "app/compose.yaml"),
        "error: argument --base-root: not allowed with argument --base "
        "(see python -m berth diff --help).",
    ),
    "neither": (
        ("-f", "app/compose.yaml"),
        "error: one of the arguments --base-root --base is required "
        "(see python -m berth diff --help).",
    ),
}


@pytest.mark.parametrize("case", sorted(BASES))
def test_a_bad_base_is_named_by_its_flag(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str], case: str
) -> None:
    args, expected = BASES[case]
    err = refused(*args, "--secret", f"DB_PASSWORD={SECRET}", cwd=versions[1].parent,
                  capsys=capsys)  # fmt: skip
    assert err.startswith(expected), err
    assert "-f paths" not in err


def test_run_from_elsewhere_names_the_path_looked_for(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """From the checkouts' parent, ``head/app/compose.yaml`` is looked for as
    ``base/head/app/compose.yaml``: the working directory is not the checkout's root."""
    err = refused("--base-root", "base", "-f", "head/app/compose.yaml", cwd=versions[0].parents[1],
                  capsys=capsys)  # fmt: skip
    assert err.startswith(
        "error: head/app/compose.yaml is not in the deployed checkout base (there is no "
        "base/head/app/compose.yaml). run berth diff from the root of the checkout"
    ), err


def test_a_file_new_in_this_commit_is_absent_from_the_deployed_version(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """An override added in the pull request: the base is planned without it, and a note says
    so, in every format."""
    base, head = versions
    (head.parent / "extra.yaml").write_text("services:\n  web:\n    environment: {EXTRA: '1'}\n")
    args = ("--base-root", str(base.parent), "-f", "app/compose.yaml", "-f", "extra.yaml",
            "--secret", f"DB_PASSWORD={SECRET}")  # fmt: skip
    note = "extra.yaml is not in the deployed checkout: the deployed version is planned without it"
    shown = {}
    for form in ("text", "markdown", "json"):
        code, shown[form], err = diff(*args, "--format", form, cwd=head.parent, capsys=capsys)
        assert code == 0, err
    assert shown["text"].startswith(f"Note: {note}\nJobs (local):\n  migrate: does not run\n")
    assert "  web: update (environment)\n" in shown["text"]
    assert "\n\nNote: `extra.yaml` is not in the deployed checkout" in shown["markdown"]
    assert json.loads(shown["json"])["notes"] == [note]
    shutil.rmtree(base)  # the first file missing too: nothing deployed to compare with
    err = refused(*args, cwd=head.parent, capsys=capsys)
    assert "app/compose.yaml is not in the deployed checkout" in err


def test_a_path_with_a_newline_or_an_escape_stays_on_the_error_s_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["diff", "--base-root", "a\nb\x1b[2K", "-f", "compose.yaml"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "a\\nb\\x1b[2K" in err
