"""Which ``aws:*`` stack settings decide who the aws provider is: what the program reads once
and hands to the run-once resources (``providers.aws.session`` builds the session from it).
No AWS SDK here: the program imports this, and a plan need not load boto3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PLAIN_KEYS = (
    "region", "profile", "accessKey", "secretKey", "token", "stsRegion", "customCaBundle",
    "insecure", "maxRetries", "retryMode",
)  # fmt: skip
"""``aws:*`` settings that are one value each."""
STRUCTURED_KEYS = (
    "sharedCredentialsFiles", "sharedConfigFiles", "assumeRoles", "assumeRole",
    "assumeRoleWithWebIdentity", "endpoints",
)  # fmt: skip
"""``aws:*`` settings that are lists or objects (JSON in the stack config)."""


def identity_config(read: Callable[[str], Any]) -> dict[str, Any]:
    """The ``aws:*`` settings that decide who the provider is, where set; ``read(key)`` gives
    a key's value (parsed JSON for the structured ones) or None."""
    return {
        key: value
        for key in (*PLAIN_KEYS, *STRUCTURED_KEYS)
        if (value := read(key)) not in (None, "", [], {})
    }
