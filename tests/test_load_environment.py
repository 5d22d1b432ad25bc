"""Stack variables reach Docker Compose only to interpolate, never as its own settings."""

from __future__ import annotations

import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from berth import binary
from berth.binary import run_config
from berth.errors import BerthError
from berth.settings import StackSettings
from tests.conftest import program


@pytest.mark.parametrize(
    "key", ["COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "COMPOSE_FILE", "compose_x", "PATH", "HOME"]
)
def test_a_key_compose_reads_for_itself_is_refused_as_a_variable(key):
    with pytest.raises(BerthError) as refused:
        StackSettings.from_config({f"berth:{key}": "hijacked"})

    assert f"berth:{key} cannot be a compose variable" in refused.value.message
    assert f"pulumi config rm {key}" in refused.value.message


@pytest.mark.parametrize("key", ["my-key", "1ST", "a.b"])
def test_a_key_no_compose_file_could_name_is_refused(key):
    with pytest.raises(BerthError, match=f"berth:{key} cannot be a compose variable: a variable"):
        StackSettings.from_config({f"berth:{key}": "value"})


def test_the_plan_refuses_a_stack_that_renames_the_project(project_dir, write):
    write("services:\n  web:\n    image: nginx\n")
    with pytest.raises(BerthError, match="COMPOSE_PROJECT_NAME cannot be a compose variable"):
        program(["compose.yaml"], variables={"COMPOSE_PROJECT_NAME": "hijacked"})


def test_stack_values_never_reach_the_compose_process_environment(project_dir, write):
    """HOME decides where ``~`` points: a stack's HOME only interpolates ``${HOME}``."""
    write(
        """
        services:
          web:
            image: nginx
            volumes: ["~/data:/data"]
            environment:
              GIVEN: ${HOME}
        """
    )
    output = run_config(["compose.yaml"], [], {"HOME": "/stack-home"})

    assert f"source: {Path.home()}/data" in output.yaml
    assert "/stack-home/data" not in output.yaml


@pytest.fixture
def compose_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What each ``compose config`` run was given: its environment and its env file."""
    runs: list[dict[str, Any]] = []
    real_run = subprocess.run

    def spy(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        if "config" in command:
            env_file = Path(command[command.index("--env-file") + 1])
            runs.append(
                {
                    "env": kwargs["env"],
                    "file": env_file,
                    "mode": stat.S_IMODE(env_file.stat().st_mode),
                    "text": env_file.read_text(),
                }
            )
        return real_run(command, **kwargs)

    monkeypatch.setattr(binary.subprocess, "run", spy)
    return runs


def test_compose_gets_a_clean_environment_and_a_private_env_file(
    project_dir, write, monkeypatch, compose_runs
):
    write("services:\n  web:\n    image: nginx:${TAG}\n")
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", "from-the-shell")

    output = run_config(["compose.yaml"], [], {"TAG": "1.4"})

    assert "image: nginx:1.4" in output.yaml
    assert "name: " + project_dir.name.lower() in output.yaml, "the shell's project name is unused"
    (run,) = compose_runs
    assert set(run["env"]) <= {"PATH", "HOME"}
    assert run["mode"] == 0o600
    assert run["text"] == 'TAG="1.4"\n'
    assert not run["file"].exists(), "removed after use"


def test_secrets_reach_compose_only_as_placeholders(load, compose_runs):
    project = load(
        "services:\n  web:\n    image: nginx\n    environment: {TOKEN: '${TOKEN}'}\n",
        secrets={"TOKEN": "tok-1a2b3c4d"},
    )

    assert str(project.services["web"].environment["TOKEN"]) == "[secret]"
    (run,) = compose_runs
    assert "TOKEN=" in run["text"]
    assert "tok-1a2b3c4d" not in run["text"] + repr(run["env"])


def test_dot_env_sees_the_stack_values_and_the_stack_wins(project_dir, write):
    write("URL=http://${HOST}/\nHOST=from-dotenv\nONLY=dotenv\n", ".env")
    write(
        """
        services:
          web:
            image: nginx
            environment: {URL: "${URL}", HOST: "${HOST}", ONLY: "${ONLY}"}
        """
    )
    output = run_config(["compose.yaml"], [], {"HOST": "from-stack"})

    assert "URL: http://from-stack/" in output.yaml
    assert "HOST: from-stack" in output.yaml
    assert "ONLY: dotenv" in output.yaml


NASTY = [
    "it's $HOME ${X} $$ \\n",
    'quote " and # hash',
    "  spaced  ",
    "line1\nline2\r\n",
    "",
    "ends with a backslash\\",
    "\\",
    "'single'",
    '"double"',
    "${X:-default}",
    "tab\there é €",
    "KEY=value",
]


def interpolated(values: list[str]) -> list[str]:
    """Each value, through ``${V<n>}`` in a compose file, as the normalized project holds it."""
    keys = [f"V{index}" for index in range(len(values))]
    Path("compose.yaml").write_text(
        "services:\n  web:\n    image: nginx\n    command:\n"
        + "".join(f'      - "${{{key}}}"\n' for key in keys)
    )
    output = run_config(["compose.yaml"], [], dict(zip(keys, values, strict=True)))
    command = yaml.safe_load(output.yaml)["services"]["web"]["command"]
    return [item.replace("$$", "$") for item in command]


def test_every_value_arrives_exactly_as_the_stack_holds_it(project_dir):
    assert interpolated(NASTY) == NASTY


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        # A bare "=" comes back from Compose's YAML as YAML 1.1's value tag, which PyYAML
        # cannot load: a problem of reading the output (berth/normalize/), not of the env file.
        st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0")).filter(
            lambda text: text != "="
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_arrives_exactly(project_dir, values):
    assert interpolated(values) == values


def test_the_env_file_is_removed_when_compose_fails(project_dir, write, tmp_path, monkeypatch):
    write("services:\n  web:\n    image: nginx\n    ports: ['${PORT}:80']\n")
    private = tmp_path / "temp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))

    with pytest.raises(BerthError):
        run_config(["compose.yaml"], [], {"PORT": "not-a-port"})

    assert list(private.iterdir()) == []
