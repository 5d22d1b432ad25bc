"""Docker Compose's normalized output, turned into the typed model.

The binary has already expanded short syntax into long syntax, merged the files and checked the
schema; these steps convert types (durations, byte sizes, ports), resolve secrets and relative
paths, and read Berth's own ``x-berth-*`` extensions. As compose-go's loader, a pipeline of
steps, each its own module, each tested on its own with dicts (tests/test_normalize_*.py):

- ``secrets``: ``$$`` undone, a secret where it would be stored in plain text refused;
- ``service``: one service, field by field, through ``environment``, ``ports``,
  ``healthcheck``, ``deploy``, ``container``, ``mounts``, ``files`` and ``extensions``;
- ``volumes``: the top-level volumes;
- ``project``: the whole output, in that order (``Normalizer``, what ``berth.load`` calls);
- ``context``: what every step reads (the sources, the sealed secrets) and reports.
"""

from berth.normalize.project import Normalizer, normalized

__all__ = ["Normalizer", "normalized"]
