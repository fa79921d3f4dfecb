"""Remove the shared memory a killed postmaster left behind, and only what is provably its.

A postmaster ended by SIGKILL cannot clean up: its System V segment stays, and so does its
dynamic shared memory (``/dev/shm/PostgreSQL.N``) until a server starts again on the same
data directory. A data directory that is dropped instead never gets that start.
"""

from __future__ import annotations

import ctypes
import os
import struct

from ._postmaster import PID_LINE_PID, PID_LINE_SHMEM, pid_alive, read_pid_file
from ._types import StrPath

__all__ = ["POSIX_SHM_DIR", "remove_shared_memory"]

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
