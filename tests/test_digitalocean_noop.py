"""The no-op rule on digitalocean with stack secrets (issue 20, item 1), against a model of what
pulumi-digitalocean stores: a second ``pulumi up`` of an unchanged stack changes nothing, so App
Platform deploys nothing and no job runs; a rotated secret is sent in plain text, so the app is
deployed with it; the next ``up`` is a no-op again.

What the provider stores, from its code (terraform-provider-digitalocean v2.99.1, the one
pulumi-digitalocean 4.84.1 bundles; ``digitalocean/app/app_spec.go``):

- ``flattenAppEnvs`` stores each variable as the API answers it, ``r["value"] = env.Value``: a
  ``SECRET`` one encrypted (``EV[1:...]``), whatever plain value was sent. The API keeps an
  encrypted value it is sent back as it is ("On following submissions, the encrypted value
  should be used": ``app_variable_definition.yml`` in DigitalOcean's OpenAPI description,
  tests/fixtures/digitalocean_openapi; a maintainer's workaround in
  terraform-provider-digitalocean#514 and its example in #1030).
- ``env`` is a set hashed over all its fields (``schema.HashResource(appSpecEnvSchema())``), and
  ``value`` has no DiffSuppressFunc; ``type`` suppresses only ``"" -> GENERAL``. So a variable
  whose stored value differs from the one sent is a removed and an added element: an update,
  which deploys the app (``resourceDigitalOceanAppUpdate`` -> ``WaitForAppDeployment``) and
  runs every PRE_DEPLOY job.

Each version is planned as ``pulumi up`` runs it (every output known), the live app its
``LiveAppSecrets`` read answers being what the provider stored after the previous version.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import berth.providers.digitalocean as do_target
from berth.errors import BerthError
from berth.offline.plan import Plan, Registration, plan_config, run_plan
from berth.providers.digitalocean import secrets as secrets_module
from berth.providers.digitalocean.deployed import SPEC_DIGEST, digest_in
from berth.providers.digitalocean.secrets import DIGESTS, ENCRYPTED, live_components
from berth.providers.digitalocean.spec import RESERVED_KEYS
from tests.conftest import program
from tests.plans import dynamic_provider, of_type, provider_inputs
from tests.secrets_check import assert_never_plain

APP = "digitalocean:index/app:App"
LIVE = "pulumi-python:dynamic/berth:LiveAppSecrets"
DEPLOYED = "pulumi-python:dynamic/berth:AppDeployed"
SECTIONS = ("services", "workers", "jobs")
SHOP = """
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
  migrate:
    build: .
    command: ["./migrate.sh"]
    restart: "no"
    environment:
      DATABASE_URL: postgres://postgres:${DB_PASSWORD}@db:5432/postgres
      API_TOKEN: ${API_TOKEN}
      SIGNING_KEY: ${SIGNING_KEY}
    depends_on: [db]
  web:
    build: .
    ports: ["80:80"]
    environment:
      API_TOKEN: ${API_TOKEN}
      LOG_LEVEL: info
    depends_on: [migrate]
  worker:
    image: ghcr.io/acme/worker:1.0
    environment:
      SIGNING_KEY: ${SIGNING_KEY}
"""
SECRETS = {"DB_PASSWORD": "pw-0a1b2c3d", "API_TOKEN": "tok-4e5f6a7b", "SIGNING_KEY": "key-8c9d0e1f"}


# -- what the provider stores, and what it diffs ------------------------------------------------

_ciphertexts = itertools.count()


def encrypt(_plain: str) -> str:
    """A value as App Platform answers it once encrypted: opaque, new at each submission."""
    return f"{ENCRYPTED}1:{next(_ciphertexts):032d}:c2VhbGVk]"


def stored(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The app spec pulumi-digitalocean holds after a create or update that sent ``spec``:
    each SECRET variable sent in plain text encrypted, one sent encrypted kept as sent
    (``flattenAppEnvs``); the rest as sent."""

    def env(variable: Mapping[str, Any]) -> dict[str, Any]:
        value = str(variable.get("value", ""))
        if variable.get("type") == "SECRET" and not value.startswith(ENCRYPTED):
            return {**variable, "value": encrypt(value)}
        return dict(variable)

    state = json.loads(json.dumps(spec))
    for section in SECTIONS:
        for component in state.get(section) or ():
            component["envs"] = [env(v) for v in component.get("envs") or ()]
    return state


def env_element(variable: Mapping[str, Any], old_type: str | None = None) -> tuple[str, ...]:
    """A variable as the provider's set hashes it (``schema.HashResource``): all of its fields,
    ``scope`` defaulting to RUN_AND_BUILD_TIME (``appSpecEnvSchema``). ``old_type``: the type
    stored, for ``type``'s DiffSuppressFunc (``new == "GENERAL" && old == ""``)."""
    kind = str(variable.get("type") or "")
    if old_type == "" and kind == "GENERAL":
        kind = ""
    scope = str(variable.get("scope") or "RUN_AND_BUILD_TIME")
    return (str(variable.get("key")), str(variable.get("value", "")), scope, kind)


def bridged_diff(state: Mapping[str, Any], spec: Mapping[str, Any]) -> list[str]:
    """What the provider finds changed between the ``state`` it holds and the ``spec`` sent:
    each component's variables compared as sets, everything else as it is. Empty: no update,
    no deployment."""
    changes: list[str] = []
    for key in sorted(set(state) | set(spec)):
        if key not in SECTIONS:
            if state.get(key) != spec.get(key):
                changes.append(key)
            continue
        old = {c["name"]: c for c in state.get(key) or ()}
        new = {c["name"]: c for c in spec.get(key) or ()}
        for name in sorted(set(old) | set(new)):
            if name not in old or name not in new:
                changes.append(f"{key}.{name}")
                continue
            before, after = dict(old[name]), dict(new[name])
            stored_types = {v["key"]: str(v.get("type") or "") for v in before.get("envs") or ()}
            kept = {env_element(v) for v in before.pop("envs", None) or ()}
            sent = {
                env_element(v, stored_types.get(v["key"])) for v in after.pop("envs", None) or ()
            }
            changes += [f"{key}.{name}.envs.{e[0]}" for e in sorted(kept ^ sent)]
            changes += [f"{key}.{name}.{f}" for f in sorted(before) if before[f] != after.get(f)]
            changes += [f"{key}.{name}.{f}" for f in sorted(set(after) - set(before))]
    return sorted(set(changes))


# -- planning a version --------------------------------------------------------------------------


def version(folder: Path, secrets: Mapping[str, str], live: Mapping[str, Any] | None) -> Plan:
    """The project planned as ``pulumi up`` runs it, its live app (what ``LiveAppSecrets``
    reads) being ``live``: a stored spec, or None before the first ``up``."""
    components = live_components(live)

    def outputs(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if type_ == LIVE:
            return {"components": components}
        return do_target.plan_outputs(type_, inputs)

    cwd = Path.cwd()
    os.chdir(folder)
    try:
        config, secret_keys = plan_config(["compose.yaml"], target="digitalocean", secrets=secrets)
        return run_plan(config, secret_keys, stack="dev", preview=False, outputs=outputs)
    finally:
        os.chdir(cwd)


def sent(plan: Plan) -> dict[str, Any]:
    """The app spec as the provider receives it (secrets unwrapped)."""
    (app,) = of_type(plan, APP)
    return dict(provider_inputs(app.raw_inputs)["spec"])


def variable(spec: Mapping[str, Any], component: str, key: str) -> dict[str, Any]:
    (found,) = [
        v
        for section in SECTIONS
        for c in spec.get(section) or ()
        if c["name"] == component
        for v in c.get("envs") or ()
        if v["key"] == key
    ]
    return dict(found)


def deployed(plan: Plan) -> Registration:
    (found,) = of_type(plan, DEPLOYED)
    return found


def waits_again(old: Plan, new: Plan) -> bool:
    """Whether ``AppDeployed``'s own diff (the engine's call) finds a new spec to wait for."""
    before, after = deployed(old), deployed(new)
    recorded = {**provider_inputs(before.raw_inputs), "deploymentId": "d-1"}
    return bool(
        dynamic_provider(after).diff("app-id", recorded, provider_inputs(after.raw_inputs)).changes
    )


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "compose.yaml").write_text(SHOP)
    (folder / "Dockerfile").write_text("FROM busybox\n")
    return folder


# -- the model itself ----------------------------------------------------------------------------


def test_the_model_finds_the_redeployment_of_issue_20(shop):
    """Sending the plain value again, as Berth did, against what the provider stored: every
    secret variable differs, so every ``up`` updated (deployed) the app."""
    spec = sent(version(shop, SECRETS, None))
    state = stored(spec)

    assert bridged_diff(state, state) == []
    assert bridged_diff(state, spec) == [
        "jobs.migrate.envs.API_TOKEN",
        "jobs.migrate.envs.SIGNING_KEY",
        "services.web.envs.API_TOKEN",
        "workers.worker.envs.SIGNING_KEY",
    ]


# -- the no-op rule ------------------------------------------------------------------------------


def test_an_unchanged_stack_with_secrets_changes_nothing(shop):
    first = version(shop, SECRETS, None)
    state = stored(sent(first))
    second = version(shop, SECRETS, state)

    assert bridged_diff(state, sent(second)) == [], "no update: nothing deploys, no job runs"
    assert not waits_again(first, second)
    for component, key in [
        ("migrate", "API_TOKEN"),
        ("web", "API_TOKEN"),
        ("worker", "SIGNING_KEY"),
    ]:
        assert (
            variable(sent(second), component, key)["value"]
            == variable(state, component, key)["value"]
        )
        assert variable(sent(second), component, key)["value"].startswith(ENCRYPTED)
    assert_never_plain(second, *SECRETS.values())

    third = version(shop, SECRETS, stored(sent(second)))
    assert bridged_diff(stored(sent(second)), sent(third)) == [], "and so on, every up"


def test_a_rotated_secret_is_sent_in_plain_text_and_deploys_the_app_once(shop):
    first = version(shop, SECRETS, None)
    state = stored(sent(first))
    rotated = {**SECRETS, "API_TOKEN": "tok-rotated-9a8b"}
    second = version(shop, rotated, state)

    spec = sent(second)
    assert bridged_diff(state, spec) == [
        "jobs.migrate.envs.API_TOKEN",
        f"jobs.migrate.envs.{DIGESTS}",
        f"jobs.migrate.envs.{SPEC_DIGEST}",
        "services.web.envs.API_TOKEN",
        f"services.web.envs.{DIGESTS}",
        f"services.web.envs.{SPEC_DIGEST}",
        f"workers.worker.envs.{SPEC_DIGEST}",
    ], "the rotated secret and the digests: one update, one deployment with the new value"
    for component in ("migrate", "web"):
        assert variable(spec, component, "API_TOKEN")["value"] == "tok-rotated-9a8b"
    assert variable(spec, "migrate", "SIGNING_KEY") == variable(state, "migrate", "SIGNING_KEY")
    assert variable(spec, "worker", "SIGNING_KEY") == variable(state, "worker", "SIGNING_KEY")
    assert waits_again(first, second), "and the deployment of it is waited for"

    after = stored(spec)
    third = version(shop, rotated, after)
    assert bridged_diff(after, sent(third)) == [], "the next up is a no-op again"
    assert not waits_again(second, third)


def test_another_change_is_an_update_with_the_secrets_kept_encrypted(shop):
    """A changed variable deploys the app (every job runs: App Platform runs them on each
    deployment); the secrets go as the encrypted values the app holds, not re-encrypted."""
    first = version(shop, SECRETS, None)
    state = stored(sent(first))
    (shop / "compose.yaml").write_text(SHOP.replace("LOG_LEVEL: info", "LOG_LEVEL: debug"))
    second = version(shop, SECRETS, state)

    changes = bridged_diff(state, sent(second))
    assert "services.web.envs.LOG_LEVEL" in changes
    assert not [c for c in changes if c.endswith(("API_TOKEN", "SIGNING_KEY", DIGESTS))]
    assert waits_again(first, second)


def test_a_secret_changed_outside_pulumi_is_sent_again_only_with_its_digest(shop):
    """The live app answers a component without Berth's digests (made by hand, or by an
    earlier Berth): its secrets are sent in plain text, once."""
    state = stored(sent(version(shop, SECRETS, None)))
    for component in state["services"]:
        component["envs"] = [v for v in component["envs"] if v["key"] != DIGESTS]
    spec = sent(version(shop, SECRETS, state))

    assert variable(spec, "web", "API_TOKEN")["value"] == SECRETS["API_TOKEN"]
    assert variable(spec, "migrate", "API_TOKEN")["value"].startswith(ENCRYPTED)


def test_the_digests_tell_nothing_of_the_values(shop):
    """``BERTH_SECRETS_DIGEST`` is a GENERAL variable, visible to whoever reads the app spec: an
    HMAC keyed with the stack's random key, never the value or a plain hash of it."""
    import hashlib

    plan = version(shop, SECRETS, None)
    marker = variable(sent(plan), "migrate", DIGESTS)
    assert marker["type"] == "GENERAL"
    digests = secrets_module.parse_digests(marker["value"])
    assert set(digests) == {"API_TOKEN", "SIGNING_KEY"}
    for name, value in SECRETS.items():
        assert value not in marker["value"]
        assert hashlib.sha256(value.encode()).hexdigest()[:16] not in marker["value"], name
    (key,) = of_type(plan, "random:index/randomBytes:RandomBytes")
    assert key.inputs["length"] == 32
    assert digest_in(sent(plan)) == variable(sent(plan), "web", SPEC_DIGEST)["value"]


# -- the live read -------------------------------------------------------------------------------


def test_the_live_read_finds_the_app_by_name_across_pages(shop):
    """``LiveAppSecrets`` lists the account's apps (``GET /v2/apps``, 100 a page, following
    ``links.pages.next``) for the one whose spec has the app's name (unique in an account)."""
    from berth.providers.digitalocean.api import AppsApi
    from berth.providers.digitalocean.secrets import LiveAppSecretsProvider
    from tests.test_gcp_run_once_executions import ScriptedSession

    state = stored(sent(version(shop, SECRETS, None)))
    api = "https://api.digitalocean.com/v2/apps"
    other = {"id": "a-1", "spec": {"name": "blog-prod", "services": [{"name": "web"}]}}
    more = {"pages": {"next": f"{api}?page=2&per_page=100"}}
    session = ScriptedSession([
        (("GET", f"{api}?page=1&per_page=100"), 200, {"apps": [other], "links": more}),
        (("GET", f"{api}?page=2&per_page=100"), 200, {"apps": [{"id": "a-2", "spec": state}]}),
    ])  # fmt: skip

    class Provider(LiveAppSecretsProvider):
        def api(self, props: Any) -> AppsApi:
            return AppsApi(session)

    read = Provider().read(state["name"], {"app": state["name"], "components": None})
    components = read.outs["components"]
    assert set(components) == {"migrate", "web", "worker"}
    assert components["web"]["values"]["API_TOKEN"] == variable(state, "web", "API_TOKEN")["value"]
    assert "access" not in read.outs

    refreshed = Provider().read(state["name"], dict(read.outs))
    assert refreshed.outs == read.outs, "pulumi refresh keeps what the program read"

    session = ScriptedSession([(("GET", f"{api}?page=1&per_page=100"), 200, {"apps": []})])
    assert (
        Provider().read("new-app", {"app": "new-app", "components": None}).outs["components"] == {}
    )


def test_a_variable_berth_sets_itself_is_refused_naming_it(project_dir, write):
    write(
        "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n"
        "    environment:\n      BERTH_SPEC_DIGEST: mine\n"
    )
    with pytest.raises(BerthError, match=r"service 'web'.*'BERTH_SPEC_DIGEST': Berth sets"):
        program(["compose.yaml"], target="digitalocean")
    assert {SPEC_DIGEST, DIGESTS} == RESERVED_KEYS
