"""How the repository's root folders become one installed package (see berth/__init__.py).

The Pulumi program's layout stays as a Pulumi program keeps it (components/, providers/ and
offline/ beside Pulumi.yaml); installed, they are ``berth.components``, ``berth.providers`` and
``berth.offline``, every subpackage included, so a new target's package needs no line here.
"""

import sys
from pathlib import Path

from setuptools import find_packages, setup

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the source tree being built
from berth import LAYERS

FOLDERS = {"berth": "berth", **{f"berth.{layer}": layer for layer in LAYERS}}

setup(
    package_dir=FOLDERS,
    packages=[
        package
        for name, folder in FOLDERS.items()
        for package in (name, *(f"{name}.{sub}" for sub in find_packages(folder)))
    ],
)
