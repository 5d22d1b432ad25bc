"""The one picker every size table uses (berth/sizing.py): the smallest entry that holds the
request, never one rounded down, and None past the largest for the target to word."""

from __future__ import annotations

import pytest

from berth.providers.aws.sizing import FARGATE_PAIRS
from berth.providers.gcp.sizing import MACHINE_TYPES, SQL_SHARED_TIERS
from berth.sizing import GIB, MIB, Request

SIZES = (("small", 1, 2), ("wide", 4, 2), ("big", 4, 16))


@pytest.mark.parametrize(
    ("cpus", "memory", "picked"),
    [
        (None, None, "small"),
        (1, 2 * GIB, "small"),
        (1.01, None, "wide"),
        (None, 2 * GIB + 1, "big"),
        (4, 16 * GIB, "big"),
        (4.5, None, None),
        (None, 16 * GIB + 1, None),
    ],
)
def test_the_smallest_entry_that_holds_the_request(cpus, memory, picked):
    assert Request(cpus, memory).smallest(SIZES, GIB) == picked


def test_memory_is_counted_in_the_tables_unit():
    assert Request(None, 2 * GIB).smallest(SIZES, MIB) is None, "2048 MiB > every 16"
    assert Request(None, 16 * MIB).smallest(SIZES, MIB) == "big"


def test_every_fargate_pair_is_what_its_own_request_gets_and_a_hair_more_gets_more():
    for index, (pair, vcpus, mib) in enumerate(FARGATE_PAIRS):
        assert Request(vcpus, mib * MIB).smallest(FARGATE_PAIRS, MIB) == pair
        bigger = Request(vcpus, mib * MIB + 1).smallest(FARGATE_PAIRS, MIB)
        following = FARGATE_PAIRS[index + 1 :]
        assert bigger == next((p for p, c, m in following if c >= vcpus and m > mib), None)


def test_machine_types_and_shared_sql_tiers_pick_the_same_way():
    assert Request(2, 4 * GIB).smallest(MACHINE_TYPES, GIB) == "e2-medium"
    assert Request(2.5, None).smallest(MACHINE_TYPES, GIB) == "e2-standard-4"
    assert Request(0.2, 614 * MIB).smallest(SQL_SHARED_TIERS, MIB) == "db-f1-micro"
    assert Request(0.2, 614 * MIB + 1).smallest(SQL_SHARED_TIERS, MIB) == "db-g1-small"
    assert Request(0.6, None).smallest(SQL_SHARED_TIERS, MIB) is None, "a custom tier then"
