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

IMAGE = "docker-build:index:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
IMAGE_SETTINGS = (
    "buildArgs", "target", "platforms", "labels", "addHosts", "network", "noCache", "pull",
)  # fmt: skip
"""Build inputs the image is made with besides its contexts (``context``, ``dockerfile``):
labels go into its config; a RUN step's hosts or network, a build without the cache, or base
images pulled again make its layers anew. Nothing else makes it: not where it goes, its cache,
who pushes it, nor the secrets and SSH keys its RUN steps read (never a layer, so never hashed
into the plan). One rule for the mock and for ``berth diff`` (``offline.contexts``)."""


def inputs_digest(inputs: Mapping[str, Any]) -> str:
    """A resource's inputs as a hex digest: the same inputs, the same digest, on every run."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def tag_digest(reference: str) -> str:
    """The digest an image's tag points at: one per reference."""
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


def image_outputs(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """What an image resource reports once created; None for any other type. A built image's
    ``digest`` is a hash of what makes it (not of where it goes, as a rebuild from the cache
    is the same image), its ``ref`` its first tag at that digest; a pulled one
    (``RemoteImage``) has an ID and names the image pulled."""
    if type_ == IMAGE:
        made = {key: inputs.get(key) for key in ("context", "dockerfile", *IMAGE_SETTINGS)}
        digest = "sha256:" + inputs_digest(made)
        tags = inputs.get("tags") or [""]
        return {"digest": digest, "ref": f"{tags[0]}@{digest}", "contextHash": digest[7:]}
    if type_ == REMOTE_IMAGE:
        # The ID of an image Berth built and loaded is its build's (``pullTriggers``: the
        # digest), whatever the tag it is read by; a pulled one's stands for its reference.
        fingerprint = "sha256:" + inputs_digest(inputs.get("pullTriggers") or inputs)
        return {"imageId": fingerprint, "repoDigest": f"{inputs.get('name')}@{fingerprint}"}
    return None
