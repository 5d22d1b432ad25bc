"""Model values as Pulumi inputs: a ``Secret`` becomes a secret Output, the rest stays plain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi

from berth.model import Secret, Text


def text_input(value: Text) -> pulumi.Input[str]:
    if isinstance(value, Secret):
        return pulumi.Output.secret(value.value)
    return value


def texts_input(values: Sequence[Text] | None) -> list[pulumi.Input[str]] | None:
    if values is None:
        return None
    return [text_input(v) for v in values]


def env_input(environment: Mapping[str, Text]) -> dict[str, pulumi.Input[str]]:
    """Environment values in key order, secret ones as secret Outputs."""
    return {key: text_input(environment[key]) for key in sorted(environment)}


def env_list_input(environment: Mapping[str, Text]) -> list[pulumi.Input[str]]:
    """``KEY=value`` entries, in key order; an entry holding a secret is secret as a whole."""
    entries: list[pulumi.Input[str]] = []
    for key in sorted(environment):
        value = environment[key]
        if isinstance(value, Secret):
            entries.append(pulumi.Output.secret(f"{key}={value.value}"))
        else:
            entries.append(f"{key}={value}")
    return entries
