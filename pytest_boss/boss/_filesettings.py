"""A cluster's effective file settings, re-read only when one of its files changes."""

from __future__ import annotations

import os
from typing import Any

from . import config

__all__ = ["AUTO_CONFIG_FILENAME", "DEFAULT_CONFIG_FILENAME", "FileSettings"]

DEFAULT_CONFIG_FILENAME = "postgresql.conf"
AUTO_CONFIG_FILENAME = "postgresql.auto.conf"


class FileSettings:
    """postgresql.conf, then postgresql.auto.conf (ALTER SYSTEM), as one dict of settings.

    Reading every file again for each ``port`` or ``host`` asked would cost a parse each
    time; the dict is kept until a file's inode, size or modification time changes.
    """

    def __init__(self) -> None:
        self._cache: tuple[tuple[Any, ...], dict[str, str]] | None = None

    def forget(self) -> None:
        """Read the files again next time (after writing one)."""
        self._cache = None

    def read(self, data_dir: str) -> dict[str, str] | None:
        """The settings of ``data_dir``; None when it has no postgresql.conf."""
        stamps: list[Any] = []
        for name in (DEFAULT_CONFIG_FILENAME, AUTO_CONFIG_FILENAME):
            try:
                st = os.stat(os.path.join(data_dir, name))
                stamps.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                stamps.append(None)
        key = tuple(stamps)
        if self._cache is None or self._cache[0] != key:
            if stamps[0] is None:
                return None
            values = config.read_file(os.path.join(data_dir, DEFAULT_CONFIG_FILENAME))
            if stamps[1] is not None:
                config.read_file(os.path.join(data_dir, AUTO_CONFIG_FILENAME), values)
            self._cache = (key, values)
        return self._cache[1]
