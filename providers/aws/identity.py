"""Which ``aws:*`` stack settings decide who the aws provider is: what the program reads once
and hands to the run-once resources (``berth.providers.aws.session`` builds the session from it).
An explicit aws provider's settings come in Terraform's names instead (its
``terraform_config()``), mapped here to the same shape.
No AWS SDK here: the program imports this, and a plan need not load boto3."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


TERRAFORM_KEYS = {
    "access_key": "accessKey", "secret_key": "secretKey", "token": "token",
    "profile": "profile", "region": "region", "sts_region": "stsRegion",
    "custom_ca_bundle": "customCaBundle", "insecure": "insecure", "max_retries": "maxRetries",
    "retry_mode": "retryMode", "shared_credentials_files": "sharedCredentialsFiles",
    "shared_config_files": "sharedConfigFiles", "assume_role": "assumeRoles",
    "assume_role_with_web_identity": "assumeRoleWithWebIdentity", "endpoints": "endpoints",
}  # fmt: skip
"""The Terraform name of each identity key. Terraform's ``assume_role`` is a list of blocks,
pulumi-aws's ``assumeRoles``; ``assume_role_with_web_identity`` a list of at most one."""


def terraform_identity(config: Mapping[str, Any]) -> dict[str, Any]:
    """The identity an explicit aws provider authenticates with, from its Terraform config
    (``aws.Provider.terraform_config()``: every setting, unset ones null, blocks as lists)."""
    found: dict[str, Any] = {}
    for terraform_key, key in TERRAFORM_KEYS.items():
        value = config.get(terraform_key)
        if terraform_key == "assume_role":
            value = [_block(role) for role in _blocks(value)]
        elif terraform_key == "assume_role_with_web_identity":
            value = next((_block(web) for web in _blocks(value)), None)
        elif terraform_key == "endpoints":
            value = [
                kept for entry in _blocks(value) if (kept := {k: v for k, v in entry.items() if v})
            ]
        found[key] = value
    return identity_config(found.get)


def _blocks(value: Any) -> list[Mapping[str, Any]]:
    """A Terraform block's entries: a list of objects (one object alone is taken as one)."""
    entries = [value] if isinstance(value, Mapping) else list(value or [])
    return [entry for entry in entries if entry]


def _block(block: Mapping[str, Any]) -> dict[str, Any]:
    """A role block's settings under pulumi-aws's names (``role_arn`` is ``roleArn``); a
    block's ``tags`` keep their own keys."""
    return {_camel(key): value for key, value in block.items() if value not in (None, "", [], {})}


def _camel(key: str) -> str:
    first, *rest = key.split("_")
    return first + "".join(part.capitalize() for part in rest)
