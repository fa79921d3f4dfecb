"""What a standby needs from its upstream, kept apart from the replication verbs.

- which cluster a standby streams from (:func:`upstream_of`, :func:`top_primary`),
- a ``local replication`` rule in the upstream's ``pg_hba.conf`` (:func:`ensure_rule`),
- the primary's ``synchronous_standby_names`` while synchronous standbys live
  (:func:`set_synchronous`).

A standby records its upstream's path in its own metadata (``pytest_boss.json``); a
primary records its synchronous standbys and the ``synchronous_commit`` they replaced.
"""

from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING, Any

from . import hba
from ._client import ClusterError

if TYPE_CHECKING:
    from .cluster import Cluster
    from .config import Value

__all__ = [
    "STANDBY_SIGNAL",
    "ReplicationError",
    "ReplicationWarning",
    "ensure_rule",
    "in_standby_mode",
    "set_synchronous",
    "top_primary",
    "upstream_of",
]

#: The file that makes a server start as a standby (removed by the server when promoted).
STANDBY_SIGNAL = "standby.signal"
#: Metadata keys of this module (a backup drops them: they describe the original).
META_UPSTREAM = "upstream"
META_SYNC = "sync_standbys"
META_SYNC_SAVED = "sync_saved_commit"
_PASSWORD_METHODS = ("md5", "scram-sha-256", "password")

# Upstreams known in this process (a Cluster object carries its password, its path may not).
_UPSTREAMS: weakref.WeakKeyDictionary[Cluster, Cluster] = weakref.WeakKeyDictionary()


class ReplicationError(ClusterError):
    """A backup, standby, catch-up or promotion failed; ``log_tail`` quotes the server log
    of the cluster concerned when it says more."""

    def __init__(self, message: str, path: str = "", log_tail: str = "") -> None:
        super().__init__(message, path)
        self.log_tail = log_tail

    def __str__(self) -> str:
        if self.log_tail.strip():
            return f"{self.message}\nserver log of {self.path}:\n{self.log_tail.rstrip()}"
        return self.message


class ReplicationWarning(UserWarning):
    """A dropped standby's upstream could not be told (its slot or settings may remain)."""


def in_standby_mode(cluster: Cluster) -> bool:
    """Whether ``cluster`` starts (or runs) as a standby: it has ``standby.signal``."""
    return os.path.exists(os.path.join(cluster.data_dir, STANDBY_SIGNAL))


def remember(standby: Cluster, upstream: Cluster) -> None:
    """Record that ``standby`` streams from ``upstream`` (here and in its metadata)."""
    _UPSTREAMS[standby] = upstream
    meta = standby._read_meta()
    meta[META_UPSTREAM] = upstream.path
    standby._write_meta(meta)


def upstream_of(standby: Cluster) -> Cluster | None:
    """The cluster ``standby`` was made from, or None when this library did not make it."""
    known = _UPSTREAMS.get(standby)
    if known is not None:
        return known
    path = standby._read_meta().get(META_UPSTREAM)
    if not isinstance(path, str) or not os.path.isdir(path):
        return None
    upstream = type(standby)(path, standby.pg_config, server_user=standby.server_user)
    upstream.password = standby.password
    _UPSTREAMS[standby] = upstream
    return upstream


def top_primary(standby: Cluster) -> Cluster:
    """The primary at the top of ``standby``'s chain of upstreams."""
    current, seen = standby, {standby.data_dir}
    while in_standby_mode(current):
        upstream = upstream_of(current)
        if upstream is None or upstream.data_dir in seen:
            raise ReplicationError(
                f"the primary of the standby {current.path} is unknown: it was not made by "
                "Cluster.replica(), so its upstream is not recorded",
                current.path,
            )
        seen.add(upstream.data_dir)
        current = upstream
    return current


def _matches(entry: hba.Entry, user: str) -> bool:
    """Whether a ``local`` record applies to replication connections of ``user``."""
    if entry.is_include or entry.type != "local":
        return False
    if not any(d.special and d == "replication" for d in entry.databases):
        return False
    return any((u.special and u == "all") or (not u.special and u == user) for u in entry.users)


def ensure_rule(upstream: Cluster) -> bool:
    """Make sure ``upstream`` lets its superuser in for replication over the unix socket.

    The first ``local replication`` record that applies decides: ``trust`` or a password
    method (the password is then given, and the return value is True) is kept; ``reject``
    or a method we cannot satisfy is an error naming the line. When no record applies, a
    ``local replication <user> trust`` record is put first and the server reloaded.
    """
    with open(upstream.hba_path, encoding="utf-8", errors="surrogateescape", newline="") as fo:
        rules = hba.read_config(fo, version=upstream.version[0], path=upstream.hba_path)
    for lineno, entry in rules.numbered():
        if not _matches(entry, upstream.user):
            continue
        method = entry.method
        if method == "trust":
            return False
        if method in _PASSWORD_METHODS and upstream.password is not None:
            return True
        if method in ("peer", "ident") and upstream.server_user.name == upstream.user:
            return False
        raise ReplicationError(
            f"{upstream.hba_path}:{lineno} ({entry}) decides replication connections of "
            f"{upstream.user!r} over the unix socket, and a standby cannot log in with "
            f"{method!r}: put a 'local replication {upstream.user} trust' rule before it",
            upstream.path,
        )
    rules.insert(
        0, hba.Entry("local", ["replication"], [hba.Name(upstream.user)], None, None, "trust")
    )
    rules.write(upstream.hba_path)
    if upstream.running():
        upstream.reload()
    return False


def _names_setting(names: list[str]) -> str:
    quoted = ", ".join('"' + name.replace('"', '""') + '"' for name in names)
    return f"FIRST {len(names)} ({quoted})"


def set_synchronous(primary: Cluster, name: str, on: bool) -> None:
    """Add (``on``) or remove the standby ``name`` from the primary's synchronous standbys.

    While the list is not empty, the primary runs with ``synchronous_commit = on`` and
    waits for every standby on it; when it empties, ``synchronous_commit`` is what it was
    before the first one came. The server is reloaded when running.
    """
    meta = primary._read_meta()
    names: list[str] = [str(n) for n in meta.get(META_SYNC, [])]
    if (name in names) == on:
        return
    if on and not names:
        saved = primary.get_parameters(["synchronous_commit"])["synchronous_commit"]
        meta[META_SYNC_SAVED] = saved
    names = [*names, name] if on else [n for n in names if n != name]
    values: dict[str, Value | None] = {"synchronous_standby_names": None}
    if names:
        values = {"synchronous_standby_names": _names_setting(names), "synchronous_commit": "on"}
    else:
        values["synchronous_commit"] = meta.pop(META_SYNC_SAVED, None)
    meta[META_SYNC] = names
    primary.set_parameters(values)
    primary._write_meta(meta)
    if primary.running():
        primary.reload()


def unsynchronised_settings(meta: dict[str, Any]) -> dict[str, Value | None]:
    """The settings that undo a primary's synchronous standbys in a copy of its files."""
    if not meta.get(META_SYNC):
        return {}
    return {
        "synchronous_standby_names": None,
        "synchronous_commit": meta.get(META_SYNC_SAVED),
    }
