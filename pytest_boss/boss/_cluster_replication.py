"""The replication methods of ``Cluster``: backups, standbys, catch-up, promotion, crashes.

Private helper of ``cluster``: ``Cluster`` inherits ``ReplicationMethods``, whose methods
hand the cluster to the functions of :mod:`.replication`, where the work is done. That
module is imported on first use: it brings the hba reader, which most clusters never need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ._types import StrPath

if TYPE_CHECKING:
    from .cluster import Cluster


class ReplicationMethods:
    """``backup``, ``replica``, ``is_standby``, ``catch_up``, ``promote`` and ``kill``."""

    __slots__ = ()

    def backup(self, path: StrPath, **options: Any) -> str:
        """A pg_basebackup of this running cluster in the new folder ``path``; returns it.
        ``options`` are pg_basebackup's long options (``wal_method="fetch"``)."""
        from . import replication

        return replication.backup(_cluster(self), path, **options)

    def replica(
        self,
        path: StrPath,
        *,
        synchronous: bool = False,
        slot: str | bool | None = None,
        start: bool = True,
    ) -> Cluster:
        """A hot standby of this cluster at the new folder ``path``, streaming over the
        unix socket (running unless ``start`` is false); see :func:`.replication.replica`."""
        from . import replication

        return replication.replica(
            _cluster(self), path, synchronous=synchronous, slot=slot, start=start
        )

    @property
    def is_standby(self) -> bool:
        """Whether the running server is a standby (in recovery), asked of the server."""
        from . import replication

        return replication.is_standby(_cluster(self))

    def catch_up(self, timeout: float = 30.0) -> str:
        """On a standby: wait until it has replayed what its upstream had flushed when
        called (the upstream flushes first); returns that WAL position."""
        from . import replication

        return replication.catch_up(_cluster(self), timeout)

    def promote(self, timeout: float = 60.0) -> None:
        """Make this standby a primary and wait until it is one."""
        from . import replication

        replication.promote(_cluster(self), timeout)

    def kill(self) -> None:
        """Crash the server (SIGKILL of the postmaster); ``start()`` then recovers."""
        from . import replication

        replication.kill(_cluster(self))


def _cluster(methods: ReplicationMethods) -> Cluster:
    """The cluster these methods belong to (``Cluster`` is their only class)."""
    return cast("Cluster", methods)
