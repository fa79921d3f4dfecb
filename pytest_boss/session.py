"""The per-process state of a pytest run: options, installations, pools, cleanup.

One `BossSession` lives in `config.stash` from `pytest_configure` on (each xdist worker has
its own). Pools are made lazily, on the first test that needs a cluster, and every server
they start is stopped by `close()`: from the session fixture's `finally`, from
`pytest_unconfigure`, and from an `atexit` handler as the last safety net.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pytest

from . import ahead
from .boss.installation import (
    Installation,
    InstallationError,
    ProbeCache,
    find_installation,
    installation_from_path,
)
from .collected import cluster_needs
from .errors import MarkerError, PytestBossError
from .options import RunOptions
from .scopes import Scopes
from .workspace import Workspace

if TYPE_CHECKING:
    from .loaders import Loader, Sources
    from .pool import ClusterPool
    from .pool.loading import Load, TemplateSpec

__all__ = ["BossSession", "default_loader", "installations_for", "session_of"]

#: Collected tests looked at for the first one that needs a cluster (a bound on the time
#: spent between collection and the first test).
FIRST_ITEMS = 5000


class BossSession:
    """What one pytest process knows about its PostgreSQL clusters."""

    KEY = pytest.StashKey["BossSession"]()

    def __init__(self, config: pytest.Config, options: RunOptions) -> None:
        self.config = config
        self.options = options
        self.workspace = Workspace(options)
        self._pools: dict[str, ClusterPool] = {}
        self._closed = False
        self._expected_loader: Loader | None = None
        #: Where this run's first-cluster hint lives (see ahead.py), and whether a test asked.
        self._hint: str | None = None
        self._first_noted = False
        self._ahead_started = False
        #: What xdist workers said about the templates they used (the controller's).
        self.worker_loads: list[str] = []
        #: The fixture being set up, and what pg_database_factory tied to fixtures.
        self.scopes = Scopes()
        atexit.register(self.close)

    # -- installations and pools -------------------------------------------------------------

    def pool(self, installation: Installation) -> ClusterPool:
        """The pool of clusters of one installation (made on first use)."""
        from .pool import ClusterPool

        if self._closed:
            raise PytestBossError("pytest-boss: the session is closed; no new clusters")
        if installation.bindir not in self._pools:
            self._install_signal_handlers()
            pool = ClusterPool(self.workspace, installation, on_first_use=self.note_first)
            # Until a test's fixtures say otherwise: what the default pg_template_loader
            # gives, so that a cluster made ahead of the first test holds it already.
            with contextlib.suppress(PytestBossError):
                pool.use_template(self.template_spec(self.expected_loader))
            self._pools[installation.bindir] = pool
        return self._pools[installation.bindir]

    @property
    def expected_loader(self) -> Loader | None:
        """What the pg_template_loader fixture is expected to give before it runs: an
        integration's own loader when it said so (`expect_loader`), else the default."""
        return self._expected_loader or self.default_loader

    def expect_loader(self, loader: Loader) -> None:
        """An integration overrides pg_template_loader with `loader` (pytest_boss.django:
        Django's migrations); pools made from now on guess that template for the cluster
        made ahead (copied when cached; never loaded for a guess)."""
        self._expected_loader = loader

    @functools.cached_property
    def default_loader(self) -> Sources | None:
        """What the pg_template option says fills pg_database's template (one object per
        run, so its content key is computed once), or None."""
        return default_loader(self.options)

    def template_spec(self, loader: Loader | None) -> TemplateSpec | None:
        """The loader with its content key (its own, plus the pg_template_key files)."""
        from .pool.loading import template_spec

        options = self.options
        return template_spec(loader, options.template_key, options.rootdir, options.run_id)

    def loads(self) -> list[Load]:
        """The templates this process's pools used (loaded now, or from the cache)."""
        return [load for pool in self._pools.values() for load in pool.loads]

    # -- the first cluster, ahead of the first test (ahead.py) -------------------------------

    def start_ahead(self) -> None:
        """Start, in the background, the cluster the last run started this way made first."""
        cache_dir = self.options.cache_dir
        if cache_dir is None:
            return
        self._hint = ahead.hint_path(
            cache_dir, self.options.rootdir, ahead.selection(self.config), self.options.worker
        )
        hint = ahead.read_hint(self._hint)
        if hint is None:
            return
        installation = self._installation_at(hint.bindir)
        if installation is not None:
            self._ahead_started = True
            pool = self.pool(installation)
            if hint.template is not None:
                # A conftest's loader is known only once fixtures run; the last run's
                # cached template is the better guess (the ahead cluster copies it only
                # when cached, and the real loader replaces the guess either way).
                from .pool.loading import guessed_template

                pool.use_template(guessed_template(*hint.template))
            pool.start_ahead(hint.needs)

    def start_for(self, items: Sequence[pytest.Item]) -> None:
        """Collection is done and nothing was started ahead: start the cluster the first
        test that needs one will want, while the tests before it run."""
        if self._ahead_started:
            return
        for item in items[:FIRST_ITEMS]:
            try:
                needs = cluster_needs(item)
            except MarkerError:
                return  # that test reports it
            if needs is None:
                continue
            # The test's own installation when --pg-bin names several, else the first.
            callspec = getattr(item, "callspec", None)
            chosen = callspec.params.get("pg_installation") if callspec is not None else None
            if isinstance(chosen, Installation):
                installation: Installation | None = chosen
            else:
                installation = next(iter(installations_for(self.config, quiet=True)), None)
            if installation is not None:
                self._ahead_started = True
                self.pool(installation).start_ahead(needs)
            return

    def _installation_at(self, bindir: str) -> Installation | None:
        """One of this run's installations, else the one at `bindir` (a conftest.py may
        choose its own); None when there is none there any more."""
        for installation in installations_for(self.config, quiet=True):
            if installation.bindir == bindir:
                return installation
        try:
            return installation_from_path(bindir, probes=_probes(self.config))
        except InstallationError:
            return None

    def note_first(
        self,
        bindir: str,
        postmaster: Mapping[str, str],
        init: Mapping[str, object],
        template: tuple[str, str, str] | None = None,
    ) -> None:
        """The first test that asked for a pooled cluster needed this: remember it for the
        next run started the same way."""
        if self._first_noted:
            return
        self._first_noted = True
        if self._hint is not None:
            ahead.write_hint(self._hint, bindir, postmaster, init, template)

    def session_finished(self, interrupted: bool) -> None:
        """A run that went to its end without any test asking for a pooled cluster forgets its
        hint, so the next run starts none (an interrupted one proves nothing)."""
        if self._hint is not None and not self._first_noted and not interrupted:
            ahead.forget(self._hint)

    def _install_signal_handlers(self) -> None:
        """SIGTERM and SIGHUP would end the process without any cleanup: stop the servers
        first, then die of the signal as before. Handlers someone else set are kept."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) == signal.SIG_DFL:
                signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        try:
            self.close()
        finally:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    def close(self) -> None:
        """Stop every server of this process; remove the folders unless asked to keep them."""
        if self._closed:
            return
        self._closed = True
        errors = []
        for pool in self._pools.values():
            try:
                pool.close()
            except Exception as exc:  # keep stopping the others
                errors.append(exc)
        self.workspace.close()
        if errors:
            raise errors[0]


def default_loader(options: RunOptions) -> Sources | None:
    """What the pg_template option says fills pg_database's template, or None."""
    from .loaders import Sources

    return Sources(options.template, options.rootdir) if options.template else None


def session_of(config: pytest.Config) -> BossSession:
    return config.stash[BossSession.KEY]


def _probes(config: pytest.Config) -> ProbeCache | None:
    """What `postgres --version` and pg_config said last time, while the programs stay the
    same files: a run need not pay those subprocesses again (None: the cache is off)."""
    session = config.stash.get(BossSession.KEY, None)
    cache = session.options.cache_dir if session is not None else None
    return ProbeCache(os.path.join(cache, "probes")) if cache else None


_INSTALLS = pytest.StashKey[list[Installation]]()
_INSTALL_ERROR = pytest.StashKey[InstallationError]()


def installations_for(config: pytest.Config, quiet: bool = False) -> list[Installation]:
    """The installations of this run: each --pg-bin entry, else the first one found.

    A failure is remembered and raised to each test that needs a cluster (`quiet` returns []
    instead, for the header).
    """
    if _INSTALLS not in config.stash:
        chosen: list[Installation] = []
        try:
            entries = session_of(config).options.bin or (None,)
            probes = _probes(config)
            for entry in entries:
                install = find_installation(entry, probes=probes)
                if install not in chosen:
                    chosen.append(install)
        except InstallationError as exc:
            config.stash[_INSTALL_ERROR] = exc
        config.stash[_INSTALLS] = chosen
    if _INSTALL_ERROR in config.stash and not quiet:
        raise config.stash[_INSTALL_ERROR]
    return config.stash[_INSTALLS]
