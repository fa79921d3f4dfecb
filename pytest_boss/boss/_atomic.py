"""Atomic file replacement for configuration files.

A server reading ``postgresql.conf`` or ``pg_hba.conf`` while we rewrite it (a reload, a
``pg_file_settings`` query) must see the old file or the new one, never half of each; a
crash must not leave a truncated file. So we write a temporary file beside the target,
fsync it, give it the target's mode and owner (the server may run as another user), rename
it over the target and fsync the directory.

API (stable, used by ``config`` and ``hba``):

- ``atomic_writer(path, mode="w", *, encoding="utf-8", newline="", errors="strict")``:
  context manager that yields a file object; the target is replaced when the block exits
  normally and left untouched when it raises.
- ``atomic_write_text(path, text, *, encoding="utf-8", newline="", errors="strict")``:
  replace with text.
- ``atomic_write_bytes(path, data)``: replace with bytes.

``newline=""`` writes line ends exactly as given, so ``"\\r\\n"`` lines stay CRLF.
A symbolic link is followed: its target is replaced and the link stays.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from typing import IO, Any, Literal

from ._types import StrPath

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_writer"]


def _fsync_directory(directory: str) -> None:
    """Make the rename durable; some systems cannot open a directory, which is harmless."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _create_beside(target: str) -> tuple[int, str]:
    """Create an empty, private-named file in the target's directory.

    Created with mode 0o666 so the process umask applies, as for a plain ``open(path, "w")``;
    an existing target's mode then overrides it.
    """
    directory, name = os.path.split(target)
    for _ in range(100):
        temp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        return fd, temp
    raise FileExistsError(f"could not create a temporary file beside {target!r}")


def _copy_metadata(fd: int, target: str) -> None:
    """Give the new file the old one's permission bits and owner (when there is an old one)."""
    try:
        old = os.stat(target)
    except FileNotFoundError:
        return
    os.fchmod(fd, stat.S_IMODE(old.st_mode))
    new = os.fstat(fd)
    if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid) and hasattr(os, "fchown"):
        # Root rewriting a file that belongs to the server's user must give it back.
        os.fchown(fd, old.st_uid, old.st_gid)


@contextlib.contextmanager
def atomic_writer(
    path: StrPath,
    mode: Literal["w", "wb"] = "w",
    *,
    encoding: str = "utf-8",
    newline: str | None = "",
    errors: str = "strict",
) -> Iterator[IO[Any]]:
    """Yield a file that replaces ``path`` atomically when the block exits without error."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_writer mode must be 'w' or 'wb', not {mode!r}")
    target = os.path.realpath(os.fspath(path))
    fd, temp = _create_beside(target)
    fd_owned = True  # until a file object owns (and closes) the descriptor
    try:
        _copy_metadata(fd, target)
        if mode == "wb":
            fo: IO[Any] = os.fdopen(fd, "wb")
        else:
            fo = os.fdopen(fd, "w", encoding=encoding, newline=newline, errors=errors)
        fd_owned = False
        with fo:
            yield fo
            fo.flush()
            os.fsync(fo.fileno())
        os.replace(temp, target)
    except BaseException:
        if fd_owned:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_directory(os.path.dirname(target))


def atomic_write_text(
    path: StrPath,
    text: str,
    *,
    encoding: str = "utf-8",
    newline: str | None = "",
    errors: str = "strict",
) -> None:
    """Replace ``path`` with ``text`` atomically, keeping its mode and owner."""
    with atomic_writer(path, "w", encoding=encoding, newline=newline, errors=errors) as fo:
        fo.write(text)


def atomic_write_bytes(path: StrPath, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its mode and owner."""
    with atomic_writer(path, "wb") as fo:
        fo.write(data)
