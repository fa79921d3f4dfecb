"""A copy of PostgreSQL's binaries that the server user can execute.

When root runs us and the installation lives where the server user cannot read it (a wheel
in root's home), the installation is mirrored once per machine into a shared, root-owned,
world-readable folder, and the server runs from there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile

from ._account import PrivilegeError, ServerUser

__all__ = ["DEFAULT_MIRROR_DIR", "server_bindir"]

#: Where binaries the server user cannot read are mirrored (world-readable, root-owned).
DEFAULT_MIRROR_DIR = "/var/tmp/pytest-boss-bin"
_EXECUTABLE: dict[tuple[str, int], bool] = {}
_ORIGIN_RE = re.compile(rb"\$(?:ORIGIN|\{ORIGIN\})[^\x00]*")
_MIRRORED_SUBDIRS = ("bin", "lib", "share")
_MARKER = ".complete"


def _can_execute(bindir: str, user: ServerUser) -> bool:
    """Whether ``user`` can run the server programs of ``bindir`` (their libraries too)."""
    key = (bindir, user.uid)
    if key not in _EXECUTABLE:
        ok = True
        for program in ("postgres", "initdb"):
            try:
                done = user.run(
                    [os.path.join(bindir, program), "--version"],
                    timeout=30,
                )
            except (OSError, subprocess.SubprocessError):
                ok = False
                break
            if done.returncode != 0:
                ok = False
                break
        _EXECUTABLE[key] = ok
    return _EXECUTABLE[key]


def _origin_dirs(folder: str) -> set[str]:
    """Folders named by ``$ORIGIN``-relative run paths in the ELF files of ``folder``.

    Wheels (auditwheel) keep shared libraries beside the package and find them through such
    paths; the mirror must keep those folders at the same relative place.
    """
    found: set[str] = set()
    for entry in os.scandir(folder):
        if not entry.is_file():
            continue
        try:
            with open(entry.path, "rb") as fo:
                if fo.read(4) != b"\x7fELF":
                    continue
                data = fo.read()
        except OSError:
            continue
        for match in _ORIGIN_RE.findall(data):
            for part in match.decode("utf-8", "replace").split(":"):
                if "ORIGIN" not in part:
                    continue
                relative = re.sub(r"^\$(?:ORIGIN|\{ORIGIN\})", "", part).lstrip("/")
                target = os.path.normpath(os.path.join(folder, relative))
                if os.path.isdir(target):
                    found.add(target)
    return found


def _check_mirror_root(root: str) -> None:
    """Refuse a mirror folder someone else could have planted binaries in."""
    st = os.lstat(root)
    if (
        not stat.S_ISDIR(st.st_mode)
        or st.st_uid != os.geteuid()
        or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        raise PrivilegeError(
            f"{root} must be a folder owned by this user and writable by no one else (it holds "
            "programs the server runs): remove it, or choose another mirror folder"
        )


def _mirror_sources(bindir: str) -> tuple[set[str], str]:
    """The folders to copy (``bin``, ``lib``, ``share`` and those run paths name) and their
    common base, so each keeps its place relative to the others."""
    prefix = os.path.dirname(bindir)
    sources = {os.path.join(prefix, d) for d in _MIRRORED_SUBDIRS}
    sources = {s for s in sources if os.path.isdir(s)}
    for folder in list(sources):
        sources |= _origin_dirs(folder)
    return sources, os.path.commonpath([prefix, *sources])


def _make_readable(tree: str) -> None:
    """Folders 0755, files readable by everyone and writable by their owner only."""
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o755)
        for name in filenames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                mode = stat.S_IMODE(os.stat(full).st_mode)
                os.chmod(full, (mode | 0o444) & ~0o022)
    os.chmod(tree, 0o755)


def _copy_mirror(root: str, key: str, sources: set[str], base: str, marker: dict[str, str]) -> None:
    """Copy ``sources`` into ``root/key`` through a staging folder renamed into place; the
    marker file, written last, says the copy is whole."""
    mirror = os.path.join(root, key)
    staging = tempfile.mkdtemp(prefix=f"{key}.", suffix=".tmp", dir=root)
    try:
        for source in sorted(sources):
            target = os.path.join(staging, os.path.relpath(source, base))
            shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
        _make_readable(staging)
        with open(os.path.join(staging, _MARKER), "w", encoding="utf-8") as fo:
            json.dump(marker, fo)
            fo.flush()
            os.fsync(fo.fileno())
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(mirror)
        os.rename(staging, mirror)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def server_bindir(bindir: str, user: ServerUser, cache_dir: str | None = None) -> str:
    """A folder of the same binaries that ``user`` can execute: ``bindir`` itself when it can.

    Otherwise the installation (``bin``, ``lib``, ``share`` and the folders its run paths
    name, at the same relative places) is copied once per machine into ``cache_dir``
    (default :data:`DEFAULT_MIRROR_DIR`), under a file lock, and a marker file written last
    says the copy is whole; an incomplete copy is never used.
    """
    bindir = os.path.realpath(bindir)
    if not user.switching or _can_execute(bindir, user):
        return bindir
    from filelock import FileLock

    root = cache_dir or DEFAULT_MIRROR_DIR
    os.makedirs(root, mode=0o755, exist_ok=True)
    _check_mirror_root(root)
    sources, base = _mirror_sources(bindir)
    postgres = os.stat(os.path.join(bindir, "postgres"))
    key = hashlib.sha256(
        json.dumps([bindir, postgres.st_size, postgres.st_mtime_ns, sorted(sources)]).encode()
    ).hexdigest()[:16]
    mirrored_bindir = os.path.join(root, key, os.path.relpath(bindir, base))
    with FileLock(os.path.join(root, f"{key}.lock"), timeout=600):
        if not os.path.exists(os.path.join(root, key, _MARKER)):
            marker = {"source": bindir, "bindir": mirrored_bindir}
            _copy_mirror(root, key, sources, base, marker)
    if not _can_execute(mirrored_bindir, user):
        raise PrivilegeError(
            f"the user {user.name!r} cannot execute the PostgreSQL binaries of {bindir}, nor "
            f"their copy in {mirrored_bindir}: install PostgreSQL where every user can read it "
            "(apt install postgresql) or choose another server user"
        )
    return mirrored_bindir
