"""The images of the offline plan: what an image resource reports, and a tag's digest, under
Pulumi's mock engine, on every target.

One rule, so that every target's plan (and ``berth diff``, which feeds a built image's context
digest in as its inputs) agrees on when an image changed: a built image's digest is a hash of
its inputs, a pulled tag's a hash of its reference. Light on purpose: each target's package
imports it, and pulumi_docker loads slowly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

IMAGE = "docker:index/image:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"


def inputs_digest(inputs: Mapping[str, Any]) -> str:
    """A resource's inputs as a hex digest: the same inputs, the same digest, on every run."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def tag_digest(reference: str) -> str:
    """The digest an image's tag points at: one per reference."""
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


def image_outputs(type_: str, inputs: Mapping[str, Any], *, pushed: bool) -> dict[str, Any] | None:
    """What an image resource reports once created; None for any other type. A pushed image's
    ``repoDigest`` names its repository (``imageName`` without its tag); one kept in the local
    engine's is its id alone, and a pulled one's (``RemoteImage``) names the image pulled."""
    fingerprint = "sha256:" + inputs_digest(inputs)
    if type_ == IMAGE and pushed:
        repository = str(inputs.get("imageName", "")).rsplit(":", 1)[0]
        return {"repoDigest": f"{repository}@{fingerprint}", "imageName": inputs.get("imageName")}
    if type_ == IMAGE:
        return {"repoDigest": fingerprint, "imageName": inputs.get("imageName")}
    if type_ == REMOTE_IMAGE:
        return {"imageId": fingerprint, "repoDigest": f"{inputs.get('name')}@{fingerprint}"}
    return None
