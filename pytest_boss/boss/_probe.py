"""Ask PostgreSQL's programs about themselves: ``postgres --version`` and ``pg_config``.

Their answers only change when the program file does, so a :class:`ProbeCache` keeps them
across runs, keyed by the file's identity.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._account import clean_env
from ._atomic import atomic_write_text
from ._sources import InstallationError

__all__ = ["ProbeCache", "parse_pg_config", "parse_version", "pg_config_dictionary", "probe"]

_VERSION_RE = re.compile(r"PostgreSQL\)?\s+(\d+)(?:\.(\d+))?")
_TIMEOUT = 30.0


def parse_version(text: str) -> tuple[int, int]:
    """``(major, minor)`` from ``postgres --version`` or ``pg_config --version`` output.

    ``18beta1`` is ``(18, 0)``; text without a version raises ValueError.
    """
    match = _VERSION_RE.search(text)
    if match is None:
        raise ValueError(f"no PostgreSQL version in {text.strip()!r}")
    return int(match.group(1)), int(match.group(2) or 0)


def parse_pg_config(text: str) -> dict[str, str]:
    """The ``NAME = value`` lines of ``pg_config`` output as a dict with lower-case keys."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(" = ")
        if sep and name.strip():
            result[name.strip().lower()] = value.strip()
    return result


def _run(args: Sequence[str]) -> str:
    """Run a probe program; its output, or InstallationError saying why it failed."""
    try:
        done = subprocess.run(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=clean_env(),
            timeout=_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InstallationError(f"{args[0]} did not answer within {_TIMEOUT:g} s") from None
    except OSError as exc:
        raise InstallationError(f"cannot run {args[0]}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise InstallationError(
            f"{' '.join(args)} failed (exit {done.returncode}): {done.stdout.strip()[-500:]}"
        )
    return done.stdout


def _ours(uid: int) -> bool:
    """Whether a file owner is this process's user (always, where there are no users)."""
    return not hasattr(os, "geteuid") or uid == os.geteuid()


class ProbeCache:
    """Probe outputs kept in a folder, so a run does not pay subprocesses to relearn them.

    ``postgres --version`` and ``pg_config`` answer the same until their program file changes,
    so running them again on every run only costs subprocesses. An entry is keyed by the real
    path of the program, its identity and change stamps (device, inode, size, mtime, ctime)
    and the arguments; it is used only when all of them still match. Failures are never kept. The
    cache is an optimisation only: an unreadable, corrupt, foreign or mismatching entry is
    ignored (and rewritten), and a folder that cannot be written just means no caching.
    """

    FORMAT = 1  # bump when the entry layout or the meaning of a probe changes

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def __repr__(self) -> str:
        return f"ProbeCache({self.folder!r})"

    def output(self, args: Sequence[str], *, keep: Callable[[str], bool] | None = None) -> str:
        """What ``_run(args)`` returns: from the folder when still valid, else by running it.

        ``keep(output)`` False means the answer depends on more than the program file (a
        wrapper choosing among installations): it is returned but not stored.
        """
        args = list(args)
        key = self._key(args)
        if key is None:
            return _run(args)
        path = os.path.join(self.folder, f"probe-{self._digest(key)}.json")
        cached = self._read(path, key)
        if cached is not None:
            return cached
        output = _run(args)
        if (keep is None or keep(output)) and self._key(args) == key:
            self._write(path, key, output)
        return output

    @classmethod
    def _key(cls, args: Sequence[str]) -> dict[str, Any] | None:
        """The facts an entry must match; None when the program cannot be identified."""
        program = (
            args[0] if os.sep in args[0] else shutil.which(args[0], path=clean_env().get("PATH"))
        )
        if not program:
            return None
        program = os.path.realpath(program)
        try:
            st = os.stat(program)
        except OSError:
            return None
        stamp = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        return {"format": cls.FORMAT, "program": program, "stat": stamp, "args": list(args)}

    @staticmethod
    def _digest(key: Mapping[str, Any]) -> str:
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]

    @staticmethod
    def _read(path: str, key: Mapping[str, Any]) -> str | None:
        """The stored output when the entry is ours, whole, and for exactly this key."""
        try:
            with open(path, encoding="utf-8") as fo:
                if not _ours(os.fstat(fo.fileno()).st_uid):
                    return None  # written by someone else: its answers could send us anywhere
                entry = json.load(fo)
        except (OSError, ValueError):  # missing, unreadable, not JSON, not UTF-8
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("output"), str):
            return None
        if {k: entry.get(k) for k in key} != key:  # a hash collision or a tampered entry
            return None
        return str(entry["output"])

    def _write(self, path: str, key: Mapping[str, Any], output: str) -> None:
        """Store an entry atomically (a concurrent reader sees none or all); errors are ignored."""
        try:
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            if not _ours(os.stat(self.folder).st_uid):
                return  # another user's folder: its entries would never be trusted anyway
            with contextlib.suppress(FileNotFoundError):
                old = os.lstat(path)
                if stat.S_ISLNK(old.st_mode) or not _ours(old.st_uid):
                    # The atomic writer would follow the link, or keep the old owner.
                    os.unlink(path)
            atomic_write_text(path, json.dumps({**key, "output": output}, sort_keys=True))
        except (OSError, ValueError):
            pass


def probe(args: Sequence[str], probes: ProbeCache | None) -> str:
    """Run a probe, through ``probes`` when there is a cache."""
    return _run(args) if probes is None else probes.output(args)


def _pg_config_facts(pg_config_path: str, probes: ProbeCache | None) -> dict[str, str]:
    """``pg_config``'s facts; a wrapper's (whose BINDIR is elsewhere) are not cached.

    Debian's ``/usr/bin/pg_config`` picks the newest installed major at each call: its answer
    changes when another major is installed, while the wrapper file stays the same.
    """
    if probes is None:
        return parse_pg_config(_run([pg_config_path]))
    own_folder = os.path.dirname(os.path.realpath(pg_config_path))

    def about_itself(output: str) -> bool:
        bindir = parse_pg_config(output).get("bindir", "")
        return bool(bindir) and os.path.realpath(bindir) == own_folder

    return parse_pg_config(probes.output([pg_config_path], keep=about_itself))


def pg_config_dictionary(
    pg_config_path: str, *, probes: ProbeCache | None = None
) -> dict[str, str]:
    """Run ``pg_config`` and return its facts: ``bindir``, ``version``, ``libdir``...

    With ``probes``, a previous run's answer is reused while the program is unchanged.
    """
    return _pg_config_facts(pg_config_path, probes)
