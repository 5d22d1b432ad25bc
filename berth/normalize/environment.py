"""A service's environment: each value a ``Secret`` where it holds one; a bare key no value
reached is kept aside, and all of them refused at once when every service is read."""

from __future__ import annotations

from typing import Any

from berth.errors import BerthError
from berth.model import Text
from berth.normalize.context import Context
from berth.quantities import Fail


def environment(context: Context, raw: dict[str, Any], fail: Fail) -> dict[str, Text]:
    environment: dict[str, Text] = {}
    for key, value in sorted(raw.items()):
        if value is None:
            context.unset[str(key)] = fail("environment", "")
            continue
        environment[str(key)] = context.sealed.reveal(str(value))
    return environment


def refuse_unset(unset: dict[str, BerthError]) -> None:
    """One error for every bare environment key no value reached, so that a first
    deployment needs one round of setting values, not one per key."""
    if not unset:
        return
    keys = sorted(unset)
    first = unset[keys[0]]
    services = sorted({str(e.service) for e in unset.values()})
    raise BerthError(
        f"{', '.join(keys)} {'has' if len(keys) == 1 else 'have'} no value: no variable "
        f"sets {'it' if len(keys) == 1 else 'them'} and .env does not either (used by "
        f"{', '.join(services)})",
        file=first.file,
        service=first.service if len(services) == 1 else None,
        field="environment",
        hint=lambda terms: (
            f"set {'it' if len(keys) == 1 else 'each'} with "
            + "; ".join(terms.how_to_set(key, secret=True) for key in keys)
            + f" (or {terms.how_to_set(keys[0])} for a value that is not secret)"
        ),
    )
