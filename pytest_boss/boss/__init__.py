"""The boss core: create, configure and control PostgreSQL clusters.

A plain library with no pytest import, usable from scripts, a REPL or another test runner.
Every error it raises on purpose derives from :class:`BossError`.
"""

from ._errors import BossError, LineError

__all__ = ["BossError", "LineError"]
