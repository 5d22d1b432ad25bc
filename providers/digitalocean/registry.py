"""The container registry Berth pushes built images to: its plan, and the token to push with.

Each built service or job is pushed to a repository of its own (a hook that runs its service's
image needs none), so the plan must hold them all (docs/digitalocean.md, *The container
registry*). Pulumi-free.
"""

from __future__ import annotations

import base64
import json

from berth.errors import BerthError
from berth.providers.digitalocean.options import (
    BASIC_REPOSITORIES,
    REGISTRY_TIER,
    REGISTRY_TIERS,
    DigitalOceanOptions,
)


def registry_tier(
    repositories: int, options: DigitalOceanOptions, warnings: list[str]
) -> str | None:
    """The registry's plan. Berth pushes each built service or job to a repository of its own:
    a plan set in ``digitaloceanRegistryTier`` must hold them all (refused in one line if not);
    unset, the registry Berth creates is basic (5 repositories, 5 GiB, more storage billed), or
    professional beyond 5 (unlimited, 100 GiB) -- never starter, whose 500 MiB take no extra
    storage, so a push fails once two versions of one image fill them. The account's own
    registry is of a plan Berth does not know: None, with a warning beyond basic's 5."""
    tier = options.registry_tier
    if tier is not None:
        limit = REGISTRY_TIERS[tier]
        if limit is not None and repositories > limit:
            needed = "basic" if repositories <= BASIC_REPOSITORIES else "professional"
            raise BerthError(
                f"berth:{REGISTRY_TIER} is {tier}, which holds {limit} "
                f"{'repository' if limit == 1 else 'repositories'}, but the project pushes "
                f"{repositories} built images, each to a repository of its own",
                hint=lambda terms: (
                    f"{terms.how_to_set(REGISTRY_TIER, needed)}, or leave it "
                    "unset: basic, or professional beyond 5 built images"
                ),
            )
        return tier
    if options.registry is not None:
        if repositories > BASIC_REPOSITORIES:
            given = options.registry
            named = f"registry '{given}'" if isinstance(given, str) else "the given registry"
            warnings.append(
                f"{named}: the project pushes {repositories} built images, "
                f"each to a repository of its own: only a professional registry holds more "
                f"than {BASIC_REPOSITORIES}; set {REGISTRY_TIER} to have its plan checked"
            )
        return None
    if repositories <= BASIC_REPOSITORIES:
        return "basic"
    warnings.append(
        f"registry: professional (20 USD a month, 100 GiB), as the project pushes {repositories} "
        f"built images, each to a repository of its own, and a basic registry holds "
        f"{BASIC_REPOSITORIES}"
    )
    return "professional"


def push_token(docker_config: str) -> str:
    """The password of a Docker config's one registry entry (``auth`` is ``user:password``)."""
    (entry,) = json.loads(docker_config)["auths"].values()
    return base64.b64decode(entry["auth"]).decode().split(":", 1)[1]
