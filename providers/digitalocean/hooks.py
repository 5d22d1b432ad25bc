"""What App Platform's phases make of Compose v5's one-off work: ``pre_start`` hooks, and the
top-level ``jobs:``.

A hook is a job its service waits on, after what the service waits on (``layout.py`` makes it
a ``PRE_DEPLOY`` job). App Platform's app spec cannot order two jobs of one phase (godo
``AppJobSpec`` has no field for it), and runs a job before every service or after every
service, never between two: a hook is kept only where its phase alone gives Compose's order,
after the databases and before every service, and refused in one line naming the service and
its ``pre_start`` otherwise. A job of ``jobs:`` cannot be deployed at all: App Platform's API
starts no job on demand, and pulumi-digitalocean cannot give one a schedule
(docs/digitalocean.md). Pulumi-free.
"""

from __future__ import annotations

from collections.abc import Sequence

from berth.errors import BerthError
from berth.model import ComposeProject, Service
from berth.providers.digitalocean.layout import Component, Kind, Layout
from berth.sources import Sources

_SIDE_BY_SIDE = "App Platform runs the jobs of one phase side by side, not in a chain"


def check(project: ComposeProject, layout: Layout, sources: Sources) -> None:
    """A BerthError for the first service whose hooks the phases cannot order, else for the
    first job of ``jobs:``."""
    hooks: dict[str, list[Service]] = {}
    for service in project.services.values():
        if service.hook is not None:
            hooks.setdefault(service.hook.service, []).append(service)
    for name, its_hooks in hooks.items():
        refused = _refusal(layout.components, layout.components[name], its_hooks)
        if refused is not None:
            why, hint = refused
            raise BerthError(
                why, file=sources.origin(name, "pre_start"), service=name, field="pre_start",
                hint=hint,
            )  # fmt: skip
    _refuse_triggered(project, sources)


def _refusal(
    components: dict[str, Component], gated: Component, hooks: Sequence[Service]
) -> tuple[str, str] | None:
    """Why the phases cannot run ``hooks`` as Compose does, and what to do; None when they
    can."""
    if gated.kind is Kind.DATABASE:
        return (
            f"'{gated.service}' is an App Platform database, which App Platform creates before "
            "any job runs, so no hook can run before it",
            "remove pre_start, or move its work to a job the services depend on",
        )
    if len(hooks) > 1:
        return (
            f"its {len(hooks)} hooks must run one after another, an order App Platform cannot "
            f"give: {_SIDE_BY_SIDE}",
            "merge them into one hook whose command runs each in turn",
        )
    if gated.kind not in (Kind.SERVICE, Kind.WORKER):
        return (
            f"'{gated.service}' is a one-off job, and its hook must run before it, an order "
            f"App Platform cannot give: {_SIDE_BY_SIDE}",
            "run the hook's command at the start of the job's own",
        )
    for dependency in hooks[0].depends_on:
        theirs = components.get(dependency.service)
        if theirs is None or theirs.kind is Kind.DATABASE:
            continue
        if theirs.kind in (Kind.PRE_DEPLOY, Kind.POST_DEPLOY):
            return (
                f"its hook must run after job '{dependency.service}' (its depends_on), an "
                f"order App Platform cannot give: {_SIDE_BY_SIDE}",
                f"merge the hook's command into '{dependency.service}' and remove pre_start",
            )
        return (
            f"its hook must run after '{dependency.service}' (its depends_on) and before "
            f"'{gated.service}', an order App Platform cannot give: a job runs before every "
            "service (PRE_DEPLOY) or after every service (POST_DEPLOY), never between two",
            f"drop depends_on '{dependency.service}' (App Platform releases the services "
            "together), or remove pre_start",
        )
    return None


def _refuse_triggered(project: ComposeProject, sources: Sources) -> None:
    """The ``jobs.triggers.*`` rows of ``FIELD_SUPPORT`` refuse the triggers written, at load;
    this refuses a job none were written for (``triggers: {schedule: []}``, which Compose
    prints as ``triggers: {}``: manual by default), before anything is registered."""
    job = next(iter(project.triggered.values()), None)
    if job is not None:
        raise BerthError(
            "App Platform cannot run a job of jobs: on demand (its API starts no job "
            "invocation) nor, through pulumi-digitalocean, on a schedule",
            file=sources.origin(job.name, "triggers", "jobs"),
            service=job.name,
            field="triggers",
            kind="job",
            hint="move the job to a profile this stack leaves off, or deploy it on another target",
        )
