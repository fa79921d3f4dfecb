"""Where one pytest process keeps its clusters, and as whom their servers run.

The run folder (RAM-backed when there is room, reachable by the server user), the cache
folder shared by this user's runs, the unprivileged server user when pytest runs as root,
and the password of this run's TCP logins. Leftovers of killed runs are reaped when the run
folder is first made.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from functools import cached_property

from .boss.privileges import ServerUser, place_directory, remove_placed, server_user
from .options import RunOptions
from .reaper import OWNER_FILE, reap, write_owner

__all__ = ["Workspace"]

#: Minimum free space on a RAM-backed folder before clusters go there.
SHM_MIN_FREE = 512 * 1024 * 1024
SHM = "/dev/shm"


class Workspace:
    """The folders, server user and password of one pytest process."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.password = secrets.token_urlsafe(24)
        self.reaped: list[str] = []
        self._run_dir: str | None = None
        self._placed: str | None = None

    @property
    def cache_root(self) -> str:
        """The folder shared by this user's runs: --pg-cache-dir, else the user cache."""
        return self.options.cache_root

    @property
    def cache_dir(self) -> str | None:
        """The template cache folder, or None when the cache is off for this run."""
        return self.options.cache_dir

    @cached_property
    def server_user(self) -> ServerUser:
        """Who runs the servers: this process, or (as root) an unprivileged user."""
        return server_user(self.options.user)

    def runs_parent(self) -> str:
        """Where run folders go: --pg-dir, else a RAM-backed folder with room, else /tmp."""
        if self.options.dir:
            return self.options.dir
        return SHM if _has_room(SHM) else tempfile.gettempdir()

    def reap_dead(self) -> list[str]:
        """Stop and remove the servers of run folders whose process is gone (a crashed xdist
        worker, a killed run), now rather than at the next run's first cluster."""
        parent = self.runs_parent()
        if not os.path.isdir(parent):
            return []
        reaped = reap(parent, keep=self._placed)
        self.reaped.extend(reaped)
        return reaped

    def run_dir(self) -> str:
        """This worker's private folder for cluster data: RAM-backed when there is room.

        When the chosen folder lies behind one the server user cannot traverse (pytest's
        basetemp is private), the data lives in a private folder of the server user at the
        nearest reachable place, and a link stands where it was asked for.
        """
        if self._run_dir is None:
            parent = self.runs_parent()
            os.makedirs(parent, exist_ok=True)
            worker = re.sub(r"[^A-Za-z0-9]", "", self.options.worker)[:8]
            name = f"pytest-boss-{worker}-{secrets.token_hex(4)}"
            placed = place_directory(os.path.join(parent, name), self.server_user)
            self._placed = placed.path
            self._run_dir = placed.real
            write_owner(placed.real)
            self.reaped = reap(parent, keep=placed.path)
        return self._run_dir

    def close(self) -> None:
        """Remove the run folder, or (--pg-keep) mark it as kept on purpose."""
        if self._placed is None:
            return
        if self.options.keep:
            # Kept on purpose: no longer a leftover for a later run to reap.
            with contextlib.suppress(OSError):
                os.remove(os.path.join(self.run_dir(), OWNER_FILE))
        else:
            remove_placed(self._placed)


def _has_room(folder: str) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return os.access(folder, os.W_OK) and st.f_bavail * st.f_frsize >= SHM_MIN_FREE
