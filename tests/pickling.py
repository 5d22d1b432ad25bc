"""The round trip the engine makes with a dynamic provider: pickled in the program, loaded in a
separate provider process started in the project root."""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap

from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider

from tests.conftest import ROOT


def unpickled_in_project_root(provider: ResourceProvider, probe: str) -> str:
    """Run ``probe`` (with ``provider`` loaded from its pickle) in a fresh interpreter in the
    project root; what it prints. The provider must be pickled by reference to its module."""
    serialized = serialize_provider(provider)
    module = type(provider).__module__
    assert module.encode() in base64.b64decode(serialized), "pickled by reference"
    script = (
        "import base64, sys, dill\n"
        "provider = dill.loads(base64.b64decode(sys.stdin.read()))\n" + textwrap.dedent(probe)
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=serialized,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
