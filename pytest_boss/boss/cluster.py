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

import base64
import csv
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Union
from urllib.parse import quote as url_quote
from urllib.parse import urlencode

from . import config
from ._atomic import atomic_write_text
from .control import (
    LOG_TAIL_LINES,
    PID_LINE_ADDRESS,
    PID_LINE_PORT,
    PID_LINE_SOCKET_DIR,
    ControlError,
    Controller,
    Options,
    PortInUseError,
    ReloadError,
    log_tail,
    pid_alive,
    read_pid_file,
)
from .init import Initializor
from .installation import Installation, InstallationError, parse_version
from .privileges import (
    PRIVATE_PREFIX,
    ServerUser,
    clean_env,
    place_directory,
    remove_placed,
    server_bindir,
    server_user,
)

__all__ = [
    "DEFAULT_CONFIG_FILENAME",
    "DEFAULT_HBA_FILENAME",
    "LOG_FILENAME",
    "Cluster",
    "ClusterError",
    "ConfigWriteError",
    "SQLError",
    "free_port",
    "libpq_quote",
    "password_literal",
    "scram_verifier",
]

StrPath = Union[str, "os.PathLike[str]"]
PgConfig = Union[Mapping[str, str], Installation]

DEFAULT_CONFIG_FILENAME = "postgresql.conf"
DEFAULT_HBA_FILENAME = "pg_hba.conf"
AUTO_CONFIG_FILENAME = "postgresql.auto.conf"
#: The server log, inside the data directory (removed with it).
LOG_FILENAME = "postmaster.log"
#: What this library remembers about a cluster, inside the data directory.
META_FILENAME = "pytest_boss.json"
LOOPBACK = "127.0.0.1"
#: Settings every test cluster gets (then the caller's).
TEST_SETTINGS: dict[str, config.Value] = {
    "listen_addresses": LOOPBACK,
    "fsync": False,
    "synchronous_commit": False,
    "full_page_writes": False,
    "logging_collector": False,
    "log_destination": "stderr",
}
_ERROR_RE = re.compile(
    r"^(?:psql:[^\n]*?:\d+: )?(?:ERROR|FATAL|PANIC):\s+(?:([0-9A-Z]{5}): )?(.*)$", re.M
)


class ClusterError(Exception):
    """A cluster cannot be created, adopted or removed as asked; ``path`` names it."""

    def __init__(self, message: str, path: str = "") -> None:
        self.message = message
        self.path = path
        super().__init__(message)


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


class SQLError(Exception):
    """A query failed; ``message`` and ``sqlstate`` are the server's (or psql's)."""

    def __init__(
        self,
        query: str,
        message: str,
        sqlstate: str | None = None,
        output: str = "",
        dbname: str = "",
    ) -> None:
        self.query = query
        self.message = message
        self.sqlstate = sqlstate
        self.output = output
        self.dbname = dbname
        super().__init__(message)

    def __str__(self) -> str:
        code = f" [{self.sqlstate}]" if self.sqlstate else ""
        query = self.query if len(self.query) <= 300 else self.query[:300] + "..."
        return f"{self.message}{code}\nin database {self.dbname!r}, query: {query}"


def libpq_quote(value: str) -> str:
    """A value for a libpq ``key=value`` string: quoted when it must be."""
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


#: PostgreSQL's default iteration count for SCRAM-SHA-256 verifiers.
SCRAM_ITERATIONS = 4096


def scram_verifier(
    password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802 and 7677).

    Given to ``ALTER ROLE ... PASSWORD``, it sets the password without the password itself
    ever reaching the server, so no server log (``log_statement``, an error's STATEMENT
    line) can show it. For printable ASCII passwords, which SASLprep leaves unchanged.
    """
    if not password.isascii() or not password.isprintable():
        raise ValueError("scram_verifier takes printable ASCII passwords (no SASLprep here)")
    salt = secrets.token_bytes(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("ascii"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def password_literal(password: str) -> str:
    """A SQL literal for ``ALTER ROLE ... PASSWORD``: the SCRAM verifier when the password
    allows it (the password then never reaches the server or its logs), else the password."""
    try:
        value = scram_verifier(password)
    except ValueError:
        value = password
    return "'" + value.replace("'", "''") + "'"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _require_programs(bindir: str, programs: Iterable[str]) -> None:
    """Fail clearly, before anything is made, when the installation lacks a program."""
    missing = [p for p in programs if not os.access(os.path.join(bindir, p), os.X_OK)]
    if missing:
        raise InstallationError(
            f"The PostgreSQL binaries {', '.join(missing)} are missing from {bindir}.",
            [(bindir, "missing " + ", ".join(missing))],
        )


def _pg_dict(pg_config_dict: PgConfig) -> dict[str, str]:
    if isinstance(pg_config_dict, Installation):
        return dict(pg_config_dict.pg_config_dict)
    facts = dict(pg_config_dict)
    if "bindir" not in facts:
        raise ClusterError("the pg_config dictionary has no 'bindir': pass pg_config's output")
    return facts


class Cluster:
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
        self.path = os.path.abspath(os.fspath(cluster_path))
        self.pg_config = _pg_dict(pg_config_dict)
        self.bindir = self.pg_config["bindir"]
        self.server_user = (
            server_user if isinstance(server_user, ServerUser) else _server_user(server_user)
        )
        self._server_bindir: str | None = None
        self._meta: dict[str, Any] = {}
        meta = self._read_meta()
        self.user: str = user or str(meta.get("superuser") or "postgres")
        self.password = password
        self._controller = Controller(
            self.path,
            "postgres",
            user=self.server_user,
            start_timeout=start_timeout,
            stop_timeout=stop_timeout,
        )
        self._settings_cache: tuple[tuple[Any, ...], dict[str, str]] | None = None

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
        path = os.path.abspath(os.fspath(cluster_path))
        facts = _pg_dict(pg_config_dict)
        su = server_user if isinstance(server_user, ServerUser) else _server_user(server_user)
        if password is None:
            password = secrets.token_urlsafe(24)
        superuser = initdb_options.pop("superuser", "postgres")
        initdb_options.setdefault("auth_local", "trust")
        initdb_options.setdefault("auth_host", "scram-sha-256")
        if os.path.lexists(path):
            raise ClusterError(f"{path} already exists: give a new folder to create", path)
        _require_programs(facts["bindir"], ("initdb", "postgres"))
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

    def set_password(self, password: str) -> None:
        """Change the superuser's password (the server must run); ``dsn()`` carries it.
        The server is sent its SCRAM verifier (:func:`password_literal`), never the password."""
        ident = '"' + self.user.replace('"', '""') + '"'
        self.sql(f"ALTER ROLE {ident} PASSWORD {password_literal(password)}")
        self.password = password

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

    @property
    def server_bindir(self) -> str:
        """The binaries the server user runs (a readable copy when it cannot read ours)."""
        if self._server_bindir is None:
            _require_programs(self.bindir, ("postgres",))
            self._server_bindir = server_bindir(self.bindir, self.server_user)
        return self._server_bindir

    @property
    def controller(self) -> Controller:
        """The :class:`.Controller` of this cluster's server."""
        self._controller.postgres_path = os.path.join(self.server_bindir, "postgres")
        return self._controller

    def _settings(self) -> dict[str, str]:
        """The effective file settings (postgresql.conf, then postgresql.auto.conf), cached
        until either file changes."""
        stamps: list[Any] = []
        for name in (DEFAULT_CONFIG_FILENAME, AUTO_CONFIG_FILENAME):
            try:
                st = os.stat(os.path.join(self.data_dir, name))
                stamps.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                stamps.append(None)
        key = tuple(stamps)
        if self._settings_cache is None or self._settings_cache[0] != key:
            if stamps[0] is None:
                raise ClusterError(
                    f"{self.path} has no {DEFAULT_CONFIG_FILENAME}: is it a cluster?", self.path
                )
            values = config.read_file(self.config_path)
            if stamps[1] is not None:
                config.read_file(os.path.join(self.data_dir, AUTO_CONFIG_FILENAME), values)
            self._settings_cache = (key, values)
        return self._settings_cache[1]

    def _running_facts(self) -> list[str] | None:
        """postmaster.pid of the running server: what it really listens on (the files may
        have changed since it started, or hold an error)."""
        lines = read_pid_file(self.data_dir)
        if (
            lines
            and len(lines) > PID_LINE_ADDRESS
            and lines[0].isdigit()
            and pid_alive(int(lines[0]))
        ):
            return lines
        return None

    @property
    def host(self) -> str:
        """The unix socket folder: the running server's, else the first of
        ``unix_socket_directories``."""
        running = self._running_facts()
        if running and running[PID_LINE_SOCKET_DIR].strip():
            return running[PID_LINE_SOCKET_DIR].strip()
        dirs = self._settings().get("unix_socket_directories", "/tmp")
        return dirs.split(",")[0].strip() or "/tmp"

    @property
    def port(self) -> int:
        """The port: the running server's, else the configured one."""
        running = self._running_facts()
        if running and running[PID_LINE_PORT].strip().isdigit():
            return int(running[PID_LINE_PORT])
        return int(self._settings().get("port", "5432"))

    @property
    def address(self) -> str:
        """The TCP address to connect to (the first of ``listen_addresses``)."""
        running = self._running_facts()
        if running:
            first = running[PID_LINE_ADDRESS].strip()
        else:
            first = self._settings().get("listen_addresses", LOOPBACK).split(",")[0].strip()
        return LOOPBACK if first in ("*", "", "0.0.0.0", "localhost") else first

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
        values.update(params)
        return " ".join(
            f"{key}={libpq_quote(str(value))}" for key, value in values.items() if value is not None
        )

    def url(self, dbname: str = "postgres", **params: str | int) -> str:
        """A ``postgresql://`` URL over TCP on the loopback address, password included
        (percent-encoded), for drivers and ORMs that take URLs. ``params`` become the query."""
        auth = url_quote(self.user, safe="")
        if self.password is not None:
            auth += ":" + url_quote(self.password, safe="")
        url = f"postgresql://{auth}@{self.address}:{self.port}/{url_quote(dbname, safe='')}"
        if params:
            url += "?" + urlencode({k: str(v) for k, v in params.items()})
        return url

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
        self._settings_cache = None

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
        caller's next query sees the new values. Nothing is asked before the signal (the
        rules in force may refuse us: that is often why they are being reloaded): the server
        stamps the reload with ``pg_conf_load_time()``, compared with this machine's clock
        read before signalling; a refused connection meanwhile only means "not yet". A file
        the server rejects as a whole raises :class:`.ReloadError` with its message; settings
        it rejects one by one (or that need a restart) are only logged, in the returned lines.
        """
        if not wait or not self.running():
            self.controller.reload()  # not running: NotRunningError
            return []
        try:
            offset = os.path.getsize(self.log_path)
        except OSError:
            offset = 0
        signalled = time.time()
        self.controller.reload()
        deadline = time.monotonic() + timeout
        query = f"SELECT pg_conf_load_time() >= to_timestamp({signalled!r})"
        refused: SQLError | None = None
        while True:
            try:
                if self.sql(query, timeout=max(1.0, timeout))[0][0] == "t":
                    break
            except SQLError as exc:
                refused = exc  # the old rules (or the new ones) refuse us: ask again
            lines = log_tail(self.log_path, offset, 1000).splitlines()
            if any("no changes were applied" in line for line in lines):
                raise ReloadError(
                    f"the server of {self.path} rejected its configuration files; it runs "
                    "on with the previous settings",
                    self.data_dir,
                    "\n".join(lines[-LOG_TAIL_LINES:]),
                )
            if time.monotonic() > deadline:
                why = f" (the last query failed: {refused.message})" if refused else ""
                raise ReloadError(
                    f"the server of {self.path} did not confirm the reload of its "
                    f"configuration within {timeout:g} s{why}; reload(wait=False) does not ask",
                    self.data_dir,
                    log_tail(self.log_path, offset),
                )
            time.sleep(0.002)
        return log_tail(self.log_path, offset, 1000).splitlines()

    def drop(self) -> None:
        """Stop the server when running, and remove the data, its link and private folder,
        and the socket folder. Nothing is left on disk, nor in shared memory.

        The stop is fast, not immediate, though the data goes anyway: right after a start,
        an immediate shutdown kills children that may be creating a shared memory segment
        (about one stop in ten here), which then stays in /dev/shm for good. A fast one
        costs about 4 ms more. A standby made by ``replica()`` first lets go of its upstream
        (synchronous standby setting, replication slot).
        """
        if os.path.exists(self.path):
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

    # -- queries ----------------------------------------------------------------------------

    def sql(
        self, query: str, dbname: str = "postgres", *, timeout: float = 60.0
    ) -> list[tuple[str | None, ...]]:
        """Run ``query`` (one or more statements) with psql; the rows of the results as tuples
        of text, ``None`` for NULL. A failure raises :class:`SQLError` with the server's
        message. Needs no Python driver."""
        _require_programs(self.bindir, ("psql",))
        psql = os.path.join(self.bindir, "psql")
        null = f"<NULL {secrets.token_hex(8)}>"
        args = [
            psql,
            "-X",
            "-q",
            "--csv",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            "VERBOSITY=verbose",
            "-P",
            f"null={null}",
            "-d",
            self.dsn(dbname, password=None),
            "-f",
            "-",
        ]
        try:
            done = subprocess.run(
                args,
                input=query.encode("utf-8"),
                capture_output=True,
                env=self._psql_env(),  # not a local: tracebacks with locals would show it
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SQLError(
                query, f"psql did not finish within {timeout:g} s", dbname=dbname
            ) from None
        errors = done.stderr.decode("utf-8", "replace")
        if done.returncode != 0:
            match = _ERROR_RE.search(errors)
            if match:
                message, sqlstate = match.group(2).strip(), match.group(1)
            else:
                message, sqlstate = errors.strip() or f"psql exited {done.returncode}", None
            raise SQLError(query, message, sqlstate, errors, dbname)
        rows: list[tuple[str | None, ...]] = []
        reader = csv.reader(io.StringIO(done.stdout.decode("utf-8", "replace"), newline=""))
        for row in reader:
            # psql writes a lone empty string as an empty line (csv reads it as no field).
            rows.append(tuple(None if v == null else v for v in row) if row else ("",))
        return rows

    def _psql_env(self) -> dict[str, str]:
        """psql's environment. The password goes in it, not on the command line (other users
        can read that), so a pg_hba.conf that asks a password on the socket too lets sql() in."""
        env = clean_env(PGCLIENTENCODING="UTF8", PGCONNECT_TIMEOUT="10")
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env

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
        try:
            with open(self._meta_path(), encoding="utf-8") as fo:
                data = json.load(fo)
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        self._meta = data
        return data

    def _write_meta(self, data: Mapping[str, Any]) -> None:
        self._meta = dict(data)
        atomic_write_text(self._meta_path(), json.dumps(dict(data)) + "\n")
        self.server_user.chown(self._meta_path())

    # -- replication (the work is in .replication) ------------------------------------------

    def backup(self, path: StrPath, **options: Any) -> str:
        """A pg_basebackup of this running cluster in the new folder ``path``; returns it.
        ``options`` are pg_basebackup's long options (``wal_method="fetch"``)."""
        from .replication import backup

        return backup(self, path, **options)

    def replica(
        self,
        path: StrPath,
        *,
        synchronous: bool = False,
        slot: str | bool | None = None,
        start: bool = True,
    ) -> Cluster:
        """A hot standby of this cluster at the new folder ``path``, streaming over the
        unix socket (running unless ``start`` is false); see :func:`.replication.replica`."""
        from .replication import replica

        return replica(self, path, synchronous=synchronous, slot=slot, start=start)

    @property
    def is_standby(self) -> bool:
        """Whether the running server is a standby (in recovery), asked of the server."""
        from .replication import is_standby

        return is_standby(self)

    def catch_up(self, timeout: float = 30.0) -> str:
        """On a standby: wait until it has replayed what its upstream had flushed when
        called (the upstream flushes first); returns that WAL position."""
        from .replication import catch_up

        return catch_up(self, timeout)

    def promote(self, timeout: float = 60.0) -> None:
        """Make this standby a primary and wait until it is one."""
        from .replication import promote

        promote(self, timeout)

    def kill(self) -> None:
        """Crash the server (SIGKILL of the postmaster); ``start()`` then recovers."""
        from .replication import kill

        kill(self)


def _server_user(name: str | None) -> ServerUser:
    return server_user(name)


def _remove_socket_dir(path: str) -> None:
    """Remove a socket folder, only when this library made it."""
    if os.path.basename(path).startswith(PRIVATE_PREFIX) and os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
