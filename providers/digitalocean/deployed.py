"""That the app's active deployment is the one for this spec, after every ``pulumi up``.

pulumi-digitalocean updates the app, then waits for the deployment it started
(terraform-provider-digitalocean ``digitalocean/app/resource_app.go``,
``resourceDigitalOceanAppUpdate`` and ``WaitForAppDeployment``). When that wait fails (a
PRE_DEPLOY job exits non-zero, a service never gets healthy), the spec is already the app's:
the bridge saves it as the state, and the next ``up`` finds nothing to change and reports success
while the previous deployment, or none after a failed create, is live (pulumi/pulumi#21458,
pulumi-terraform-bridge#496). The provider's wait may also judge the wrong deployment: with no
pending one reported it takes the newest listed, "possibly a previously completed deployment"
(its own comment, in ``WaitForAppDeployment``).

So the spec carries ``BERTH_SPEC_DIGEST`` (a variable of every component, the API having no
app-level ones: a digest of everything Berth sets but the secrets' values, which
``BERTH_SECRETS_DIGEST`` stands for), and this resource, made
after the app, holds that digest: created or updated, it waits until the app's active deployment
is one of a spec with it. A deployment of it in progress is waited for; none (the last one
failed, or was cancelled) starts one (``POST /v2/apps/{id}/deployments``). A deployment that
fails fails ``pulumi up`` naming the failed job or component (a ``pre_start`` hook's job as Compose
names the hook: ``service "web" pre_start[0]``); nothing is recorded, so the next ``up`` deploys
again. ``delete`` calls nothing.

A Pulumi dynamic provider, pickled by reference: this module imports with no side effects.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from berth.durations import format_duration
from berth.providers.digitalocean.api import ACCESS, ApiError, AppsApi

SPEC_DIGEST = "BERTH_SPEC_DIGEST"
"""The variable (of every component) whose value says which of Berth's specs a deployment
deploys."""
TIMEOUT = 1800.0
"""Seconds a deployment may take: the provider's own wait for one (``resource_app.go``,
``Timeouts.Create``: 30 minutes, which it uses for updates too)."""
ACTIVE = "ACTIVE"
FAILED = frozenset({"ERROR", "CANCELED"})
SUPERSEDED = "SUPERSEDED"
"""``Deployment.phase``'s terminal values (godo ``DeploymentPhase``); ``PENDING_BUILD``,
``BUILDING``, ``PENDING_DEPLOY``, ``DEPLOYING`` and ``UNKNOWN`` are not."""
KINDS = {"services": "service", "workers": "worker", "jobs": "job"}
CONSOLE = "https://cloud.digitalocean.com/apps"


class DeploymentFailed(Exception):
    """The deployment of this spec failed, was cancelled, or did not finish in time."""


def marked_part(part: Mapping[str, Any], digest: pulumi.Input[str]) -> dict[str, Any]:
    """A component of the spec (its args' keywords) with ``BERTH_SPEC_DIGEST`` among its
    variables. Every component has it: the API's description of an app spec has no app-level
    variables (digitalocean/openapi ``apps/models/app_spec.yml``)."""
    marker = {"key": SPEC_DIGEST, "value": digest, "scope": "RUN_TIME", "type": "GENERAL"}
    envs = sorted([*(part.get("envs") or ()), marker], key=lambda env: str(env["key"]))
    return {**part, "envs": envs}


def digest_in(spec: Mapping[str, Any] | None) -> str | None:
    """The ``BERTH_SPEC_DIGEST`` of a spec as the API answers it (its first component's)."""
    for section in KINDS:
        for component in (spec or {}).get(section) or ():
            for env in component.get("envs") or ():
                if env.get("key") == SPEC_DIGEST:
                    return str(env.get("value"))
    return None


def failed_steps(steps: Any) -> Iterator[Mapping[str, Any]]:
    """The innermost steps in ``ERROR`` of a deployment's progress (``progress.steps``)."""
    for step in steps or ():
        if step.get("status") != "ERROR":
            continue
        inner = list(failed_steps(step.get("steps")))
        yield from inner or [step]


def why(app_id: str, deployment: Mapping[str, Any], hooks: Mapping[str, str] | None = None) -> str:
    """What failed in ``deployment``, each failed job or component by name (a ``pre_start``
    hook's job as Compose names the hook, by ``hooks``: its label by component name), and where
    its logs are."""
    spec = deployment.get("spec") or {}
    kinds = {
        str(component.get("name")): kind
        for section, kind in KINDS.items()
        for component in spec.get(section) or ()
    }
    reasons: list[str] = []
    components: list[str] = []
    for step in failed_steps((deployment.get("progress") or {}).get("steps")):
        name = str(step.get("component_name") or "")
        what = str(step.get("message_base") or step.get("name") or "a step")
        reason = str((step.get("reason") or {}).get("message") or "").strip()
        subject = (hooks or {}).get(name) or (
            f"{kinds.get(name, 'component')} '{name}'" if name else what
        )
        detail = f"{what}: {reason}" if name and reason else reason or (what if name else "")
        reasons.append(f"{subject} failed" + (f" ({detail})" if detail else ""))
        if name and name not in components:
            components.append(name)
    deployment_id = str(deployment.get("id"))
    text = "; ".join(reasons) or "no step reported an error"
    logs = "".join(
        f"\n  `doctl apps logs {app_id} {name} --deployment {deployment_id} --type deploy`"
        for name in components
    )
    return f"{text}. Logs:{logs}\n  {CONSOLE}/{app_id}/deployments/{deployment_id}"


class AppDeployedProvider(ResourceProvider):
    """Waits until the app's active deployment is one of the spec digest ``spec``."""

    POLL_SECONDS = 10.0
    """As often as the provider's own wait polls (``WaitForAppDeployment``)."""

    def api(self, props: Mapping[str, Any]) -> AppsApi:
        return AppsApi.acting_as(props.get(ACCESS))

    def create(self, props: dict[str, Any]) -> CreateResult:
        deployment = self._deployed(props)
        return CreateResult(id_=str(props["app"]), outs=self._outs(props, deployment))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A new spec (or app) is waited for again; a new token alone is no change (``create``
        acts as the newest, ``delete`` calls nothing)."""
        changed = [k for k in ("app", "spec", "timeout") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._outs(news, self._deployed(news)))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """The app goes with its own resource."""

    @staticmethod
    def _outs(props: Mapping[str, Any], deployment: Mapping[str, Any]) -> dict[str, Any]:
        kept = {key: value for key, value in props.items() if key != ACCESS}
        return {**kept, "deploymentId": str(deployment.get("id"))}

    def _deployed(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The deployment of ``spec``, once it is the app's active one."""
        app_id, want = str(props["app"]), str(props["spec"])
        timeout = float(props.get("timeout") or TIMEOUT)
        deadline = time.monotonic() + timeout
        try:
            api = self.api(props)
            app = api.app(app_id, deadline)
            if digest_in(app.get("spec")) != want:
                raise DeploymentFailed(
                    f"app {app_id}: its spec is not the one this `pulumi up` sent (changed "
                    "outside Pulumi, or a failed update left the state ahead of it); run "
                    "`pulumi refresh`, then `pulumi up`"
                )
            active = app.get("active_deployment") or {}
            if digest_in(active.get("spec")) == want:
                return dict(active)
            deployment = next(
                (
                    dict(found)
                    for found in (app.get("in_progress_deployment"), app.get("pending_deployment"))
                    if found and digest_in(found.get("spec")) == want
                ),
                None,
            ) or api.deploy(app_id)
            limit = (deadline, timeout)
            return self._wait(api, app_id, want, deployment, limit, hooks=props.get("hooks"))
        except ApiError as error:
            raise DeploymentFailed(f"app {app_id}: {error}") from None

    def _wait(
        self,
        api: AppsApi,
        app_id: str,
        want: str,
        deployment: dict[str, Any],
        limit: tuple[float, float],
        *,
        hooks: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        """Until ``deployment`` ends; ``limit``: the deadline (``time.monotonic()``) and the
        timeout it came from; ``hooks``: the hooks' labels, for a failure message."""
        deadline, timeout = limit
        while True:
            phase = str(deployment.get("phase") or "UNKNOWN")
            if phase == ACTIVE:
                return deployment
            if phase in FAILED:
                verb = "was cancelled" if phase == "CANCELED" else "failed"
                raise DeploymentFailed(
                    f"app {app_id}: deployment {deployment.get('id')} {verb}: "
                    f"{why(app_id, deployment, hooks)}"
                )
            if phase == SUPERSEDED:
                active = api.app(app_id, deadline).get("active_deployment") or {}
                if digest_in(active.get("spec")) == want:
                    return dict(active)
                raise DeploymentFailed(
                    f"app {app_id}: deployment {deployment.get('id')} was superseded by "
                    f"{active.get('id') or 'another'}, which is not of this spec; "
                    "`pulumi up` again deploys it"
                )
            if time.monotonic() >= deadline:
                raise DeploymentFailed(
                    f"app {app_id}: deployment {deployment.get('id')} is still {phase} after "
                    f"{format_duration(timeout)}; `pulumi up` again waits for it. "
                    f"{CONSOLE}/{app_id}/deployments/{deployment.get('id')}"
                )
            time.sleep(self.POLL_SECONDS)
            deployment = api.deployment(app_id, str(deployment["id"]), deadline)


class AppDeployed(Resource, module="berth", name="AppDeployed"):
    """Exists once the app's active deployment is one of the spec whose digest is ``spec``;
    ``access``: the provider's token and endpoint (``account.py``), None to read them from the
    environment; ``hooks``: each ``pre_start`` hook's label (``service "web" pre_start[0]``) by
    its job's component name, for a failure message (an input only when there are hooks, so
    the inputs of a project without them stay as they were)."""

    deploymentId: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        app: pulumi.Input[str],
        spec: pulumi.Input[str],
        access: pulumi.Input[Any] | None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        hooks: Mapping[str, str] | None = None,
    ) -> None:
        props = {"app": app, "spec": spec, "timeout": TIMEOUT, "deploymentId": None}
        if access is not None:
            props[ACCESS] = access
        if hooks:
            props["hooks"] = dict(hooks)
        super().__init__(AppDeployedProvider(), name, props, opts)
