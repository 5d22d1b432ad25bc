"""The AWS identity of the run-once resources: the one the program's aws provider deploys with.

pulumi-aws takes its credentials from the stack's ``aws:*`` config first, then from the
environment and the shared files. A dynamic provider sees none of that config, so the program
reads those keys once (``identity_config``) and hands them to each run-once resource as one
secret input, outside the job's definition (a new key never re-runs a job); ``aws_session``
builds the boto3 session from it the way the provider does: static keys, else the profile (from
the given shared files), else boto3's own chain, then each role of ``assumeRoles`` in turn.
Assumed roles refresh themselves, so a job that runs for hours keeps its credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    AssumeRoleWithWebIdentityCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
)

from berth.durations import parse_duration

DEFAULT_MAX_ATTEMPTS = 10
"""Throttling and 5xx answers are retried (botocore's standard mode) this many times in all."""


def aws_session(identity: Mapping[str, Any], region: str) -> boto3.session.Session:
    """A boto3 session with the provider's credentials, in ``region``."""
    core = botocore.session.Session()
    if files := _list(identity.get("sharedCredentialsFiles")):
        core.set_config_variable("credentials_file", files[0])
    if files := _list(identity.get("sharedConfigFiles")):
        core.set_config_variable("config_file", files[0])
    if identity.get("profile"):
        core.set_config_variable("profile", identity["profile"])
    if identity.get("accessKey") and identity.get("secretKey"):
        core.set_credentials(identity["accessKey"], identity["secretKey"], identity.get("token"))
    client_settings = _client_settings(identity)
    session = boto3.session.Session(botocore_session=core, region_name=region)
    sts_region = identity.get("stsRegion") or region
    if web := identity.get("assumeRoleWithWebIdentity"):
        session = _with_credentials(
            region, _web_identity(session, web, sts_region, client_settings)
        )
    for role in _roles(identity):
        session = _with_credentials(region, _assumed(session, role, sts_region, client_settings))
    return session


def aws_clients(identity: Mapping[str, Any], region: str, services: Sequence[str]) -> list[Any]:
    """One client per service, with the identity's endpoints, CA bundle and retries."""
    session = aws_session(identity, region)
    settings = _client_settings(identity)
    return [session.client(name, **_for_service(settings, name)) for name in services]


def _client_settings(identity: Mapping[str, Any]) -> dict[str, Any]:
    retries = {
        "mode": identity.get("retryMode") or "standard",
        "total_max_attempts": int(identity["maxRetries"]) + 1
        if identity.get("maxRetries") not in (None, "")
        else DEFAULT_MAX_ATTEMPTS,
    }
    settings: dict[str, Any] = {"config": Config(retries=retries)}
    if str(identity.get("insecure", "")).lower() == "true":
        settings["verify"] = False
    elif identity.get("customCaBundle"):
        settings["verify"] = identity["customCaBundle"]
    endpoints: dict[str, str] = {}
    for entry in _list(identity.get("endpoints")):
        endpoints |= {k: v for k, v in dict(entry).items() if isinstance(v, str) and v}
    settings["endpoints"] = endpoints
    return settings


def _for_service(settings: Mapping[str, Any], service: str) -> dict[str, Any]:
    """Client arguments for one service: its endpoint from ``aws:endpoints``, if any."""
    arguments = {k: v for k, v in settings.items() if k != "endpoints"}
    if endpoint := settings["endpoints"].get(service):
        arguments["endpoint_url"] = endpoint
    return arguments


def _roles(identity: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """``assumeRoles`` (pulumi-aws 6 and later), or the older single ``assumeRole``."""
    roles = _list(identity.get("assumeRoles"))
    if not roles and identity.get("assumeRole"):
        roles = [identity["assumeRole"]]
    return [role for role in roles if role and role.get("roleArn")]


def _assumed(
    source: boto3.session.Session,
    role: Mapping[str, Any],
    sts_region: str,
    settings: Mapping[str, Any],
) -> DeferredRefreshableCredentials:
    extra: dict[str, Any] = {"RoleSessionName": role.get("sessionName") or "berth"}
    if role.get("externalId"):
        extra["ExternalId"] = role["externalId"]
    if role.get("sourceIdentity"):
        extra["SourceIdentity"] = role["sourceIdentity"]
    if role.get("tags"):
        extra["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(role["tags"].items())]
    if role.get("transitiveTagKeys"):
        extra["TransitiveTagKeys"] = list(role["transitiveTagKeys"])
    extra |= _session_policy(role)
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=_sts_creator(source, sts_region, settings),
        source_credentials=source.get_credentials(),
        role_arn=role["roleArn"],
        extra_args=extra,
    )
    return DeferredRefreshableCredentials(fetcher.fetch_credentials, "assume-role")


def _web_identity(
    source: boto3.session.Session,
    web: Mapping[str, Any],
    sts_region: str,
    settings: Mapping[str, Any],
) -> DeferredRefreshableCredentials:
    token_file = web.get("webIdentityTokenFile")

    def token() -> str:
        if token_file:
            with open(token_file, encoding="utf-8") as file:
                return file.read().strip()
        return str(web.get("webIdentityToken", ""))

    extra = {"RoleSessionName": web.get("sessionName") or "berth", **_session_policy(web)}
    fetcher = AssumeRoleWithWebIdentityCredentialFetcher(
        client_creator=_sts_creator(source, sts_region, settings),
        web_identity_token_loader=token,
        role_arn=web["roleArn"],
        extra_args=extra,
    )
    return DeferredRefreshableCredentials(fetcher.fetch_credentials, "assume-role-web-identity")


def _session_policy(role: Mapping[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if role.get("duration"):
        extra["DurationSeconds"] = round(parse_duration(role["duration"]))
    if role.get("policy"):
        extra["Policy"] = role["policy"]
    if role.get("policyArns"):
        extra["PolicyArns"] = [{"arn": arn} for arn in role["policyArns"]]
    return extra


def _sts_creator(
    source: boto3.session.Session, sts_region: str, settings: Mapping[str, Any]
) -> Callable[..., Any]:
    """What the fetchers call to make their STS client: from the source session, in the STS
    region, through the ``sts`` endpoint when one is set."""
    arguments = _for_service(settings, "sts")

    def create(service: str, **kwargs: Any) -> Any:
        return source.client(service, **{**kwargs, **arguments, "region_name": sts_region})

    return create


class _Given(CredentialProvider):
    """A credential chain of one: credentials already made (an assumed role's)."""

    METHOD = "berth"
    CANONICAL_NAME = "berth"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self.credentials = credentials

    def load(self) -> Credentials:
        return self.credentials


def _with_credentials(region: str, credentials: Credentials) -> boto3.session.Session:
    core = botocore.session.Session()
    core.register_component("credential_provider", CredentialResolver([_Given(credentials)]))
    return boto3.session.Session(botocore_session=core, region_name=region)


def _list(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
