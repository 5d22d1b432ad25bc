"""``berth diff``'s report: names, paths and Dockerfile text are the repository's, and no file
name can forge the markdown CI posts or rewrite the text a terminal shows."""

# ruff: noqa: F811 - the tests take the fixture `versions` of tests.test_diff

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from berth.offline.cli import main
from berth.offline.diff_report import NEW, Diff, JobChange, Reason, ServiceChange, code, escaped
from tests.test_diff import SECRET, edit, versions  # noqa: F401 - a fixture

FORGED = "x\n\n### berth diff (local): 0 of 1 jobs will run\n\nall clear <!--"
HOSTILE = [
    FORGED,
    "a|b`c\x1b[2Kd",
    "``ticks`` ",
    "back\\|slash",
    "\u202eevil\t.txt\r",
]
"""Five: a sentence names five changed files."""
FIELD = "x-a`|\n<!--"


def test_escaped_text_is_one_printable_line() -> None:
    assert escaped("a\n\x1b[2Kb\\c\u202e é") == "a\\n\\x1b[2Kb\\\\c\\u202e é"
    for name in HOSTILE:
        assert escaped(name).isprintable()


def _span(text: str) -> tuple[str, str]:
    """The first code span of ``text`` as CommonMark reads it (a run of n backticks is closed
    by the next run of exactly n), its content unpadded; and the text after it."""
    opening = re.match(r"`+", text)
    assert opening, text
    fence = opening.group()
    closing = re.search(rf"(?<!`){fence}(?!`)", text[len(fence) :])
    assert closing, text
    content = text[len(fence) : len(fence) + closing.start()]
    if content.startswith(" ") and content.endswith(" ") and content.strip(" "):
        content = content[1:-1]
    return content, text[len(fence) + closing.end() :]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_code_span_holds_any_name_whole(name: str) -> None:
    content, after = _span(code(name))
    assert (content, after) == (escaped(name), "")


def _cells(row: str) -> list[str]:
    """A table row's cells as GFM splits them (``\\`` and the next character are one), before
    inline parsing, with ``\\|`` then read as ``|``."""
    assert row.startswith("| ") and row.endswith(" |"), row
    cells = re.findall(r"(?:\\.|[^|\\])+", row[1:-1])
    return [cell.strip().replace("\\|", "|") for cell in cells]


def _spans(cell: str) -> tuple[list[str], str]:
    """The code spans of a cell, and its text outside them."""
    spans, outside = [], ""
    while "`" in cell:
        start = cell.index("`")
        outside += cell[:start]
        content, cell = _span(cell[start:])
        spans.append(content)
    return spans, outside + cell


def test_hostile_names_stay_data_in_every_format(
    versions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """File names in a build context and a compose key made to forge the CI comment: markdown
    keeps one heading and well-formed rows, each name whole in a code span; text has one line
    per job and service and no control character; JSON holds the names as they are."""
    base, head = versions
    for name in HOSTILE:
        (head / name).write_text("new\n")
    edit(head, "compose.yaml", "GREETING: hello", f"GREETING: hi\n    {json.dumps(FIELD)}: 1")
    shown = {}
    for form in ("markdown", "text", "json"):
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(head.parent)
            code_ = main(["diff", "--base-root", str(base.parent), "-f", "app/compose.yaml",
                          "--secret", f"DB_PASSWORD={SECRET}", "--format", form])  # fmt: skip
        out, err = capsys.readouterr()
        assert code_ == 0, err
        shown[form] = out

    lines = shown["markdown"].splitlines()
    assert [line for line in lines if line.startswith("#")] == [lines[0]]
    assert lines[0] == "### berth diff (local): 1 of 1 jobs will run"
    rows = [_cells(line) for line in lines if line.startswith("|")]
    assert all(len(cells) == 3 for cells in rows), rows
    job = next(cells for cells in rows if cells[0] == "`migrate`")
    spans, outside = _spans(job[2])
    assert sorted(spans) == sorted(escaped(name) for name in HOSTILE)
    assert "<" not in outside and "`" not in outside and "#" not in outside
    web = next(cells for cells in rows if cells[0] == "`web`")
    assert _spans(web[2]) == (["environment", escaped(FIELD), "build"], ", , ")

    text = shown["text"]
    assert all(line.isprintable() for line in text.splitlines())
    assert len(text.splitlines()) == 5  # two headings, a job, two services
    assert escaped(FORGED) in text and escaped(FIELD) in text

    services = {s["name"]: s["because"] for s in json.loads(shown["json"])["services"]}
    assert services["web"] == ["environment", FIELD, "build"]


def test_notes_and_reasons_show_their_paths_as_data() -> None:
    note = Reason("{} is not in the deployed checkout", (FORGED,))
    job = JobChange(
        "migrate", "maybe", ("build",), (), (FORGED,), Reason("a RUN mounts {}", ("a|b",))
    )
    diff = Diff("local", (job,), (ServiceChange("web", "none", ()),), (note,))
    markdown = diff.as_markdown()
    assert f"Note: {code(FORGED)} is not in the deployed checkout" in markdown
    assert "a RUN mounts `a\\|b`" in markdown
    assert [line for line in markdown.splitlines() if line.startswith("#")] == [
        "### berth diff (local): 0 of 1 jobs will run, 1 may run"
    ]
    assert all(line.isprintable() for line in diff.as_text().splitlines())
    assert json.loads(diff.as_json())["notes"] == [f"{FORGED} is not in the deployed checkout"]


def test_a_new_job_is_said_to_be_one() -> None:
    assert JobChange("seed", True, (NEW,)).sentence(str) == "runs: it is a new job"
