"""The template cache's entries as files: their keys, their manifests, and which are stale.

An entry is a folder named by its key's digest, with a manifest written last (what
`read_manifest` gives back). An entry goes stale when its PostgreSQL is gone or changed, or
when a newer entry of its lineage replaced it; `prune` removes those (and staging folders a
killed run left) whenever an entry is stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .treecopy import MANIFEST

__all__ = [
    "RUN_KEY_PREFIX",
    "TemplateKey",
    "postgres_stamp",
    "prune",
    "read_manifest",
    "tree_facts",
]

#: The content key of a template whose loader gives none starts with this: loaded once per
#: run (shared by its workers), and removed a day later.
RUN_KEY_PREFIX = "run-"
RUN_ENTRY_SECONDS = 24 * 3600


def tree_facts(path: str) -> tuple[int, int]:
    """(number of files, total bytes) of a tree, links not followed."""
    count = size = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            if root == path and name == MANIFEST:
                continue
            count += 1
            size += os.lstat(os.path.join(root, name)).st_size
    return count, size


def postgres_stamp(bindir: str) -> str:
    """What changes when the postgres program of `bindir` is replaced (size and time)."""
    st = os.stat(os.path.join(bindir, "postgres"))
    return f"{st.st_size}:{st.st_mtime_ns}"


@dataclass(frozen=True)
class TemplateKey:
    """What makes two entries interchangeable: the installation and initdb options, and for
    an entry whose template database is loaded, the content key of what was loaded."""

    bindir: str
    version: str
    postgres_stamp: str
    options: tuple[tuple[str, str], ...]
    loaded: str = ""
    #: Entries of one lineage replace each other: a template whose inputs changed makes the
    #: entry of its old inputs stale (not part of the identity).
    lineage: str = field(default="", compare=False)

    def with_loaded(self, content_key: str, lineage: str) -> TemplateKey:
        """The key of this entry with its template database loaded from `content_key`."""
        return TemplateKey(
            self.bindir, self.version, self.postgres_stamp, self.options, content_key, lineage
        )

    @classmethod
    def of(cls, bindir: str, version: str, options: Mapping[str, object]) -> TemplateKey:
        return cls(
            bindir,
            version,
            postgres_stamp(bindir),
            tuple(sorted((name, repr(value)) for name, value in options.items())),
        )

    @property
    def digest(self) -> str:
        parts: list[object] = [self.bindir, self.version, self.postgres_stamp, self.options]
        if self.loaded:
            parts.append(self.loaded)
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def _stale(entry: str, lineage: str = "") -> bool:
    """Whether an entry's PostgreSQL is gone or changed (removed, upgraded, a deleted
    virtualenv's wheel), or a newer entry of its lineage replaced it (a template whose
    inputs changed; a run's own template after a day): no run can ask for it again."""
    manifest = read_manifest(entry)
    if manifest is None or not isinstance(manifest.get("bindir"), str):
        return False  # not ours to judge (being written, or not an entry)
    if lineage and manifest.get("lineage") == lineage:
        return True
    if str(manifest.get("loaded", "")).startswith(RUN_KEY_PREFIX):
        with contextlib.suppress(OSError):
            if time.time() - os.path.getmtime(entry) > RUN_ENTRY_SECONDS:
                return True
    try:
        current = postgres_stamp(manifest["bindir"])
    except FileNotFoundError:
        return True
    except OSError:
        return False
    stamp = manifest.get("postgres_stamp")
    return isinstance(stamp, str) and stamp != current


def prune(root: str, keep: str, lineage: str = "") -> list[str]:
    """Remove the entries of binaries that are gone or changed, and staging folders a killed
    run left; each only while its lock is free (never one in use). Returns what was removed.

    Runs after an entry was stored (rare: a cold cache), so the cache does not grow by one
    initdb result per upgraded installation or recreated virtualenv, for ever.
    """
    from filelock import FileLock, Timeout

    removed: list[str] = []
    try:
        names = os.listdir(root)
    except OSError:
        return removed
    for name in sorted(names):
        path = os.path.join(root, name)
        digest = name.split(".", 1)[0]
        if digest == keep or not os.path.isdir(path) or os.path.islink(path):
            continue
        partial = name.endswith(".partial")
        if not partial and not _stale(path, lineage):
            continue
        lock = FileLock(os.path.join(root, f"{digest}.lock"), timeout=0, thread_local=False)
        try:
            with lock:
                if partial or _stale(path, lineage):
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
        except (Timeout, OSError):
            continue  # in use, or not ours to lock: left for another time
    return removed


def read_manifest(entry: str) -> dict[str, Any] | None:
    """An entry's manifest; None when it has none (being written, or not an entry)."""
    try:
        with open(os.path.join(entry, MANIFEST), encoding="utf-8") as fo:
            manifest = json.load(fo)
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None
