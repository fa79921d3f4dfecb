"""Who runs the PostgreSQL server, and how to reach it from a process that may be root.

PostgreSQL refuses to run as root. When the calling process is root, every server-side
program (initdb, postgres, pg_ctl) runs as an unprivileged *server user* instead; when it is
not root, the server user is the caller itself and nothing switches. The same code serves
both cases: a :class:`ServerUser` whose ``switching`` is false makes every helper here a
plain pass-through.

The caller's folders are never loosened. When a requested location lies behind a folder the
server user cannot traverse (pytest's basetemp is mode 0700 and belongs to root), the data
lives in a private folder the server user owns, beside the nearest reachable ancestor, and a
symbolic link stands at the requested location (:func:`place_directory`).

When the server user cannot execute the installation's binaries (a wheel installed in root's
home), they are mirrored once into a shared, world-readable cache (:func:`server_bindir`).

API used by the rest of the core and by the plugin:

- ``server_user(name=None) -> ServerUser``
- ``ServerUser.run(args, ...)``, ``ServerUser.popen_kwargs()``, ``ServerUser.chown_tree(path)``,
  ``ServerUser.can_traverse(path)``, ``ServerUser.make_private_dir(parent, prefix)``
- ``place_directory(path, user) -> PlacedDirectory``, ``remove_placed(path)``
- ``server_bindir(bindir, user, cache_dir=None) -> str``
- ``clean_env(**extra) -> dict``: the environment every child process gets.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

from ._errors import BossError

__all__ = [
    "DEFAULT_MIRROR_DIR",
    "PRIVATE_PREFIX",
    "PlacedDirectory",
    "PrivilegeError",
    "ServerUser",
    "clean_env",
    "place_directory",
    "remove_placed",
    "server_bindir",
    "server_user",
]

StrPath = Union[str, "os.PathLike[str]"]

#: Folders made by this module start with this, so leftovers are recognisable (and reapable).
PRIVATE_PREFIX = "pytest-boss-"
#: Where binaries the server user cannot read are mirrored (world-readable, root-owned).
DEFAULT_MIRROR_DIR = "/var/tmp/pytest-boss-bin"
#: The candidates for the server user when root runs us and nobody said which.
DEFAULT_SERVER_USERS = ("postgres", "nobody")


class PrivilegeError(BossError):
    """The server user cannot be used, found, or given what it needs."""


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of every child: the caller's minus libpq's PG* variables, in the C locale.

    PGPORT, PGHOST, PGDATA... would silently redirect psql, pg_ctl and the postmaster itself;
    the machine's locale would leak into initdb and into messages we parse.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env["LANG"] = "C"
    env.pop("LANGUAGE", None)
    env.update(extra)
    return env


@dataclass(frozen=True)
class ServerUser:
    """The account server-side programs run as (``switching`` when it is not the caller)."""

    name: str
    uid: int
    gid: int
    home: str

    @property
    def switching(self) -> bool:
        """True when programs must be started as another user than the caller."""
        return self.uid != os.geteuid()

    def env(self, **extra: str) -> dict[str, str]:
        """:func:`clean_env` for a program of this user: its own HOME, USER and LOGNAME."""
        env = clean_env(**extra)
        if self.switching:
            env.update(HOME=self.home or "/", USER=self.name, LOGNAME=self.name)
        return env

    def popen_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``subprocess`` that run a program as this user.

        Supplementary groups are dropped (``extra_groups=[]``): root's groups must not leak
        into the server, and reachability checks then only need the primary group.
        """
        if not self.switching:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args`` as this user from ``/`` and return it, output and errors merged.

        The working folder is ``/`` because the caller's may be unreadable to the server user.
        A time-out raises :class:`subprocess.TimeoutExpired` (the caller words the error).
        """
        return subprocess.run(
            list(args),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            cwd="/",
            env=dict(env) if env is not None else self.env(),
            timeout=timeout,
            check=False,
            **self.popen_kwargs(),
        )

    def chown(self, path: StrPath) -> None:
        """Give one file or folder (not a link's target) to this user, when switching."""
        if self.switching:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)

    def chown_tree(self, path: StrPath) -> None:
        """Give a whole tree to this user, when switching (links themselves, not targets)."""
        if not self.switching:
            return
        self.chown(path)
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                self.chown(os.path.join(root, name))

    def _may(self, st: os.stat_result, bits: tuple[int, int, int]) -> bool:
        """Whether the mode grants us one permission (owner, group, other bits)."""
        if self.uid == 0:
            return True
        if st.st_uid == self.uid:
            return bool(st.st_mode & bits[0])
        if st.st_gid == self.gid:
            return bool(st.st_mode & bits[1])
        return bool(st.st_mode & bits[2])

    def can_traverse(self, path: StrPath) -> bool:
        """Whether this user can reach ``path`` itself: search permission on it and above.

        Checked from the mode bits (ACLs are not read: at worst a reachable folder is taken
        for unreachable, which only costs a link).
        """
        if not self.switching:
            return True
        current = os.path.abspath(os.fspath(path))
        while True:
            try:
                st = os.stat(current)
            except OSError:
                return False
            if not self._may(st, (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)):
                return False
            parent = os.path.dirname(current)
            if parent == current:
                return True
            current = parent

    def can_write(self, path: StrPath) -> bool:
        """Whether this user can create entries in the folder ``path`` (and reach it)."""
        if not self.can_traverse(path):
            return False
        if not self.switching:
            return os.access(path, os.W_OK)
        st = os.stat(path)
        return self._may(st, (stat.S_IWUSR, stat.S_IWGRP, stat.S_IWOTH))

    def reachable_ancestor(self, path: StrPath) -> str:
        """The deepest existing folder at or above ``path`` that this user can traverse."""
        current = os.path.abspath(os.fspath(path))
        while not (os.path.isdir(current) and self.can_traverse(current)):
            parent = os.path.dirname(current)
            if parent == current:
                raise PrivilegeError(f"the user {self.name!r} cannot traverse even '/'")
            current = parent
        return current

    def make_private_dir(self, parent: StrPath, prefix: str = PRIVATE_PREFIX) -> str:
        """A new folder in ``parent``, mode 0700, owned by this user; its path is returned."""
        path = tempfile.mkdtemp(prefix=prefix, dir=os.fspath(parent))
        try:
            self.chown(path)
        except BaseException:
            os.rmdir(path)
            raise
        return path


def _user_from_pwd(entry: pwd.struct_passwd) -> ServerUser:
    return ServerUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)


def server_user(name: str | None = None) -> ServerUser:
    """The user server-side programs run as.

    Not root: the caller (a ``name`` naming someone else is an error: only root can switch).
    Root: ``name`` when given, else ``postgres`` when that account exists, else ``nobody``.
    """
    euid = os.geteuid()
    if euid != 0:
        me = pwd.getpwuid(euid)
        if name not in (None, me.pw_name, str(euid)):
            raise PrivilegeError(
                f"cannot run the server as {name!r}: this process runs as {me.pw_name!r} and "
                "only root can switch users; leave the server user unset"
            )
        return _user_from_pwd(me)
    candidates = (name,) if name else DEFAULT_SERVER_USERS
    for candidate in candidates:
        try:
            entry = pwd.getpwuid(int(candidate)) if candidate.isdigit() else pwd.getpwnam(candidate)
        except KeyError:
            continue
        if entry.pw_uid == 0:
            raise PrivilegeError(
                f"the server user {candidate!r} is root, and PostgreSQL refuses to run as root: "
                "name an unprivileged account"
            )
        return _user_from_pwd(entry)
    raise PrivilegeError(
        f"no server user: none of {', '.join(repr(c) for c in candidates)} exists. PostgreSQL "
        "refuses to run as root; create an account (useradd --system postgres) or name one"
    )


@dataclass(frozen=True)
class PlacedDirectory:
    """Where a requested folder really lives.

    ``path`` is what the caller asked for; ``real`` the folder to use. When they differ,
    ``path`` is a symbolic link to ``real`` and ``private`` is the server-owned folder holding
    ``real``, to be removed with it.
    """

    path: str
    real: str
    private: Optional[str]  # noqa: UP045 (a dataclass field evaluated at runtime on 3.9)


def place_directory(path: StrPath, user: ServerUser) -> PlacedDirectory:
    """Create the empty folder ``path`` for ``user``, without loosening any caller folder.

    Reachable parent: ``path`` is created and given to ``user``. Unreachable parent (private
    to root): a private folder owned by ``user`` is made in the deepest ancestor ``user`` can
    traverse, the real folder is created in it under the same name, and ``path`` becomes a
    symbolic link to it. ``path`` must not exist yet.
    """
    requested = os.path.abspath(os.fspath(path))
    if os.path.lexists(requested):
        raise FileExistsError(f"{requested} already exists: choose a new folder")
    parent = os.path.dirname(requested)
    os.makedirs(parent, exist_ok=True)
    if user.can_traverse(parent):
        os.mkdir(requested, 0o700)
        user.chown(requested)
        return PlacedDirectory(requested, requested, None)
    private = user.make_private_dir(user.reachable_ancestor(parent))
    try:
        real = os.path.join(private, os.path.basename(requested))
        os.mkdir(real, 0o700)
        user.chown(real)
        os.symlink(real, requested)
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise
    return PlacedDirectory(requested, real, private)


def remove_placed(path: StrPath) -> None:
    """Remove what :func:`place_directory` made: the folder, or the link, its target and the
    private folder holding it. A missing ``path`` is not an error."""
    requested = os.path.abspath(os.fspath(path))
    if os.path.islink(requested):
        real = os.path.realpath(requested)
        holder = os.path.dirname(real)
        os.unlink(requested)
        if os.path.basename(holder).startswith(PRIVATE_PREFIX):
            shutil.rmtree(holder, ignore_errors=True)
        else:
            shutil.rmtree(real, ignore_errors=True)
    elif os.path.isdir(requested):
        shutil.rmtree(requested, ignore_errors=True)
    elif os.path.lexists(requested):
        os.unlink(requested)


# --- binaries the server user cannot read ---------------------------------------------

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
    prefix = os.path.dirname(bindir)
    sources = {os.path.join(prefix, d) for d in _MIRRORED_SUBDIRS}
    sources = {s for s in sources if os.path.isdir(s)}
    for folder in list(sources):
        sources |= _origin_dirs(folder)
    base = os.path.commonpath([prefix, *sources])
    postgres = os.stat(os.path.join(bindir, "postgres"))
    key = hashlib.sha256(
        json.dumps([bindir, postgres.st_size, postgres.st_mtime_ns, sorted(sources)]).encode()
    ).hexdigest()[:16]
    mirror = os.path.join(root, key)
    mirrored_bindir = os.path.join(mirror, os.path.relpath(bindir, base))
    with FileLock(os.path.join(root, f"{key}.lock"), timeout=600):
        if not os.path.exists(os.path.join(mirror, _MARKER)):
            staging = tempfile.mkdtemp(prefix=f"{key}.", suffix=".tmp", dir=root)
            try:
                for source in sorted(sources):
                    target = os.path.join(staging, os.path.relpath(source, base))
                    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
                for dirpath, dirnames, filenames in os.walk(staging):
                    for name in dirnames:
                        os.chmod(os.path.join(dirpath, name), 0o755)
                    for name in filenames:
                        full = os.path.join(dirpath, name)
                        if not os.path.islink(full):
                            mode = stat.S_IMODE(os.stat(full).st_mode)
                            os.chmod(full, (mode | 0o444) & ~0o022)
                os.chmod(staging, 0o755)
                with open(os.path.join(staging, _MARKER), "w", encoding="utf-8") as fo:
                    json.dump({"source": bindir, "bindir": mirrored_bindir}, fo)
                    fo.flush()
                    os.fsync(fo.fileno())
                with contextlib.suppress(FileNotFoundError):
                    shutil.rmtree(mirror)
                os.rename(staging, mirror)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    if not _can_execute(mirrored_bindir, user):
        raise PrivilegeError(
            f"the user {user.name!r} cannot execute the PostgreSQL binaries of {bindir}, nor "
            f"their copy in {mirrored_bindir}: install PostgreSQL where every user can read it "
            "(apt install postgresql) or choose another server user"
        )
    return mirrored_bindir


def group_name(gid: int) -> str:
    """A group's name for messages (its number when it has none)."""
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
