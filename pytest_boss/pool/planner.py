"""Which running cluster to stop when another must start: pure bookkeeping, no server.

The planner is told once the pool key of every collected test, in run order, and follows
the worker as it goes through them. When the pool is full, the clusters to stop are those
needed again the latest (never needed again first); among equals, the least recently used.
Without a known order this is plain least-recently-used.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

__all__ = ["Planner"]

K = TypeVar("K", bound=Hashable)


class Planner:
    """Where each pool key is used in the session's test order, and how far the worker is."""

    def __init__(self) -> None:
        self._uses: dict[Hashable, list[int]] = {}
        self._position = 0
        self.planned = False

    def plan(self, keys: Iterable[Hashable | None]) -> None:
        """Record the key of each test in run order (None: a test whose key is unknown)."""
        self.planned = True
        for index, key in enumerate(keys):
            if key is not None:
                self._uses.setdefault(key, []).append(index)

    def advance(self, key: Hashable) -> None:
        """A test with `key` runs now: move past its place in the planned order."""
        uses = self._uses.get(key, [])
        at = bisect.bisect_left(uses, self._position)
        if at < len(uses):
            self._position = uses[at] + 1

    def next_use(self, key: Hashable) -> float:
        """How many tests ahead `key` is needed again (infinity: never)."""
        uses = self._uses.get(key, [])
        at = bisect.bisect_left(uses, self._position)
        return uses[at] - self._position if at < len(uses) else math.inf

    def to_stop(self, running: Sequence[K], capacity: int) -> list[K]:
        """Of the running keys (least recently used first), those to stop so that one more
        cluster fits in `capacity`."""
        excess = max(0, len(running) - capacity + 1)
        by_need = sorted(running, key=lambda key: -self.next_use(key))  # stable: LRU order
        return by_need[:excess]
