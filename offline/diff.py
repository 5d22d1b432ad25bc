"""``python -m berth diff``: what a deployment will run, offline, from two versions of a project.

Both versions are planned with the real program under the mock engine
(``berth.offline.plan``), their built images' digests standing in for what their Dockerfiles
take from their contexts (``berth.offline.contexts``); ``berth.offline.compare`` then says which
jobs run and how each service changes, and ``berth.offline.diff_report`` tells it.

The two versions are one project at one place, or the diff is refused
(``berth.offline.diff_inputs``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Mapping, Sequence

from berth.components.program import settings_from_config
from berth.components.target import load_target
from berth.errors import BerthError
from berth.model import ComposeProject, Service
from berth.offline.compare import Version, compare
from berth.offline.contexts import REMOTE, digest_outputs, forget
from berth.offline.diff_inputs import (
    as_deployed,
    not_a_checkout,
    refuse_another_place,
    refuse_the_same_files,
)
from berth.offline.diff_report import Diff
from berth.offline.plan import run_plan


def plan_version(
    files: Sequence[str], config: Mapping[str, str], secret_keys: Sequence[str], stack: str
) -> Version:
    """Plan ``files`` with the stack ``config`` as ``pulumi up`` would run it (outputs known).

    It runs in the version's folder, so the paths the plan writes relative to the working
    directory (build contexts, bind mounts) read alike in both versions wherever each is
    checked out; the model's are then anchored there, to be read from anywhere.
    """
    paths = [os.path.abspath(file) for file in files]
    settings = settings_from_config(config, secret_keys)
    target = load_target(settings.target)
    root = os.path.dirname(paths[0])
    with contextlib.chdir(root):
        plan = run_plan(
            config,
            secret_keys,
            settings=dataclasses.replace(settings, compose_files=tuple(paths)),
            stack=stack,
            preview=False,
            outputs=digest_outputs(target.plan_outputs),
        )
    plan.compose = _anchored(plan.compose, root)
    return Version(plan, root)


def _anchored(project: ComposeProject, root: str) -> ComposeProject:
    """``project`` with its relative build contexts and bind mounts made absolute in ``root``,
    its services' and its jobs of ``jobs:``."""

    def absolute(path: str | None) -> str | None:
        if path is None or path.startswith(REMOTE):
            return path
        return os.path.normpath(os.path.join(root, path))

    def anchored(service: Service) -> Service:
        build = service.build and dataclasses.replace(
            service.build, context=absolute(service.build.context)
        )
        mounts = tuple(
            dataclasses.replace(mount, source=absolute(mount.source))
            if mount.type == "bind"
            else mount
            for mount in service.mounts
        )
        return dataclasses.replace(service, build=build, mounts=mounts)

    return dataclasses.replace(
        project,
        services={name: anchored(service) for name, service in project.services.items()},
        triggered={name: anchored(job) for name, job in project.triggered.items()},
    )


def diff_files(
    base: Sequence[str],
    files: Sequence[str],
    config: Mapping[str, str],
    secret_keys: Sequence[str] = (),
    stack: str = "dev",
) -> Diff:
    """``berth diff``: ``base`` is what is deployed, ``files`` what will be."""
    refuse_the_same_files(base, files)
    forget()  # a context may have changed since an earlier diff
    new = plan_version(files, config, secret_keys, stack)
    try:
        old = plan_version(base, as_deployed(base, files, config), secret_keys, stack)
    except BerthError as error:
        raise not_a_checkout(error) from None
    refuse_another_place((old.plan.compose, old.root), (new.plan.compose, new.root))
    return compare(old, new)
