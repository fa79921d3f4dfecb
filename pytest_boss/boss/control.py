"""Start, stop, reload and watch a postmaster, quickly and without ever hanging on a pipe.

The postmaster is started directly (``postgres -D DATA``) in its own session, as the server
user, with stdin from /dev/null and stdout/stderr appended to a log file: a pipe would be
inherited by every server process and a read on it would wait for the server to exit.

Readiness is read from ``postmaster.pid`` (its 8th line says ``starting``, ``ready``,
``standby`` or ``stopping``) every few milliseconds, instead of pg_ctl's 100 ms polling;
a postmaster that exits during start (bad setting, port in use) is noticed at once and its
log is quoted. Stopping signals the postmaster (SIGTERM smart, SIGINT fast, SIGQUIT
immediate) and waits for the process to exit.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import struct
import subprocess
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Union

from ._errors import BossError
from ._types import StrPath
from .privileges import ServerUser, server_user

__all__ = [
    "PID_FILENAME",
    "AlreadyRunningError",
    "ControlError",
    "ControlTimeoutError",
    "ControlWarning",
    "Controller",
    "NotAClusterError",
    "NotRunningError",
    "PortInUseError",
    "ReloadError",
    "StartupError",
    "pg_ctl",
    "remove_shared_memory",
]

Options = Union[Mapping[str, object], Sequence[str], None]

PID_FILENAME = "postmaster.pid"
#: The log file used when ``start`` is given none (inside the data directory).
DEFAULT_LOG_FILENAME = "postmaster.log"
STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}
#: postmaster.pid line numbers (0-based) and status words (PostgreSQL 10 and later).
PID_LINE_PID = 0
PID_LINE_PORT = 3
PID_LINE_SOCKET_DIR = 4
PID_LINE_ADDRESS = 5
PID_LINE_SHMEM = 6
PID_LINE_STATUS = 7
STATUS_READY = "ready"
STATUS_STANDBY = "standby"
LOG_TAIL_LINES = 30

# Postmasters this process started: reaped here so a stopped one is not taken for alive.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class ControlError(BossError):
    """A server could not be started, stopped or signalled.

    ``data_dir`` names the cluster, ``log_tail`` holds the last lines of its log (may be "").
    """

    def __init__(self, message: str, data_dir: str = "", log_tail: str = "") -> None:
        self.message = message
        self.data_dir = data_dir
        self.log_tail = log_tail
        super().__init__(message)

    def __str__(self) -> str:
        text = self.message
        if self.log_tail.strip():
            text += "\nserver log:\n" + self.log_tail.rstrip()
        return text


class NotAClusterError(ControlError):
    """The folder is not a PostgreSQL data directory."""


class AlreadyRunningError(ControlError):
    """start() on a running server."""


class NotRunningError(ControlError):
    """An action that needs a running server (reload) found none."""


class StartupError(ControlError):
    """The postmaster exited while starting; ``returncode`` is its exit status."""

    def __init__(
        self, message: str, data_dir: str = "", log_tail: str = "", returncode: int | None = None
    ) -> None:
        super().__init__(message, data_dir, log_tail)
        self.returncode = returncode


class PortInUseError(StartupError):
    """The postmaster could not listen: another process holds its port."""


class ReloadError(ControlError):
    """The server did not take its configuration files (it runs on with the old ones)."""


class ControlTimeoutError(ControlError):
    """A start or stop did not finish within its time-out."""


class ControlWarning(UserWarning):
    """Nothing to do: e.g. stopping a server that is not running."""


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


def _option_args(options: Options) -> list[str]:
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


#: PostgreSQL's shared memory header (PGShmemHeader, 64-bit): magic, creator pid, total size,
#: free offset, dynamic shared memory control handle, index pointer, data directory device
#: and inode. Its magic number, and the control segment's (dsm.c).
_SHMEM_HEADER = struct.Struct("=iiQQIxxxxQQQ")
_SHMEM_MAGIC = 679834894
_DSM_CONTROL_MAGIC = 0x9A503D32
_DSM_ITEMS_OFFSET = 16
_SHM_RDONLY = 0o10000
_IPC_RMID = 0
POSIX_SHM_DIR = "/dev/shm"


def _sysv_segments() -> dict[int, tuple[int, int, int]]:
    """shmid -> (key, size, attached processes), from /proc/sysvipc/shm."""
    found: dict[int, tuple[int, int, int]] = {}
    try:
        with open("/proc/sysvipc/shm", encoding="ascii") as fo:
            lines = fo.read().splitlines()[1:]
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        try:
            key, shmid, size, nattch = (
                int(fields[0]),
                int(fields[1]),
                int(fields[3]),
                int(fields[6]),
            )
        except (IndexError, ValueError):
            continue
        found[shmid] = (key, size, nattch)
    return found


def _read_sysv(shmid: int, size: int) -> bytes | None:
    """The first ``size`` bytes of a System V segment (attached read-only), or None."""
    libc = ctypes.CDLL(None, use_errno=True)  # this process: libc among it
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
    libc.shmdt.argtypes = (ctypes.c_void_p,)
    address = libc.shmat(shmid, None, _SHM_RDONLY)
    if address in (None, ctypes.c_void_p(-1).value):
        return None
    try:
        return ctypes.string_at(address, size)
    finally:
        libc.shmdt(address)


def _dsm_handles(control: bytes) -> list[int]:
    """The segments a dynamic shared memory control segment lists as in use (refcnt > 0):
    each item begins with its handle and reference count, whatever the release's item size."""
    magic, nitems, maxitems = struct.unpack_from("=III", control)
    if magic != _DSM_CONTROL_MAGIC or maxitems == 0 or nitems > maxitems:
        return []
    item_size, rest = divmod(len(control) - _DSM_ITEMS_OFFSET, maxitems)
    if rest or item_size < 8:
        return []
    handles = []
    for index in range(nitems):
        handle, refcnt = struct.unpack_from("=II", control, _DSM_ITEMS_OFFSET + index * item_size)
        if refcnt > 0:
            handles.append(handle)
    return handles


def remove_shared_memory(data_dir: StrPath) -> list[str]:
    """Remove the shared memory a killed postmaster of ``data_dir`` left behind; return what
    was removed (``/dev/shm`` paths, ``sysv:SHMID``).

    A postmaster ended by SIGKILL cannot clean up: its System V segment stays, and so does
    its dynamic shared memory (``/dev/shm/PostgreSQL.N``) until a server starts again on the
    same data directory. A data directory that is dropped instead never gets that start.
    Only what is provably this data directory's is removed: the System V segment named in
    its ``postmaster.pid`` must carry PostgreSQL's magic number and this directory's device
    and inode, and no process may be attached to it; the POSIX segments removed are the
    control segment that header names (checked by its own magic number) and those it lists.
    Nothing is done while a postmaster runs on ``data_dir``, or on a 32-bit system.
    """
    data_dir = os.path.realpath(os.fspath(data_dir))
    lines = read_pid_file(data_dir)
    if not lines or len(lines) <= PID_LINE_SHMEM or ctypes.sizeof(ctypes.c_void_p) != 8:
        return []
    try:
        pid = int(lines[PID_LINE_PID])
        key, shmid = (int(word) for word in lines[PID_LINE_SHMEM].split())
        st = os.stat(data_dir)
    except (ValueError, OSError):
        return []
    if pid_alive(pid):
        return []
    segment = _sysv_segments().get(shmid)
    if segment is None or segment[0] != key or segment[2] != 0:
        return []  # gone already, someone else's, or still in use (orphans)
    header = _read_sysv(shmid, _SHMEM_HEADER.size) if segment[1] >= _SHMEM_HEADER.size else None
    if header is None:
        return []
    magic, _creator, _total, _free, dsm_control, _index, device, inode = _SHMEM_HEADER.unpack(
        header
    )
    if magic != _SHMEM_MAGIC or (device, inode) != (st.st_dev, st.st_ino):
        return []
    removed = []
    control_path = os.path.join(POSIX_SHM_DIR, f"PostgreSQL.{dsm_control}")
    try:
        with open(control_path, "rb") as fo:
            control = fo.read()
    except OSError:
        control = b""
    if len(control) >= _DSM_ITEMS_OFFSET and struct.unpack_from("=I", control)[0] == (
        _DSM_CONTROL_MAGIC
    ):
        for handle in [*_dsm_handles(control), dsm_control]:
            path = os.path.join(POSIX_SHM_DIR, f"PostgreSQL.{handle}")
            try:
                os.remove(path)
            except OSError:
                continue
            removed.append(path)
    libc = ctypes.CDLL(None, use_errno=True)  # this process: libc among it
    libc.shmctl.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
    if libc.shmctl(shmid, _IPC_RMID, None) == 0:
        removed.append(f"sysv:{shmid}")
    return removed


class Controller:
    """Control the postmaster of one data directory.

    ``postgres_path``: the server program (run as ``user``, who must be able to execute it).
    Time-outs are seconds; ``poll_interval`` is how often postmaster.pid is read.
    """

    def __init__(
        self,
        location: StrPath,
        postgres_path: str = "postgres",
        *,
        user: ServerUser | str | None = None,
        start_timeout: float = 60.0,
        stop_timeout: float = 60.0,
        poll_interval: float = 0.002,
    ) -> None:
        self.data_dir = os.path.realpath(os.fspath(location))
        self.postgres_path = postgres_path
        self.user = user if isinstance(user, ServerUser) else server_user(user)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.poll_interval = poll_interval
        self.logfile: str | None = None
        self._last_start: tuple[str | None, Options, str | None] = (None, None, None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.data_dir!r})"

    @property
    def last_options(self) -> Options:
        """The ``options`` of the last start (what ``restart`` reuses)."""
        return self._last_start[1]

    # -- state ------------------------------------------------------------------------------

    def pid(self) -> int | None:
        """The postmaster's pid when one is running, else None."""
        lines = read_pid_file(self.data_dir)
        if not lines:
            return None
        try:
            pid = int(lines[PID_LINE_PID])
        except ValueError:
            return None
        return pid if pid_alive(pid) else None

    def status(self) -> str | None:
        """``starting``, ``ready``, ``standby``, ``stopping``, or None when not running."""
        lines = read_pid_file(self.data_dir)
        if not lines or self.pid() is None:
            return None
        if len(lines) > PID_LINE_STATUS:
            return lines[PID_LINE_STATUS].strip() or "starting"
        return "starting"

    def running(self) -> bool:
        """Whether a postmaster runs on this data directory."""
        return self.pid() is not None

    def _check_cluster(self) -> None:
        if not os.path.isfile(os.path.join(self.data_dir, "PG_VERSION")):
            what = "does not exist" if not os.path.exists(self.data_dir) else "has no PG_VERSION"
            raise NotAClusterError(
                f"{self.data_dir} is not a PostgreSQL data directory (it {what}): create one "
                "with initdb (Initializor, Cluster.create) first",
                self.data_dir,
            )

    # -- start ------------------------------------------------------------------------------

    def start(
        self,
        postmaster: str | None = None,
        options: Options = None,
        nowait: bool = False,
        logfile: str | None = None,
    ) -> int:
        """Start the postmaster and (unless ``nowait``) wait until it accepts connections.

        ``postmaster`` overrides the server program, ``options`` are settings (a mapping,
        passed as ``-c name=value``) or raw arguments, ``logfile`` receives the server's
        output (default: ``postmaster.log`` in the data directory). Returns the pid.
        Starting a running server raises :class:`AlreadyRunningError`.
        """
        self._check_cluster()
        running = self.pid()
        if running is not None:
            raise AlreadyRunningError(
                f"the server of {self.data_dir} is already running (pid {running}); stop it "
                "first, or restart() it",
                self.data_dir,
            )
        if read_pid_file(self.data_dir) is not None:
            self._wait_for_orphans()
        program = postmaster or self.postgres_path
        log = os.path.abspath(logfile or os.path.join(self.data_dir, DEFAULT_LOG_FILENAME))
        self.logfile = log
        self._last_start = (postmaster, options, logfile)
        args = [program, "-D", self.data_dir, *_option_args(options)]
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            offset = os.fstat(fd).st_size
            if os.fstat(fd).st_uid != self.user.uid and self.user.switching:
                os.fchown(fd, self.user.uid, self.user.gid)
            try:
                process = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=fd,
                    stderr=subprocess.STDOUT,
                    cwd="/",
                    env=self.user.env(),
                    start_new_session=True,
                    close_fds=True,
                    **self.user.popen_kwargs(),
                )
            except OSError as exc:
                raise StartupError(
                    f"cannot run the server program {program}: {exc.strerror or exc}",
                    self.data_dir,
                ) from None
        finally:
            os.close(fd)
        _CHILDREN[process.pid] = process
        if not nowait:
            self._wait_ready(process, log, offset)
        return process.pid

    def orphans(self) -> list[int]:
        """Server processes left on this data directory by a postmaster that died (killed):
        they run in it (their working folder) and hold its shared memory until they notice.
        Empty while a postmaster runs (its children are not orphans)."""
        if self.pid() is not None:
            return []
        found = []
        for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
            if not entry.isdigit():
                continue
            try:
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                continue
            if cwd == self.data_dir and pid_alive(int(entry)):
                found.append(int(entry))
        return found

    def remove_shared_memory(self, timeout: float = 10.0) -> list[str]:
        """After a killed postmaster: wait (up to ``timeout``) for its orphans to exit, then
        remove the shared memory it left (see :func:`remove_shared_memory`)."""
        if self.pid() is not None or read_pid_file(self.data_dir) is None:
            return []
        deadline = time.monotonic() + timeout
        while self.orphans() and time.monotonic() < deadline:
            time.sleep(self.poll_interval * 5)
        return remove_shared_memory(self.data_dir)

    def _wait_for_orphans(self) -> None:
        """Before starting over a stale postmaster.pid, let the dead postmaster's children
        exit (they do when they notice it is gone); else the start fails on shared memory."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            left = self.orphans()
            if not left:
                return
            if time.monotonic() > deadline:
                raise StartupError(
                    f"processes of a dead server still run on {self.data_dir} (pids "
                    f"{', '.join(map(str, left))}) after {self.start_timeout:g} s: stop them",
                    self.data_dir,
                )
            time.sleep(self.poll_interval * 5)

    def _wait_ready(self, process: subprocess.Popen[bytes], log: str, offset: int) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            code = process.poll()
            if code is not None:
                _CHILDREN.pop(process.pid, None)
                tail = log_tail(log, offset)
                cls = StartupError
                hint = "see the server log below"
                if "Address already in use" in tail or "could not create any TCP/IP" in tail:
                    cls = PortInUseError
                    hint = "another process holds its port: choose another port"
                elif "lock file" in tail and "already exists" in tail:
                    hint = "another server uses this data directory or its socket"
                raise cls(
                    f"the server of {self.data_dir} exited during start (status {code}): {hint}",
                    self.data_dir,
                    tail,
                    code,
                )
            lines = read_pid_file(self.data_dir)
            if (
                lines
                and len(lines) > PID_LINE_STATUS
                and lines[PID_LINE_PID].strip() == str(process.pid)
                and lines[PID_LINE_STATUS].strip() in (STATUS_READY, STATUS_STANDBY)
            ):
                return
            if time.monotonic() > deadline:
                tail = log_tail(log, offset)
                self.kill(process.pid)
                raise ControlTimeoutError(
                    f"the server of {self.data_dir} was not ready within "
                    f"{self.start_timeout:g} s (start_timeout); it was stopped",
                    self.data_dir,
                    tail,
                )
            time.sleep(self.poll_interval)

    def kill(self, pid: int | None = None, grace: float = 5.0) -> bool:
        """Stop a server that failed us, or one a caller must end at once: immediate
        shutdown (SIGQUIT), then SIGKILL when it has not exited within ``grace`` seconds.

        ``pid`` defaults to the running postmaster. Returns whether it is gone.
        """
        if pid is None:
            pid = self.pid()
            if pid is None:
                return True
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return True
            if self.wait_exit(pid, grace):
                return True
        return False

    def wait_exit(self, pid: int, timeout: float | None = None) -> bool:
        """Wait until process ``pid`` has exited (``timeout`` defaults to ``stop_timeout``);
        returns whether it did."""
        deadline = time.monotonic() + (self.stop_timeout if timeout is None else timeout)
        while pid_alive(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(self.poll_interval)
        return True

    # -- stop -------------------------------------------------------------------------------

    def stop(self, mode: str = "fast", nowait: bool = False) -> None:
        """Stop the server: ``smart`` waits for clients, ``fast`` disconnects them,
        ``immediate`` aborts (crash recovery at next start). Warns when it is not running."""
        if mode not in STOP_SIGNALS:
            raise ValueError(f"stop mode must be one of {', '.join(STOP_SIGNALS)}, not {mode!r}")
        pid = self.pid()
        if pid is None:
            warnings.warn(
                ControlWarning(f"the server of {self.data_dir} is not running: nothing to stop"),
                stacklevel=2,
            )
            return
        try:
            os.kill(pid, STOP_SIGNALS[mode])
        except ProcessLookupError:
            return
        if nowait:
            return
        if not self.wait_exit(pid, self.stop_timeout):
            hint = " (smart mode waits for every client to leave; try fast)" * (mode == "smart")
            raise ControlTimeoutError(
                f"the server of {self.data_dir} (pid {pid}) did not stop within "
                f"{self.stop_timeout:g} s in {mode} mode{hint}",
                self.data_dir,
                log_tail(self.logfile),
            )

    def restart(
        self,
        mode: str = "fast",
        postmaster: str | None = None,
        options: Options = None,
        logfile: str | None = None,
    ) -> int:
        """Stop (when running) and start again, with the previous start's arguments unless
        given new ones."""
        if self.running():
            self.stop(mode)
        last_postmaster, last_options, last_logfile = self._last_start
        return self.start(
            postmaster=postmaster or last_postmaster,
            options=options if options is not None else last_options,
            logfile=logfile or last_logfile or self.logfile,
        )

    def reload(self) -> None:
        """Ask the server to re-read its configuration files (SIGHUP); returns at once."""
        pid = self.pid()
        if pid is None:
            raise NotRunningError(
                f"cannot reload {self.data_dir}: the server is not running; start it",
                self.data_dir,
            )
        os.kill(pid, signal.SIGHUP)


class pg_ctl(Controller):
    """A :class:`Controller` located from a ``pg_ctl`` program: the server program is the
    ``postgres`` beside it. ``pg_ctl`` itself serves what needs no speed (``promote``)."""

    def __init__(
        self,
        location: StrPath,
        pg_ctl_path: str = "pg_ctl",
        *,
        user: ServerUser | str | None = None,
        start_timeout: float = 60.0,
        stop_timeout: float = 60.0,
        poll_interval: float = 0.002,
    ) -> None:
        resolved = shutil.which(pg_ctl_path) or pg_ctl_path
        self.pg_ctl_path = os.path.realpath(resolved) if os.path.exists(resolved) else resolved
        postgres = os.path.join(os.path.dirname(self.pg_ctl_path), "postgres")
        super().__init__(
            location,
            postgres,
            user=user,
            start_timeout=start_timeout,
            stop_timeout=stop_timeout,
            poll_interval=poll_interval,
        )

    def promote(self, timeout: float | None = None) -> None:
        """Promote a standby to primary (``pg_ctl promote``, waiting for the end)."""
        wait = self.start_timeout if timeout is None else timeout
        try:
            done = self.user.run(
                [self.pg_ctl_path, "promote", "-D", self.data_dir, "-w", "-t", str(int(wait))],
                timeout=wait + 10,
            )
        except subprocess.TimeoutExpired:
            raise ControlTimeoutError(
                f"pg_ctl promote of {self.data_dir} did not finish within {wait:g} s",
                self.data_dir,
                log_tail(self.logfile),
            ) from None
        if done.returncode != 0:
            raise ControlError(
                f"pg_ctl promote of {self.data_dir} failed: {done.stdout.strip()}",
                self.data_dir,
                log_tail(self.logfile),
            )
