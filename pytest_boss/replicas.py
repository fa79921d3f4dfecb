"""Standbys for one test: made from a running cluster with the core's `Cluster.replica`,
dropped after the test with what they left on their upstream (slot, synchronous setting).

A standby's folder is a private folder of the server user in the run folder. The upstream's
files may change while a standby is made (a replication rule in pg_hba.conf, synchronous
settings): when the upstream is pooled, the pool is told to look at its files again, so the
next test finds them as the pool made them.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .boss.cluster import Cluster
    from .pool import ClusterPool

__all__ = ["Standbys"]


class Standbys:
    """The standbys one test made, dropped newest first."""

    def __init__(self, pool: ClusterPool) -> None:
        self.pool = pool
        self._made: list[tuple[Cluster, Cluster, str]] = []

    def make(self, upstream: Cluster, synchronous: bool = False) -> Cluster:
        """A running hot standby of `upstream`, caught up with it."""
        workspace = self.pool.workspace
        folder = workspace.server_user.make_private_dir(workspace.run_dir(), "r-")
        try:
            standby = upstream.replica(os.path.join(folder, "data"), synchronous=synchronous)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            self.pool.forget_files(upstream)
        self._made.append((standby, upstream, folder))
        self.pool.before_check(upstream, self.close)
        return standby

    def close(self) -> None:
        """Drop every standby (newest first: a cascade's lowest level goes first)."""
        errors: list[BaseException] = []
        while self._made:
            standby, upstream, folder = self._made.pop()
            try:
                standby.drop()
            except Exception as exc:  # keep dropping the others
                errors.append(exc)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
                self.pool.forget_files(upstream)
        if errors:
            raise errors[0]
