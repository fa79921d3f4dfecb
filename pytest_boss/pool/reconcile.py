"""Bringing a cluster's files from whatever the last test left to what the next one wants.

Nothing is undone when a test ends: the next test's lease brings the cluster to exactly its
own configuration (the pool's files plus its markers) in one step: each file written once
if it differs, then one reload, or none at all when both tests want the same (two steps
when the last test's hba rules may shut the pool's own logins out, so that a refusal can
prove the new rules are in force). The server's health is checked then: a stopped, killed,
moved or broken server is started again (or, by the pool, replaced).
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterable, Mapping, Sequence

from .. import admin
from ..boss.cluster import Cluster
from .provision import Provisioner
from .serverfiles import check_hba, conf_with, decode, encode, hba_with, write_server_file
from .state import Loaded, Pooled, read_bytes, stamp

__all__ = ["Reconciler", "answers"]

_SSL_REQUEST_CODE = 80877103
#: Test configurations remembered per cluster (their files) before the memory is cleared.
_WANTED_MAX = 256


def answers(cluster: Cluster, timeout: float = 10.0) -> bool:
    """Whether the postmaster answers on its socket, right now.

    An SSLRequest gets a one-byte answer from a live server; a server that was stopped or
    killed (even an instant ago, its death still in flight) gives none. The server logs
    nothing for a connection that ends after this exchange.
    """
    path = os.path.join(cluster.host, f".s.PGSQL.{cluster.port}")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(struct.pack("!II", 8, _SSL_REQUEST_CODE))
            return sock.recv(1) in (b"N", b"S")
    except OSError:
        return False


class Reconciler:
    """Computes the files a test wants and brings a running cluster to them."""

    def __init__(self, provisioner: Provisioner) -> None:
        self.provisioner = provisioner
        self.major = provisioner.installation.major
        #: pg_hba.conf texts the server accepted (pg_hba_file_rules), not asked again.
        self._hba_accepted: set[bytes] = set()

    def wanted_files(
        self, pooled: Pooled, settings: Mapping[str, str], rules: Sequence[str], replace: bool
    ) -> dict[str, bytes]:
        """The pool's files with a test's reloadable settings and hba rules (computed once
        per configuration and cluster)."""
        key: tuple[object, ...] = (tuple(sorted(settings.items())), tuple(rules), replace)
        files = pooled.wanted.get(key)
        if files is not None:
            return files
        files = dict(pooled.base)
        if settings:
            files[pooled.conf_path] = conf_with(pooled.base[pooled.conf_path], settings)
        if rules or replace:
            text = decode(pooled.base[pooled.hba_path])
            files[pooled.hba_path] = encode(hba_with(text, rules, replace, self.major))
        if len(pooled.wanted) >= _WANTED_MAX:
            pooled.wanted.clear()
        pooled.wanted[key] = files
        return files

    def bring(self, pooled: Pooled, files: Mapping[str, bytes]) -> None:
        """Write what differs, then reload (restart for a postmaster-level change, start
        for a server a test stopped or killed); a test's rules the server rejects raise
        HbaRuleError, and the next `bring` repairs the files whatever state they are in."""
        state, pooled.loaded = pooled.loaded, None  # unknown until this is done
        trusted = state is not None and state.stamps == {path: stamp(path) for path in files}
        current = dict(state.files) if state is not None and trusted else None
        if current is None:
            current = {path: read_bytes(path) for path in files}
        differ = [path for path, data in files.items() if current.get(path) != data]
        own_rules = files[pooled.hba_path] != pooled.base[pooled.hba_path]
        if not answers(pooled.cluster):
            self._revive(pooled, files, differ, own_rules)
            return
        if trusted and not differ:
            pooled.loaded = state  # nothing to do: the server runs with exactly these files
            return
        if own_rules and not (trusted and state is not None and state.admits):
            # The rules in force may shut the plugin out; from the pool's rules (which let it
            # in), a refusal then proves that the test's rules are in force.
            base = pooled.base
            self.write(base, [path for path in base if read_bytes(path) != base[path]])
            self.reload(pooled, base, refused_means_done=False)
            differ = [path for path, data in files.items() if base[path] != data]
        self.write(files, differ)
        hba = files[pooled.hba_path]
        if own_rules and hba not in self._hba_accepted:
            check_hba(pooled.cluster, decode(hba))
            self._hba_accepted.add(hba)
        self.reload(pooled, files, refused_means_done=own_rules)

    def _revive(
        self, pooled: Pooled, files: Mapping[str, bytes], differ: list[str], own_rules: bool
    ) -> None:
        """A server that does not answer: write the files, then start it again."""
        self.write(files, differ)
        pooled.settle()
        pooled.spare = None  # it may have failed with the server
        base_conf = pooled.base[pooled.conf_path]
        self.provisioner.revive(pooled)
        if pooled.base[pooled.conf_path] == base_conf:  # else it moved: unknown state
            pooled.loaded = Loaded.now(files, admits=not own_rules)

    def write(self, files: Mapping[str, bytes], paths: Iterable[str]) -> None:
        for path in paths:
            write_server_file(path, files[path], self.provisioner.user)

    def reload(self, pooled: Pooled, files: Mapping[str, bytes], refused_means_done: bool) -> None:
        """Reload into `files` (restart for a postmaster-level change); record them."""
        done = admin.reload_and_wait(
            pooled.cluster, refused_means_done=refused_means_done, kept=pooled.kept
        )
        if done.pending:
            pooled.settle()
            self.provisioner.restart(pooled)
        pooled.loaded = Loaded.now(files, admits=done.admitted)
