"""What the server says about settings: their context, and whether a value is acceptable.

The server is the oracle. `postgres --describe-config` lists every setting with its context
(postmaster-level settings need a restart, every other settable one a reload), and
`postgres -C name -c name=value` parses values exactly as the server will, before any file is
touched and without a data directory, so a bad value is reported with the server's message.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NoReturn

from .errors import ManagedSettingError, PytestBossError, SettingValueError, UnknownSettingError

__all__ = ["MANAGED", "SettingsCatalog"]

# Settings pytest-boss owns: changing them would lose the cluster or open it to the network.
MANAGED: Mapping[str, str] = {
    "data_directory": "pytest-boss places the data directory",
    "config_file": "pytest-boss writes postgresql.conf",
    "hba_file": "use the pg_hba marker or fixture",
    "ident_file": "pytest-boss owns the cluster's files",
    "external_pid_file": "pytest-boss owns the cluster's files",
    "port": "pytest-boss chooses ports no two workers can both take; read cluster.port",
    "unix_socket_directories": "pytest-boss keeps sockets in private folders; read cluster.host",
    "listen_addresses": "pytest-boss listens on loopback only",
}

_MESSAGE = re.compile(r"\b(FATAL|ERROR|DETAIL|HINT):\s+(.*)$")
_TIMEOUT = 30
#: Accepted values remembered per postgres program, at most.
_ACCEPTED_MAX = 10000


@dataclass(frozen=True)
class SettingsCatalog:
    """The settings of one PostgreSQL installation: name -> context."""

    postgres: str
    version: str
    contexts: Mapping[str, str]
    #: Where the values this server accepted are remembered (beside the describe-config
    #: answer, per postgres program), or None.
    accepted_file: str | None = None

    def accepted(self) -> set[tuple[str, str]]:
        """The (name, value) pairs this postgres program accepted in earlier checks."""
        if self.accepted_file is None:
            return set()
        try:
            with open(self.accepted_file, encoding="utf-8") as fo:
                pairs = json.load(fo)
        except (OSError, ValueError):
            return set()
        if not isinstance(pairs, list):
            return set()
        return {(str(p[0]), str(p[1])) for p in pairs if isinstance(p, list) and len(p) == 2}

    def _remember(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Add accepted pairs to the file (merged with what other processes wrote; a lost
        race only costs a later check)."""
        if self.accepted_file is None:
            return
        merged = sorted(self.accepted() | set(pairs))
        if len(merged) > _ACCEPTED_MAX:
            merged = merged[-_ACCEPTED_MAX:]
        _write_json(self.accepted_file, [list(pair) for pair in merged])

    @classmethod
    def load(cls, postgres: str, version: str, cache_dir: str | None = None) -> SettingsCatalog:
        """Ask `postgres --describe-config` (tab-separated: name, context, group, type, ...).

        With `cache_dir`, the answer is kept there per postgres program (path, size, time),
        sparing each later worker and run a server process.
        """
        cached = _cache_path(cache_dir, postgres) if cache_dir else None
        accepted = cached[: -len(".json")] + ".accepted.json" if cached else None
        if cached is not None:
            try:
                with open(cached, encoding="utf-8") as fo:
                    return cls(postgres, version, json.load(fo), accepted)
            except (OSError, ValueError):
                pass
        done = _run_postgres([postgres, "--describe-config"])
        if done.returncode != 0:
            raise PytestBossError(
                f"{postgres} --describe-config failed ({done.returncode}): {done.stdout[-2000:]}"
            )
        contexts = {}
        for line in done.stdout.splitlines():
            fields = line.split("\t")
            if len(fields) >= 2 and fields[0]:
                contexts[fields[0].lower()] = fields[1]
        if cached is not None:
            _write_json(cached, contexts)
        return cls(postgres, version, contexts, accepted)

    def needs_restart(self, name: str) -> bool:
        """True for a postmaster-level setting: only a restart applies it."""
        return self.contexts.get(name.lower()) == "postmaster"

    def split(self, settings: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """(postmaster-level settings, reloadable settings)."""
        restart = {k: v for k, v in settings.items() if self.needs_restart(k)}
        reload = {k: v for k, v in settings.items() if not self.needs_restart(k)}
        return restart, reload

    def suggestions(self, name: str) -> list[str]:
        """The nearest known names (difflib), for an unknown-setting message."""
        import difflib

        return difflib.get_close_matches(name.lower(), list(self.contexts), n=2, cutoff=0.6)

    def check(self, settings: Mapping[str, str], *, cache: set[tuple[str, str]]) -> None:
        """Raise the first error the server would raise for these settings.

        One `postgres -C` run parses every value given with `-c`, as at server start; values
        already accepted (kept in `cache`) are not checked again.
        """
        unchecked = {k: v for k, v in settings.items() if (k, v) not in cache}
        for name in unchecked:
            if name in MANAGED:
                raise ManagedSettingError(name, MANAGED[name])
        if not unchecked:
            return
        argv = [self.postgres, "-C", "server_version"]
        for name, value in unchecked.items():
            argv += ["-c", f"{name}={value}"]
        done = _run_postgres(argv)
        messages = [
            (match.group(1), match.group(2))
            for match in map(_MESSAGE.search, done.stdout.splitlines())
            if match
        ]
        if messages:
            self._raise(unchecked, messages)
        cache.update(unchecked.items())
        self._remember(unchecked.items())

    def check_all(self, pairs: Iterable[tuple[str, str]], *, cache: set[tuple[str, str]]) -> bool:
        """Check many values at once (every test's markers): one `postgres -C` run for a whole
        session instead of one per new value. True when the server accepts them all (then
        they join `cache`); False leaves each to `check`, which names the culprit."""
        unchecked = sorted({pair for pair in pairs if pair not in cache and pair[0] not in MANAGED})
        if not unchecked:
            return True
        argv = [self.postgres, "-C", "server_version"]
        for name, value in unchecked:
            argv += ["-c", f"{name}={value}"]
        done = _run_postgres(argv)
        # Without a data directory postgres exits 2 once every -c value has been parsed
        # (0 should it find one anyway); a rejected value is a FATAL message and exit 1.
        if done.returncode not in (0, 2) or any(map(_MESSAGE.search, done.stdout.splitlines())):
            return False
        cache.update(unchecked)
        self._remember(unchecked)
        return True

    def _raise(self, settings: Mapping[str, str], messages: list[tuple[str, str]]) -> NoReturn:
        text = "; ".join(message for _, message in messages)
        first = messages[0][1]
        unknown = re.match(r'unrecognized configuration parameter "([^"]+)"', first)
        if unknown:
            name = unknown.group(1).lower()
            raise UnknownSettingError(name, self.suggestions(name), self.version)
        quoted = re.search(r'parameter "([^"]+)"', first)
        name = quoted.group(1).lower() if quoted else next(iter(settings))
        raise SettingValueError(name, settings.get(name, ""), text)


def _write_json(path: str, data: object) -> None:
    """Replace a cache file atomically; a cache that cannot be written is no error."""
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = f"{path}.{os.getpid()}.partial"
        with open(partial, "w", encoding="utf-8") as fo:
            json.dump(data, fo)
        os.replace(partial, path)


def _cache_path(cache_dir: str, postgres: str) -> str | None:
    try:
        st = os.stat(postgres)
    except OSError:
        return None
    stamp = json.dumps([os.path.realpath(postgres), st.st_size, st.st_mtime_ns])
    return os.path.join(
        cache_dir, f"settings-{hashlib.sha256(stamp.encode()).hexdigest()[:20]}.json"
    )


def _run_postgres(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a short, server-less postgres command; neither needs a data directory or a user."""
    env = {"LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for name in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"):
        if name in os.environ:
            env[name] = os.environ[name]
    try:
        return subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            timeout=_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PytestBossError(f"{' '.join(argv[:3])} did not answer within {_TIMEOUT} s") from None
