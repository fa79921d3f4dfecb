"""Leftovers of killed runs: find them by their owner record, stop their servers, remove them.

Every run folder holds `owner.json` (the pytest process's pid and start time). A later run
looks at the run folders beside its own: one whose owner is gone (no such process, or a
process started at another time: a reused pid) is a leftover. Its postmasters are stopped
only when their `postmaster.pid` lies in that folder and the process's command line names
that data directory, so a server this plugin did not start is never touched.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import time

from .boss.cluster import META_FILENAME
from .boss.control import Controller
from .boss.privileges import PRIVATE_PREFIX, PrivilegeError, remove_placed

__all__ = ["OWNER_FILE", "reap", "write_owner"]

OWNER_FILE = "owner.json"
RUN_PREFIX = "pytest-boss-"


#: The kernel's flag of a task inside exit() (/proc/PID/stat field 9).
_PF_EXITING = 0x4


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22); None
    when there is no such process, only its zombie (a crashed xdist worker not yet waited
    for by its controller), or one already inside exit(): a killed worker's pipes close
    before it turns zombie, and the controller hears of the crash in between. (A Python
    process's main thread exits only with the whole process.)"""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fo:
            fields = fo.read().rpartition(")")[2].split()
        if fields[0] in ("Z", "X") or int(fields[6]) & _PF_EXITING:
            return None
        return fields[19]
    except (OSError, IndexError, ValueError):
        return None


def write_owner(run_dir: str) -> None:
    """Record that this process owns `run_dir`."""
    pid = os.getpid()
    start = _start_time(pid)
    with open(os.path.join(run_dir, OWNER_FILE), "w", encoding="utf-8") as fo:
        json.dump({"pid": pid, "start": start}, fo)


def _owner_alive(run_dir: str) -> bool:
    try:
        with open(os.path.join(run_dir, OWNER_FILE), encoding="utf-8") as fo:
            owner = json.load(fo)
        pid = int(owner["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return True  # not ours to judge: unreadable or being written
    start = _start_time(pid)
    return start is not None and start == owner.get("start")


def _stop_postmaster(data_dir: str) -> None:
    try:
        with open(os.path.join(data_dir, "postmaster.pid"), encoding="utf-8") as fo:
            pid = int(fo.readline())
        with open(f"/proc/{pid}/cmdline", "rb") as fo:
            cmdline = fo.read().split(b"\0")
    except (OSError, ValueError):
        return
    real = os.path.realpath(data_dir).encode()
    if real not in cmdline and data_dir.encode() not in cmdline:
        return  # the pid was reused by a process that is not this server
    # Fast shutdown first (an immediate one can leave a shared memory segment behind: see
    # Cluster.drop), then immediate, then SIGKILL.
    for sig, grace in ((signal.SIGINT, 5.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not os.path.exists(f"/proc/{pid}"):
                return
            time.sleep(0.01)


def _socket_dir(data_dir: str) -> str | None:
    try:
        with open(os.path.join(data_dir, META_FILENAME), encoding="utf-8") as fo:
            folder = json.load(fo).get("socket_dir")
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(folder, str) and os.path.basename(folder).startswith(PRIVATE_PREFIX):
        return folder
    return None


def reap(parent: str, keep: str | None = None) -> list[str]:
    """Stop and remove the run folders in `parent` whose owner is gone (not `keep`).

    A postmaster that was killed (by a test, or by SIGKILL here when no shutdown ended
    it) also has its shared memory removed. Returns the folders removed.
    """
    removed = []
    pattern = os.path.join(glob.escape(parent), RUN_PREFIX + "*", OWNER_FILE)
    for owner_file in glob.glob(pattern):
        run_dir = os.path.dirname(owner_file)
        if keep is not None and os.path.realpath(run_dir) == os.path.realpath(keep):
            continue
        if _owner_alive(run_dir):
            continue
        for pid_file in glob.glob(os.path.join(glob.escape(run_dir), "*", "data", "PG_VERSION")):
            data_dir = os.path.dirname(pid_file)
            _stop_postmaster(data_dir)
            with contextlib.suppress(OSError, PrivilegeError):
                Controller(data_dir).remove_shared_memory(timeout=5)
            socket_dir = _socket_dir(data_dir)
            if socket_dir is not None:
                shutil.rmtree(socket_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            remove_placed(run_dir)  # a link and the private folder it points to, or the folder
        removed.append(run_dir)
    return removed
