"""A postmaster as a process: how it is spawned, and what it leaves where others can see it
(its pid file, its process, its log).

Its output is appended to a log file, never a pipe (every server process would inherit it
and a read would wait for the server to exit). ``postmaster.pid`` says which process serves
a data directory, where it listens and (8th line) whether it is ``starting``, ``ready``,
``standby`` or ``stopping``. Postmasters this process started are kept as ``Popen`` objects
so a stopped one is reaped, not taken for a live zombie.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from ._account import ServerUser
from ._control_errors import StartupError

__all__ = [
    "LOG_TAIL_LINES",
    "PID_FILENAME",
    "Options",
    "forget_child",
    "log_tail",
    "option_args",
    "orphans",
    "pid_alive",
    "read_pid_file",
    "remember_child",
    "spawn",
]

PID_FILENAME = "postmaster.pid"
#: postmaster.pid line numbers (0-based) and status words (PostgreSQL 10 and later).
PID_LINE_PID = 0
PID_LINE_PORT = 3
PID_LINE_SOCKET_DIR = 4
PID_LINE_ADDRESS = 5
PID_LINE_SHMEM = 6
PID_LINE_STATUS = 7
STATUS_READY = "ready"
STATUS_STANDBY = "standby"
#: How many lines of the server log an error quotes.
LOG_TAIL_LINES = 30

#: Server settings for a start: a mapping (``-c name=value`` each) or ready arguments.
Options = Mapping[str, object] | Sequence[str] | None

# Postmasters this process started: reaped here so a stopped one is not taken for alive.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def remember_child(process: subprocess.Popen[bytes]) -> None:
    """Keep a postmaster this process started, so that :func:`pid_alive` reaps it."""
    _CHILDREN[process.pid] = process


def forget_child(pid: int) -> None:
    """Drop a postmaster that has exited (and been reaped)."""
    _CHILDREN.pop(pid, None)


def read_pid_file(data_dir: str) -> list[str] | None:
    """The lines of ``postmaster.pid``, or None when there is none (or it is being written)."""
    try:
        with open(os.path.join(data_dir, PID_FILENAME), encoding="utf-8", errors="replace") as fo:
            lines = fo.read().splitlines()
    except FileNotFoundError:
        return None
    return lines or None


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as dead; our children are reaped)."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's live process
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fo:
            state = fo.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def log_tail(path: str | None, offset: int = 0, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of the log after ``offset`` (what this start wrote)."""
    if not path:
        return ""
    try:
        with open(path, "rb") as fo:
            fo.seek(offset)
            data = fo.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def orphans(data_dir: str) -> list[int]:
    """Live processes whose working folder is ``data_dir``: once its postmaster is dead,
    the server processes it left (they hold its shared memory until they notice)."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd == data_dir and pid_alive(int(entry)):
            found.append(int(entry))
    return found


def option_args(options: Options) -> list[str]:
    """``-c name=value`` arguments from a mapping, or a ready list of arguments."""
    if options is None:
        return []
    if isinstance(options, Mapping):
        args: list[str] = []
        for name, value in options.items():
            if isinstance(value, bool):
                value = "on" if value else "off"
            args += ["-c", f"{name}={value}"]
        return args
    return list(options)


def spawn(
    args: list[str], log: str, user: ServerUser, data_dir: str
) -> tuple[subprocess.Popen[bytes], int]:
    """Run the postmaster in its own session, as the server user, its output appended to
    ``log`` (never a pipe: every server process would inherit it). Returns the process
    and the log's size before it, where this start's lines begin."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        offset = os.fstat(fd).st_size
        if os.fstat(fd).st_uid != user.uid and user.switching:
            os.fchown(fd, user.uid, user.gid)
        try:
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
                cwd="/",
                env=user.env(),
                start_new_session=True,
                close_fds=True,
                **user.popen_kwargs(),
            )
        except OSError as exc:
            raise StartupError(
                f"cannot run the server program {args[0]}: {exc.strerror or exc}",
                data_dir,
            ) from None
    finally:
        os.close(fd)
    remember_child(process)
    return process, offset
