"""Where a cluster's server listens, and the connection strings that reach it.

A running server's ``postmaster.pid`` says where it really listens (its files may have
changed since it started, or hold an error); a stopped one's configuration says where it
will, and is read only then (``settings`` is a function).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Mapping
from urllib.parse import quote as url_quote
from urllib.parse import urlencode

from ._postmaster import PID_LINE_ADDRESS, PID_LINE_PORT, PID_LINE_SOCKET_DIR, pid_alive
from ._postmaster import read_pid_file as _read_pid_file

__all__ = [
    "DRIVERS",
    "LOOPBACK",
    "address",
    "dsn",
    "free_port",
    "libpq_quote",
    "port",
    "running_facts",
    "scheme",
    "socket_dir",
    "url",
]

LOOPBACK = "127.0.0.1"


def libpq_quote(value: str) -> str:
    """A value for a libpq ``key=value`` string: quoted when it must be."""
    if value and not any(c.isspace() or c in "'\\" for c in value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def running_facts(data_dir: str) -> list[str] | None:
    """postmaster.pid of the server running on ``data_dir``, or None."""
    lines = _read_pid_file(data_dir)
    if lines and len(lines) > PID_LINE_ADDRESS and lines[0].isdigit() and pid_alive(int(lines[0])):
        return lines
    return None


def socket_dir(running: list[str] | None, settings: Callable[[], Mapping[str, str]]) -> str:
    """The unix socket folder: the running server's, else the first configured."""
    if running and running[PID_LINE_SOCKET_DIR].strip():
        return running[PID_LINE_SOCKET_DIR].strip()
    dirs = settings().get("unix_socket_directories", "/tmp")
    return dirs.split(",")[0].strip() or "/tmp"


def port(running: list[str] | None, settings: Callable[[], Mapping[str, str]]) -> int:
    """The port: the running server's, else the configured one."""
    if running and running[PID_LINE_PORT].strip().isdigit():
        return int(running[PID_LINE_PORT])
    return int(settings().get("port", "5432"))


def address(running: list[str] | None, settings: Callable[[], Mapping[str, str]]) -> str:
    """The TCP address to connect to (the first listened on; loopback for a wildcard)."""
    if running:
        first = running[PID_LINE_ADDRESS].strip()
    else:
        first = settings().get("listen_addresses", LOOPBACK).split(",")[0].strip()
    return LOOPBACK if first in ("*", "", "0.0.0.0", "localhost") else first


def dsn(values: Mapping[str, str | int | None]) -> str:
    """A libpq keyword string; keywords whose value is None are left out."""
    return " ".join(
        f"{key}={libpq_quote(str(value))}" for key, value in values.items() if value is not None
    )


#: SQLAlchemy's PostgreSQL drivers (``postgresql+NAME://``); others are accepted when they
#: look like a driver name, for dialects this list does not know yet.
DRIVERS = ("asyncpg", "psycopg", "psycopg2", "pg8000", "psycopg_async", "psycopg2cffi")


def scheme(driver: str | None) -> str:
    """``postgresql`` or ``postgresql+driver``, the form SQLAlchemy and Alembic read."""
    if driver is None:
        return "postgresql"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", driver):
        raise ValueError(
            f"driver={driver!r} is not a driver name: give one of {', '.join(DRIVERS)}, "
            "or None for a plain postgresql:// URL (libpq, psycopg, asyncpg.connect)"
        )
    return f"postgresql+{driver}"


def url(
    user: str,
    password: str | None,
    host: str,
    port: int,
    dbname: str,
    params: Mapping[str, str | int],
    driver: str | None = None,
) -> str:
    """A ``postgresql://`` URL (``postgresql+driver://`` with a driver), user and password
    percent-encoded, ``params`` the query."""
    auth = url_quote(user, safe="")
    if password is not None:
        auth += ":" + url_quote(password, safe="")
    text = f"{scheme(driver)}://{auth}@{host}:{port}/{url_quote(dbname, safe='')}"
    if params:
        text += "?" + urlencode({k: str(v) for k, v in params.items()})
    return text
