"""The account server-side programs run as, and the environment every child process gets.

PostgreSQL refuses to run as root. When the calling process is root, every server-side
program runs as an unprivileged *server user*; when it is not root, the server user is the
caller itself and nothing switches, so every helper here is a plain pass-through.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import BossError
from ._types import StrPath

__all__ = [
    "DEFAULT_SERVER_USERS",
    "PRIVATE_PREFIX",
    "PrivilegeError",
    "ServerUser",
    "clean_env",
    "server_user",
]

#: Folders made by this module start with this, so leftovers are recognisable (and reapable).
PRIVATE_PREFIX = "pytest-boss-"
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
