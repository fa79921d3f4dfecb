"""The initdb template cache: initdb once per machine per installation and initdb options.

An entry is a data directory made by initdb, stored under a key derived from the
installation (bin folder, version, the postgres program's size and time) and the initdb
options. It is built in a staging folder and renamed into place under a `FileLock`, so xdist
workers and simultaneous runs build it once and never see half of it; a manifest written last
(file count and bytes) is checked before each use, and an entry that fails the check is
rebuilt. Clusters are copies of an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from filelock import FileLock

__all__ = ["MANIFEST", "TemplateCache", "TemplateError", "default_cache_dir"]

MANIFEST = ".pytest-boss-template.json"
_LOCK_TIMEOUT = 600


class TemplateError(RuntimeError):
    """The cache folder cannot be used; says which folder and what to do."""

    def __init__(self, folder: str, reason: str) -> None:
        self.folder = folder
        self.reason = reason
        super().__init__(
            f"the template cache {folder} cannot be used: {reason}; choose another folder with "
            "--pg-cache-dir, or --pg-no-cache"
        )


def default_cache_dir() -> str:
    """$XDG_CACHE_HOME/pytest-boss, else ~/.cache/pytest-boss."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pytest-boss")


def _tree_facts(path: str) -> tuple[int, int]:
    """(number of files, total bytes) of a tree, links not followed."""
    count = size = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            if root == path and name == MANIFEST:
                continue
            count += 1
            size += os.lstat(os.path.join(root, name)).st_size
    return count, size


@dataclass(frozen=True)
class TemplateKey:
    """What makes two initdb results interchangeable."""

    bindir: str
    version: str
    postgres_stamp: str
    options: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, bindir: str, version: str, options: Mapping[str, object]) -> TemplateKey:
        st = os.stat(os.path.join(bindir, "postgres"))
        return cls(
            bindir,
            version,
            f"{st.st_size}:{st.st_mtime_ns}",
            tuple(sorted((name, repr(value)) for name, value in options.items())),
        )

    @property
    def digest(self) -> str:
        text = json.dumps([self.bindir, self.version, self.postgres_stamp, self.options])
        return hashlib.sha256(text.encode()).hexdigest()[:20]


class TemplateCache:
    """initdb results kept in `folder`, shared by every run of this user on this machine.

    `folder=None` keeps them in `scratch` for this run only (--pg-no-cache).
    """

    def __init__(self, folder: str | None, scratch: str) -> None:
        self.folder = folder
        self.scratch = scratch
        self._verified: dict[str, str] = {}

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
        it made (which is then copied into the cache and removed); it runs at most once per
        machine for a key.
        """
        if key.digest in self._verified:
            return self._verified[key.digest]
        root = self._root()
        entry = os.path.join(root, key.digest)
        with FileLock(os.path.join(root, f"{key.digest}.lock"), timeout=_LOCK_TIMEOUT):
            if not self._intact(entry):
                shutil.rmtree(entry, ignore_errors=True)
                self._build(root, entry, key, build)
        self._verified[key.digest] = entry
        return entry

    @staticmethod
    def _intact(entry: str) -> bool:
        try:
            with open(os.path.join(entry, MANIFEST), encoding="utf-8") as fo:
                manifest = json.load(fo)
        except (OSError, ValueError):
            return False
        return bool(_tree_facts(entry) == (manifest.get("files"), manifest.get("bytes")))

    @staticmethod
    def _build(root: str, entry: str, key: TemplateKey, build: Callable[[], str]) -> None:
        staging = tempfile.mkdtemp(prefix=f"{key.digest}.", suffix=".partial", dir=root)
        made = None
        try:
            made = build()
            data = os.path.join(staging, "data")
            shutil.copytree(made, data, symlinks=True)
            files, size = _tree_facts(data)
            manifest = {
                "files": files,
                "bytes": size,
                "bindir": key.bindir,
                "version": key.version,
                "initdb_options": dict(key.options),
            }
            # Written last, then the whole folder renamed into place: a reader sees all or none.
            with open(os.path.join(data, MANIFEST), "w", encoding="utf-8") as fo:
                json.dump(manifest, fo, indent=1)
                fo.flush()
                os.fsync(fo.fileno())
            os.rename(data, entry)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            if made is not None:
                shutil.rmtree(made, ignore_errors=True)

    @staticmethod
    def copy(entry: str, destination: str) -> None:
        """Copy an entry to `destination` (which must not exist), without the manifest.

        Contents only (no timestamps or xattrs: half the time of copy2 for ~1,000 files);
        folders keep their modes and files are created 0600 under a private umask, as
        initdb made them.
        """
        previous = os.umask(0o077)
        try:
            shutil.copytree(
                entry,
                destination,
                symlinks=True,
                copy_function=shutil.copyfile,
                ignore=lambda d, _: [MANIFEST] if d == entry else [],
            )
        finally:
            os.umask(previous)
