"""A cluster as its clients see it: its files, where its server listens, how to query it.

:class:`ClusterClient` knows a data directory and its installation, nothing more: the paths
of its files, its settings as written, the socket and port its server uses (read from
``postmaster.pid`` while it runs), the connection strings that reach it and queries run
with psql. :class:`.Cluster` adds making, configuring and running the server.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from . import _endpoint
from ._errors import BossError
from ._filesettings import DEFAULT_CONFIG_FILENAME, FileSettings
from ._probe import parse_version
from ._psql import Rows, run_psql
from ._sources import InstallationError
from ._types import StrPath
from .installation import Installation
from .privileges import clean_env

__all__ = ["DEFAULT_HBA_FILENAME", "LOG_FILENAME", "ClusterClient", "ClusterError", "PgConfig"]

#: The installation a cluster belongs to: ``pg_config``'s output as a dict, or found one.
PgConfig = Mapping[str, str] | Installation
DEFAULT_HBA_FILENAME = "pg_hba.conf"
#: The server log, inside the data directory (removed with it).
LOG_FILENAME = "postmaster.log"


class ClusterError(BossError):
    """A cluster cannot be created, adopted or removed as asked; ``path`` names it."""

    def __init__(self, message: str, path: str = "") -> None:
        self.message = message
        self.path = path
        super().__init__(message)


def require_programs(bindir: str, programs: Iterable[str]) -> None:
    """Fail clearly, before anything is made, when the installation lacks a program."""
    missing = [p for p in programs if not os.access(os.path.join(bindir, p), os.X_OK)]
    if missing:
        raise InstallationError(
            f"The PostgreSQL binaries {', '.join(missing)} are missing from {bindir}.",
            [(bindir, "missing " + ", ".join(missing))],
        )


def pg_dict(pg_config_dict: PgConfig) -> dict[str, str]:
    if isinstance(pg_config_dict, Installation):
        return dict(pg_config_dict.pg_config_dict)
    facts = dict(pg_config_dict)
    if "bindir" not in facts:
        raise ClusterError("the pg_config dictionary has no 'bindir': pass pg_config's output")
    return facts


class ClusterClient:
    """The data directory ``cluster_path`` of the installation ``pg_config_dict``, reached
    as ``user`` (with ``password`` for TCP logins)."""

    def __init__(
        self,
        cluster_path: StrPath,
        pg_config_dict: PgConfig,
        *,
        user: str = "postgres",
        password: str | None = None,
    ) -> None:
        self.path = os.path.abspath(os.fspath(cluster_path))
        self.pg_config = pg_dict(pg_config_dict)
        self.bindir = self.pg_config["bindir"]
        self.user = user
        self.password = password
        self._file_settings = FileSettings()

    # -- facts ------------------------------------------------------------------------------

    @property
    def data_dir(self) -> str:
        """Where the data really is (the link at ``path`` resolved)."""
        return os.path.realpath(self.path)

    @property
    def config_path(self) -> str:
        return os.path.join(self.data_dir, DEFAULT_CONFIG_FILENAME)

    @property
    def hba_path(self) -> str:
        return os.path.join(self.data_dir, DEFAULT_HBA_FILENAME)

    @property
    def log_path(self) -> str:
        return os.path.join(self.data_dir, LOG_FILENAME)

    @property
    def version_string(self) -> str:
        return self.pg_config.get("version", "PostgreSQL")

    @property
    def version(self) -> tuple[int, int]:
        """``(major, minor)`` of the installation."""
        return parse_version(self.version_string)

    def _settings(self) -> dict[str, str]:
        """The effective file settings (postgresql.conf, then postgresql.auto.conf)."""
        values = self._file_settings.read(self.data_dir)
        if values is None:
            raise ClusterError(
                f"{self.path} has no {DEFAULT_CONFIG_FILENAME}: is it a cluster?", self.path
            )
        return values

    @property
    def host(self) -> str:
        """The unix socket folder: the running server's, else the first of
        ``unix_socket_directories``."""
        return _endpoint.socket_dir(_endpoint.running_facts(self.data_dir), self._settings)

    @property
    def port(self) -> int:
        """The port: the running server's, else the configured one."""
        return _endpoint.port(_endpoint.running_facts(self.data_dir), self._settings)

    @property
    def address(self) -> str:
        """The TCP address to connect to (the first of ``listen_addresses``)."""
        return _endpoint.address(_endpoint.running_facts(self.data_dir), self._settings)

    def dsn(self, dbname: str = "postgres", **params: str | int | None) -> str:
        """A libpq connection string over the unix socket, password included.

        ``params`` add or replace keywords (``host=cluster.address`` for TCP); ``None``
        removes one.
        """
        values: dict[str, str | int | None] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": dbname,
            "password": self.password,
        }
        return _endpoint.dsn({**values, **params})

    def url(
        self, dbname: str = "postgres", *, driver: str | None = None, **params: str | int
    ) -> str:
        """A ``postgresql://`` URL over TCP on the loopback address, password included
        (percent-encoded), for drivers and ORMs that take URLs. ``params`` become the query.

        ``driver`` names SQLAlchemy's driver: ``driver="asyncpg"`` gives
        ``postgresql+asyncpg://`` (also ``psycopg``, ``psycopg2``, ``pg8000``); without
        one, the plain URL libpq, psycopg and ``asyncpg.connect`` take."""
        return _endpoint.url(
            self.user, self.password, self.address, self.port, dbname, params, driver
        )

    def sql(self, query: str, dbname: str = "postgres", *, timeout: float = 60.0) -> Rows:
        """Run ``query`` (one or more statements) with psql; the rows of the results as tuples
        of text, ``None`` for NULL. A failure raises :class:`SQLError` with the server's
        message. Needs no Python driver."""
        require_programs(self.bindir, ("psql",))
        return run_psql(
            os.path.join(self.bindir, "psql"),
            self.dsn(dbname, password=None),
            query,
            env=self._psql_env,
            timeout=timeout,
            dbname=dbname,
        )

    def _psql_env(self) -> dict[str, str]:
        """psql's environment. The password goes in it, not on the command line (other users
        can read that), so a pg_hba.conf that asks a password on the socket too lets sql() in."""
        env = clean_env(PGCLIENTENCODING="UTF8", PGCONNECT_TIMEOUT="10")
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env
