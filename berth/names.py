"""The one normalisation cloud names of compose services and volumes go through.

Clouds lowercase names and allow few characters (ECR repositories, Cloud Run services and
jobs, Compute Engine names, DNS labels), so names that differ only in case or in ``_``, ``.``
and ``-`` (``web``/``Web``, ``my_api``/``my-api``, ``a.b``/``a-b``) become one name there.
Clouds also limit their length, and compose does not: a name too long is shortened.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

DIGEST = 8
"""Hex characters of the hash that ends a shortened name."""
PORTABLE_LENGTH = 63
"""A DNS label's longest, the shortest limit of any target on a name it keeps whole (aws)."""


def normalised(
    name: str,
    allowed: str = "a-z0-9",
    *,
    lower: bool = True,
    runs: bool = True,
    by: str = "-",
    start: str = "-",
    end: str = "-",
) -> str:
    """``name`` in a cloud's alphabet: lowercased (unless not ``lower``), each run of characters
    outside ``allowed`` (a regular expression's class, ``a-z0-9``) made ``by`` (each character,
    when not ``runs``), then the characters in ``start`` and ``end`` stripped from either end.

    Every target's names go through this one rule, each with its cloud's alphabet: a name
    deployed once must come out the same forever (tests/test_names_normalised.py holds it to
    the rules it replaced), or the resource it names is replaced.
    """
    text = name.lower() if lower else name
    return re.sub(f"[^{allowed}]{'+' if runs else ''}", by, text).lstrip(start).rstrip(end)


def cloud_slug(name: str) -> str:
    """``name`` lowercased, each run of characters other than a-z and 0-9 one ``-``."""
    return normalised(name)


def digest(text: str, length: int = DIGEST) -> str:
    """The hash that ends a shortened name: unique, and the same on every run."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def shortened(name: str, limit: int) -> str:
    """``name`` when it fits in ``limit`` characters; else its start (no separator last),
    ``-`` and a hash of the whole, ``limit`` at most: unique, and the same on every run, so a
    name within its cloud's limit never changes and one beyond it always fits."""
    if len(name) <= limit:
        return name
    return f"{name[: limit - DIGEST - 1].rstrip('-_./')}-{digest(name)}"


def portable_name(name: str) -> str | None:
    """A name like ``name`` that Compose and every target take, to suggest for one that is not
    (``Ünï`` -> ``Uni``): accents dropped, other characters ``-``, a letter or digit at each end,
    2 to 63 characters (App Platform needs two); None when too little of ``name`` is left."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = normalised(plain, "A-Za-z0-9", lower=False)[:PORTABLE_LENGTH].rstrip("-")
    return slug if len(slug) >= 2 else None
