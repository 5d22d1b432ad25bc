"""Berth's domain: compose files loaded into a typed model, and the deployment workflow.

The program's layers are this package's subpackages, ``berth.components``, ``berth.providers``
and ``berth.offline``, so that a Pulumi program of one's own, with its own ``components/`` or
``providers/`` folder, imports Berth without a collision. Installed (``pip install``), they are
folders inside this package; in Berth's repository they sit at its root beside Pulumi.yaml, as
a Pulumi program keeps them, and the finder below gives them the same names there.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path

LAYERS = ("components", "providers", "offline")
"""The program's layers above the domain, in the order they build on each other."""


class _RepositoryLayers(MetaPathFinder):
    """Finds ``berth.<layer>`` at the repository's root; only those names, nothing else there."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> ModuleSpec | None:
        package, _, layer = fullname.partition(".")
        if package != __name__ or layer not in LAYERS:
            return None
        folder = self.root / layer
        return spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )


def _in_repository() -> Path | None:
    """The repository root when this package runs from it, not installed."""
    here = Path(__file__).resolve().parent
    root = here.parent
    if (here / LAYERS[0]).is_dir():
        return None
    return root if all((root / layer / "__init__.py").is_file() for layer in LAYERS) else None


if (_root := _in_repository()) and not any(isinstance(f, _RepositoryLayers) for f in sys.meta_path):
    sys.meta_path.insert(0, _RepositoryLayers(_root))
