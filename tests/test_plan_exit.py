"""The offline plan leaves nothing for the interpreter to clean up at exit.

An event loop left open is closed by the garbage collector at exit, in whatever order the
interpreter tears objects down; when its self-pipe socket goes first, Python prints
``Exception ignored ... Invalid file descriptor: -1`` after a successful plan.
"""

from __future__ import annotations

import asyncio
import gc
import threading

from berth.offline.plan import plan_config, run_plan
from tests.conftest import EXAMPLES


def test_a_plan_closes_every_event_loop_and_thread_it_made():
    config, secret_keys = plan_config([str(EXAMPLES / "migrate" / "compose.yaml")])

    run_plan(config, secret_keys)

    gc.collect()
    open_loops = [
        o
        for o in gc.get_objects()
        if isinstance(o, asyncio.AbstractEventLoop) and not o.is_closed()
    ]
    assert open_loops == []
    assert not [t for t in threading.enumerate() if t.name.startswith("berth-plan")]
