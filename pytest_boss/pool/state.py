"""What the pool knows about one cluster it made: its key, files, claims and background work.

`Pooled` is plain state shared by the pool's parts; `Loaded` is what the pool last brought a
running server to, trusted only while the files keep the inode, size and time it wrote.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..admin import KeptSession
from ..boss.cluster import AUTO_CONFIG_FILENAME, Cluster
from ..ports import PortClaim

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ..isolation import Guard

__all__ = ["Loaded", "PoolKey", "Pooled", "Stamp", "read_bytes", "stamp"]

#: How long background work on a cluster (a database made or dropped) may take.
BACKGROUND_TIMEOUT = 120

Stamp = tuple[int, int, int] | None


@dataclass(frozen=True)
class PoolKey:
    """What selects a pooled cluster: initdb options and postmaster-level settings."""

    init: tuple[tuple[str, str], ...]
    postmaster: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Loaded:
    """The files a server was last brought to by the pool, and how to tell they are intact.

    `stamps` (inode, size, time) change whenever anything rewrites a file, even with the
    same bytes (ALTER SYSTEM, an editor, a test): then the pool no longer trusts `files`.
    `admits` says whether the rules in force let the plugin's own logins in.
    """

    files: Mapping[str, bytes]
    stamps: Mapping[str, Stamp]
    admits: bool

    @classmethod
    def now(cls, files: Mapping[str, bytes], admits: bool) -> Loaded:
        """The server runs with `files`, just written: stamp them as they are."""
        return cls(dict(files), {path: stamp(path) for path in files}, admits)


@dataclass(eq=False)
class Pooled:
    """One cluster made by the pool, and the files as the pool left them."""

    cluster: Cluster
    folder: str
    #: None for a private cluster (pg_cluster_factory), which no other test shares.
    key: PoolKey | None
    #: The initdb options it was made with (a replacement is made the same way).
    init: dict[str, object] = field(default_factory=dict)
    claim: PortClaim | None = None
    #: The files a test may change, as the pool made them: every test starts from these.
    base: dict[str, bytes] = field(default_factory=dict)
    #: What the server runs with, as far as the pool knows (None: unknown, look again).
    loaded: Loaded | None = None
    #: The files each test configuration wants, computed once per configuration.
    wanted: dict[tuple[object, ...], dict[str, bytes]] = field(default_factory=dict)
    #: The content key of the template it was copied with (None: filled in the cluster).
    template: str | None = None
    template_loaded: bool = False
    #: Why the template it should hold could not be loaded (pg_database raises it).
    template_error: Exception | None = None
    template_error_shown: bool = False
    databases: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    #: The next test's database, being made while this test runs.
    spare: Future[str] | None = None
    #: Work in the background on this cluster (drops): awaited before it stops.
    pending: list[Future[object]] = field(default_factory=list)
    #: Its baselines and the check after each test (None: isolation off, or not shared).
    guard: Guard | None = None
    #: What must end before the check after the test (its standbys, say).
    before_check: list[Callable[[], None]] = field(default_factory=list)
    #: The plugin's session for the questions asked around every test (made on first use).
    _kept: KeptSession | None = field(default=None, repr=False)

    @property
    def kept(self) -> KeptSession:
        if self._kept is None:
            self._kept = KeptSession(self.cluster)
        return self._kept

    def log_out(self) -> None:
        """End the kept session (before the server stops or restarts)."""
        if self._kept is not None:
            self._kept.close()

    @property
    def data_dir(self) -> str:
        return self.cluster.data_dir

    @property
    def conf_path(self) -> str:
        return self.cluster.config_path

    @property
    def hba_path(self) -> str:
        return self.cluster.hba_path

    @property
    def auto_path(self) -> str:
        return os.path.join(self.data_dir, AUTO_CONFIG_FILENAME)

    def snapshot(self) -> dict[str, bytes]:
        """The bytes of the files a test may change."""
        return {path: read_bytes(path) for path in (self.conf_path, self.hba_path, self.auto_path)}

    def settle(self, spare: bool = True) -> None:
        """Wait for the background work on this cluster (drops, and the spare database
        unless `spare` is false), before stopping or replacing it or lending it again."""
        futures: list[Future[Any]] = list(self.pending)
        if spare and self.spare is not None:
            futures.append(self.spare)
        self.pending.clear()
        for future in futures:
            with contextlib.suppress(Exception):
                future.result(timeout=BACKGROUND_TIMEOUT)


def read_bytes(path: str) -> bytes:
    """A file's bytes; empty when it does not exist."""
    try:
        with open(path, "rb") as fo:
            return fo.read()
    except FileNotFoundError:
        return b""


def stamp(path: str) -> Stamp:
    """(inode, size, mtime) of a file, None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
