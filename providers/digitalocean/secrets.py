"""Stack secrets in the app spec, without a new deployment on every ``pulumi up``.

App Platform encrypts a ``SECRET`` variable's value on first submission and answers it encrypted
(``EV[1:...]``) ever after: "On following submissions, the encrypted value should be used"
(godo ``apps.gen.go``, ``AppVariableDefinition.Value``, generated from DigitalOcean's OpenAPI
description). pulumi-digitalocean stores what the API answers (terraform-provider-digitalocean
``digitalocean/app/app_spec.go``, ``flattenAppEnvs``: ``r["value"] = env.Value``; ``value`` has no
DiffSuppressFunc, and ``env`` is a set hashed over all its fields), so a spec that sends the plain
value again never matches the state: every ``up`` updated the app, which deploys it and runs
every PRE_DEPLOY job (terraform-provider-digitalocean#514, #782, #869, #1603).

So Berth sends back the encrypted value while a secret is unchanged, and its plain value once it
changes (a deployment then rolls the whole app, jobs included). Which one: each component with
secrets carries the ``GENERAL`` variable ``BERTH_SECRETS_DIGEST``, ``KEY=<HMAC>`` for each of its
secrets, keyed with 32 random bytes kept in the stack's state (``secrets-key``), so it tells
nothing of the values. Before the app is registered, ``LiveAppSecrets`` reads the live app (a
read, which ``pulumi preview`` counts as no change) for each component's encrypted values and
digests: a secret whose digest is unchanged is sent as the encrypted value the app holds, any
other in plain text. Pulumi-free but for the two resources at the end; the dynamic provider is
pickled by reference, so this module imports with no side effects.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import ReadResult, Resource, ResourceProvider

from berth.providers.digitalocean.api import ACCESS, ApiError, AppsApi

DIGESTS = "BERTH_SECRETS_DIGEST"
"""The variable naming each of a component's secrets with the HMAC of its value."""
SECRET = "SECRET"  # noqa: S105 - the variable type, not a password
ENCRYPTED = "EV["
"""How the API answers a SECRET variable's value once it encrypted it."""
COMPONENT_SECTIONS = ("services", "workers", "jobs")
"""The spec's sections whose components Berth gives variables."""


def digest(key: str, name: str, value: str) -> str:
    """The HMAC-SHA256 of variable ``name``'s ``value`` with the stack's ``key`` (hex), cut to
    64 bits: enough to tell a rotation, nothing about the value without the key."""
    message = f"{name}\0{value}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:16]


def digests_text(digests: Mapping[str, str]) -> str:
    """``A=1f2e...,B=...``: the value of ``BERTH_SECRETS_DIGEST``."""
    return ",".join(f"{name}={value}" for name, value in sorted(digests.items()))


def parse_digests(text: str | None) -> dict[str, str]:
    pairs = (item.partition("=") for item in (text or "").split(",") if "=" in item)
    return {name: value for name, _, value in pairs}


def live_components(spec: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """From an app spec as the API answers it: for each component that has a
    ``BERTH_SECRETS_DIGEST``, its digests and its SECRET variables' encrypted values."""
    found: dict[str, dict[str, Any]] = {}
    for section in COMPONENT_SECTIONS:
        for component in (spec or {}).get(section) or ():
            envs = component.get("envs") or ()
            marker = next((e.get("value") for e in envs if e.get("key") == DIGESTS), None)
            if marker is None:
                continue
            found[str(component.get("name"))] = {
                "digests": parse_digests(marker),
                "values": {
                    str(e["key"]): str(e["value"])
                    for e in envs
                    if e.get("type") == SECRET and str(e.get("value", "")).startswith(ENCRYPTED)
                },
            }
    return found


def sent_value(name: str, new_digest: str, plain: str, live: Mapping[str, Any] | None) -> str:
    """What the spec sends for secret ``name``: the encrypted value the live component holds
    when the digest it recorded is ``new_digest`` (the same secret), else ``plain``."""
    live = live or {}
    encrypted = (live.get("values") or {}).get(name)
    if encrypted and (live.get("digests") or {}).get(name) == new_digest:
        return str(encrypted)
    return plain


def spec_digest(fields: Mapping[str, Any]) -> pulumi.Output[str]:
    """A digest of the spec ``fields`` Berth sets, each SECRET variable's value left out (its
    component's ``BERTH_SECRETS_DIGEST`` stands for it): the same for an unchanged stack whether
    a secret goes encrypted or plain, new with any other change (``deployed.py``)."""

    def plain(node: Any) -> Any:
        if isinstance(node, Mapping):
            if node.get("type") == SECRET and "key" in node:
                return {**node, "value": None}
            return {key: plain(value) for key, value in node.items()}
        if isinstance(node, list | tuple):
            return [plain(value) for value in node]
        if not isinstance(node, pulumi.Output) and hasattr(node, "__dict__"):
            return plain(vars(node))  # an input type: its properties by name
        return node

    def hashed(resolved: Any) -> str:
        text = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    return pulumi.Output.unsecret(pulumi.Output.from_input(plain(fields)).apply(hashed))


class LiveAppSecretsProvider(ResourceProvider):
    """Reads the live app named by the resource's id; never creates anything."""

    def api(self, props: Mapping[str, Any]) -> AppsApi:
        return AppsApi.acting_as(props.get(ACCESS))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """No app of that name yet: no component holds a secret. The token stays out of the
        outputs the state records; so ``pulumi refresh``, which reads them back (``components``
        given), keeps them as they are: only the program's read matters."""
        if props.get("components") is not None:
            return ReadResult(id_=id_, outs=dict(props))
        try:
            app = self.api(props).find_app(id_)
        except ApiError as error:
            raise ApiError(
                f"cannot read app '{id_}' for its encrypted secrets (without them every "
                f"`pulumi up` would deploy it again): {error}"
            ) from None
        components = live_components((app or {}).get("spec"))
        return ReadResult(id_=id_, outs={"app": id_, "components": components})


class LiveAppSecrets(Resource, module="berth", name="LiveAppSecrets"):
    """The live app's encrypted secrets and their digests, by component (a read)."""

    components: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        name: str,
        app: str,
        access: pulumi.Input[Any] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"app": app, "components": None, **({ACCESS: access} if access else {})}
        read = pulumi.ResourceOptions(id=app, additional_secret_outputs=["components"])
        super().__init__(
            LiveAppSecretsProvider(), name, props, pulumi.ResourceOptions.merge(opts, read)
        )


class StackSecrets:
    """The HMAC key and the live read one app's components share, made (as children of
    ``parent``) at the first secret: a stack without secrets has neither."""

    def __init__(
        self, names: Any, app: str, access: pulumi.Input[Any] | None, parent: pulumi.Resource
    ) -> None:
        self.names, self.app, self.access, self.parent = names, app, access, parent
        self._made: tuple[Any, LiveAppSecrets] | None = None

    def _resources(self) -> tuple[Any, LiveAppSecrets]:
        if self._made is None:
            import pulumi_random as random  # noqa: PLC0415 - only stacks with secrets need it

            opts = pulumi.ResourceOptions(parent=self.parent)
            key = random.RandomBytes(self.names("secrets-key"), length=32, opts=opts)
            live = LiveAppSecrets(self.names("live-secrets"), self.app, self.access, opts)
            self._made = (key, live)
        return self._made

    def envs(self, component: str, envs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``envs`` of ``component`` with each SECRET value as it must be sent, and the
        component's ``BERTH_SECRETS_DIGEST``; unchanged without SECRET variables."""
        if not any(env.get("type") == SECRET for env in envs):
            return [dict(env) for env in envs]
        key, read = self._resources()
        live = read.components.apply(lambda found: (found or {}).get(component))
        result: list[dict[str, Any]] = []
        digests: dict[str, pulumi.Output[str]] = {}
        for env in envs:
            if env.get("type") != SECRET:
                result.append(dict(env))
                continue
            name = str(env["key"])
            made = pulumi.Output.all(key.hex, env["value"]).apply(
                lambda known, name=name: digest(str(known[0]), name, str(known[1]))
            )
            digests[name] = pulumi.Output.unsecret(made)
            value = pulumi.Output.all(made, env["value"], live).apply(
                lambda known, name=name: sent_value(name, known[0], str(known[1]), known[2])
            )
            result.append({**env, "value": pulumi.Output.secret(value)})
        marker = pulumi.Output.unsecret(pulumi.Output.all(**digests).apply(digests_text))
        result.append({"key": DIGESTS, "value": marker, "scope": "RUN_TIME", "type": "GENERAL"})
        return sorted(result, key=lambda env: str(env["key"]))
