"""Reading the compose files as written: syntax errors, declaration order, which file set what."""

from __future__ import annotations

import re

import pytest

from berth.errors import BerthError
from berth.sources import read_sources


def test_yaml_syntax_error_names_the_file_and_the_line(write):
    file = write("services:\n  web:\n    image: nginx\n   ports: [80]\n")

    with pytest.raises(BerthError) as caught:
        read_sources([file])

    assert caught.value.file == "compose.yaml"
    assert re.search(r"line 4, column \d+", caught.value.message)
    assert caught.value.message.startswith("compose.yaml: YAML syntax error")
    assert "fix the indentation or quoting" in caught.value.message


def test_unclosed_quote_reports_a_line_too(write):
    file = write('services:\n  web:\n    image: "nginx\n')

    with pytest.raises(BerthError, match=r"compose\.yaml: YAML syntax error at line \d+"):
        read_sources([file])


def test_empty_file_is_refused_with_a_hint(write):
    file = write("# nothing but a comment\n")

    with pytest.raises(BerthError) as caught:
        read_sources([file])

    assert caught.value.message == (
        "compose.yaml: the compose file is empty. add a services: section."
    )


def test_a_file_that_is_a_list_is_refused(write):
    file = write("- services\n- web\n")

    with pytest.raises(BerthError) as caught:
        read_sources([file])

    assert caught.value.file == "compose.yaml"
    assert "must be a mapping of top-level keys, not a list" in caught.value.message
    assert caught.value.hint == "start it with services:"


MULTI_DOCUMENT = """\
services:
  web:
    image: nginx
    environment: {A: "1"}
---
services:
  web:
    image: nginx:1.27
    environment: {B: "2"}
  worker:
    image: busybox
"""


def test_documents_separated_by_dashes_are_merged_as_compose_merges_them(load):
    """Compose reads every ``---`` document of a file and merges them like override files;
    Berth once called the second a syntax error at its indentation (issue 21)."""
    project = load(MULTI_DOCUMENT)

    assert list(project.services) == ["web", "worker"]
    assert project.services["web"].image == "nginx:1.27"
    assert project.services["web"].environment == {"A": "1", "B": "2"}


@pytest.mark.parametrize(
    ("second", "what", "hint"),
    [
        ("", "empty", "remove the --- that starts it"),
        ("- web\n", "a list", "make each document a mapping of top-level keys such as services"),
    ],
    ids=["trailing-dashes", "a-list"],
)
def test_a_document_that_is_no_mapping_among_several_is_named(write, second, what, hint):
    """Compose says only "top-level object must be a mapping", naming no file or document."""
    file = write("services:\n  web:\n    image: nginx\n---\n" + second)

    with pytest.raises(BerthError) as caught:
        read_sources([file])

    assert caught.value.file == "compose.yaml"
    assert f"YAML document 2 of 2 (documents are separated by ---) is {what}" in (
        caught.value.message
    )
    assert caught.value.hint == hint


def test_missing_file_names_it_and_points_at_the_stack_config(project_dir):
    with pytest.raises(BerthError) as caught:
        read_sources(["nowhere/compose.yaml"])

    assert caught.value.message.startswith("nowhere/compose.yaml: the compose file does not exist")
    assert "berth:composeFiles" in caught.value.message


def test_a_directory_or_binary_file_cannot_be_read(write, project_dir):
    (project_dir / "folder.yaml").mkdir()
    (project_dir / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")

    for name in ("folder.yaml", "binary.yaml"):
        with pytest.raises(
            BerthError, match=rf"^{name}: the compose file cannot be read"
        ) as caught:
            read_sources([name])
        assert caught.value.hint == "make it a readable UTF-8 text file"


def test_no_file_at_all_tells_how_to_set_compose_files():
    with pytest.raises(BerthError) as caught:
        read_sources([])

    assert "no compose file given" in caught.value.message
    assert "pulumi config set" in caught.value.message


def test_reset_and_override_tags_are_accepted(write):
    file = write(
        """
        services:
          web:
            image: nginx
            ports: !reset []
            environment: !override {A: "1"}
        """
    )

    sources = read_sources([file])

    assert sources.documents[0]["services"]["web"]["environment"] == {"A": "1"}


def test_service_order_follows_the_files_not_the_alphabet(write):
    first = write("services:\n  zeta: {image: a}\n  alpha: {image: b}\n", "a.yaml")
    second = write("services:\n  alpha: {image: c}\n  mid: {image: d}\n", "b.yaml")

    assert read_sources([first, second]).service_order() == ["zeta", "alpha", "mid"]


def test_yaml_1_1_booleans_stay_service_names(write):
    file = write("services:\n  on: {image: a}\n  no: {image: b}\n  yes: {image: c}\n")

    assert read_sources([file]).service_order() == ["on", "no", "yes"]


def test_origin_is_the_last_file_that_sets_the_field(write):
    base = write("services:\n  web:\n    image: a\n    ports: ['80:80']\n", "base.yaml")
    override = write("services:\n  web:\n    image: b\n", "override.yaml")
    sources = read_sources([base, override])

    assert sources.origin("web", "image") == "override.yaml"
    assert sources.origin("web", "ports") == "base.yaml"
    assert sources.origin("web", "healthcheck.interval") == "override.yaml"
    assert sources.origin("unknown", "image") == "base.yaml"
    assert sources.origin() == "base.yaml"


def test_locate_finds_the_service_that_wrote_a_value(write):
    base = write("services:\n  web:\n    image: a\n    ports: ['abc:80']\n", "base.yaml")
    other = write("services:\n  api:\n    image: b\n    env_file: api.env\n", "other.yaml")
    sources = read_sources([base, other])

    assert sources.locate(re.compile("abc")) == ("web", "ports")
    assert sources.locate(re.compile("api"), "env_file") == ("api", "env_file")
    assert sources.locate(re.compile("abc"), "env_file") is None
    assert sources.locate(re.compile("abc"), skip=("ports",)) is None
