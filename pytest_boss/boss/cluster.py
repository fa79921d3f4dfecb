"""A PostgreSQL cluster fit for tests: created, configured, started, queried and dropped.

``Cluster.create`` runs initdb and writes a configuration made for tests: a unix socket in
a short private folder (socket paths must stay under 107 bytes), TCP on 127.0.0.1 only on a
free port, fsync/synchronous_commit/full_page_writes off, the server log in a file inside
the data directory. The superuser gets a password (generated unless given): unix-socket
logins are trusted, TCP logins need it (scram-sha-256), and ``dsn()`` / ``url()`` carry it.

``Cluster(path, pg_config_dict)`` adopts an existing data directory (for example a copy of a
cached template); ``configure()`` then gives it its own socket folder and port.

As root, server programs run as the server user (:mod:`.privileges`); the caller stays root
and connects through the socket, with psql from the same installation.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import config
from ._client import (
    DEFAULT_HBA_FILENAME,
    LOG_FILENAME,
    ClusterClient,
    ClusterError,
    PgConfig,
    pg_dict,
    require_programs,
)
from ._cluster_replication import ReplicationMethods
from ._endpoint import LOOPBACK, free_port, libpq_quote
from ._filesettings import AUTO_CONFIG_FILENAME, DEFAULT_CONFIG_FILENAME
from ._meta import META_FILENAME, read_meta, write_meta
from ._password import SCRAM_ITERATIONS, alter_password_sql, password_literal, scram_verifier
from ._psql import Query, SQLError
from ._reload import REFUSED_SQLSTATES, ReloadOutcome, wait_for_reload
from ._types import StrPath
from .control import ControlError, Controller, Options, PortInUseError
from .init import Initializor, check_options
from .privileges import (
    PRIVATE_PREFIX,
    ServerUser,
    place_directory,
    remove_placed,
    server_bindir,
    server_user,
)

__all__ = [
    "AUTO_CONFIG_FILENAME",
    "DEFAULT_CONFIG_FILENAME",
    "DEFAULT_HBA_FILENAME",
    "LOG_FILENAME",
    "LOOPBACK",
    "META_FILENAME",
    "REFUSED_SQLSTATES",
    "SCRAM_ITERATIONS",
    "Cluster",
    "ClusterError",
    "ConfigWriteError",
    "Query",
    "ReloadOutcome",
    "SQLError",
    "free_port",
    "libpq_quote",
    "password_literal",
    "scram_verifier",
]

#: Settings every test cluster gets (then the caller's).
TEST_SETTINGS: dict[str, config.Value] = {
    "listen_addresses": LOOPBACK,
    "fsync": False,
    "synchronous_commit": False,
    "full_page_writes": False,
    "logging_collector": False,
    "log_destination": "stderr",
}


class ConfigWriteError(ClusterError, OSError):
    """A configuration file could not be written (disk full, read-only folder, file size
    limit). Files are replaced atomically, so it is unchanged. ``path`` names it; ``errno``
    and ``strerror`` are the system's."""

    def __init__(self, path: str, error: OSError) -> None:
        reason = error.strerror or str(error)
        super().__init__(
            f"could not write {path}: {reason}; the file is unchanged. Free space on its "
            "filesystem, or make its folder writable, and try again",
            path,
        )
        self.errno = error.errno
        self.strerror = reason

    def __str__(self) -> str:
        return self.message


class Cluster(ClusterClient, ReplicationMethods):
    """One data directory and the server that runs on it.

    ``cluster_path`` is the data directory (it may be a link to where the data really lives,
    see :func:`.privileges.place_directory`). ``pg_config_dict`` describes the installation
    (``pg_config`` output as a dict, or an :class:`.Installation`). ``user`` is the database
    superuser to connect as (default: what ``create`` recorded, else ``postgres``);
    ``password`` its password for TCP logins. ``server_user`` names the account the server
    runs as when this process is root.
    """

    DEFAULT_CONFIG_FILENAME = DEFAULT_CONFIG_FILENAME
    DEFAULT_HBA_FILENAME = DEFAULT_HBA_FILENAME

    def __init__(
        self,
        cluster_path: StrPath,
        pg_config_dict: PgConfig,
        *,
        user: str | None = None,
        password: str | None = None,
        server_user: ServerUser | str | None = None,
        start_timeout: float = 60.0,
        stop_timeout: float = 60.0,
    ) -> None:
        super().__init__(cluster_path, pg_config_dict, password=password)
        self.server_user = (
            server_user if isinstance(server_user, ServerUser) else _server_user(server_user)
        )
        self._server_bindir: str | None = None
        self._meta: dict[str, Any] = {}
        meta = self._read_meta()
        self.user = user or str(meta.get("superuser") or "postgres")
        self._controller = Controller(
            self.path,
            "postgres",
            user=self.server_user,
            start_timeout=start_timeout,
            stop_timeout=stop_timeout,
        )

    def __repr__(self) -> str:
        return f"Cluster({self.path!r}, {self.version_string!r})"

    # -- creation ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        cluster_path: StrPath,
        pg_config_dict: PgConfig,
        *,
        port: int | None = None,
        password: str | None = None,
        settings: Mapping[str, config.Value] | None = None,
        server_user: ServerUser | str | None = None,
        socket_parent: str | None = None,
        **initdb_options: Any,
    ) -> Cluster:
        """initdb a new cluster at ``cluster_path`` (which must not exist) and configure it for
        tests. ``port`` forces a port (default: a free one, changed if taken at start);
        ``password`` the superuser's (default: generated); ``settings`` are added to the
        test configuration; ``initdb_options`` go to :class:`.Initializor`.
        """
        check_options(initdb_options)
        path = os.path.abspath(os.fspath(cluster_path))
        facts = pg_dict(pg_config_dict)
        su = server_user if isinstance(server_user, ServerUser) else _server_user(server_user)
        if password is None:
            password = secrets.token_urlsafe(24)
        superuser = initdb_options.pop("superuser", "postgres")
        initdb_options.setdefault("auth_local", "trust")
        initdb_options.setdefault("auth_host", "scram-sha-256")
        if os.path.lexists(path):
            raise ClusterError(f"{path} already exists: give a new folder to create", path)
        require_programs(facts["bindir"], ("initdb", "postgres"))
        sbindir = server_bindir(facts["bindir"], su)
        placed = place_directory(path, su)
        try:
            Initializor(os.path.join(sbindir, "initdb"), user=su)(
                placed.real, superuser=superuser, password=password, **initdb_options
            )
            cluster = cls(path, facts, user=superuser, password=password, server_user=su)
            cluster._server_bindir = sbindir
            cluster._write_meta({"superuser": superuser})
            cluster.configure(port=port, settings=settings, socket_parent=socket_parent)
        except BaseException:
            remove_placed(path)
            raise
        return cluster

    def configure(
        self,
        port: int | None = None,
        settings: Mapping[str, config.Value] | None = None,
        socket_parent: str | None = None,
    ) -> None:
        """Give this cluster its own test configuration: a new private socket folder (the
        previous one this library made is removed), a port (a free one unless given), and
        :data:`TEST_SETTINGS` plus ``settings``. For a fresh or adopted copy, not running."""
        meta = self._read_meta()
        parent = socket_parent or ("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir())
        socket_dir = self.server_user.make_private_dir(parent, PRIVATE_PREFIX)
        old = self._own_socket_dir()
        if old is not None and old != socket_dir:
            _remove_socket_dir(old)
        meta.update(data_dir=self.data_dir, socket_dir=socket_dir, port_auto=port is None)
        self._write_meta(meta)
        values: dict[str, config.Value] = dict(TEST_SETTINGS)
        values["port"] = port if port is not None else free_port()
        values["unix_socket_directories"] = socket_dir
        values.update(settings or {})
        self.set_parameters(values)

    def set_password(self, password: str, *, query: Query | None = None) -> None:
        """Change the superuser's password (the server must run); ``dsn()`` carries it.
        The server is sent its SCRAM verifier (:func:`password_literal`), never the password.
        ``query`` runs the statement (default: :meth:`sql`), for a caller with a driver."""
        (query or self.sql)(alter_password_sql(self.user, password))
        self.password = password

    @property
    def server_bindir(self) -> str:
        """The binaries the server user runs (a readable copy when it cannot read ours)."""
        if self._server_bindir is None:
            require_programs(self.bindir, ("postgres",))
            self._server_bindir = server_bindir(self.bindir, self.server_user)
        return self._server_bindir

    @property
    def controller(self) -> Controller:
        """The :class:`.Controller` of this cluster's server."""
        self._controller.postgres_path = os.path.join(self.server_bindir, "postgres")
        return self._controller

    # -- parameters -------------------------------------------------------------------------

    def get_parameters(self, keys: Iterable[str]) -> dict[str, str | None]:
        """The file value of each of ``keys`` (``None`` when not set in the files)."""
        settings = self._settings()
        return {key: settings.get(key.lower()) for key in keys}

    def select_parameters(self, selector: Callable[[str], bool]) -> dict[str, str]:
        """The file settings whose (lower-case) name ``selector`` accepts."""
        return {k: v for k, v in self._settings().items() if selector(k)}

    def set_parameters(self, keyvals: Mapping[str, config.Value | None]) -> None:
        """Write settings into postgresql.conf atomically (``None`` comments one out).

        The running server is not told: call ``reload()`` or ``restart()`` as the setting
        requires. A setting also present in postgresql.auto.conf (ALTER SYSTEM) wins there.
        A write that fails raises :class:`ConfigWriteError` and leaves the file as it was.
        """
        try:
            config.alter_file(self.config_path, keyvals)
        except OSError as exc:
            raise ConfigWriteError(self.config_path, exc) from None
        self._file_settings.forget()

    # -- control ----------------------------------------------------------------------------

    def running(self) -> bool:
        return self.controller.running()

    def pid(self) -> int | None:
        """The postmaster's pid, or None."""
        return self.controller.pid()

    def start(self, options: Options = None, *, port_retries: int = 3) -> None:
        """Start the server and wait until it accepts connections.

        When the port was chosen for us and another process took it meanwhile, another free
        port is chosen (``port_retries`` times). A running server raises
        :class:`.AlreadyRunningError`.
        """
        for attempt in range(port_retries + 1):
            try:
                self.controller.start(options=options, logfile=self.log_path)
                return
            except PortInUseError:
                if attempt == port_retries or not self._read_meta().get("port_auto"):
                    raise
                self.set_parameters({"port": free_port()})

    def stop(self, mode: str = "fast", nowait: bool = False) -> None:
        """Stop the server (``smart``, ``fast`` or ``immediate``); warns when not running."""
        self.controller.stop(mode, nowait)

    def restart(self, mode: str = "fast", options: Options = None) -> None:
        """Stop when running, then start (with the last start's options unless given)."""
        if self.running():
            self.stop(mode)
        last = self.controller.last_options
        self.start(options=options if options is not None else last)

    def reload(self, wait: bool = True, timeout: float = 30.0) -> list[str]:
        """Make the server re-read its configuration files; return what it logged about it.

        With ``wait``, return only once a new connection sees the reloaded files, so the
        caller's next query sees the new values (see :meth:`reload_and_wait`). A file the
        server rejects as a whole raises :class:`.ReloadError` with its message; settings it
        rejects one by one (or that need a restart) are only logged, in the returned lines.
        """
        if not wait or not self.running():
            self.controller.reload()  # not running: NotRunningError
            return []
        return self.reload_and_wait(timeout).log

    def reload_and_wait(
        self,
        timeout: float = 30.0,
        *,
        query: Query | None = None,
        refused_means_done: bool = False,
    ) -> ReloadOutcome:
        """Signal a reload and wait until new connections see it: the server's log lines
        about it, the settings that wait for a restart, whether the new rules let us in.

        ``query`` runs the check (default: :meth:`sql`). With ``refused_means_done``, a
        login the new rules refuse proves they are in force (for rules that may shut us out).
        """
        try:
            offset = os.path.getsize(self.log_path)
        except OSError:
            offset = 0
        signalled = time.time()
        self.controller.reload()
        return wait_for_reload(
            query or (lambda text: self.sql(text, timeout=max(1.0, timeout))),
            signalled=signalled,
            log_path=self.log_path,
            log_offset=offset,
            data_dir=self.data_dir,
            timeout=timeout,
            refused_means_done=refused_means_done,
        )

    def drop(self) -> None:
        """Stop the server when running, and remove the data, its link and private folder,
        and the socket folder. Nothing is left on disk, nor in shared memory.

        The stop is fast, not immediate, though the data goes anyway: right after a start,
        an immediate shutdown can kill a child that is creating a shared memory segment,
        which then stays in /dev/shm for good. A standby made by ``replica()`` first lets go
        of its upstream (synchronous standby setting, replication slot).
        """
        if os.path.exists(self.path):
            if self._read_meta().get("application_name"):  # a standby made by replica()
                from .replication import release

                release(self)
            if self.running():
                try:
                    self.controller.stop("fast")
                except ControlError:
                    if self.running():
                        self.controller.stop("immediate")
            else:
                # Killed (SIGKILL): its shared memory stays unless removed now, since no
                # server will start on this data directory again.
                self.controller.remove_shared_memory()
        socket_dir = self._own_socket_dir()
        remove_placed(self.path)
        if socket_dir is not None:
            _remove_socket_dir(socket_dir)

    # -- bookkeeping ------------------------------------------------------------------------

    def _own_socket_dir(self) -> str | None:
        """The socket folder ``configure`` made for this very data directory (a copy of a
        cluster carries its original's record, which is not the copy's to remove)."""
        meta = self._read_meta() or self._meta
        socket_dir = meta.get("socket_dir")
        if isinstance(socket_dir, str) and meta.get("data_dir") == self.data_dir:
            return socket_dir
        return None

    def _meta_path(self) -> str:
        return os.path.join(self.data_dir, META_FILENAME)

    def _read_meta(self) -> dict[str, Any]:
        data = read_meta(self.data_dir)
        if data:
            self._meta = data
        return data

    def _write_meta(self, data: Mapping[str, Any]) -> None:
        self._meta = dict(data)
        write_meta(self.data_dir, data, self.server_user)


def _server_user(name: str | None) -> ServerUser:
    return server_user(name)


def _remove_socket_dir(path: str) -> None:
    """Remove a socket folder, only when this library made it."""
    if os.path.basename(path).startswith(PRIVATE_PREFIX) and os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
