"""Stack settings from ``pulumi config``: Berth's own keys, and every other key as a variable."""

from __future__ import annotations

import pytest

from berth.errors import BerthError
from berth.load import load_project
from berth.settings import DEFAULT_TARGET, StackSettings, config_text, settings_of
from berth.terms import SETTING_FLAGS, Terms


def test_defaults_with_an_empty_config():
    settings = StackSettings.from_config({})

    assert settings.compose_files == ("compose.yaml",)
    assert settings.target == "local"
    assert settings.profiles == ()
    assert dict(settings.variables.values) == {}
    assert settings.variables.secret_keys == frozenset()
    assert settings.options is None
    assert settings == StackSettings(), "the defaults are the class's"


@pytest.mark.parametrize(
    ("raw", "files"),
    [
        ('["compose.yaml", "compose.prod.yaml"]', ("compose.yaml", "compose.prod.yaml")),
        ("deploy/compose.yaml", ("deploy/compose.yaml",)),
        ('"quoted.yaml"', ("quoted.yaml",)),
        ("", ("compose.yaml",)),
        ("[]", ()),
    ],
    ids=["json-list", "plain-string", "json-string", "empty", "empty-list"],
)
def test_compose_files_as_a_json_list_or_a_single_string(raw, files):
    settings = StackSettings.from_config({"berth:composeFiles": raw})

    assert settings.compose_files == files


@pytest.mark.parametrize("raw", ['{"a": 1}', "[1, 2]", '["ok", null]', "42"])
@pytest.mark.parametrize(
    ("key", "example"), [("composeFiles", "compose.yaml"), ("profiles", "debug")]
)
def test_a_malformed_list_setting_is_refused_with_its_shape_and_an_example(raw, key, example):
    """A number or an object where a list belongs: the key, the shape and a command that sets it
    (issue 21), never ``string indices must be integers``."""
    with pytest.raises(BerthError) as caught:
        StackSettings.from_config({f"berth:{key}": raw})

    assert (
        f'berth:{key} must be a JSON list of strings such as ["{example}"], got {raw!r}'
        in caught.value.message
    )
    assert f'`pulumi config set --path "{key}[0]" {example}`' in caught.value.message
    assert caught.value.hint_in(Terms.FLAGS) == f"set it with `{SETTING_FLAGS[key]} {example}`"


def test_a_huge_list_setting_is_shown_cut_short():
    with pytest.raises(BerthError) as caught:
        StackSettings.from_config({"berth:profiles": "9" * 400})

    assert "(400 characters)" in caught.value.message
    assert len(caught.value.message) < 300
    beyond_json = "9" * 5000  # past Python's 4300 digits json.loads raises ValueError
    assert StackSettings.from_config({"berth:profiles": beyond_json}).profiles == (beyond_json,)


def test_target_and_profiles():
    settings = StackSettings.from_config(
        {"berth:target": "aws", "berth:profiles": '["debug", "tools"]'}
    )

    assert settings.target == "aws"
    assert settings.profiles == ("debug", "tools")
    assert StackSettings.from_config({"berth:profiles": "debug"}).profiles == ("debug",)
    assert StackSettings.from_config({"berth:target": ""}).target == DEFAULT_TARGET


def test_variables_are_the_other_keys_of_the_berth_namespace_only():
    settings = StackSettings.from_config(
        {
            "berth:composeFiles": '["compose.yaml"]',
            "berth:target": "local",
            "berth:DB_USER": "app",
            "berth:DB_PASSWORD": "hunter2",
            "aws:region": "us-west-2",
            "other:DB_USER": "not-this-one",
        },
        secret_keys=["berth:DB_PASSWORD", "aws:secretKey"],
    )

    assert dict(settings.variables.values) == {"DB_USER": "app", "DB_PASSWORD": "hunter2"}
    assert settings.variables.secret_keys == frozenset({"DB_PASSWORD"})


def test_target_options_are_not_variables_and_the_chosen_targets_are_parsed():
    from berth.components.program import target_options
    from berth.providers.aws.options import AwsOptions

    config = {"berth:target": "aws", "berth:awsEcrKeepImages": "3", "berth:TAG": "1.0"}
    settings = StackSettings.from_config(
        {**config, "berth:gcpZone": "europe-west1-b"}, options=target_options()
    )

    assert settings.options == AwsOptions(ecr_keep_images=3)
    assert dict(settings.variables.values) == {"TAG": "1.0"}


@pytest.mark.parametrize("key", ["composeFiles", "target", "profiles"])
def test_a_berth_setting_marked_secret_is_refused(key):
    with pytest.raises(BerthError) as caught:
        StackSettings.from_config({f"berth:{key}": "x"}, secret_keys=[f"berth:{key}"])

    assert f"berth:{key} is a Berth setting and cannot be a secret" in caught.value.message
    assert f"`pulumi config set {key} <value>`" in caught.value.message


def test_a_target_option_marked_secret_is_refused():
    from berth.components.program import target_options

    with pytest.raises(BerthError, match="berth:gcpZone is a Berth setting"):
        StackSettings.from_config(
            {"berth:gcpZone": "x"}, secret_keys=["berth:gcpZone"], options=target_options()
        )


def test_sealed_variables_hide_secrets_from_the_compose_process():
    settings = StackSettings.from_config(
        {"berth:DB_PASSWORD": "hunter2", "berth:USER": "app"},
        secret_keys=["berth:DB_PASSWORD"],
    )

    sealed = settings.variables.seal()

    assert sealed.env["USER"] == "app"
    assert "hunter2" not in sealed.env.values()
    assert sealed.contains_secret(sealed.env["DB_PASSWORD"])
    revealed = sealed.reveal(f"postgres://app:{sealed.env['DB_PASSWORD']}@db")
    assert revealed.value == "postgres://app:hunter2@db"
    assert revealed.keys == ("DB_PASSWORD",)
    assert "hunter2" not in repr(sealed)


def test_every_option_class_is_valid_with_no_argument_and_reads_its_defaults_back():
    """One source for defaults, the classes: ``Options()`` is the defaults, and the defaults
    as the stack config holds them (Pulumi.yaml gives every stack them) read back the same."""
    from berth.components.program import target_options

    for name, options in target_options().items():
        declared = {s.key: config_text(f.default) for f, s in settings_of(options)}
        assert options.parse(declared) == options() == options.parse({}), name


def test_the_default_target_is_said_once():
    from berth.components.target import available_targets

    assert available_targets()[0] == DEFAULT_TARGET == "local"
    assert StackSettings.from_config({}).target == DEFAULT_TARGET
    assert StackSettings.from_config({}).compose_files == ("compose.yaml",)


def test_a_project_name_is_compose_s_minus_p(tmp_path):
    """``berth:projectName`` names the project whatever its folder, as ``docker compose -p``."""
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    image: nginx\n")
    settings = StackSettings.from_config({"berth:projectName": "shop"})
    files = [str(tmp_path / "compose.yaml")]

    assert load_project(files, project_name=settings.project_name).name == "shop"
    assert load_project(files).name == tmp_path.name.lower()


@pytest.mark.parametrize("name", ["Shop", "my shop", "-shop", "shop!"])
def test_a_project_name_compose_refuses_is_one_line_with_the_rule(name):
    with pytest.raises(BerthError) as raised:
        StackSettings.from_config({"berth:projectName": name})

    assert "is not a compose project name: lowercase letters, digits" in raised.value.message
    assert raised.value.hint_in(Terms.FLAGS) == "`--set projectName=my-app`"
