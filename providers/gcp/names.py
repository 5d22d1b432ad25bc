"""Names of cloud resources: valid for Google Cloud, short, and stable for a given project.

Cloud resource names carry the compose project and the stack, so several stacks share one
Google Cloud project. A name too long for its resource keeps its start and ends with a hash of
the whole, so it stays unique and never changes between deployments.
"""

from __future__ import annotations

import re

from berth.names import DIGEST, cloud_slug, digest, normalised, shortened

CLOUD_RUN_NAME = 49
"""Cloud Run service, job and worker pool names; with ``-<project number>`` they still fit the
63-character DNS label of the service's deterministic URL."""
COMPUTE_NAME = 63
ACCOUNT_ID = 30
ACCOUNT_ID_MIN = 6
SECRET_ID = 255
BUCKET_NAME = 63
SQL_INSTANCE_ID = 98 - 30 - 1
"""Cloud SQL: "The total length of project-ID:instance-ID must be 98 characters or less", and
a project ID has up to 30 characters: an instance ID of 67 fits in any project."""
_GOOGLE = re.compile(r"g[o0][o0]g[l1]e")
"""Cloud Storage: "Bucket names cannot contain "google" or close misspellings, such as
"g00gle"" (Bucket naming requirements)."""


def cloud_name(*parts: str, limit: int = COMPUTE_NAME) -> str:
    """``parts`` joined by ``-`` as a name Google Cloud accepts: ``[a-z]([-a-z0-9]*[a-z0-9])?``."""
    text = cloud_slug("-".join(parts))
    if not text or not text[0].isalpha():
        text = f"b-{text}".rstrip("-")
    return shortened(text, limit)


def account_id(*parts: str) -> str:
    """A service account ID (6 to 30 characters): a name too short ends with its hash too."""
    text = cloud_name(*parts, limit=ACCOUNT_ID)
    return text if len(text) >= ACCOUNT_ID_MIN else f"{text}-{digest(text)}"


SCHEDULE_MARK = "--"
"""What sets a schedule's account ID apart from every workload's: no ``cloud_name`` holds two
``-`` in a row (``cloud_slug`` makes each run of other characters one ``-``; a shortened or
padded name has one ``-`` before its hash)."""


def schedule_account_id(prefix: str, job: str, index: int) -> str:
    """The ID of the account of job ``job``'s schedule ``index``: ``<prefix>-<job>--schedule-
    <index>``, the first part shortened to fit 30 characters. Joined by one ``-``, the account
    of a service or job named ``<job>-schedule-<index>`` would have the same ID; with
    ``SCHEDULE_MARK`` no workload's can (and the part before it tells the jobs apart)."""
    suffix = f"{SCHEDULE_MARK}schedule-{index}"
    return cloud_name(prefix, job, limit=ACCOUNT_ID - len(suffix)) + suffix


def bucket_name(*parts: str) -> str:
    """A Cloud Storage bucket name: ``cloud_name``'s, where "google" (or "g00gle"), which
    Cloud Storage refuses, becomes "ggl", followed by a hash of the name it replaces so that it
    stays unique (``google-drive`` and ``ggl-drive`` are two buckets)."""
    text = cloud_name(*parts, limit=BUCKET_NAME)
    if not _GOOGLE.search(text):
        return text
    cut = _GOOGLE.sub("ggl", text)[: BUCKET_NAME - DIGEST - 1].rstrip("-")
    return f"{cut}-{digest(text)}"


def secret_id(*parts: str) -> str:
    """A Secret Manager secret ID: letters, digits, ``-`` and ``_`` (environment keys keep case)."""
    text = normalised("-".join(parts), "A-Za-z0-9_-", lower=False)
    if len(text) <= SECRET_ID:
        return text
    return f"{text[: SECRET_ID - DIGEST - 1]}-{digest(text)}"
