"""Starting the cluster the first test will want while pytest is still collecting.

A run remembers, in the user cache folder, what the first cluster a test asked for needed:
its initdb options and postmaster-level settings, per project folder, command line and
xdist worker. The next run with the same command starts that cluster in a background thread
from `pytest_sessionstart`, so its copy and start overlap pytest's collection instead of
delaying the first test. A wrong guess costs one cluster that no test uses (stopped at the
end like every other) and the memory is corrected; a run whose tests need no cluster
forgets it, so the next one starts nothing.

Without a hint (a first run, a new selection), the cluster of the first collected test that
needs one is started when collection is done (`pytest_collection_finish`), while the tests
before it run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pytest

from .markers import Needs

__all__ = [
    "Hint",
    "forget",
    "hint_path",
    "read_hint",
    "selection",
    "wants_ahead",
    "write_hint",
]

HINTS = "hints"
#: Days a hint nobody reads is kept.
HINT_DAYS = 30


def wants_ahead(config: pytest.Config) -> bool:
    """Whether this process runs tests (not the xdist controller, nor --collect-only or
    --fixtures, which start no test)."""
    option = config.option
    if getattr(option, "collectonly", False) or getattr(option, "showfixtures", False):
        return False
    if getattr(option, "show_fixtures_per_test", False):
        return False
    return not config.pluginmanager.hasplugin("dsession")  # xdist's controller


def selection(config: pytest.Config) -> list[str]:
    """What decides which test comes first: the paths and node ids asked for, -k and -m
    (not the other options: --basetemp, -v or -x change no test's needs)."""
    option = config.option
    return [
        str(config.invocation_params.dir),
        *config.args,
        f"-k={getattr(option, 'keyword', '')}",
        f"-m={getattr(option, 'markexpr', '')}",
    ]


def hint_path(cache_root: str, rootdir: str, args: Sequence[str], worker: str) -> str:
    """Where a run started this way keeps its hint."""
    text = json.dumps([os.path.realpath(rootdir), list(args), worker])
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    return os.path.join(cache_root, HINTS, f"{digest}.json")


def _plain(value: object) -> bool:
    """Whether a value comes back from JSON as itself (same type and repr)."""
    try:
        again = json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return False
    return type(again) is type(value) and repr(again) == repr(value)


@dataclass(frozen=True)
class Hint:
    """What the first test of the last such run asked for: the installation (its bin folder:
    a conftest.py may choose its own) and the needs that select a pooled cluster."""

    bindir: str
    needs: Needs
    #: The loaded template its cluster copied: (key, lineage, label), or None.
    template: tuple[str, str, str] | None = None


def write_hint(
    path: str,
    bindir: str,
    postmaster: Mapping[str, str],
    init: Mapping[str, object],
    template: tuple[str, str, str] | None = None,
) -> None:
    """Remember the first cluster's needs and the cached template it copied (nothing when
    they do not survive JSON whole)."""
    if not all(_plain(value) for value in (dict(postmaster), *init.values())):
        forget(path)
        return
    fields = {"bindir": bindir, "postmaster": dict(postmaster), "init": dict(init)}
    data = json.dumps({**fields, "template": template}, sort_keys=True)
    with contextlib.suppress(OSError):  # a hint is worth a try, never an error
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fo:
                if fo.read() == data:
                    return
        else:
            _prune(os.path.dirname(path))
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        staged = f"{path}.{os.getpid()}.partial"
        with open(staged, "w", encoding="utf-8") as fo:
            fo.write(data)
        os.replace(staged, path)


def read_hint(path: str) -> Hint | None:
    """The hint a run left, or None (no hint, or one that does not read as one)."""
    try:
        with open(path, encoding="utf-8") as fo:
            data = json.load(fo)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    bindir, postmaster, init = data.get("bindir"), data.get("postmaster"), data.get("init")
    if (
        not isinstance(bindir, str)
        or not isinstance(postmaster, dict)
        or not isinstance(init, dict)
    ):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in postmaster.items()):
        return None
    template = data.get("template")
    if not (isinstance(template, list) and len(template) == 3):
        template = None
    with contextlib.suppress(OSError):
        os.utime(path)  # in use: kept by `_prune`
    guess = (str(template[0]), str(template[1]), str(template[2])) if template else None
    return Hint(bindir, Needs(conf=postmaster, init=init), guess)


def _prune(folder: str) -> None:
    """Forget the hints no run has read for HINT_DAYS (a run of one node id leaves one),
    when a new one is written."""
    limit = time.time() - HINT_DAYS * 86400
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith((".json", ".partial")) and entry.stat().st_mtime < limit:
                forget(entry.path)


def forget(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
