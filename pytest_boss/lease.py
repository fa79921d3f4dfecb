"""One test's use of a pooled cluster: its markers applied, and its handles' changes.

A lease brings the cluster from whatever the last test left to the pool's files plus this
test's reloadable settings and hba rules (`ClusterPool.lend`), and applies what the test's
`pg_conf` and `pg_hba` handles change while it runs (reload, or restart when the server's
context for a setting says so). Nothing is undone at teardown: the next test's lease starts
from the pool's files again, so whatever this test changed in them is gone before any other
test sees the cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from . import admin
from .boss.cluster import SQLError
from .errors import ClusterStartError, HbaRuleError
from .pool.provision import start_errors
from .pool.serverfiles import check_hba, decode, encode, read_hba, write_server_file
from .pool.state import read_bytes

if TYPE_CHECKING:
    from .boss import hba as pghba
    from .database import Database
    from .pool import ClusterPool, Pooled

__all__ = ["Lease"]


class Lease:
    """A pooled cluster lent to one test."""

    def __init__(self, pool: ClusterPool, pooled: Pooled) -> None:
        self.pool = pool
        self.pooled = pooled
        self.cluster = pooled.cluster
        # The file value of each setting the test changed through pg_conf, before its first
        # change (None: not in the file): what `del pg_conf[name]` puts back.
        self._before: dict[str, str | None] = {}
        #: The test's pg_database databases, to drop once the test is over.
        self.finished_databases: list[Database] = []

    # -- at setup ----------------------------------------------------------------------------

    def apply(self, settings: Mapping[str, str], rules: Sequence[str], replace: bool) -> bool:
        """Bring the cluster to the pool's files plus the test's reloadable settings and hba
        rules, from whatever the last test left, in one step.

        True when the cluster had to be replaced by a new one (this lease now holds it).
        """
        files = self.pool.wanted_files(self.pooled, settings, rules, replace)
        pooled = self.pool.lend(self.pooled, files)
        if pooled is self.pooled:
            return False
        self.pooled, self.cluster = pooled, pooled.cluster
        return True

    # -- while the test runs (the handles) ---------------------------------------------------

    def set_settings(self, settings: Mapping[str, str]) -> None:
        """Write and apply settings at once; a value the server rejects changes nothing."""
        self.pool.needs.check_conf(settings)
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
        if not any(self.pool.needs.catalog.needs_restart(name) for name in settings):
            self._reload()
            return
        try:
            with start_errors(settings):
                self.cluster.restart()
        except ClusterStartError:
            self.cluster.set_parameters(previous)
            self.cluster.start()
            raise

    def effective(self, name: str) -> str:
        """The value the server uses now (SHOW); KeyError for a name it does not know."""
        literal = name.replace("'", "''")
        try:
            rows = admin.query(self.cluster, f"SELECT current_setting('{literal}')")
        except SQLError as exc:
            if exc.sqlstate == "42704":  # undefined_object: unrecognized parameter
                raise KeyError(name) from None
            raise
        value = rows[0][0]
        return "" if value is None else value

    def setting_names(self) -> list[str]:
        return [str(row[0]) for row in admin.query(self.cluster, "SELECT name FROM pg_settings")]

    def hba_records(self) -> pghba.Sequence:
        return read_hba(decode(read_bytes(self.pooled.hba_path)), self.cluster.version[0])

    def write_hba_records(self, records: pghba.Sequence) -> None:
        """Write edited records and reload; rules the server rejects change nothing."""
        self.pooled.loaded = None  # the next lend looks at the files again
        path, user = self.pooled.hba_path, self.pool.provisioner.user
        previous = read_bytes(path)
        text = records.text()
        write_server_file(path, encode(text), user)
        try:
            check_hba(self.cluster, text)
        except HbaRuleError:
            write_server_file(path, previous, user)
            raise
        self._reload()

    def _reload(self) -> None:
        # The rules just written are the test's: they may refuse our own logins.
        if self.pool.reload(self.pooled):
            self.cluster.restart()
