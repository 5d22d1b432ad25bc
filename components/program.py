"""The Pulumi program: read the stack config, load the compose files, deploy to one target.

``__main__.py`` calls ``main()``, the only place that reads the stack config; ``deploy`` is a
function of parsed settings, which ``python -m berth plan`` and ``berth diff`` build themselves
and run under the Pulumi mock engine, so the offline plan is the real program.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi
import yaml
from pulumi.runtime import config as runtime_config

from berth.components.project import Project, ProjectArgs
from berth.components.target import available_targets, load_target
from berth.errors import BerthError
from berth.settings import StackSettings, TargetOptions, declarations


def stack_config() -> tuple[dict[str, str], set[str]]:
    """Every config value of the stack, and which keys are secret.

    The Python SDK has no call that lists config keys, so this reads the same two sources
    ``pulumi.Config`` reads: values set in-process, then the engine's PULUMI_CONFIG.
    """
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret = set(runtime_config.get_config_secret_keys_env())
    secret |= {key for key in values if runtime_config.is_config_secret(key)}
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}, secret


def target_options() -> dict[str, type[TargetOptions]]:
    """Every target's ``Options`` by target name: each one's keys are settings on every
    target, never compose variables (Pulumi.yaml declares them all, so every stack holds them)."""
    return {name: load_target(name).Options for name in available_targets()}


def settings_from_config(
    config: Mapping[str, str], secret_keys: Iterable[str] = ()
) -> StackSettings:
    """The settings a stack's config (``berth:KEY`` strings, as ``pulumi config`` holds them)
    gives, its target's options parsed; a BerthError naming the key for a bad value."""
    return StackSettings.from_config(config, secret_keys, target_options())


def deploy(settings: StackSettings) -> Project:
    """The compose files of ``settings`` deployed to its target, as a Project named after the
    compose project, with its endpoints and job results as the stack's outputs."""
    args = ProjectArgs.from_files(
        settings.compose_files,
        settings.target,
        options=settings.options,
        variables=settings.variables,
        profiles=settings.profiles,
        legacy_names=True,
        project_name=settings.project_name,
    )
    project = Project(args.compose.name, args)
    pulumi.export("services", project.endpoints)
    pulumi.export("jobs", project.results)
    if project.runnable:
        pulumi.export("triggered", project.runnable)
    return project


def main() -> Project:
    """Run the program; a compose or config problem stops it with one line, no traceback."""
    try:
        return deploy(settings_from_config(*stack_config()))
    except BerthError as error:
        raise pulumi.RunError(error.message) from None


def pulumi_config() -> dict[str, dict[str, Any]]:
    """Pulumi.yaml's ``config:`` section: every setting of ``StackSettings`` and of each
    target's ``Options``, typed, described, with its default."""
    config = declarations(StackSettings)
    for options in target_options().values():
        config |= declarations(options)
    return config


def pulumi_config_yaml() -> str:
    """``pulumi_config()`` as Pulumi.yaml writes it: each target's settings after a comment
    that names its page (``python -m berth pulumi-config`` prints it)."""
    blocks = [_yaml(declarations(StackSettings))]
    for name, options in target_options().items():
        if declared := declarations(options):
            blocks.append(f"  # The {name} target (docs/{name}.md)\n{_yaml(declared)}")
    return "config:\n" + "".join(blocks)


def _yaml(declared: Mapping[str, Any]) -> str:
    text = yaml.safe_dump(dict(declared), sort_keys=False, width=88, allow_unicode=True)
    return "".join(f"  {line}\n" for line in text.splitlines())
