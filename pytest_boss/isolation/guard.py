"""A shared cluster's baseline, and the check after each test that brings it back to it.

The baseline is what the pool made (with what the template loader made), then what wider
scoped fixtures added for the tests in their scope (a stack: pushed when such a fixture is
set up, popped when it ends). After a test, one query compares the cluster with the top of
the stack; `template1` and the template database are read again only when the server's
statistics say a session used them. What differs is repaired; what cannot be repaired with
certainty makes the caller replace the cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import admin
from ..admin import KeptSession
from ..boss.cluster import Cluster
from ..database import TEMPLATE_DB
from .repair import CannotRepair, Repairer
from .snapshot import CATALOGS, Change, Snapshot, catalogs_sql, facts_of, objects_sql, quick_sql

__all__ = ["CannotRepair", "Guard", "Outcome"]

Run = Callable[[str], list[tuple[str | None, ...]]]
Facts = dict[tuple[str, str], str]

#: Databases whose objects are compared besides `postgres` (when their statistics moved).
WATCHED = ("postgres", "template1", TEMPLATE_DB)
#: How long a test's closed connections may take to leave the server before they count.
EXIT_GRACE = 2.0


@dataclass
class Outcome:
    """What one check found: the changes, and whether they were repaired (else the cluster
    must be replaced: `unrepaired` says why)."""

    changes: list[Change]
    unrepaired: str | None = None

    def summary(self) -> str:
        """One line for the report."""
        listed = ", ".join(change.describe() for change in self.changes)
        if self.unrepaired is not None:
            return f"replaced the cluster ({self.unrepaired}): {listed}"
        return f"repaired: {listed}"


@dataclass
class Guard:
    """The baselines of one shared cluster and the check against the latest, asked through
    the cluster's kept session (a round trip, not a login, when the last test was short)."""

    kept: KeptSession
    #: Databases the plugin owns (tests' databases, spares): never a test's leftovers.
    owned: Callable[[str], bool]
    baselines: list[Snapshot] = field(default_factory=list)
    #: The objects of the watched databases in clusters copied from the same entry as this
    #: one, read by the first of them (copies hold the same objects until a test runs).
    copies: dict[str, dict[tuple[str, str], str]] = field(default_factory=dict)
    #: The statistics of the watched databases when their objects were last read.
    _activity: dict[str, str] = field(default_factory=dict)

    @property
    def cluster(self) -> Cluster:
        return self.kept.cluster

    @property
    def major(self) -> int:
        return self.cluster.version[0]

    # -- baselines ---------------------------------------------------------------------------

    def ensure_baseline(self) -> None:
        """The cluster as the pool made it, before its first test."""
        if not self.baselines:
            self.baselines.append(self.capture(self.kept.run, full=True, copies=self.copies))

    def push(self) -> None:
        """What the cluster holds now is the baseline until the matching `pop`."""
        self.baselines.append(self.capture(self.kept.run, full=True))

    def pop(self) -> Outcome | None:
        """Back to the previous baseline: what the popped scope made goes."""
        if len(self.baselines) > 1:
            self.baselines.pop()
        return self.check()

    def rebase(self) -> None:
        """Something of the plugin's changed the cluster (the template was filled): the top
        baseline is what the cluster holds now."""
        if self.baselines:
            self.baselines[-1] = self.capture(self.kept.run, full=True)

    # -- the check ---------------------------------------------------------------------------

    def capture(
        self, run: Run, full: bool = False, copies: dict[str, Facts] | None = None
    ) -> Snapshot:
        """The cluster now: one query in `postgres` (run by `run`); the shared catalogs and
        a watched database's objects are read too when `full`, or when their statistics say
        rows were written there since they were last read."""
        facts = facts_of(run(quick_sql(self.major, WATCHED)))
        parts = {}
        for (kind, name), detail in facts.items():
            if kind != "activity":
                continue
            if full or detail != self._activity.get(name) or "track_counts=off" in detail:
                if copies is not None and name != CATALOGS and name in copies:
                    parts[name] = copies[name]
                else:
                    parts[name] = facts_of(self._read(run, name))
                    if copies is not None and name != CATALOGS:
                        copies[name] = parts[name]
                self._activity[name] = detail
        return Snapshot(facts, parts)

    def _read(self, run: Run, part: str) -> list[tuple[str | None, ...]]:
        if part == CATALOGS:
            return run(catalogs_sql(self.major))
        if part == "postgres":
            return run(objects_sql())
        return admin.query(self.cluster, objects_sql(), part)

    def check(self, settle: Callable[[], None] = lambda: None) -> Outcome | None:
        """Compare with the baseline; repair what differs (after `settle`, which waits for
        the plugin's own background work). None when nothing differed."""
        base = self.baselines[-1]
        changes = self._changes(base, self.kept.run)
        if not changes:
            return None
        settle()
        self.kept.close()  # a repair may make `postgres` again: no session of ours is there
        repairer = Repairer(
            lambda sql, dbname: admin.query(self.cluster, sql, dbname),
            self.cluster.user,
            self.major,
            base,
        )
        try:
            repairer.repair(changes)
            left = base.changes(self.capture(self.kept.run), self._ignored)
        except CannotRepair as exc:
            return Outcome(changes, str(exc))
        except Exception as exc:  # a repair statement failed: not certain any more
            return Outcome(changes, f"{type(exc).__name__}: {exc}")
        if left:
            return Outcome(changes, "still different: " + ", ".join(c.describe() for c in left))
        return Outcome(changes)

    def _changes(self, base: Snapshot, run: Run) -> list[Change]:
        """The changes, once the test's closed connections have left the server."""
        deadline = time.monotonic() + EXIT_GRACE
        while True:
            changes = base.changes(self.capture(run), self._ignored)
            leaving = [c for c in changes if c.kind == "connection"]
            if len(leaving) < len(changes) or not leaving or time.monotonic() > deadline:
                return changes
            time.sleep(0.005)

    def _ignored(self, change: Change) -> bool:
        """The plugin's own databases, and what belongs to them (settings, sessions)."""
        if change.kind == "database":
            return self.owned(change.name)
        if change.kind == "setting":
            return self.owned(change.name.split(" ", 1)[0])
        if change.kind == "connection":
            # A session gone since the baseline (one leaving as it was taken) is no leftover.
            return change.now is None or self.owned(change.now.split("|", 1)[0])
        return False
