"""The loaded template: an entry of the template cache whose template database is filled.

What fills `pg_database`'s template (`TemplateSpec`) is loaded once per machine: into a copy
of the initdb entry, on a server of its own, under the cache's lock (other workers wait for
the result), then stored as an entry keyed by the installation, the initdb options and the
content key of the loader's inputs. Every pooled cluster, worker and later run copies it.
The load's server leaves nothing behind: the configuration files are put back as initdb
made them, its log and bookkeeping files are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import admin
from ..boss.cluster import LOG_FILENAME, META_FILENAME, Cluster
from ..boss.privileges import PRIVATE_PREFIX
from ..database import Database
from ..errors import TemplateLoadError
from ..loaders import content_key, expand, key_of
from ..ports import claim_port
from ..template_entries import RUN_KEY_PREFIX
from .databases import TEMPLATE_DB
from .serverfiles import PLUGIN_SETTINGS
from .state import read_bytes

if TYPE_CHECKING:
    from ..boss.installation import Installation
    from ..workspace import Workspace

__all__ = ["LOAD_FILE", "Load", "TemplateSpec", "load_into", "read_load", "template_spec"]

#: Inside a loaded entry (and its copies): what was loaded and how long it took.
LOAD_FILE = "pytest_boss_template.json"
_RESET_FILES = ("postgresql.conf", "postgresql.auto.conf", "pg_hba.conf")
_LEFTOVERS = (LOG_FILENAME, META_FILENAME, "postmaster.opts")
# The load server's own settings; postgresql.conf is put back as initdb made it after.
_LOAD_SETTINGS = {**PLUGIN_SETTINGS, "wal_recycle": "off"}

Loader = Callable[[Database], None]


@dataclass(frozen=True)
class TemplateSpec:
    """What fills the template database, and the key it is cached under."""

    loader: Loader
    #: The content key of every input; `run-...` when the loader gives none.
    key: str
    #: Entries of one template replace each other when its inputs change.
    lineage: str
    label: str

    @property
    def cached(self) -> bool:
        return not self.key.startswith(RUN_KEY_PREFIX)


def guessed_template(key: str, lineage: str, label: str) -> TemplateSpec:
    """The template the last run's first cluster held, as a guess for the cluster made
    ahead of the first test: copied when cached, never loaded (its loader refuses)."""

    def not_loaded_ahead(database: Database) -> None:
        raise TemplateLoadError(label, "a guessed template is copied from the cache, never loaded")

    return TemplateSpec(not_loaded_ahead, key, lineage, label)


@dataclass(frozen=True)
class Load:
    """One template as a run found it: loaded now (and how long it took) or cached."""

    label: str
    seconds: float
    now: bool
    cached: bool

    def describe(self) -> str:
        how = "loaded now" if self.now else "copied from the cache, loaded earlier"
        kept = "" if self.cached else " (not cached: the loader gives no key)"
        return f"template {self.label}: {how} in {self.seconds:.2f} s{kept}"


def template_spec(
    loader: Loader | None, key_patterns: Iterable[str], rootdir: str, run_id: str
) -> TemplateSpec | None:
    """The spec of a loader: its key plus the contents of the `pg_template_key` files."""
    if loader is None:
        return None
    label = repr(loader)
    if label.startswith("<"):  # a function or an object without a repr of its own
        label = getattr(loader, "__qualname__", None) or type(loader).__name__
    own = key_of(loader)
    if own is None:
        key = RUN_KEY_PREFIX + run_id
    else:
        key = content_key(expand(list(key_patterns), rootdir), rootdir, own)
    lineage = hashlib.sha256(json.dumps([rootdir, label]).encode()).hexdigest()[:16]
    return TemplateSpec(loader, key, lineage, label)


def load_into(
    spec: TemplateSpec,
    init: Mapping[str, object],
    *,
    installation: Installation,
    workspace: Workspace,
    copy_initdb: Callable[[Mapping[str, object], str], None],
) -> str:
    """Copy the initdb entry, fill its template database on a server of its own, stop it,
    and return the data directory for the cache to store (the caller's to remove)."""
    user = workspace.server_user
    holder = user.make_private_dir(workspace.run_dir(), "load-")
    data = os.path.join(holder, "data")
    try:
        copy_initdb(init, data)
        user.chown_tree(data)
        pristine = {name: read_bytes(os.path.join(data, name)) for name in _RESET_FILES}
        cluster = Cluster(
            data,
            installation.pg_config_dict,
            user=str(init.get("superuser", "postgres")),
            server_user=user,
        )
        seconds = _run_loader(
            cluster, spec, os.path.join(workspace.cache_root, "ports"), installation.major
        )
        _reset(data, pristine, user.chown)
        with open(os.path.join(data, LOAD_FILE), "w", encoding="utf-8") as fo:
            json.dump({"label": spec.label, "seconds": seconds, "key": spec.key}, fo)
        user.chown(os.path.join(data, LOAD_FILE))
        moved = holder + "-data"
        os.rename(data, moved)
        return moved
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def _run_loader(cluster: Cluster, spec: TemplateSpec, ports_dir: str, major: int) -> float:
    """Start the load's server, fill the template database, stop it cleanly.

    The template database is made with FILE_COPY (15+): the default, WAL_LOG, writes every
    block of template1 to the WAL, which the entry and every copy of it would then carry.
    For the same reason WAL is not recycled: the stop's checkpoint would keep up to
    min_wal_size of spare segments, and removes them instead.
    """
    claim = claim_port(ports_dir)
    socket_dir = None
    try:
        cluster.configure(port=claim.port, settings=_LOAD_SETTINGS)
        socket_dir = cluster.host
        cluster.start(port_retries=0)
        started = time.monotonic()
        try:
            # A password for the loader's TCP logins (url()), gone before the entry is kept.
            admin.set_password(cluster, secrets.token_urlsafe(24))
            strategy = " STRATEGY FILE_COPY" if major >= 15 else ""
            admin.query(cluster, f"CREATE DATABASE {TEMPLATE_DB}{strategy}")
            spec.loader(Database(TEMPLATE_DB, cluster))
            admin.query(cluster, f"ALTER DATABASE {TEMPLATE_DB} WITH IS_TEMPLATE true")
            ident = '"' + cluster.user.replace('"', '""') + '"'
            admin.query(cluster, f"ALTER ROLE {ident} PASSWORD NULL")
            seconds = time.monotonic() - started
        finally:
            cluster.stop("fast")
        return seconds
    finally:
        claim.release()
        if socket_dir is not None and os.path.basename(socket_dir).startswith(PRIVATE_PREFIX):
            shutil.rmtree(socket_dir, ignore_errors=True)


def _reset(data: str, pristine: Mapping[str, bytes], chown: Callable[[str], None]) -> None:
    """Put the configuration files back as initdb made them; remove the load's traces."""
    for name, content in pristine.items():
        path = os.path.join(data, name)
        with open(path, "wb") as fo:
            fo.write(content)
        chown(path)
    for name in _LEFTOVERS:
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(data, name))


def read_load(data_dir: str) -> dict[str, object] | None:
    """What a loaded entry (or a copy of it) says about its load."""
    try:
        with open(os.path.join(data_dir, LOAD_FILE), encoding="utf-8") as fo:
            found = json.load(fo)
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
