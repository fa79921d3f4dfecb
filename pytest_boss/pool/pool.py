"""The clusters of one installation in one worker: the pool that ties its parts together.

Two tests share a cluster when they need the same initdb options and the same
postmaster-level settings (`needs.py` decides); their reloadable settings and hba rules are
applied per test (`reconcile.py`). At most `pool_size` clusters run at once: the one needed
again the latest is stopped, not deleted, to make room (`planner.py`). Clusters are made,
started and discarded by `provision.py`; `pg_database`'s databases come from
`databases.py`. Private clusters (`pg_cluster_factory`) are made the same way and belong to
one test.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .. import admin
from ..boss._reload import refused
from ..boss.cluster import Cluster, ClusterError, SQLError
from ..boss.control import ControlError
from ..boss.installation import Installation
from ..database import Database
from ..errors import BossUsageError, CacheWriteWarning, HbaRuleError
from ..markers import Needs
from ..template import TemplateCache
from ..workspace import Workspace
from .databases import Databases, TemplateLoader
from .loading import Load, TemplateSpec
from .needs import NeedsChecker
from .planner import Planner
from .provision import Provisioner
from .reconcile import Reconciler, answers
from .state import Pooled, PoolKey

if TYPE_CHECKING:
    from ..isolation import Guard, Outcome

__all__ = ["ClusterPool", "FirstUse"]

#: Told of the first pooled cluster a test asks for: (bin folder, postmaster settings,
#: initdb options, the cached template it holds: key, lineage, label); see ahead.py.
FirstUse = Callable[
    [str, Mapping[str, str], Mapping[str, object], "tuple[str, str, str] | None"], None
]


class ClusterPool:
    """The clusters of one installation in one worker."""

    def __init__(
        self, workspace: Workspace, installation: Installation, on_first_use: FirstUse | None = None
    ) -> None:
        self.workspace = workspace
        self.installation = installation
        self.needs = NeedsChecker(installation, workspace.cache_dir)
        self.planner = Planner()
        self.provisioner = Provisioner(installation, workspace, lambda: self.templates)
        self.reconciler = Reconciler(self.provisioner)
        self.databases = Databases(workspace.options.worker, installation.major)
        self._on_first_use = on_first_use
        #: What fills pg_database's template: pooled clusters are copies of its entry.
        self.template: TemplateSpec | None = None
        self._entries: OrderedDict[PoolKey, Pooled] = OrderedDict()
        self._private: list[Pooled] = []
        #: What isolation read of the databases of each template cache entry's copies.
        self._copies: dict[tuple[str | None, object], dict[str, Any]] = {}

    @cached_property
    def templates(self) -> TemplateCache:
        return TemplateCache(self.workspace.cache_dir, self.workspace.run_dir())

    # -- before the first test ---------------------------------------------------------------

    def use_template(self, spec: TemplateSpec | None) -> None:
        """Pooled clusters from now on are copies of the entry `spec` filled; one made with
        another template (ahead of the first test, say) is replaced when a test asks."""
        self.template = spec

    def plan(self, needs: Iterable[Needs]) -> None:
        """Look once at what the session's tests need (their merged markers): check their
        settings with one server run, and tell the planner their keys in run order."""
        self._join_ahead()
        if self.planner.planned:
            return
        planned = list(needs)
        self.needs.check_all(planned)
        self.planner.plan(self._key_or_none(one) for one in planned)

    def _key_or_none(self, needs: Needs) -> PoolKey | None:
        try:
            return self.needs.key_of(needs)[0]
        except Exception:  # a test's bad setting is reported by that test, not here
            return None

    def start_ahead(self, needs: Needs) -> None:
        """Make the cluster for `needs` in a background thread, before any test asks for it
        (see ahead.py); every other use of the pool waits for it first."""
        if self.provisioner.ahead is not None or self._entries:
            return
        thread = threading.Thread(
            target=self._make_ahead, args=(needs,), name="pytest-boss-ahead", daemon=True
        )
        self.provisioner.ahead = thread
        thread.start()

    def _make_ahead(self, needs: Needs) -> None:
        # A guess from the last run: when it fails, the first test that needs the cluster
        # makes it again and reports what went wrong (`make` leaves nothing running).
        with contextlib.suppress(Exception):
            self.needs.check_init(needs.init)
            template = self.template
            if template is not None and not self.provisioner.has_loaded(needs.init, template):
                return  # a cluster without the template: the first test would replace it
            key, _ = self.needs.key_of(needs)
            self._new_entry(key, needs.init)

    def _join_ahead(self) -> None:
        thread = self.provisioner.ahead
        if thread is not None:
            thread.join()
            self.provisioner.ahead = None

    # -- pooled clusters ---------------------------------------------------------------------

    def acquire(self, needs: Needs) -> tuple[Pooled, dict[str, str]]:
        """The cluster for these needs (made, or started again, when it is not running), and
        the reloadable settings the lease brings it to with `lend`."""
        self._join_ahead()
        self.needs.admit(needs.conf, needs.hba, needs.init)
        key, reloadable = self.needs.key_of(needs)
        if self._on_first_use is not None:
            spec = self.template
            held = (spec.key, spec.lineage, spec.label) if spec and spec.cached else None
            self._on_first_use(self.installation.bindir, dict(key.postmaster), needs.init, held)
            self._on_first_use = None
        self.planner.advance(key)
        pooled = self._entries.get(key)
        wanted = self.template.key if self.template is not None else None
        if pooled is not None and pooled.template != wanted and pooled.template_error is None:
            self._replace(pooled)
            pooled = None
        if pooled is None:
            pooled = self._new_entry(key, needs.init)
        else:
            self._entries.move_to_end(key)
            if not pooled.cluster.running():
                self._make_room()  # `lend` starts it
        return pooled, reloadable

    def _new_entry(self, key: PoolKey, init: Mapping[str, object]) -> Pooled:
        self._make_room()
        template = self.template
        # Ahead of the first test the template is a guess (a conftest may override the
        # loader): copy its entry when cached, never run a loader for it.
        ahead = self.provisioner.ahead is threading.current_thread()
        if template is not None and ahead and not self.provisioner.has_loaded(init, template):
            template = None
        try:
            pooled = self.provisioner.make(init, dict(key.postmaster), (), key, template)
        except Exception:
            failure = self.provisioner.load_failure(init, template) if template else None
            if failure is None:
                raise
            # The template is pg_database's business: the cluster serves the tests that do
            # not need it, and pg_database raises why it is missing.
            pooled = self.provisioner.make(init, dict(key.postmaster), (), key, None)
            pooled.template_error = failure
        self._entries[key] = pooled
        return pooled

    def _make_room(self) -> None:
        """Stop what the planner says must go for one more cluster to run."""
        running = [key for key, p in self._entries.items() if p.cluster.running()]
        for key in self.planner.to_stop(running, self.workspace.options.pool_size):
            pooled = self._entries[key]
            pooled.settle()
            self.provisioner.stop(pooled)

    def running(self) -> list[Cluster]:
        """The pooled clusters running now (private ones not included)."""
        self._join_ahead()
        return [p.cluster for p in self._entries.values() if p.cluster.running()]

    def wanted_files(
        self, pooled: Pooled, settings: Mapping[str, str], rules: Sequence[str], replace: bool
    ) -> dict[str, bytes]:
        """The pool's files with a test's reloadable settings and hba rules."""
        return self.reconciler.wanted_files(pooled, settings, rules, replace)

    def lend(self, pooled: Pooled, files: Mapping[str, bytes]) -> Pooled:
        """Bring a cluster from whatever the last test left to `files` for the next test. A
        cluster that will not come is replaced by a new one (returned)."""
        try:
            self.reconciler.bring(pooled, files)
        except HbaRuleError:
            raise
        except (ControlError, ClusterError, OSError, BossUsageError, SQLError):
            if pooled.key is None:
                raise
            self._replace(pooled)
            pooled = self._new_entry(pooled.key, pooled.init)
            self.reconciler.bring(pooled, files)
        pooled.settle(spare=False)  # the last test's database is gone before this one
        return pooled

    def reload(self, pooled: Pooled) -> list[str]:
        """Reload after a test's handle changed the files; the settings that need a restart.
        The pool forgets what it knew of the files: the next `lend` looks at them again."""
        pooled.loaded = None
        return admin.reload_and_wait(pooled.cluster, refused_means_done=True).pending

    def forget_files(self, cluster: Cluster) -> None:
        """Something other than the pool changed this cluster's files (a standby was made
        of it): the next `lend` reads them again instead of trusting what it knew."""
        for pooled in [*self._entries.values(), *self._private]:
            if pooled.cluster is cluster:
                pooled.loaded = None

    def holds(self, pooled: Pooled) -> bool:
        """Whether the cluster is still one of the pool's (not replaced)."""
        return pooled in self._entries.values()

    def before_check(self, cluster: Cluster, end: Callable[[], None]) -> None:
        """Have `end` run before the isolation check after the test, when `cluster` is a
        pooled one (a standby of it must go before its connections are counted)."""
        for pooled in self._entries.values():
            if pooled.cluster is cluster:
                pooled.before_check.append(end)

    def _replace(self, pooled: Pooled) -> None:
        """A cluster a test broke beyond repair: drop it; the key gets a new one on demand."""
        for key, entry in list(self._entries.items()):
            if entry is pooled:
                del self._entries[key]
        self.provisioner.discard(pooled)

    # -- isolation ---------------------------------------------------------------------------

    def guard(self, pooled: Pooled) -> Guard | None:
        """The baselines of a pooled cluster (taken at its first lease); None when isolation
        is off or the cluster is a test's own."""
        if self.workspace.options.isolation == "off" or pooled.key is None:
            return None
        if pooled.guard is None:
            from ..isolation import Guard

            copies = self._copies.setdefault((pooled.template, pooled.key.init), {})
            pooled.guard = Guard(pooled.kept, self.databases.owns, copies=copies)
        pooled.guard.ensure_baseline()
        return pooled.guard

    def isolate(self, pooled: Pooled, finished: Sequence[Database] = ()) -> Outcome | None:
        """After a test: drop its databases (in the background), and bring the cluster back
        to its baseline. A cluster that cannot be repaired with certainty is replaced (the
        next test gets a fresh copy)."""
        ending, pooled.before_check = pooled.before_check, []
        for end in ending:  # standbys streaming from it go first: they are not leftovers
            end()
        guard = pooled.guard
        if guard is None or pooled not in self._entries.values():
            # Not when stopped by the test: the next lend starts it, and drops are in vain.
            for database in finished if finished and answers(pooled.cluster) else ():
                self.databases.drop(pooled, database)
            return None
        try:
            try:
                outcome = guard.check(settle=pooled.settle)
            except SQLError as exc:
                if not refused(exc):
                    if not answers(pooled.cluster):
                        return None  # stopped by the test: the next lend starts it again
                    raise
                # The test's own rules shut the plugin out: the pool's rules let it in again.
                if self.lend(pooled, dict(pooled.base)) is not pooled:
                    return None
                outcome = guard.check(settle=pooled.settle)
        except BaseException:
            self._replace(pooled)  # its state is unknown: no other test gets it
            raise
        if outcome is not None and outcome.unrepaired is not None:
            self._replace(pooled)
            return outcome
        # The check leaves the plugin's own databases (and their sessions) to these drops.
        for database in finished:
            self.databases.drop(pooled, database)
        return outcome

    # -- private clusters and databases ------------------------------------------------------

    def private(
        self,
        conf: Mapping[str, str],
        hba: Sequence[str],
        init: Mapping[str, object],
        template: bool = False,
    ) -> Pooled:
        """A new running cluster for one test (pg_cluster_factory); with `template`, it
        holds the loaded template database, as pooled clusters do."""
        self._join_ahead()
        self.needs.admit(conf, hba, init)
        spec = self.template if template else None
        pooled = self.provisioner.make(init, conf, hba, None, spec)
        self._private.append(pooled)
        return pooled

    def discard_private(self, pooled: Pooled) -> None:
        if pooled in self._private:
            self._private.remove(pooled)
        self.provisioner.discard(pooled)

    def new_database(self, pooled: Pooled, loader: TemplateLoader | None) -> Database:
        """A fresh database copied from the cluster's template database (filled once)."""
        return self.databases.new(pooled, loader)

    @property
    def loads(self) -> list[Load]:
        """The templates this pool used: loaded now, or copied from the cache."""
        return self.provisioner.loads

    # -- the end -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every server of the pool (and remove their folders unless kept)."""
        self._join_ahead()
        errors: list[BaseException] = []
        everything = [*self._private, *self._entries.values()]
        if not self.workspace.options.keep:
            # Every server told at once to go; each is then awaited and removed, their
            # shutdowns overlapping.
            for pooled in everything:
                pooled.settle()
                pooled.log_out()
                with contextlib.suppress(ControlError, OSError):
                    if pooled.cluster.running():
                        pooled.cluster.stop("fast", nowait=True)
        for pooled in everything:
            try:
                self.provisioner.discard(pooled)
            except Exception as exc:
                errors.append(exc)
        self._private.clear()
        self._entries.clear()
        self.databases.close()
        if "templates" in self.__dict__:  # a template entry may still be being stored
            for failure in self.templates.wait():
                warnings.warn(CacheWriteWarning(str(failure)), stacklevel=2)
        if errors:
            raise errors[0]
