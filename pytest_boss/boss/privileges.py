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

import os
import shutil
from dataclasses import dataclass
from typing import Optional

from ._account import (
    DEFAULT_SERVER_USERS,
    PRIVATE_PREFIX,
    PrivilegeError,
    ServerUser,
    clean_env,
    server_user,
)
from ._mirror import DEFAULT_MIRROR_DIR, server_bindir
from ._types import StrPath

__all__ = [
    "DEFAULT_MIRROR_DIR",
    "DEFAULT_SERVER_USERS",
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
