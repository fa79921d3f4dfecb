"""Streaming replication of test clusters: backups, hot standbys, catch-up, promotion, crashes.

The functions take a :class:`.Cluster`; ``Cluster.backup``, ``replica``, ``is_standby``,
``catch_up``, ``promote`` and ``kill`` call them.

Test clusters run with ``synchronous_commit`` and ``full_page_writes`` off, which shapes
three choices here:

- ``catch_up`` first makes the primary flush its WAL (a local synchronous commit): its flush
  position may lag the last commits, and a standby only receives flushed WAL.
- pg_basebackup refuses to back up a standby whose primary has written WAL without full page
  writes. A backup of a standby, and a standby of a standby, are therefore copied from the
  top primary (:mod:`.backup`); a standby of a standby then streams from its own upstream,
  which first catches up so that it holds the WAL the new standby asks for.
- A synchronous standby turns ``synchronous_commit`` on at the primary while it lives.

Standbys stream over the unix socket. As root, backups and standbys are placed where the
server user can reach them (:func:`.privileges.place_directory`), and pg_basebackup runs as
that user.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import signal
import warnings
from typing import TYPE_CHECKING, Union

from ._endpoint import libpq_quote
from ._psql import SQLError
from ._repl_links import (
    STANDBY_SIGNAL,
    ReplicationError,
    ReplicationWarning,
    ensure_rule,
    in_standby_mode,
    remember,
    set_synchronous,
    upstream_of,
)
from .backup import BackupError, backup, remove_backup
from .control import ControlError, NotRunningError, log_tail
from .privileges import PRIVATE_PREFIX, remove_placed

if TYPE_CHECKING:
    from .cluster import Cluster

__all__ = [
    "BackupError",
    "NotAStandbyError",
    "ReplicationError",
    "ReplicationTimeoutError",
    "ReplicationWarning",
    "SlotNameError",
    "backup",
    "catch_up",
    "is_standby",
    "kill",
    "promote",
    "release",
    "remove_backup",
    "replica",
]

StrPath = Union[str, "os.PathLike[str]"]

#: How soon a standby retries its upstream after a failed connection (default 5 s).
RETRY_INTERVAL = "100ms"
_SLOT_RE = re.compile(r"^[a-z0-9_]{1,63}$")


class NotAStandbyError(ReplicationError):
    """catch_up or promote on a cluster that is not a standby."""


class ReplicationTimeoutError(ReplicationError):
    """A standby did not catch up, or a promotion did not end, within its time-out."""


class SlotNameError(ReplicationError, ValueError):
    """A replication slot name PostgreSQL would refuse."""


# -- standbys -----------------------------------------------------------------------------------


def _check_upstream(upstream: Cluster, synchronous: bool) -> None:
    """Refuse a standby the upstream cannot feed, with the reason."""
    if not upstream.running():
        raise ReplicationError(
            f"cannot make a standby of {upstream.path}: it is not running; start it first",
            upstream.path,
        )
    if synchronous and in_standby_mode(upstream):
        raise ReplicationError(
            f"{upstream.path} is a standby, and PostgreSQL only waits for standbys of the "
            "primary itself: make the synchronous standby from the primary",
            upstream.path,
        )


def _slot_name(slot: str | bool | None, name: str) -> str | None:
    if slot is None or slot is False:
        return None
    chosen = name if slot is True else str(slot)
    if not _SLOT_RE.match(chosen):
        raise SlotNameError(
            f"invalid replication slot name {chosen!r}: use 1 to 63 lower-case letters, "
            "digits and underscores"
        )
    return chosen


def _conninfo(upstream: Cluster, name: str, with_password: bool) -> str:
    """The standby's ``primary_conninfo``: the upstream's unix socket."""
    values = {
        "host": upstream.host,
        "port": str(upstream.port),
        "user": upstream.user,
        "application_name": name,
    }
    if with_password and upstream.password is not None:
        values["password"] = upstream.password
    return " ".join(f"{key}={libpq_quote(value)}" for key, value in values.items())


def _configure_standby(
    standby: Cluster, upstream: Cluster, name: str, slot: str | None, with_password: bool
) -> None:
    """Own port and socket folder (beside the upstream's), standby settings, standby.signal."""
    parent = os.path.dirname(upstream.host)
    own = os.path.basename(upstream.host).startswith(PRIVATE_PREFIX)
    standby.configure(
        socket_parent=parent if own else None,
        settings={
            "primary_conninfo": _conninfo(upstream, name, with_password),
            "primary_slot_name": slot or "",
            "hot_standby": True,
            "wal_retrieve_retry_interval": RETRY_INTERVAL,
            "synchronous_standby_names": "",
        },
    )
    signal_path = os.path.join(standby.data_dir, STANDBY_SIGNAL)
    with open(signal_path, "w", encoding="utf-8"):
        pass
    standby.server_user.chown(signal_path)
    remember(standby, upstream)
    meta = standby._read_meta()
    meta.update(application_name=name, slot=slot)
    standby._write_meta(meta)


def replica(
    upstream: Cluster,
    path: StrPath,
    *,
    synchronous: bool = False,
    slot: str | bool | None = None,
    start: bool = True,
) -> Cluster:
    """A hot standby of ``upstream`` at the new folder ``path``, streaming over the socket.

    ``synchronous``: the primary waits for it at every commit while it lives (until it is
    dropped or promoted). ``slot``: a physical replication slot on the upstream (a name, or
    True for one), dropped with the standby. ``start``: started and ready for read-only
    queries when True. On failure nothing is left (folder, slot, primary settings).
    """
    _check_upstream(upstream, synchronous)
    name = "standby_" + secrets.token_hex(4)
    slot_name = _slot_name(slot, name)
    with_password = ensure_rule(upstream)
    requested = os.path.abspath(os.fspath(path))
    if slot_name is not None:
        upstream.sql(f"SELECT pg_create_physical_replication_slot('{slot_name}', true)")
    standby: Cluster | None = None
    try:
        backup(upstream, requested)
        standby = type(upstream)(
            requested,
            upstream.pg_config,
            password=upstream.password,
            server_user=upstream.server_user,
        )
        _configure_standby(standby, upstream, name, slot_name, with_password)
        if synchronous:
            set_synchronous(upstream, name, True)
        if in_standby_mode(upstream):
            catch_up(upstream)  # the new standby asks it for WAL from the backup's end
        if start:
            standby.start()
    except BaseException:
        if standby is not None:
            standby.drop()  # release(): the primary's settings and the slot
        else:
            remove_placed(requested)
            if slot_name is not None:
                _drop_slot(upstream, slot_name, 10.0)
        raise
    return standby


def is_standby(cluster: Cluster) -> bool:
    """Whether the running server is in recovery (asked of the server)."""
    return cluster.sql("SELECT pg_is_in_recovery()")[0][0] == "t"


# -- catch-up and promotion ---------------------------------------------------------------------


def _flush(primary: Cluster) -> str:
    """Make ``primary`` flush its WAL and return its flush position, which then covers every
    commit made before. A commit flushes only when its transaction wrote WAL and has a
    transaction id: a transactional logical message gives it both."""
    rows = primary.sql(
        "SET synchronous_commit = local;"
        " SELECT pg_logical_emit_message(true, 'pytest_boss', 'flush');"
        " SELECT pg_current_wal_flush_lsn()"
    )
    return str(rows[-1][0])


_WAIT_REPLAY = """DO $boss$
DECLARE deadline timestamptz := clock_timestamp() + interval '{seconds} seconds';
BEGIN
  IF NOT pg_is_in_recovery() THEN
    RAISE EXCEPTION 'not a standby' USING ERRCODE = '55000';
  END IF;
  WHILE coalesce(pg_last_wal_replay_lsn() < '{lsn}'::pg_lsn, true) LOOP
    IF clock_timestamp() > deadline THEN
      RAISE EXCEPTION 'replayed up to % only', pg_last_wal_replay_lsn() USING ERRCODE = '57014';
    END IF;
    PERFORM pg_sleep(0.001);
    COMMIT;  -- holds no snapshot, so replay never waits for this loop
  END LOOP;
END $boss$"""


def _wait_replayed(standby: Cluster, lsn: str, timeout: float) -> None:
    """Wait on the standby (one query) until it has replayed up to ``lsn``."""
    query = _WAIT_REPLAY.format(seconds=f"{timeout:.3f}", lsn=lsn)
    try:
        standby.sql(query, timeout=timeout + 30)
    except SQLError as exc:
        if exc.sqlstate == "55000":
            raise NotAStandbyError(
                f"{standby.path} is not a standby (promoted?): nothing to catch up",
                standby.path,
            ) from None
        if exc.sqlstate != "57014":
            raise
        raise ReplicationTimeoutError(
            f"the standby {standby.path} did not replay its upstream's WAL up to {lsn} "
            f"within {timeout:g} s ({exc.message}); is its upstream reachable?",
            standby.path,
            log_tail(standby.log_path),
        ) from None


def catch_up(standby: Cluster, timeout: float = 30.0) -> str:
    """Wait until ``standby`` has replayed what its upstream had flushed when called (the
    upstream first flushes its WAL; a standby upstream first catches up itself). Returns
    the WAL position reached."""
    if not in_standby_mode(standby):
        raise NotAStandbyError(
            f"{standby.path} is not a standby: nothing to catch up", standby.path
        )
    upstream = upstream_of(standby)
    if upstream is None:
        raise ReplicationError(
            f"the upstream of the standby {standby.path} is unknown: it was not made by "
            "Cluster.replica()",
            standby.path,
        )
    for cluster in (standby, upstream):
        if not cluster.running():
            raise ReplicationError(
                f"cannot catch up {standby.path}: {cluster.path} is not running",
                cluster.path,
            )
    lsn = catch_up(upstream, timeout) if in_standby_mode(upstream) else _flush(upstream)
    _wait_replayed(standby, lsn, timeout)
    return lsn


def promote(standby: Cluster, timeout: float = 60.0) -> None:
    """Promote ``standby`` to a primary and wait until it is one (its upstream may be
    stopped). A synchronous standby stops being waited for."""
    seconds = max(1, math.ceil(timeout))
    try:
        done = standby.sql(f"SELECT pg_promote(true, {seconds})", timeout=seconds + 30)
    except SQLError as exc:
        if exc.sqlstate == "55000":
            raise NotAStandbyError(
                f"cannot promote {standby.path}: it is not a standby ({exc.message})",
                standby.path,
            ) from None
        raise
    if done[0][0] != "t":
        raise ReplicationTimeoutError(
            f"the promotion of {standby.path} did not end within {seconds} s",
            standby.path,
            log_tail(standby.log_path),
        )
    _forget_synchronous(standby)


def _forget_synchronous(standby: Cluster) -> None:
    """Take ``standby`` off its primary's synchronous standbys (when it is on them)."""
    meta = standby._read_meta()
    name = meta.get("application_name")
    upstream = upstream_of(standby) if name else None
    if upstream is not None and os.path.isdir(upstream.data_dir):
        set_synchronous(upstream, str(name), False)


def _drop_slot(upstream: Cluster, slot: str, timeout: float) -> None:
    """Drop ``slot`` on the running ``upstream`` once its walsender has let go of it."""
    if not upstream.running():
        return
    upstream.sql(
        f"""DO $boss$
        DECLARE deadline timestamptz := clock_timestamp() + interval '{timeout:.3f} seconds';
        BEGIN
          WHILE EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '{slot}' AND active)
                AND clock_timestamp() < deadline LOOP
            PERFORM pg_sleep(0.001);
          END LOOP;
          PERFORM pg_drop_replication_slot(slot_name) FROM pg_replication_slots
           WHERE slot_name = '{slot}';
        END $boss$"""
    )


def release(standby: Cluster) -> None:
    """What a standby holds elsewhere, undone before it is dropped: its place among the
    primary's synchronous standbys, then (once it is stopped) its slot on the upstream.
    Nothing for other clusters. Called by ``Cluster.drop``."""
    meta = standby._read_meta()
    if not meta.get("application_name"):
        return
    upstream = upstream_of(standby)
    if upstream is None or not os.path.isdir(upstream.data_dir):
        return
    try:
        set_synchronous(upstream, str(meta["application_name"]), False)
        slot = meta.get("slot")
        if slot:
            if standby.running():
                standby.stop("fast")
            _drop_slot(upstream, str(slot), 30.0)
    except (ControlError, SQLError, OSError) as exc:
        warnings.warn(
            ReplicationWarning(
                f"the standby {standby.path} is dropped, but its upstream {upstream.path} "
                f"could not be told ({exc}): check its synchronous_standby_names and slots"
            ),
            stacklevel=3,
        )


# -- faults -------------------------------------------------------------------------------------


def kill(cluster: Cluster, timeout: float = 30.0) -> None:
    """Crash the server: SIGKILL to the postmaster, then wait until it and its children are
    gone. The next ``start()`` runs crash recovery; commits not yet flushed (test clusters
    run with ``synchronous_commit`` off) may be lost, as in a real crash."""
    controller = cluster.controller
    pid = controller.pid()
    if pid is None:
        raise NotRunningError(
            f"cannot kill the server of {cluster.path}: it is not running", cluster.data_dir
        )
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not controller.wait_exit(pid, timeout):
        raise ReplicationError(
            f"the postmaster {pid} of {cluster.path} survived SIGKILL for {timeout:g} s",
            cluster.path,
        )
    controller.remove_shared_memory(timeout)
