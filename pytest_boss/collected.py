"""Which collected tests use a pooled cluster, and what they need of it, before they run.

The pool plans its stops from this, and the first cluster is started ahead from it. A test
uses a pooled cluster when it asks for `_pg_lease` (every cluster fixture does); an
integration whose fixtures lease one only once they run (`pytest_boss.django`) adds a
finder that recognises its tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest

from .errors import MarkerError
from .markers import Needs, needs_of

__all__ = ["LEASE_FIXTURE", "add_finder", "cluster_needs", "needs_in_order"]

#: The fixture through which a test uses a pooled cluster.
LEASE_FIXTURE = "_pg_lease"

#: Says what a collected test needs of a pooled cluster, or None when it is not the
#: finder's to say (it may raise MarkerError for a malformed marker).
Finder = Callable[[pytest.Item], "Needs | None"]
_FINDERS = pytest.StashKey[list[Finder]]()


def add_finder(config: pytest.Config, finder: Finder) -> None:
    """Recognise more tests as users of a pooled cluster (once per finder)."""
    finders = config.stash.setdefault(_FINDERS, [])
    if finder not in finders:
        finders.append(finder)


def cluster_needs(item: pytest.Item) -> Needs | None:
    """What `item` needs of a pooled cluster; None when it uses none. A malformed marker
    raises MarkerError."""
    if LEASE_FIXTURE in getattr(item, "fixturenames", ()):
        return needs_of(item)
    for finder in item.config.stash.get(_FINDERS, []):
        needs = finder(item)
        if needs is not None:
            return needs
    return None


def needs_in_order(items: Sequence[pytest.Item]) -> Iterator[Needs]:
    """The needs of the tests among `items` that use a pooled cluster, in run order; a test
    whose marker is malformed is left out (it reports that itself when it runs)."""
    for item in items:
        try:
            needs = cluster_needs(item)
        except MarkerError:
            continue
        if needs is not None:
            yield needs
