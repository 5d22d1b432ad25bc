"""Proof that a secret value only ever travels inside Pulumi's secret wrapper."""

from __future__ import annotations

from typing import Any

from berth.components.pulumi_internals import is_secret
from berth.offline.plan import Plan


def plain_occurrences(node: Any, value: str, path: str = "") -> list[str]:
    """Paths where ``value`` appears outside a secret wrapper."""
    if isinstance(node, dict):
        if is_secret(node):
            return []
        return [p for k, v in node.items() for p in plain_occurrences(v, value, f"{path}.{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in plain_occurrences(v, value, f"{path}[{i}]")]
    if isinstance(node, str) and value in node:
        return [path]
    return []


def assert_never_plain(plan: Plan, *values: str) -> None:
    """No resource input, displayed input or warning holds any of ``values`` in plain text."""
    for value in values:
        for registration in plan.registrations:
            leaks = plain_occurrences(registration.raw_inputs, value)
            assert not leaks, f"{value!r} in plain text in {registration.urn}: {leaks}"
            assert value not in repr(registration.inputs)
        assert not any(value in warning for warning in plan.warnings)


def count_wrapped(plan: Plan, value: str) -> int:
    """How many secret-wrapped inputs carry ``value``: proof the secret did reach resources."""

    def walk(node: Any) -> int:
        if isinstance(node, dict):
            if is_secret(node):
                return int(value in repr(node.get("value")))
            return sum(walk(v) for v in node.values())
        if isinstance(node, list):
            return sum(walk(v) for v in node)
        return 0

    return sum(walk(r.raw_inputs) for r in plan.registrations)
