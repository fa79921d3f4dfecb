"""Copying a data directory, the kernel moving the bytes; also a script, so that a copy can
run on another core.

A copy made by a thread while pytest collects would share the interpreter lock with the
import work of collection, and each of its thousands of system calls would wait for the
lock; `copy_tree_elsewhere` runs this file with `python -S -I` instead (fast to start,
nothing imported but the standard library's core).

Only `errno`, `os`, `stat`, `subprocess` and `sys` are imported here: the script must start
fast and must not need the package to be importable.
"""

from __future__ import annotations

import errno
import os
import stat
import sys

__all__ = ["MANIFEST", "CopyError", "copy_tree", "copy_tree_elsewhere"]

#: The template cache's manifest at the top of an entry: never copied.
MANIFEST = ".pytest-boss-template.json"
#: Files this large may have a trailing hole worth keeping (WAL segments are 1-1024 MB).
HOLLOW_MIN = 1 << 20
_ELSEWHERE_TIMEOUT = 300.0


class CopyError(OSError):
    """The copying process failed; `output` is what it printed. (An OSError, not a
    PytestBossError: this file also runs as a script, without the package.)"""

    def __init__(self, message: str, output: str = "") -> None:
        self.output = output
        super().__init__(f"{message}: {output.strip()[-500:]}" if output.strip() else message)


def copy_tree_elsewhere(source: str, destination: str) -> tuple[int, int]:
    """`copy_tree` in a new Python process (on another core); the same (files, bytes).

    Raises CopyError when that process cannot run or fails (the caller may copy in-process).
    """
    import subprocess

    argv = [sys.executable, "-S", "-I", os.path.abspath(__file__), source, destination]
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            timeout=_ELSEWHERE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CopyError(f"copying {source} in another process failed: {exc}") from None
    words = done.stdout.split()
    if done.returncode != 0 or len(words) != 2 or not all(w.isdigit() for w in words):
        raise CopyError(
            f"copying {source} in another process failed (exit {done.returncode})",
            done.stderr or done.stdout,
        )
    return int(words[0]), int(words[1])


def copy_tree(source: str, destination: str) -> tuple[int, int]:
    """Copy a data directory; (files, bytes) copied, counted as the manifest counts them.

    Contents only (no timestamps or xattrs), with the kernel copying the bytes (sendfile),
    which beats shutil.copytree on initdb's many small files. Folders keep their
    modes; files are created 0600, as initdb made them; links are copied as links. The
    manifest at the top is left out.
    """
    counts = [0, 0]
    _copy_dir(source, destination, counts, top=True)
    return counts[0], counts[1]


def _copy_dir(source: str, destination: str, counts: list[int], top: bool = False) -> None:
    mode = stat.S_IMODE(os.stat(source).st_mode)
    os.mkdir(destination, 0o700)
    if mode != 0o700:
        os.chmod(destination, mode)
    with os.scandir(source) as entries:
        for entry in entries:
            target = os.path.join(destination, entry.name)
            if entry.is_dir():  # a link to a folder is copied, neither counted nor followed
                if entry.is_symlink():
                    os.symlink(os.readlink(entry.path), target)
                else:
                    _copy_dir(entry.path, target, counts)
                continue
            if top and entry.name == MANIFEST:
                continue
            counts[0] += 1
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), target)
                counts[1] += entry.stat(follow_symlinks=False).st_size
            else:
                counts[1] += _copy_file(entry.path, target)


def _copy_file(source: str, destination: str) -> int:
    """Copy one file (kernel-side when it can); the size of the copy.

    A large file whose end is a hole (a hollowed WAL segment) gets the same hole.
    """
    fd_in = os.open(source, os.O_RDONLY)
    try:
        fd_out = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            size = os.fstat(fd_in).st_size
            end = _data_end(fd_in, size) if size >= HOLLOW_MIN else size
            _copy_range(fd_in, fd_out, end)
            if end < size:
                os.ftruncate(fd_out, size)  # the rest a hole, as in the source
            return os.fstat(fd_out).st_size
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


def _copy_range(fd_in: int, fd_out: int, count: int) -> None:
    """The first `count` bytes (fewer when the source is shorter now)."""
    done = 0
    try:
        while done < count:
            sent = os.sendfile(fd_out, fd_in, done, count - done)
            if sent == 0:
                return
            done += sent
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSOCK, errno.EOPNOTSUPP):
            raise
        os.lseek(fd_in, done, os.SEEK_SET)
        os.lseek(fd_out, done, os.SEEK_SET)
        while done < count and (chunk := os.read(fd_in, min(1 << 20, count - done))):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd_out, view) :]
            done += len(chunk)


def _data_end(fd: int, size: int) -> int:
    """Where the data of a file ends when all after it is a hole; else its size."""
    try:
        hole = os.lseek(fd, 0, os.SEEK_HOLE)
        if hole >= size:
            return size
        try:
            os.lseek(fd, hole, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no data after the hole
                return hole
            raise
        return size  # data after a hole: copy it all
    except (OSError, AttributeError):  # no SEEK_HOLE here
        return size
    finally:
        os.lseek(fd, 0, os.SEEK_SET)


def main(argv: list[str]) -> int:
    """`python treecopy.py SOURCE DESTINATION`: prints the files and bytes copied."""
    if len(argv) != 2:
        sys.stderr.write("usage: treecopy.py SOURCE DESTINATION\n")
        return 2
    files, size = copy_tree(argv[0], argv[1])
    sys.stdout.write(f"{files} {size}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
