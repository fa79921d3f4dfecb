"""What the core remembers about a cluster, in a small JSON file inside its data directory.

It holds the superuser's name, the socket folder the core made for this very data directory
(a copy of a cluster carries its original's record) and whether the port was chosen for us.
Other tools (a reaper of a dead run's leftovers) read it through :data:`META_FILENAME`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ._account import ServerUser
from ._atomic import atomic_write_text

__all__ = ["META_FILENAME", "read_meta", "write_meta"]

#: The file's name, inside the data directory.
META_FILENAME = "pytest_boss.json"


def read_meta(data_dir: str) -> dict[str, Any]:
    """The record of ``data_dir``; empty when it has none (or an unreadable one)."""
    try:
        with open(os.path.join(data_dir, META_FILENAME), encoding="utf-8") as fo:
            data = json.load(fo)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_meta(data_dir: str, data: Mapping[str, Any], user: ServerUser) -> None:
    """Replace the record of ``data_dir`` atomically; it belongs to the server user."""
    path = os.path.join(data_dir, META_FILENAME)
    atomic_write_text(path, json.dumps(dict(data)) + "\n")
    user.chown(path)
