"""Base backups of running test clusters with pg_basebackup (of a standby: of its primary).

pg_basebackup refuses to back up a standby whose primary has written WAL without full page
writes, and test clusters run with ``full_page_writes`` off: a backup of a standby is taken
from the top primary instead, which holds at least what the standby holds. As root, the
backup is placed where the server user can reach it, and pg_basebackup runs as that user.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

from ._repl_links import (
    ReplicationError,
    ensure_rule,
    in_standby_mode,
    top_primary,
    unsynchronised_settings,
)
from .privileges import place_directory, remove_placed

if TYPE_CHECKING:
    from .cluster import Cluster

__all__ = ["BACKUP_DEFAULTS", "BackupError", "backup", "remove_backup"]

StrPath = Union[str, "os.PathLike[str]"]

#: pg_basebackup options unless the caller says otherwise: no spread checkpoint, WAL
#: streamed beside the copy (the backup starts on its own), no fsync and no manifest
#: (test clusters do not fsync either).
BACKUP_DEFAULTS: dict[str, Any] = {
    "checkpoint": "fast",
    "wal_method": "stream",
    "no_sync": True,
    "no_manifest": True,
}


class BackupError(ReplicationError):
    """pg_basebackup failed; ``output`` is what it printed."""

    def __init__(self, message: str, path: str = "", output: str = "") -> None:
        super().__init__(message, path)
        self.output = output

    def __str__(self) -> str:
        if not self.output.strip():
            return self.message
        return f"{self.message}\npg_basebackup said:\n{self.output.strip()}"


def _option_args(options: Mapping[str, Any]) -> list[str]:
    """``--long-option`` arguments: ``True`` is a flag, ``False``/``None`` leave it out."""
    args: list[str] = []
    for name, value in {**BACKUP_DEFAULTS, **options}.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is not False and value is not None:
            args.append(f"{flag}={value}")
    return args


def _basebackup(source: Cluster, target: str, options: Mapping[str, Any], timeout: float) -> None:
    """Run pg_basebackup of ``source`` into the empty folder ``target``, as the server user."""
    program = os.path.join(source.server_bindir, "pg_basebackup")
    args = [program, "-D", target, "-h", source.host, "-p", str(source.port), "-U", source.user]
    env = source.server_user.env()
    if source.password is not None:
        env["PGPASSWORD"] = source.password
    try:
        done = source.server_user.run([*args, *_option_args(options)], timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise BackupError(
            f"pg_basebackup of {source.path} did not finish within {timeout:g} s",
            source.path,
        ) from None
    if done.returncode != 0:
        raise BackupError(
            f"pg_basebackup of {source.path} failed (exit {done.returncode})",
            source.path,
            done.stdout,
        )


def _tidy_copy(source: Cluster, path: str) -> None:
    """Make a plain-format copy of ``source`` describe itself: no copy of the source's log,
    no record of its socket folder or standbys, no synchronous standbys to wait for."""
    copy = type(source)(path, source.pg_config, server_user=source.server_user)
    if not os.path.isfile(os.path.join(copy.data_dir, "PG_VERSION")):
        return  # tar format, or a pg_basebackup option that writes elsewhere
    with contextlib.suppress(FileNotFoundError):
        os.remove(copy.log_path)
    meta = copy._read_meta()
    settings = unsynchronised_settings(meta)
    if settings:
        copy.set_parameters(settings)
    copy._write_meta({"superuser": meta.get("superuser", source.user)})


_WHY_PRIMARY = (
    " (a standby is backed up from its primary: pg_basebackup refuses a standby whose "
    "primary runs with full_page_writes off, as test clusters do)"
)


def _source(cluster: Cluster) -> Cluster:
    """What pg_basebackup copies for ``cluster``: itself, or the primary of a standby."""
    if not in_standby_mode(cluster):
        return cluster
    try:
        return top_primary(cluster)
    except ReplicationError as exc:
        raise ReplicationError(exc.message + _WHY_PRIMARY, cluster.path) from None


def backup(cluster: Cluster, path: StrPath, *, timeout: float = 300.0, **options: Any) -> str:
    """A base backup of the running ``cluster`` in the new folder ``path``; returns ``path``.

    ``options`` are pg_basebackup's long options with ``_`` for ``-`` (``label="x"``,
    ``wal_method="fetch"``, ``max_rate="10M"``; ``True`` for a flag, ``None`` to drop one of
    :data:`BACKUP_DEFAULTS`). The copy starts as a primary of its own (``Cluster(path, ...)``,
    ``configure()``, ``start()``). A standby is backed up from its top primary (see the
    module's docstring). On failure nothing is left at ``path``.
    """
    source = _source(cluster)
    if not source.running():
        raise ReplicationError(
            f"cannot back up {cluster.path}: {source.path} is not running; start it first"
            + (_WHY_PRIMARY if source is not cluster else ""),
            cluster.path,
        )
    ensure_rule(source)
    requested = os.path.abspath(os.fspath(path))
    placed = place_directory(requested, source.server_user)
    try:
        _basebackup(source, placed.real, options, timeout)
        _tidy_copy(source, requested)
    except BaseException:
        remove_placed(requested)
        raise
    return requested


def remove_backup(path: StrPath) -> None:
    """Remove a backup made by :func:`backup` (the folder, or its link and private folder)."""
    remove_placed(path)
