"""The one normalisation cloud names of compose services and volumes go through.

Clouds lowercase names and allow few characters (ECR repositories, Cloud Run services and
jobs, Compute Engine names, DNS labels), so names that differ only in case or in ``_``, ``.``
and ``-`` (``web``/``Web``, ``my_api``/``my-api``, ``a.b``/``a-b``) become one name there.
"""

from __future__ import annotations

import re


def cloud_slug(name: str) -> str:
    """``name`` lowercased, each run of characters other than a-z and 0-9 one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
