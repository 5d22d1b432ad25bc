"""The Pulumi program: read the stack config, load the compose files, deploy to one target.

``__main__.py`` calls ``main()``; ``python -m berth plan`` calls the same function under the
Pulumi mock engine, so the offline plan is the real program.
"""

from __future__ import annotations

import json

import pulumi
from pulumi.runtime import config as runtime_config

from berth.components.project import Project, ProjectArgs
from berth.components.target import all_option_keys, load_target
from berth.errors import BerthError
from berth.settings import NAMESPACE, StackSettings, declared_defaults


def stack_config() -> tuple[dict[str, str], set[str]]:
    """Every config value of the stack, and which keys are secret.

    The Python SDK has no call that lists config keys, so this reads the same two sources
    ``pulumi.Config`` reads: values set in-process, then the engine's PULUMI_CONFIG.
    """
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret = set(runtime_config.get_config_secret_keys_env())
    secret |= {key for key in values if runtime_config.is_config_secret(key)}
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}, secret


def deploy() -> Project:
    values, secret_keys = stack_config()
    target = load_target(values.get(f"{NAMESPACE}:target") or declared_defaults()["target"])
    settings = StackSettings.from_config(values, secret_keys, all_option_keys())
    args = ProjectArgs.from_files(
        settings.compose_files,
        target.NAME,
        options=target.Options.parse(settings.options),
        variables=settings.variables,
        profiles=settings.profiles,
        legacy_names=True,
        project_name=settings.project_name,
    )
    project = Project(args.compose.name, args)
    pulumi.export("services", project.endpoints)
    pulumi.export("jobs", project.results)
    return project


def main() -> None:
    """Run the program; a compose or config problem stops it with one line, no traceback."""
    try:
        deploy()
    except BerthError as error:
        raise pulumi.RunError(error.message) from None
