"""The initdb template cache: initdb once per machine per installation and initdb options.

An entry is a data directory made by initdb, stored under a key derived from the
installation (bin folder, version, the postgres program's size and time) and the initdb
options. It is built in a staging folder and renamed into place under a `FileLock`, so xdist
workers and simultaneous runs build it once and never see half of it; a manifest written last
(file count and bytes) is checked before each use, and an entry that fails the check is
rebuilt. Clusters are copies of an entry.

The hot path takes no lock and walks no tree twice: an entry whose manifest exists was
complete when renamed into place, and each copy counts files and bytes as it makes them and
compares them with the manifest, so a damaged entry is noticed by the copy itself (which is
then thrown away, the entry rebuilt under the lock, and the copy made again).

A cold cache costs one initdb and no more: the first cluster is copied from initdb's own
result (in the run's RAM-backed folder), and the entry is written to the cache folder (often
a slow disk) in the background, under the lock, while the first test runs. `wait()` awaits
those writes; a run ends only after them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from .errors import PytestBossError
from .template_entries import TemplateKey, prune, read_manifest, tree_facts
from .treecopy import HOLLOW_MIN, MANIFEST, CopyError, copy_tree, copy_tree_elsewhere

__all__ = ["MANIFEST", "TemplateCache", "TemplateError", "TemplateKey", "copy_tree"]

_LOCK_TIMEOUT = 600
_COPY_ATTEMPTS = 3
_PAGE = 8192


class TemplateError(PytestBossError, RuntimeError):
    """The cache folder cannot be used; says which folder and what to do."""

    def __init__(self, folder: str, reason: str) -> None:
        self.folder = folder
        self.reason = reason
        super().__init__(
            f"the template cache {folder} cannot be used: {reason}; choose another folder with "
            "--pg-cache-dir, or --pg-no-cache"
        )


class TemplateCache:
    """initdb results kept in `folder`, shared by every run of this user on this machine.

    `folder=None` keeps them in `scratch` for this run only (--pg-no-cache).
    """

    def __init__(self, folder: str | None, scratch: str) -> None:
        self.folder = folder
        self.scratch = scratch
        self._verified: dict[str, str] = {}
        #: Entries being written in the background, by digest.
        self._storing: dict[str, threading.Thread] = {}
        self._errors: list[TemplateError] = []

    def _root(self) -> str:
        root = self.folder or os.path.join(self.scratch, "templates")
        try:
            os.makedirs(root, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise TemplateError(root, exc.strerror or str(exc)) from None
        return root

    def get(self, key: TemplateKey, build: Callable[[], str]) -> str:
        """The path of the entry for `key`, built with `build()` when missing or damaged.

        `build` runs initdb wherever the server user can work and returns the data directory
        it made, which the cache then owns (copies into the cache and removes); it runs at
        most once per machine for a key.
        """
        if key.digest in self._verified:
            return self._verified[key.digest]
        self._await(key)
        root = self._root()
        entry = os.path.join(root, key.digest)
        self._ensure(root, entry, key, build)
        self._verified[key.digest] = entry
        return entry

    def has(self, key: TemplateKey) -> bool:
        """Whether an entry for `key` is stored (complete: its manifest is written last)."""
        return read_manifest(os.path.join(self._root(), key.digest)) is not None

    def _ensure(self, root: str, entry: str, key: TemplateKey, build: Callable[[], str]) -> None:
        """Under the entry's lock: build it when it is missing or fails its manifest."""
        lock = self._lock(root, key)
        with lock:
            if not self._intact(entry):
                shutil.rmtree(entry, ignore_errors=True)
                made = build()
                try:
                    _hollow_wal(made)
                    self._store(root, entry, key, made)
                    prune(root, keep=key.digest, lineage=key.lineage)
                finally:
                    shutil.rmtree(made, ignore_errors=True)

    @staticmethod
    def _lock(root: str, key: TemplateKey) -> Any:
        from filelock import FileLock  # only when building or repairing: it costs an import

        # Not thread-local: a background thread may finish the work and release it.
        return FileLock(
            os.path.join(root, f"{key.digest}.lock"), timeout=_LOCK_TIMEOUT, thread_local=False
        )

    def copy_to(
        self, key: TemplateKey, build: Callable[[], str], destination: str, elsewhere: bool = False
    ) -> str:
        """Copy the entry for `key` to `destination` (which must not exist); return the entry.

        An entry with a manifest is used without a lock (it was renamed into place whole); the
        copy is checked against the manifest as it is made. A missing entry is built: the copy
        is then made from initdb's result and the entry stored in the background. A copy that
        disagrees with the manifest is removed, the entry checked and rebuilt if damaged under
        its lock, and copied again. `elsewhere` copies an entry in another process (see
        treecopy: for a thread working while the main thread is busy).
        """
        self._await(key)
        root = self._root()
        entry = os.path.join(root, key.digest)
        for attempt in range(_COPY_ATTEMPTS):
            manifest = read_manifest(entry) if attempt == 0 else None
            if manifest is None:
                if attempt == 0 and self._build_into(root, entry, key, build, destination):
                    return entry
                self._ensure(root, entry, key, build)
                manifest = read_manifest(entry)
            try:
                facts = _copy(entry, destination, elsewhere)
            except OSError:
                facts = None  # rebuilt or removed under us while copying
            if manifest is not None and facts == (manifest.get("files"), manifest.get("bytes")):
                self._verified[key.digest] = entry
                return entry
            shutil.rmtree(destination, ignore_errors=True)
        raise TemplateError(root, f"the entry {entry} keeps changing while it is copied")

    def _build_into(
        self,
        root: str,
        entry: str,
        key: TemplateKey,
        build: Callable[[], str],
        destination: str,
    ) -> bool:
        """Build a missing entry, copy `destination` from initdb's result, and store the entry
        in the background with the lock held; False when another process built it meanwhile
        (nothing copied then)."""
        lock = self._lock(root, key)
        lock.acquire()
        handed_over = False
        made: str | None = None
        try:
            if self._intact(entry):
                return False
            shutil.rmtree(entry, ignore_errors=True)
            made = build()
            _hollow_wal(made)
            expected = tree_facts(made)
            if copy_tree(made, destination) != expected:
                raise TemplateError(root, f"{made} changed while it was copied")
            store = threading.Thread(
                target=self._store_and_release,
                args=(root, entry, key, made, lock),
                name=f"pytest-boss-template-{key.digest}",
                daemon=True,
            )
            self._storing[key.digest] = store
            store.start()
            handed_over = True
            return True
        finally:
            if not handed_over:
                if made is not None:
                    shutil.rmtree(made, ignore_errors=True)
                lock.release()

    def _store_and_release(
        self, root: str, entry: str, key: TemplateKey, made: str, lock: Any
    ) -> None:
        try:
            self._store(root, entry, key, made)
            prune(root, keep=key.digest, lineage=key.lineage)
        except OSError as exc:
            self._errors.append(TemplateError(root, f"storing {entry} failed: {exc}"))
        except TemplateError as exc:
            self._errors.append(exc)
        finally:
            shutil.rmtree(made, ignore_errors=True)
            lock.release()

    def _await(self, key: TemplateKey) -> None:
        store = self._storing.pop(key.digest, None)
        if store is not None:
            store.join()

    def wait(self) -> list[TemplateError]:
        """Await the entries being stored in the background; the stores that failed (each
        reported once). The copies made from them were fine: only the cache lacks them."""
        for digest in list(self._storing):
            store = self._storing.pop(digest)
            store.join()
        errors, self._errors = self._errors, []
        return errors

    @staticmethod
    def _intact(entry: str) -> bool:
        manifest = read_manifest(entry)
        if manifest is None:
            return False
        return bool(tree_facts(entry) == (manifest.get("files"), manifest.get("bytes")))

    @staticmethod
    def _store(root: str, entry: str, key: TemplateKey, made: str) -> None:
        """Copy initdb's result (WAL already hollowed) into the cache as `entry`, whole or
        not at all: staged beside it, manifest written last, then renamed into place."""
        staging = tempfile.mkdtemp(prefix=f"{key.digest}.", suffix=".partial", dir=root)
        try:
            data = os.path.join(staging, "data")
            files, size = copy_tree(made, data)
            manifest = {
                "files": files,
                "bytes": size,
                "bindir": key.bindir,
                "version": key.version,
                "initdb_options": dict(key.options),
                "postgres_stamp": key.postgres_stamp,
                "loaded": key.loaded,
                "lineage": key.lineage,
            }
            # Written last, then the whole folder renamed into place: a reader sees all or none.
            with open(os.path.join(data, MANIFEST), "w", encoding="utf-8") as fo:
                json.dump(manifest, fo, indent=1)
                fo.flush()
                os.fsync(fo.fileno())
            os.rename(data, entry)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @staticmethod
    def copy(entry: str, destination: str) -> None:
        """Copy an entry to `destination` (which must not exist), without the manifest."""
        copy_tree(entry, destination)


def _copy(entry: str, destination: str, elsewhere: bool) -> tuple[int, int]:
    if elsewhere:
        try:
            return copy_tree_elsewhere(entry, destination)
        except CopyError:
            shutil.rmtree(destination, ignore_errors=True)  # then in this process
    return copy_tree(entry, destination)


def _hollow_wal(data: str) -> None:
    """Give each WAL segment a hole where initdb left it zero-filled (all but its start).

    A fresh cluster's 16 MB segment holds a few pages of records; the rest reads as zeros
    either way, and the server writes into the hole as it goes. Copies then skip those bytes
    (`_copy_file`): less time per cluster, and 16 MB less of a RAM-backed folder each.
    """
    wal = os.path.join(data, "pg_wal")
    try:
        names = os.listdir(wal)
    except OSError:
        return
    for name in names:
        path = os.path.join(wal, name)
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        with open(path, "rb") as fo:
            content = fo.read()
        if len(content) < HOLLOW_MIN:
            continue
        used = len(content.rstrip(b"\0"))
        used = -(-used // _PAGE) * _PAGE  # whole pages
        if used < len(content):
            os.truncate(path, used)
            os.truncate(path, len(content))  # the same size, the tail now a hole
