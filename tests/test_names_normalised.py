"""The one name rule (``berth.names.normalised``) gives every name the rules it replaced gave.

A deployed stack keeps a resource only while its name stays the same: each function below is
the rule as it was written before the five were made one (frozen copies, the oracles), and
each name Berth derives now must equal it, byte for byte, on many names.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from berth.components.names import fitted
from berth.names import cloud_slug, normalised, portable_name, shortened
from berth.offline.diff_inputs import folder_project_name
from berth.providers.aws.containers import ecs_name
from berth.providers.aws.ingress import _fit as balancer_fit
from berth.providers.aws.names import hyphenated
from berth.providers.aws.stores import _identifier as store_identifier
from berth.providers.digitalocean.layout import component_name
from berth.providers.gcp.names import account_id, bucket_name, cloud_name, secret_id
from berth.variables import _variable_name as variable_name

# -- the rules as they were ----------------------------------------------------------------


def _hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def old_cloud_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def old_shortened(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    return f"{name[: limit - 8 - 1].rstrip('-_./')}-{_hash(name)}"


def old_portable_name(name: str) -> str | None:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-")[:63].rstrip("-")
    return slug if len(slug) >= 2 else None


def old_fitted(name: str, limit: int) -> str:
    room = limit - 8
    if len(name) <= room:
        return name
    return f"{name[: room - 7]}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def old_hyphenated(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", name)


def old_ecs_name(name: str) -> str:
    return old_shortened(re.sub(r"[^A-Za-z0-9_-]", "-", name), 236)


def old_balancer_fit(name: str) -> str:
    return old_fitted(re.sub(r"[^A-Za-z0-9-]", "-", name), 32)


def old_store_identifier(prefix: str, service: str) -> str:
    text = old_cloud_slug(f"b-{prefix}-{service}")
    if len(text) > 30:
        text = f"{text[:21]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return re.sub(r"-+", "-", text)


def old_component_name(name: str) -> str:
    candidate = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:32].strip("-")
    if candidate and not candidate[0].isalpha():
        candidate = f"c-{candidate}"[:32].strip("-")
    return candidate


def old_folder_project_name(folder: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", os.path.basename(folder).lower()).lstrip("_-")


def old_cloud_name(*parts: str, limit: int = 63) -> str:
    text = old_cloud_slug("-".join(parts))
    if not text or not text[0].isalpha():
        text = f"b-{text}".rstrip("-")
    return old_shortened(text, limit)


def old_account_id(*parts: str) -> str:
    text = old_cloud_name(*parts, limit=30)
    return text if len(text) >= 6 else f"{text}-{_hash(text)}"


def old_bucket_name(*parts: str) -> str:
    text = old_cloud_name(*parts, limit=63)
    google = re.compile(r"g[o0][o0]g[l1]e")
    if not google.search(text):
        return text
    cut = google.sub("ggl", text)[: 63 - 8 - 1].rstrip("-")
    return f"{cut}-{_hash(text)}"


def old_secret_id(*parts: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(parts)).strip("-")
    if len(text) <= 255:
        return text
    return f"{text[: 255 - 8 - 1]}-{_hash(text)}"


def old_variable_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", key).lstrip("0123456789")


# -- names to try --------------------------------------------------------------------------

COMPOSE_LIKE = st.text(
    alphabet=st.sampled_from("abcxyzABCXYZ0129-_./ @:ÄéİßΩﬁ\t"), min_size=0, max_size=300
)
"""Names as compose files hold them, and the characters clouds refuse, at every length."""
NAMES = st.one_of(COMPOSE_LIKE, st.text(max_size=120))
MANY = settings(max_examples=400, deadline=None)
EDGES = ["", "-", "web", "Web_API", "a.b", "--x--", "0db", "İstanbul", "g00gle-drive", "x" * 300]


@pytest.mark.parametrize(
    ("new", "old"),
    [
        (cloud_slug, old_cloud_slug),
        (portable_name, old_portable_name),
        (hyphenated, old_hyphenated),
        (ecs_name, old_ecs_name),
        (balancer_fit, old_balancer_fit),
        (component_name, old_component_name),
        (folder_project_name, old_folder_project_name),
        (cloud_name, old_cloud_name),
        (account_id, old_account_id),
        (bucket_name, old_bucket_name),
        (secret_id, old_secret_id),
        (variable_name, old_variable_name),
    ],
    ids=lambda f: f.__name__,
)
@MANY
@given(name=NAMES)
def test_each_name_is_the_one_the_old_rule_gave(new, old, name):
    assert new(name) == old(name)


@pytest.mark.parametrize("name", EDGES)
def test_the_edges_too(name):
    assert (cloud_slug(name), component_name(name), secret_id(name), bucket_name(name)) == (
        old_cloud_slug(name),
        old_component_name(name),
        old_secret_id(name),
        old_bucket_name(name),
    )


@MANY
@given(prefix=NAMES, service=NAMES)
@example(prefix="shop_Prod", service="db")
@example(prefix="a" * 20, service="--b")
def test_store_identifiers_too(prefix, service):
    assert store_identifier(prefix, service) == old_store_identifier(prefix, service)


@MANY
@given(name=NAMES, limit=st.integers(min_value=17, max_value=300))
@example(name="x" * 40, limit=40)
@example(name="y" * 32, limit=40)
def test_shortened_and_fitted_names_too(name, limit):
    assert shortened(name, limit) == old_shortened(name, limit)
    assert fitted(name, limit) == old_fitted(name, limit)


def test_the_rule_reads_as_documented():
    assert normalised("My_API.v2") == "my-api-v2"
    assert normalised("a__b", "a-z", lower=False, runs=False, start="", end="") == "a--b"
    assert normalised("__Ab__", "a-z", by="", start="_", end="") == "ab"
