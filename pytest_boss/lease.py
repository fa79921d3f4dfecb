"""One test's use of a pooled cluster: the changes it makes, and their undoing.

A lease applies the test's reloadable settings and hba rules on top of the pool's state,
applies what the test's `pg_conf` and `pg_hba` handles change while it runs (reload, or
restart when the server's context for a setting says so), and at the end hands the cluster
back to the pool, which restores its files byte for byte and checks its health.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from . import admin
from .boss.cluster import Cluster, SQLError
from .boss.control import PortInUseError, StartupError
from .boss.privileges import ServerUser
from .errors import ClusterStartError, HbaRuleError
from .pool import write_server_file
from .session import LogMark

if TYPE_CHECKING:
    from .boss import hba as pghba
    from .pool import ClusterPool, Pooled

__all__ = ["Lease", "read_hba", "write_hba"]


def read_hba(pooled: Pooled) -> pghba.Sequence:
    """The cluster's pg_hba.conf records, checked by its major version's rules."""
    from .boss import hba as pghba  # imported only by tests that touch hba rules

    with open(pooled.hba_path, encoding="utf-8", errors="surrogateescape", newline="") as fo:
        return pghba.read_config(fo.read(), version=pooled.cluster.version[0])


def _hba_text(records: pghba.Sequence) -> str:
    return records.text()


def _write_hba_text(pooled: Pooled, text: str, user: ServerUser) -> None:
    write_server_file(pooled.hba_path, text.encode("utf-8", "surrogateescape"), user)


def write_hba(pooled: Pooled, rules: Sequence[str], replace: bool, user: ServerUser) -> None:
    """Put `rules` before the file's records (first match wins), or instead of them."""
    from .boss import hba as pghba

    records = read_hba(pooled)
    if replace:
        while len(records):
            del records[0]
    for index, rule in enumerate(rules):
        try:
            records.insert(index, rule)
        except pghba.HBAError as exc:
            raise HbaRuleError(rule, exc.reason) from None
    _write_hba_text(pooled, _hba_text(records), user)


class Lease:
    """A pooled cluster lent to one test."""

    def __init__(self, pool: ClusterPool, pooled: Pooled) -> None:
        self.pool = pool
        self.pooled = pooled
        self.cluster = pooled.cluster
        self.mark = self.mark_of(self.cluster)
        # The file value of each setting the test changed through pg_conf, before its first
        # change (None: not in the file): what `del pg_conf[name]` puts back.
        self._before: dict[str, str | None] = {}

    @staticmethod
    def mark_of(cluster: Cluster) -> LogMark:
        """Where this test's share of the cluster's log begins."""
        return LogMark(cluster.log_path, _size(cluster.log_path))

    # -- at setup ----------------------------------------------------------------------------

    def apply(self, settings: Mapping[str, str], rules: Sequence[str], replace: bool) -> bool:
        """Bring the cluster to the pool's files plus the test's reloadable settings and hba
        rules, from whatever the last test left, in one step (see `ClusterPool.lend`).

        True when the cluster had to be replaced by a new one (this lease now holds it).
        """
        files = self.pool.wanted_files(self.pooled, settings, rules, replace)
        pooled = self.pool.lend(self.pooled, files)
        if pooled is self.pooled:
            return False
        self.pooled, self.cluster = pooled, pooled.cluster
        self.mark = self.mark_of(self.cluster)
        return True

    # -- while the test runs (the handles) ---------------------------------------------------

    def set_settings(self, settings: Mapping[str, str]) -> None:
        """Write and apply settings at once; a value the server rejects changes nothing."""
        self.pool.check_conf(settings)
        current = self.cluster.get_parameters(list(settings))
        self._apply_conf(dict(settings))
        for name, value in current.items():
            self._before.setdefault(name.lower(), value)

    def own_names(self) -> list[str]:
        """The settings this test changed through pg_conf."""
        return list(self._before)

    def drop_settings(self, names: Iterable[str]) -> None:
        """Put back what each setting was before the test changed it through pg_conf."""
        restore: dict[str, str | None] = {}
        for name in names:
            key = name.lower()
            if key not in self._before:
                raise KeyError(f"{name!r} was not set by this test: nothing to drop")
            restore[key] = self._before.pop(key)
        self._apply_conf(restore)

    def _apply_conf(self, settings: Mapping[str, str | None]) -> None:
        """Write settings, then reload, or restart for a postmaster-level one. A server that
        will not start with them gets the previous values back and the test an error."""
        self.pooled.loaded = None  # the next lend looks at the files again
        previous = self.cluster.get_parameters(list(settings))
        self.cluster.set_parameters(dict(settings))
        if not any(self.pool.catalog.needs_restart(name) for name in settings):
            self._reload()
            return
        try:
            self.cluster.restart()
        except PortInUseError:
            raise
        except StartupError as exc:
            self.cluster.set_parameters(previous)
            self.cluster.start()
            shown = {k: v for k, v in settings.items() if v is not None}
            raise ClusterStartError(shown, exc.log_tail) from None

    def effective(self, name: str) -> str:
        """The value the server uses now (SHOW); KeyError for a name it does not know."""
        try:
            rows = admin.query(self.cluster, f"SELECT current_setting('{_literal(name)}')")
        except SQLError as exc:
            if exc.sqlstate == "42704":  # undefined_object: unrecognized parameter
                raise KeyError(name) from None
            raise
        value = rows[0][0]
        return "" if value is None else value

    def setting_names(self) -> list[str]:
        return [str(row[0]) for row in admin.query(self.cluster, "SELECT name FROM pg_settings")]

    def hba_records(self) -> pghba.Sequence:
        return read_hba(self.pooled)

    def write_hba_records(self, records: pghba.Sequence) -> None:
        """Write edited records and reload; rules the server rejects change nothing."""
        self.pooled.loaded = None  # the next lend looks at the files again
        previous = _read_text(self.pooled.hba_path)
        _write_hba_text(self.pooled, _hba_text(records), self.pool.user)
        try:
            self._check_hba_file()
        except HbaRuleError:
            _write_hba_text(self.pooled, previous, self.pool.user)
            raise
        self._reload()

    def _check_hba_file(self) -> None:
        """Ask the server (pg_hba_file_rules re-reads the file) whether it accepts it."""
        rows = admin.query(
            self.cluster, "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL"
        )
        if rows:
            line_number, error = int(str(rows[0][0])), str(rows[0][1])
            lines = _read_text(self.pooled.hba_path).splitlines()
            line = lines[line_number - 1] if 0 < line_number <= len(lines) else "?"
            raise HbaRuleError(line.strip(), error)

    def _reload(self) -> None:
        # The rules just written are the test's: they may refuse our own logins.
        if self.pool.reload(self.pooled, refused_means_done=True):
            self.cluster.restart()

    # -- at teardown -------------------------------------------------------------------------

    def release(self) -> None:
        """Hand the cluster back; the next test's `apply` undoes what this one changed."""
        self.pool.release(self.pooled)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fo:
        return fo.read()


def _literal(text: str) -> str:
    return text.replace("'", "''")
