"""The per-process state of a pytest run: resolved options, installations, pools, cleanup.

One `BossSession` lives in `config.stash` from `pytest_configure` on (each xdist worker has
its own). Pools are made lazily, on the first test that needs a cluster, and every server
they start is stopped by `close()`: from the session fixture's `finally`, from
`pytest_unconfigure`, and from an `atexit` handler as the last safety net.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import signal
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
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
from .boss.privileges import ServerUser, place_directory, remove_placed, server_user
from .errors import MarkerError
from .markers import needs_of
from .options import resolve
from .reaper import OWNER_FILE, reap, write_owner
from .template import default_cache_dir

if TYPE_CHECKING:
    from .pool import ClusterPool

__all__ = ["LOG_KEY", "BossSession", "LogMark", "installations_for", "session_of"]

#: Collected tests looked at for the first one that needs a cluster (a bound on the time
#: spent between collection and the first test).
FIRST_ITEMS = 5000
#: Minimum free space on a RAM-backed folder before clusters go there.
SHM_MIN_FREE = 512 * 1024 * 1024
SHM = "/dev/shm"


@dataclass(frozen=True)
class LogMark:
    """Where a test's share of a server log begins."""

    path: str
    offset: int


LOG_KEY = pytest.StashKey[list[LogMark]]()


def _parse_conf_lines(lines: tuple[str, ...]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise pytest.UsageError(
                f"pytest-boss: pg_conf entry {line!r} is not NAME=VALUE (e.g. work_mem=64MB)"
            )
        settings[name.strip().lower()] = value.strip()
    return settings


class BossSession:
    """What one pytest process knows about its PostgreSQL clusters."""

    KEY = pytest.StashKey["BossSession"]()

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.password = secrets.token_urlsafe(24)
        self.keep = bool(resolve(config, "pg_keep"))
        self.pool_size = max(1, int(resolve(config, "pg_pool_size")))
        self.default_conf: Mapping[str, str] = _parse_conf_lines(resolve(config, "pg_conf"))
        self.default_hba: tuple[str, ...] = tuple(resolve(config, "pg_hba"))
        self.template_sources: tuple[str, ...] = tuple(resolve(config, "pg_template"))
        self.server_user_name: str | None = resolve(config, "pg_user")
        self.no_cache = bool(resolve(config, "pg_no_cache"))
        self._pools: dict[str, ClusterPool] = {}
        self._run_dir: str | None = None
        self._placed: str | None = None
        self.reaped: list[str] = []
        self._closed = False
        #: Where this run's first-cluster hint lives (see ahead.py), and whether a test asked.
        self._hint: str | None = None
        self._first_noted = False
        self._ahead_started = False
        atexit.register(self.close)

    # -- where things go ---------------------------------------------------------------------

    @cached_property
    def cache_root(self) -> str:
        """The folder shared by this user's runs: --pg-cache-dir, else the user cache."""
        return str(resolve(self.config, "pg_cache_dir") or default_cache_dir())

    @property
    def cache_dir(self) -> str | None:
        """The template cache folder, or None when the cache is off for this run."""
        return None if self.no_cache else self.cache_root

    @cached_property
    def server_user(self) -> ServerUser:
        """Who runs the servers: this process, or (as root) an unprivileged user."""
        return server_user(self.server_user_name)

    def runs_parent(self) -> str:
        """Where run folders go: --pg-dir, else a RAM-backed folder with room, else /tmp."""
        parent = resolve(self.config, "pg_dir")
        if not parent:
            parent = SHM if _has_room(SHM) else tempfile.gettempdir()
        return str(parent)

    def reap_dead(self) -> list[str]:
        """Stop and remove the servers of run folders whose process is gone (a crashed xdist
        worker, a killed run), now rather than at the next run's first cluster."""
        parent = self.runs_parent()
        if not os.path.isdir(parent):
            return []
        reaped = reap(parent, keep=self._placed)
        self.reaped.extend(reaped)
        return reaped

    def run_dir(self) -> str:
        """This worker's private folder for cluster data: RAM-backed when there is room.

        When the chosen folder lies behind one the server user cannot traverse (pytest's
        basetemp is private), the data lives in a private folder of the server user at the
        nearest reachable place, and a link stands where it was asked for.
        """
        if self._run_dir is None:
            parent = self.runs_parent()
            os.makedirs(parent, exist_ok=True)
            worker = re.sub(r"[^A-Za-z0-9]", "", self.worker)[:8]
            name = f"pytest-boss-{worker}-{secrets.token_hex(4)}"
            placed = place_directory(os.path.join(parent, name), self.server_user)
            self._placed = placed.path
            self._run_dir = placed.real
            write_owner(placed.real)
            self.reaped = reap(parent, keep=placed.path)
        return self._run_dir

    # -- installations and pools -------------------------------------------------------------

    def pool(self, installation: Installation) -> ClusterPool:
        """The pool of clusters of one installation (made on first use)."""
        from .pool import ClusterPool

        if self._closed:
            raise RuntimeError("pytest-boss: the session is closed; no new clusters")
        if installation.bindir not in self._pools:
            self._install_signal_handlers()
            self._pools[installation.bindir] = ClusterPool(self, installation)
        return self._pools[installation.bindir]

    # -- the first cluster, ahead of the first test (ahead.py) -------------------------------

    def start_ahead(self) -> None:
        """Start, in the background, the cluster the last run started this way made first."""
        if self.cache_dir is None:
            return
        self._hint = ahead.hint_path(
            self.cache_dir, str(self.config.rootpath), ahead.selection(self.config), self.worker
        )
        hint = ahead.read_hint(self._hint)
        if hint is None:
            return
        installation = self._installation_at(hint.bindir)
        if installation is not None:
            self._ahead_started = True
            self.pool(installation).start_ahead(hint.needs)

    def start_for(self, items: Sequence[pytest.Item]) -> None:
        """Collection is done and nothing was started ahead: start the cluster the first
        test that needs one will want, while the tests before it run."""
        if self._ahead_started:
            return
        for item in items[:FIRST_ITEMS]:
            if "pg_lease" not in getattr(item, "fixturenames", ()):
                continue
            try:
                needs = needs_of(item)
            except MarkerError:
                return  # that test reports it
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
        self, bindir: str, postmaster: Mapping[str, str], init: Mapping[str, object]
    ) -> None:
        """The first test that asked for a pooled cluster needed this: remember it for the
        next run started the same way."""
        if self._first_noted:
            return
        self._first_noted = True
        if self._hint is not None:
            ahead.write_hint(self._hint, bindir, postmaster, init)

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

    def log_text(self, marks: list[LogMark]) -> str:
        """The server log lines written since each mark (a test's share of the logs)."""
        parts = []
        for mark in marks:
            try:
                with open(mark.path, "rb") as fo:
                    fo.seek(mark.offset)
                    data = fo.read(256 * 1024)
            except OSError:
                continue
            if data.strip():
                text = data.decode("utf-8", "replace").rstrip()
                parts.append(text if len(marks) == 1 else f"--- {mark.path}\n{text}")
        return "\n".join(parts)

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
        if self._placed is not None:
            if self.keep:
                # Kept on purpose: no longer a leftover for a later run to reap.
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(self.run_dir(), OWNER_FILE))
            else:
                remove_placed(self._placed)
        if errors:
            raise errors[0]


def _has_room(folder: str) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return os.access(folder, os.W_OK) and st.f_bavail * st.f_frsize >= SHM_MIN_FREE


def session_of(config: pytest.Config) -> BossSession:
    return config.stash[BossSession.KEY]


def _probes(config: pytest.Config) -> ProbeCache | None:
    """What `postgres --version` and pg_config said last time, while the programs stay the
    same files: a run need not pay those subprocesses again (None: the cache is off)."""
    session = config.stash.get(BossSession.KEY, None)
    cache = session.cache_dir if session is not None else None
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
            entries = resolve(config, "pg_bin") or (None,)
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
