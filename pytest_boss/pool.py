"""Running clusters of one worker, keyed by what only a new postmaster can change.

Two tests share a cluster when they need the same initdb options and the same
postmaster-level settings (by the server's own `context`); reloadable settings and hba rules
are applied per test by a `Lease` and never select another cluster. At most `pool_size`
clusters run at once: the least recently used one is stopped (not deleted) to make room.
Clusters are copies of the initdb template cache; private ones (`pg_cluster_factory`) are
made the same way and belong to one test.

Nothing is undone when a test ends. `lend` takes a cluster from whatever the last test left
to exactly what the next one wants (the pool's files plus its markers) in one step: each
file written once if it differs, then one reload, or none at all when both tests want the
same (two steps when the last test's hba rules may shut the pool's own logins out, so that
a refusal can prove the new rules are in force). The server's health is checked then: a
stopped, killed, moved or broken server is started again or replaced. What the pool last
loaded is trusted only while the files keep the inode, size and time it wrote them with.

`pg_database`'s template database is filled once per pooled cluster (not per test), in the
cluster itself. Sharing one filled copy between clusters was weighed and left out: a data
directory can only be copied from a stopped server, so it would cost a stop, a copy and a
start of a cluster no test has touched (about 70 ms here) to save one run of the loader per
further cluster of the same initdb options; with one cluster per worker (no postmaster-level
markers) it would only cost.
"""

from __future__ import annotations

import bisect
import contextlib
import inspect
import itertools
import math
import os
import shutil
import socket
import struct
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from . import admin
from .boss import config as pgconfig
from .boss.cluster import AUTO_CONFIG_FILENAME, Cluster, SQLError
from .boss.control import ControlError, PortInUseError, StartupError
from .boss.init import Initializor, InitializorError
from .boss.installation import Installation
from .boss.privileges import ServerUser, server_bindir
from .database import Database
from .errors import (
    BossUsageError,
    CacheWriteWarning,
    ClusterStartError,
    HbaRuleError,
    InitdbError,
    MarkerError,
)
from .markers import Needs
from .ports import PortClaim, claim_port
from .settings import SettingsCatalog
from .template import TemplateCache, TemplateKey

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from .session import BossSession

__all__ = ["ClusterPool", "PoolKey", "Pooled"]

#: initdb options every cluster gets unless the test's pg_init says otherwise: local (socket)
#: logins are trusted (the socket folder is private), TCP logins need the run's password.
BASE_INIT: Mapping[str, object] = {"auth_local": "trust", "auth_host": "scram-sha-256"}
#: The name of the per-cluster template database `pg_database` copies.
TEMPLATE_DB = "boss_template"
_START_ATTEMPTS = 5
_SSL_REQUEST_CODE = 80877103
_ENCODING = pgconfig.ENCODING
_ERRORS = pgconfig.ENCODING_ERRORS
#: Test configurations remembered per cluster (their files) before the memory is cleared.
_WANTED_MAX = 256
#: Longest cluster folder that still leaves room for "/pytest-boss-XXXXXXXX/.s.PGSQL.NNNNN"
#: within a unix socket path's 107 bytes.
_SOCKET_PARENT_MAX = 70


@dataclass(frozen=True)
class PoolKey:
    """What selects a pooled cluster: initdb options and postmaster-level settings."""

    init: tuple[tuple[str, str], ...]
    postmaster: tuple[tuple[str, str], ...]


@dataclass(eq=False)
class Pooled:
    """One cluster made by the pool, and the files as the pool left them."""

    cluster: Cluster
    folder: str
    key: PoolKey | None
    #: The initdb options it was made with (a replacement is made the same way).
    init: dict[str, object] = field(default_factory=dict)
    claim: PortClaim | None = None
    base: dict[str, bytes] = field(default_factory=dict)
    #: What the server runs with, as far as the pool knows (None: unknown, look again).
    loaded: Loaded | None = None
    #: The files each test configuration wants, computed once per configuration.
    wanted: dict[tuple[object, ...], dict[str, bytes]] = field(default_factory=dict)
    template_loaded: bool = False
    databases: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    #: The next test's database, being made while this test runs.
    spare: Future[str] | None = None
    #: Work in the background on this cluster (drops): awaited before it stops.
    pending: list[Future[object]] = field(default_factory=list)

    @property
    def data_dir(self) -> str:
        return self.cluster.data_dir

    @property
    def conf_path(self) -> str:
        return self.cluster.config_path

    @property
    def hba_path(self) -> str:
        return self.cluster.hba_path

    @property
    def auto_path(self) -> str:
        return os.path.join(self.data_dir, AUTO_CONFIG_FILENAME)

    def snapshot(self) -> dict[str, bytes]:
        """The bytes of the files a test may change."""
        return {path: _read(path) for path in (self.conf_path, self.hba_path, self.auto_path)}


Stamp = tuple[int, int, int] | None


@dataclass(frozen=True)
class Loaded:
    """The files a server was last brought to by the pool, and how to tell they are intact.

    `stamps` (inode, size, time) change whenever anything rewrites a file, even with the
    same bytes (ALTER SYSTEM, an editor, a test): then the pool no longer trusts `files`.
    `admits` says whether the rules in force let the plugin's own logins in.
    """

    files: Mapping[str, bytes]
    stamps: Mapping[str, Stamp]
    admits: bool


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fo:
            return fo.read()
    except FileNotFoundError:
        return b""


def _stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class ClusterPool:
    """The clusters of one installation in one worker."""

    def __init__(self, session: BossSession, installation: Installation) -> None:
        self.session = session
        self.installation = installation
        self._entries: OrderedDict[PoolKey, Pooled] = OrderedDict()
        self._private: list[Pooled] = []
        self._planned = False
        #: Where each pool key is used in the session's test order, and how far this worker
        #: has come: which running cluster to stop is decided by its next use.
        self._uses: dict[PoolKey, list[int]] = {}
        self._position = 0
        #: pg_hba.conf texts the server accepted (pg_hba_file_rules), not asked again.
        self._hba_accepted: set[bytes] = set()
        self._serial = itertools.count(1)
        # One thread: the next database is made, and the last one dropped, while a test runs.
        self._executor: ThreadPoolExecutor | None = None
        #: The cluster being made before any test asked (`start_ahead`).
        self._ahead: threading.Thread | None = None

    # -- shared machinery --------------------------------------------------------------------

    @property
    def user(self) -> ServerUser:
        return self.session.server_user

    @cached_property
    def catalog(self) -> SettingsCatalog:
        return SettingsCatalog.load(
            self.installation.postgres, self.installation.version_string, self.session.cache_dir
        )

    @cached_property
    def checked(self) -> set[tuple[str, str]]:
        """Setting values the server accepted (in this run, or remembered from earlier ones)."""
        return self.catalog.accepted()

    @cached_property
    def templates(self) -> TemplateCache:
        return TemplateCache(self.session.cache_dir, self.session.run_dir())

    @cached_property
    def ports_dir(self) -> str:
        """Port claims shared by every pytest-boss process of this user on this machine
        (kept beside the template cache even when the cache is off for this run)."""
        return os.path.join(self.session.cache_root, "ports")

    @property
    def _background(self) -> ThreadPoolExecutor:
        """One thread: the next database is made, and the last one dropped, while a test
        runs (started on first use: runs without pg_database need none)."""
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pytest-boss")
        return self._executor

    # -- checking a test's needs -------------------------------------------------------------

    def check_conf(self, conf: Mapping[str, str]) -> None:
        """Raise the error the server would raise for these settings (before touching files)."""
        self.catalog.check(conf, cache=self.checked)

    def plan(self, needs: Iterable[Needs]) -> None:
        """Look once at what the session's tests need (their merged markers).

        Their settings are checked with one server run, so that each test's own check finds
        its values accepted already (when the server rejects any, nothing is remembered:
        each test's check then names its culprit).
        """
        self._join_ahead()
        if self._planned:
            return
        self._planned = True
        planned = list(needs)
        pairs = [pair for one in planned for pair in one.conf.items()]
        self.catalog.check_all(pairs, cache=self.checked)
        for index, one in enumerate(planned):
            try:
                key, _ = self.key_of(one)
            except Exception:  # a test's bad setting is reported by that test, not here
                continue
            self._uses.setdefault(key, []).append(index)

    def _advance(self, key: PoolKey) -> None:
        """Move past this test's place in the planned order (its next use of `key`)."""
        uses = self._uses.get(key, [])
        at = bisect.bisect_left(uses, self._position)
        if at < len(uses):
            self._position = uses[at] + 1

    def _next_use(self, key: PoolKey | None) -> float:
        """How far ahead `key` is needed again (infinity when no planned test needs it)."""
        uses = self._uses.get(key, []) if key is not None else []
        at = bisect.bisect_left(uses, self._position)
        return uses[at] - self._position if at < len(uses) else math.inf

    def check_hba(self, rules: Sequence[str]) -> None:
        """Raise HbaRuleError for a rule PostgreSQL would reject, naming the rule."""
        if not rules:
            return
        from .boss import hba as pghba  # the hba parser is imported only when rules are given

        for rule in rules:
            try:
                pghba.require_version(rule, self.installation.major)
                pghba.read_config(rule, version=self.installation.major)
            except pghba.HBAError as exc:
                raise HbaRuleError(rule, exc.reason) from None

    def key_of(self, needs: Needs) -> tuple[PoolKey, dict[str, str]]:
        """The pool key of a test, and its reloadable settings (applied by its lease)."""
        postmaster, reloadable = self.catalog.split(needs.conf)
        key = PoolKey(needs.init_key(), tuple(sorted(postmaster.items())))
        return key, reloadable

    def check_init(self, init: Mapping[str, object]) -> None:
        """pg_init options must be Initializor's keywords."""
        allowed = set(inspect.signature(Initializor.__call__).parameters) - {"self", "data_dir"}
        unknown = sorted(set(init) - allowed)
        if unknown:
            raise MarkerError(
                "pg_init",
                "(**initdb_options)",
                f"unknown initdb option {', '.join(map(repr, unknown))}; known: "
                + ", ".join(sorted(allowed)),
            )

    # -- pooled clusters ---------------------------------------------------------------------

    def start_ahead(self, needs: Needs) -> None:
        """Make the cluster for `needs` in a background thread, before any test asks for it
        (see ahead.py); every other use of the pool waits for it first."""
        if self._ahead is not None or self._entries:
            return
        self._ahead = threading.Thread(
            target=self._make_ahead, args=(needs,), name="pytest-boss-ahead", daemon=True
        )
        self._ahead.start()

    def _make_ahead(self, needs: Needs) -> None:
        # A guess from the last run: when it fails, the first test that needs the cluster
        # makes it again and reports what went wrong (`_make` leaves nothing running).
        with contextlib.suppress(Exception):
            self.check_init(needs.init)
            key, _ = self.key_of(needs)
            self._new_entry(key, needs.init)

    def _join_ahead(self) -> None:
        if self._ahead is not None:
            self._ahead.join()
            self._ahead = None

    def acquire(self, needs: Needs) -> tuple[Pooled, dict[str, str]]:
        """The cluster for these needs (made, or started again, when it is not running), and
        the reloadable settings the lease brings it to with `lend`."""
        self._join_ahead()
        self.check_init(needs.init)
        self.check_conf(needs.conf)
        self.check_hba(needs.hba)
        key, reloadable = self.key_of(needs)
        self.session.note_first(self.installation.bindir, dict(key.postmaster), needs.init)
        self._advance(key)
        pooled = self._entries.get(key)
        if pooled is None:
            pooled = self._new_entry(key, needs.init)
        else:
            self._entries.move_to_end(key)
            if not pooled.cluster.running():
                self._make_room()  # `lend` starts it
        return pooled, reloadable

    def _new_entry(self, key: PoolKey, init: Mapping[str, object]) -> Pooled:
        self._make_room()
        try:
            pooled = self._make(init, dict(key.postmaster), (), False, "c", key)
        except PortInUseError:
            raise
        except StartupError as exc:
            raise ClusterStartError(dict(key.postmaster), exc.log_tail) from None
        self._entries[key] = pooled
        return pooled

    def _template_key(self, init: Mapping[str, object]) -> TemplateKey:
        inst = self.installation
        return TemplateKey.of(inst.bindir, inst.version_string, {**BASE_INIT, **init})

    def running(self) -> list[Cluster]:
        """The pooled clusters running now (private ones not included)."""
        self._join_ahead()
        return [p.cluster for p in self._entries.values() if p.cluster.running()]

    def _make_room(self) -> None:
        """Stop what must go for one more cluster to run: the clusters needed again the
        latest in the planned test order (never needed first), least recently used among
        equals; the same as least recently used when no order is known."""
        running = [p for p in self._entries.values() if p.cluster.running()]
        excess = max(0, len(running) - self.session.pool_size + 1)
        by_need = sorted(running, key=lambda p: -self._next_use(p.key))  # stable: LRU order
        for pooled in by_need[:excess]:
            self._settle(pooled)
            self._stop(pooled)

    @staticmethod
    def _settle(pooled: Pooled, spare: bool = True) -> None:
        """Wait for the background work on a cluster (drops, and the spare database unless
        `spare` is false), before stopping or replacing it or lending it again."""
        futures: list[Future[Any]] = list(pooled.pending)
        if spare and pooled.spare is not None:
            futures.append(pooled.spare)
        pooled.pending.clear()
        for future in futures:
            with contextlib.suppress(Exception):
                future.result(timeout=120)

    # -- lending: from whatever the last test left to what this one wants -----------------

    def wanted_files(
        self, pooled: Pooled, settings: Mapping[str, str], rules: Sequence[str], replace: bool
    ) -> dict[str, bytes]:
        """The pool's files with a test's reloadable settings and hba rules: what `lend`
        brings the cluster to (computed once per configuration and cluster)."""
        key: tuple[object, ...] = (tuple(sorted(settings.items())), tuple(rules), replace)
        files = pooled.wanted.get(key)
        if files is not None:
            return files
        files = dict(pooled.base)
        if settings:
            text = pooled.base[pooled.conf_path].decode(_ENCODING, _ERRORS)
            lines = pgconfig.alter_config(dict(settings), text)
            files[pooled.conf_path] = "".join(lines).encode(_ENCODING, _ERRORS)
        if rules or replace:
            from .boss import hba as pghba

            text = pooled.base[pooled.hba_path].decode(_ENCODING, _ERRORS)
            records = pghba.read_config(text, version=self.installation.major)
            if replace:
                while len(records):
                    del records[0]
            for index, rule in enumerate(rules):
                try:
                    records.insert(index, rule)
                except pghba.HBAError as exc:
                    raise HbaRuleError(rule, exc.reason) from None
            files[pooled.hba_path] = records.text().encode(_ENCODING, _ERRORS)
        if len(pooled.wanted) >= _WANTED_MAX:
            pooled.wanted.clear()
        pooled.wanted[key] = files
        return files

    def lend(self, pooled: Pooled, files: Mapping[str, bytes]) -> Pooled:
        """Bring a cluster from whatever the last test left to `files`, for the next test:
        each file written once if it differs, then one reload (none when nothing differs),
        a restart when a postmaster-level value changed, a start when a test stopped or
        killed the server. A cluster that will not come is replaced by a new one (returned).

        A test's hba rules the server rejects raise HbaRuleError (the test's mistake); the
        next `lend` repairs the files whatever state they are in.
        """
        try:
            self._bring(pooled, files)
        except HbaRuleError:
            raise
        except (ControlError, OSError, BossUsageError, SQLError):
            if pooled.key is None:
                raise
            self._replace(pooled)
            pooled = self._new_entry(pooled.key, pooled.init)
            self._bring(pooled, files)
        self._settle(pooled, spare=False)  # the last test's database is gone before this one
        return pooled

    def _bring(self, pooled: Pooled, files: Mapping[str, bytes]) -> None:
        state, pooled.loaded = pooled.loaded, None  # unknown until this is done
        stamps = {path: _stamp(path) for path in files}
        trusted = state is not None and state.stamps == stamps
        current = dict(state.files) if state is not None and trusted else None
        if current is None:
            current = {path: _read(path) for path in files}
        differ = [path for path, data in files.items() if current.get(path) != data]
        hba = pooled.hba_path
        own_rules = files[hba] != pooled.base[hba]
        if not answers(pooled.cluster):
            self._write(files, differ)
            self._settle(pooled)
            pooled.spare = None  # it may have failed with the server
            base_conf = pooled.base[pooled.conf_path]
            self._revive(pooled)
            if pooled.base[pooled.conf_path] == base_conf:  # else it moved: unknown state
                self._loaded(pooled, files, admits=not own_rules)
            return
        if trusted and not differ:
            pooled.loaded = state  # nothing to do: the server runs with exactly these files
            return
        admits = state is not None and trusted and state.admits
        if own_rules and not admits:
            # The rules in force may shut the plugin out; from the pool's rules (which let it
            # in), a refusal then proves that the test's rules are in force.
            base = pooled.base
            self._write(base, [path for path in base if _read(path) != base[path]])
            self._reload(pooled, base, refused_means_done=False)
            differ = [path for path, data in files.items() if base[path] != data]
        self._write(files, differ)
        if own_rules and files[hba] not in self._hba_accepted:
            self._check_hba(pooled, files[hba])
        self._reload(pooled, files, refused_means_done=own_rules)

    def _write(self, files: Mapping[str, bytes], paths: Iterable[str]) -> None:
        for path in paths:
            write_server_file(path, files[path], self.user)

    def _reload(self, pooled: Pooled, files: Mapping[str, bytes], refused_means_done: bool) -> None:
        """Reload into `files` (restart for a postmaster-level change); record them."""
        done = admin.reload_and_wait(pooled.cluster, refused_means_done=refused_means_done)
        if done.pending:
            self._settle(pooled)
            self._restart(pooled)
        self._loaded(pooled, files, admits=done.admitted)

    @staticmethod
    def _loaded(pooled: Pooled, files: Mapping[str, bytes], admits: bool) -> None:
        stamps = {path: _stamp(path) for path in files}
        pooled.loaded = Loaded(dict(files), stamps, admits)

    def _check_hba(self, pooled: Pooled, text: bytes) -> None:
        """Ask the server (pg_hba_file_rules re-reads the file) whether it accepts the rules
        just written, before they are loaded; remember the files it accepted."""
        rows = admin.query(
            pooled.cluster,
            "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL",
        )
        if rows:
            line_number, error = int(str(rows[0][0])), str(rows[0][1])
            lines = text.decode(_ENCODING, _ERRORS).splitlines()
            line = lines[line_number - 1] if 0 < line_number <= len(lines) else "?"
            raise HbaRuleError(line.strip(), error)
        self._hba_accepted.add(text)

    def release(self, pooled: Pooled) -> None:
        """A test is done with a cluster. Nothing is undone now: the next `lend` goes from
        this state to what the next test wants in one step, and checks the server's health."""

    def _revive(self, pooled: Pooled) -> None:
        """Start a server a test stopped, killed or moved (its old processes ended first)."""
        pid = pooled.cluster.pid()
        if pid is not None:
            # Dying already (killed an instant ago), or alive where we no longer look for
            # it: immediate shutdown, then SIGKILL.
            pooled.cluster.controller.kill(pid)
        self._start(pooled)

    def _replace(self, pooled: Pooled) -> None:
        """A cluster a test broke beyond repair: drop it; the key gets a new one on demand."""
        for key, entry in list(self._entries.items()):
            if entry is pooled:
                del self._entries[key]
        self._settle(pooled)
        self._discard(pooled)

    # -- private clusters --------------------------------------------------------------------

    def private(
        self,
        conf: Mapping[str, str],
        hba: Sequence[str],
        init: Mapping[str, object],
    ) -> Pooled:
        """A new running cluster for one test (pg_cluster_factory)."""
        self._join_ahead()
        self.check_init(init)
        self.check_conf(conf)
        self.check_hba(hba)
        try:
            pooled = self._make(init, conf, hba, False, "f", None)
        except PortInUseError:
            raise
        except StartupError as exc:
            raise ClusterStartError(conf, exc.log_tail) from None
        self._private.append(pooled)
        return pooled

    def discard_private(self, pooled: Pooled) -> None:
        if pooled in self._private:
            self._private.remove(pooled)
        self._discard(pooled)

    # -- databases ---------------------------------------------------------------------------

    def new_database(self, pooled: Pooled, loader: Callable[[Database], None] | None) -> Database:
        """A fresh database copied from the cluster's template database (filled once).

        The database made ahead while the previous test ran is used when there is one; the
        next one is then started in the background.
        """
        cluster = pooled.cluster
        if not pooled.template_loaded:
            self._settle(pooled)
            admin.query(cluster, f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
            admin.query(cluster, f"CREATE DATABASE {TEMPLATE_DB}")
            if loader is not None:
                loader(Database(TEMPLATE_DB, cluster))
            admin.query(cluster, f"ALTER DATABASE {TEMPLATE_DB} WITH IS_TEMPLATE true")
            pooled.template_loaded = True
        name = None
        spare, pooled.spare = pooled.spare, None
        if spare is not None:
            with contextlib.suppress(Exception):  # made ahead in vain: make it now
                name = spare.result(timeout=120)
        if name is None:
            name = self._create_database(pooled)
        pooled.spare = self._background.submit(self._create_database, pooled)
        return Database(name, cluster)

    def _create_database(self, pooled: Pooled) -> str:
        name = f"test_{self.session.worker}_{next(pooled.databases)}".lower()
        # FILE_COPY (15+) copies the files and checkpoints, which costs nothing with fsync
        # off; WAL_LOG, the default, writes every block to the WAL: 2-3 times slower here.
        strategy = " STRATEGY FILE_COPY" if self.installation.major >= 15 else ""
        admin.query(pooled.cluster, f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE_DB}{strategy}')
        return name

    def drop_database(self, pooled: Pooled, database: Database) -> None:
        """Drop a test's database in the background (the next test need not wait)."""
        pooled.pending = [f for f in pooled.pending if not f.done()]
        sql = f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)'
        pooled.pending.append(self._background.submit(admin.query, database.cluster, sql))

    # -- making, starting, stopping ----------------------------------------------------------

    def _initdb(self, init: Mapping[str, object], holders: list[str]) -> str:
        """Run initdb for the template cache in a folder the server user can reach."""
        holder = self.user.make_private_dir(self.session.run_dir(), "initdb-")
        holders.append(holder)
        data = os.path.join(holder, "data")
        initdb = os.path.join(server_bindir(self.installation.bindir, self.user), "initdb")
        Initializor(initdb, user=self.user)(data, **{**BASE_INIT, **init})  # type: ignore[arg-type]
        return data

    def _make(
        self,
        init: Mapping[str, object],
        conf: Mapping[str, str],
        hba: Sequence[str],
        hba_replace: bool,
        prefix: str,
        key: PoolKey | None,
    ) -> Pooled:
        inst = self.installation
        folder = self.user.make_private_dir(
            self.session.run_dir(), f"{prefix}{next(self._serial)}-"
        )
        data = os.path.join(folder, "data")
        pooled: Pooled | None = None
        try:
            self._copy_template(init, data)
            self.user.chown_tree(data)
            cluster = Cluster(
                data,
                inst.pg_config_dict,
                user=str(init.get("superuser", "postgres")),
                server_user=self.user,
            )
            pooled = Pooled(cluster, folder, key, init=dict(init))
            pooled.claim = claim_port(self.ports_dir)
            # Sockets beside the data when the path stays short enough for a unix socket.
            socket_parent = folder if len(folder) < _SOCKET_PARENT_MAX else None
            cluster.configure(
                port=pooled.claim.port,
                settings={**self.session.default_conf, **conf},
                socket_parent=socket_parent,
            )
            rules = [*hba, *self.session.default_hba]
            if rules or hba_replace:
                from .lease import write_hba

                write_hba(pooled, rules, hba_replace, self.user)
            self._start(pooled)
            admin.set_password(pooled.cluster, self.session.password)
            pooled.base = pooled.snapshot()
            self._loaded(pooled, pooled.base, admits=True)
            return pooled
        except BaseException:
            if pooled is not None:
                self._discard(pooled, keep=False)
            else:
                shutil.rmtree(folder, ignore_errors=True)
            raise

    def _copy_template(self, init: Mapping[str, object], data: str) -> None:
        """Copy the initdb template for these options (built first when missing) to `data`."""
        holders: list[str] = []
        try:
            self.templates.copy_to(
                self._template_key(init),
                lambda: self._initdb(init, holders),
                data,
                # Made ahead: copied in another process, since the main thread is busy
                # collecting (a thread's copy would fight it for the interpreter lock).
                elsewhere=threading.current_thread() is self._ahead,
            )
        except BaseException as exc:
            for holder in holders:
                shutil.rmtree(holder, ignore_errors=True)
            if isinstance(exc, InitializorError):
                raise InitdbError(init, exc.output.strip() or str(exc)) from None
            raise
        # On success the cache owns initdb's result (it may still be storing it in the
        # background); its empty holder goes with the run folder.

    def _start(self, pooled: Pooled) -> None:
        """Start on the cluster's claimed port; when another program took it meanwhile, claim
        another (the pool's copy of postgresql.conf follows)."""
        for attempt in range(_START_ATTEMPTS):
            if pooled.claim is None:
                pooled.claim = claim_port(self.ports_dir)
                pooled.cluster.set_parameters({"port": pooled.claim.port})
                if pooled.base:
                    # The pool's own copy follows; what tests want is computed again.
                    text = pooled.base[pooled.conf_path].decode(_ENCODING, _ERRORS)
                    lines = pgconfig.alter_config({"port": pooled.claim.port}, text)
                    pooled.base[pooled.conf_path] = "".join(lines).encode(_ENCODING, _ERRORS)
                    pooled.wanted.clear()
                    pooled.loaded = None
            try:
                pooled.cluster.start(port_retries=0)
            except PortInUseError:
                pooled.claim.release()
                pooled.claim = None
                if attempt == _START_ATTEMPTS - 1:
                    raise
                continue
            return

    def _restart(self, pooled: Pooled) -> None:
        pooled.cluster.stop("fast")
        self._start(pooled)

    @staticmethod
    def reload(pooled: Pooled, refused_means_done: bool = False) -> list[str]:
        """Reload and wait until new connections see it; the settings that need a restart.

        For changes made outside `lend` (the test's handles): the pool forgets what it knew.
        """
        pooled.loaded = None
        done = admin.reload_and_wait(pooled.cluster, refused_means_done=refused_means_done)
        return done.pending

    @staticmethod
    def _stop(pooled: Pooled, mode: str = "fast") -> None:
        """Stop the server; it keeps its port claim (and so its configuration) until dropped."""
        if pooled.cluster.running():
            pooled.cluster.stop(mode)

    def _discard(self, pooled: Pooled, keep: bool | None = None) -> None:
        """Stop a cluster for good; remove its folders unless the run keeps them."""
        self._settle(pooled)
        keep = self.session.keep if keep is None else keep
        try:
            # Fast even when the data goes: see Cluster.drop (immediate can leak shared memory).
            self._stop(pooled, "fast")
        except ControlError:
            if pooled.cluster.running():
                pooled.cluster.stop("immediate")
        finally:
            if pooled.claim is not None:
                pooled.claim.release()
                pooled.claim = None
            if not keep:
                pooled.cluster.drop()
                shutil.rmtree(pooled.folder, ignore_errors=True)

    def close(self) -> None:
        """Stop every server of the pool (and remove their folders unless kept)."""
        self._join_ahead()
        errors: list[BaseException] = []
        everything = [*self._private, *self._entries.values()]
        if not self.session.keep:
            # Every server told at once to go; each is then awaited and removed, their
            # shutdowns overlapping.
            for pooled in everything:
                self._settle(pooled)
                with contextlib.suppress(ControlError, OSError):
                    if pooled.cluster.running():
                        pooled.cluster.stop("fast", nowait=True)
        for pooled in everything:
            try:
                self._discard(pooled)
            except Exception as exc:
                errors.append(exc)
        self._private.clear()
        self._entries.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if "templates" in self.__dict__:  # a template entry may still be being stored
            for failure in self.templates.wait():
                warnings.warn(CacheWriteWarning(str(failure)), stacklevel=2)
        if errors:
            raise errors[0]


def answers(cluster: Cluster, timeout: float = 10.0) -> bool:
    """Whether the postmaster answers on its socket, right now.

    An SSLRequest gets a one-byte answer from a live server; a server that was stopped or
    killed (even an instant ago, its death still in flight) gives none. The server logs
    nothing for a connection that ends after this exchange.
    """
    path = os.path.join(cluster.host, f".s.PGSQL.{cluster.port}")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(struct.pack("!II", 8, _SSL_REQUEST_CODE))
            return sock.recv(1) in (b"N", b"S")
    except OSError:
        return False


def write_server_file(path: str, data: bytes, user: ServerUser) -> None:
    """Replace a server file atomically, owned by the server user.

    A failed write (full disk, read-only folder) is a ConfigWriteError naming the file; the
    atomic replacement leaves the file as it was.
    """
    from .boss._atomic import atomic_write_bytes
    from .boss.cluster import ConfigWriteError

    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ConfigWriteError(path, exc) from exc
    user.chown(path)
