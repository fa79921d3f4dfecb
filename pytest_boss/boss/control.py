"""Start, stop, reload and watch a postmaster, quickly and without ever hanging on a pipe.

The postmaster is started directly (``postgres -D DATA``) in its own session, as the server
user, with stdin from /dev/null and stdout/stderr appended to a log file: a pipe would be
inherited by every server process and a read on it would wait for the server to exit.

Readiness is read from ``postmaster.pid`` (its 8th line says ``starting``, ``ready``,
``standby`` or ``stopping``) every ``poll_interval``, finer than pg_ctl's own polling;
a postmaster that exits during start (bad setting, port in use) is noticed at once and its
log is quoted. Stopping signals the postmaster (SIGTERM smart, SIGINT fast, SIGQUIT
immediate) and waits for the process to exit.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import warnings

from ._account import ServerUser, server_user
from ._control_errors import (
    AlreadyRunningError,
    ControlError,
    ControlTimeoutError,
    ControlWarning,
    NotAClusterError,
    NotRunningError,
    PortInUseError,
    ReloadError,
    StartupError,
)
from ._postmaster import (
    LOG_TAIL_LINES,
    PID_FILENAME,
    PID_LINE_ADDRESS,
    PID_LINE_PID,
    PID_LINE_PORT,
    PID_LINE_SHMEM,
    PID_LINE_SOCKET_DIR,
    PID_LINE_STATUS,
    STATUS_READY,
    STATUS_STANDBY,
    Options,
    forget_child,
    log_tail,
    option_args,
    orphans,
    pid_alive,
    read_pid_file,
    spawn,
)
from ._shmem import POSIX_SHM_DIR, remove_shared_memory
from ._types import StrPath

__all__ = [
    "DEFAULT_LOG_FILENAME",
    "LOG_TAIL_LINES",
    "PID_FILENAME",
    "PID_LINE_ADDRESS",
    "PID_LINE_PID",
    "PID_LINE_PORT",
    "PID_LINE_SHMEM",
    "PID_LINE_SOCKET_DIR",
    "PID_LINE_STATUS",
    "POSIX_SHM_DIR",
    "STATUS_READY",
    "STATUS_STANDBY",
    "STOP_SIGNALS",
    "AlreadyRunningError",
    "ControlError",
    "ControlTimeoutError",
    "ControlWarning",
    "Controller",
    "NotAClusterError",
    "NotRunningError",
    "Options",
    "PortInUseError",
    "ReloadError",
    "StartupError",
    "log_tail",
    "pg_ctl",
    "pid_alive",
    "read_pid_file",
    "remove_shared_memory",
]


#: The log file used when ``start`` is given none (inside the data directory).
DEFAULT_LOG_FILENAME = "postmaster.log"
STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}


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
        args = [program, "-D", self.data_dir, *option_args(options)]
        process, offset = spawn(args, log, self.user, self.data_dir)
        if not nowait:
            self._wait_ready(process, log, offset)
        return process.pid

    def orphans(self) -> list[int]:
        """Server processes left on this data directory by a postmaster that died (killed):
        they run in it (their working folder) and hold its shared memory until they notice.
        Empty while a postmaster runs (its children are not orphans)."""
        if self.pid() is not None:
            return []
        return orphans(self.data_dir)

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

    def _ready(self, pid: int) -> bool:
        """Whether postmaster.pid says that ``pid`` accepts connections."""
        lines = read_pid_file(self.data_dir)
        return bool(
            lines
            and len(lines) > PID_LINE_STATUS
            and lines[PID_LINE_PID].strip() == str(pid)
            and lines[PID_LINE_STATUS].strip() in (STATUS_READY, STATUS_STANDBY)
        )

    def _wait_ready(self, process: subprocess.Popen[bytes], log: str, offset: int) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not self._ready(process.pid):
            code = process.poll()
            if code is not None:
                forget_child(process.pid)
                raise self._startup_error(code, log_tail(log, offset))
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

    def _startup_error(self, code: int, tail: str) -> StartupError:
        """The error for a postmaster that exited while starting, from what it logged."""
        cls = StartupError
        hint = "see the server log below"
        if "Address already in use" in tail or "could not create any TCP/IP" in tail:
            cls = PortInUseError
            hint = "another process holds its port: choose another port"
        elif "lock file" in tail and "already exists" in tail:
            hint = "another server uses this data directory or its socket"
        return cls(
            f"the server of {self.data_dir} exited during start (status {code}): {hint}",
            self.data_dir,
            tail,
            code,
        )

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
        postmaster: str | None = None,
        options: Options = None,
        mode: str = "fast",
        nowait: bool = False,
        logfile: str | None = None,
    ) -> int:
        """Stop (when running, in ``mode``, waiting for the exit) and start again; with
        ``nowait``, return once the new postmaster runs, without waiting until it accepts
        connections. ``postmaster``, ``options`` and ``logfile`` default to the previous
        start's. Returns the new postmaster's pid."""
        if mode not in STOP_SIGNALS:
            raise ValueError(f"stop mode must be one of {', '.join(STOP_SIGNALS)}, not {mode!r}")
        if self.running():
            self.stop(mode)
        last_postmaster, last_options, last_logfile = self._last_start
        return self.start(
            postmaster=postmaster or last_postmaster,
            options=options if options is not None else last_options,
            nowait=nowait,
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
