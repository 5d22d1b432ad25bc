"""Who Berth's own resources act as on Google Cloud: the identity of the program's gcp provider.

The gcp provider authenticates with, in this order (the terraform-provider-google rules it is
built on): ``gcp:accessToken``, else ``gcp:credentials`` (a key file's path or its JSON), else
Application Default Credentials; the environment variables stand in for either of the first
two only when the stack sets neither (``GOOGLE_OAUTH_ACCESS_TOKEN``; ``GOOGLE_CREDENTIALS``,
``GOOGLE_CLOUD_KEYFILE_JSON``, ``GCLOUD_KEYFILE_JSON``); ``gcp:impersonateServiceAccount``
(or ``GOOGLE_IMPERSONATE_SERVICE_ACCOUNT``) then acts as that account, through
``gcp:impersonateServiceAccountDelegates``.

With an explicit provider given to the Project, its own settings count instead of the stack's:
the program reads them from the provider (``terraform_config``, terraform's names) and maps them
to the same keys (``from_terraform``).

The program passes the stack's values to the dynamic providers as one secret input,
``identity``; the environment is read here, in the provider process (the engine starts it with
the CLI's environment), so a key held in an environment variable never reaches the state.
Pulumi-free, and Google's SDK is imported only when credentials are made.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

IDENTITY = "identity"
"""The dynamic providers' input that holds the stack's identity settings (a secret). Its change
alone changes none of their resources (``RunOnceProvider.credentials``, ``VmServiceReady``'s
diff): they act as it in ``create``, and call nothing in ``delete``."""
KEYS = (
    "accessToken",
    "credentials",
    "impersonateServiceAccount",
    "impersonateServiceAccountDelegates",
)
"""The gcp provider's settings (``gcp:<key>``) that decide its identity."""
TERRAFORM = {
    "access_token": "accessToken",
    "credentials": "credentials",
    "impersonate_service_account": "impersonateServiceAccount",
    "impersonate_service_account_delegates": "impersonateServiceAccountDelegates",
}
"""The same settings under terraform's names, as ``gcp.Provider.terraform_config()`` gives them."""
ENVIRONMENT = {
    "accessToken": ("GOOGLE_OAUTH_ACCESS_TOKEN",),
    "credentials": ("GOOGLE_CREDENTIALS", "GOOGLE_CLOUD_KEYFILE_JSON", "GCLOUD_KEYFILE_JSON"),
    "impersonateServiceAccount": ("GOOGLE_IMPERSONATE_SERVICE_ACCOUNT",),
}
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


class IdentityError(Exception):
    """The configured identity cannot be used; the message never quotes a secret."""


def from_terraform(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The identity settings of a provider's terraform configuration, under ``KEYS``."""
    found = config or {}
    return {key: found[name] for name, key in TERRAFORM.items() if found.get(name)}


def settings(given: Mapping[str, Any] | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """The stack's values, with the environment filling in as the gcp provider lets it."""
    found = {key: value for key, value in (given or {}).items() if key in KEYS and value}
    if not found.get("accessToken") and not found.get("credentials"):
        for key in ("credentials", "accessToken"):
            value = next((environ[n] for n in ENVIRONMENT[key] if environ.get(n)), None)
            if value:
                found[key] = value
    if not found.get("impersonateServiceAccount"):
        names = ENVIRONMENT["impersonateServiceAccount"]
        if account := next((environ[n] for n in names if environ.get(n)), None):
            found["impersonateServiceAccount"] = account
    return found


def credentials(given: Mapping[str, Any] | None, environ: Mapping[str, str] = os.environ) -> Any:
    """google-auth credentials for ``given`` (the ``identity`` input) and ``environ``."""
    import google.auth  # noqa: PLC0415 - only the provider process needs it
    import google.auth.exceptions  # noqa: PLC0415
    import google.oauth2.credentials  # noqa: PLC0415
    from google.auth import impersonated_credentials  # noqa: PLC0415

    found = settings(given, environ)
    try:
        if token := found.get("accessToken"):
            source: Any = google.oauth2.credentials.Credentials(
                _path_or_contents(token, "accessToken").strip()
            )
        elif key := found.get("credentials"):
            info = json.loads(_path_or_contents(key, "credentials"))
            with warnings.catch_warnings():
                # It warns against keys from untrusted sources; this one is the stack owner's
                # own setting, and may be of any type the provider accepts (service account,
                # user, workload identity federation), which only the generic loader reads.
                warnings.simplefilter("ignore", DeprecationWarning)
                source, _ = google.auth.load_credentials_from_dict(info, scopes=list(SCOPES))
        else:
            source, _ = google.auth.default(scopes=list(SCOPES))
    except (ValueError, TypeError, google.auth.exceptions.GoogleAuthError) as error:
        raise IdentityError(_without_secrets(error, found)) from None
    account = found.get("impersonateServiceAccount")
    if not account:
        return source
    return impersonated_credentials.Credentials(
        source_credentials=source,
        target_principal=account,
        target_scopes=list(SCOPES),
        delegates=list(found.get("impersonateServiceAccountDelegates") or ()) or None,
    )


def _path_or_contents(value: str, key: str) -> str:
    """A file's contents when ``value`` names a readable file, else ``value`` itself (as the
    gcp provider reads ``credentials`` and ``accessToken``)."""
    path = os.path.expanduser(value)
    if os.path.isfile(path):  # False, not an error, for JSON text too long to be a file name
        try:
            return Path(path).read_text()
        except OSError as error:
            raise IdentityError(f"gcp:{key}: cannot read {path}: {error.strerror}") from None
    return value


def _without_secrets(error: Exception, found: Mapping[str, Any]) -> str:
    """Why the credentials could not be made, naming the setting, never its value."""
    source = (
        "gcp:accessToken"
        if found.get("accessToken")
        else "gcp:credentials"
        if found.get("credentials")
        else "Application Default Credentials"
    )
    if source.startswith("Application"):  # google-auth's own advice, and no secret to leak
        return f"{source} cannot be used: {error}"
    kind = "not a JSON key" if isinstance(error, json.JSONDecodeError) else type(error).__name__
    return (
        f"{source} cannot be used ({kind}); set it to a valid value "
        f"(`pulumi config set --secret {source} ...`)"
    )
