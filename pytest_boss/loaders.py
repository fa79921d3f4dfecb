"""What fills `pg_database`'s template, and the content key that says when to fill it again.

A loader is a callable taking a `Database` (the template database). It may carry a `key`: a
string that changes whenever what it loads changes. With a key, the loaded template is kept
in the template cache and loaded once per machine; without one, once per run. The loaders
here compute their key from the contents of their inputs, never from times or inodes, so
the cache survives a checkout, a CI cache restore or a move to another machine.

- `SqlFiles`: SQL files (globs, in order), the `pg_template` ini key's `*.sql` entries.
- `Callables`: `module:function` entries; the key is the module's source file.
- `Sources`: the `pg_template` ini key as a whole.
- `Chain`: loaders one after the other (migrations, then seed data); keyed by all keys.
- `AlembicUpgrade`: `alembic upgrade head` into the template; key: the ini file and the
  migration scripts (Alembic is imported only when this loader is used).
"""

from __future__ import annotations

import functools
import glob
import hashlib
import importlib
import importlib.util
import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from .errors import TemplateLoadError

if TYPE_CHECKING:
    from .database import Database

__all__ = [
    "AlembicUpgrade",
    "Callables",
    "Chain",
    "Sources",
    "SqlFiles",
    "content_key",
    "expand",
    "key_of",
]

Loader = Callable[["Database"], None]


def expand(patterns: Iterable[str], rootdir: str) -> list[str]:
    """Files matching each glob (relative to `rootdir`, `**` recursive), sorted per pattern,
    in the patterns' order; a pattern that matches nothing is an error naming it."""
    paths: list[str] = []
    for pattern in patterns:
        found = sorted(
            path
            for path in glob.glob(os.path.join(rootdir, pattern), recursive=True)
            if os.path.isfile(path)
        )
        if not found:
            raise TemplateLoadError(pattern, "matches no file")
        paths.extend(path for path in found if path not in paths)
    return paths


def content_key(paths: Iterable[str], rootdir: str, *extra: str) -> str:
    """A digest of files' names (relative to `rootdir`) and contents, and of `extra`."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(os.path.relpath(path, rootdir).encode() + b"\0")
        with open(path, "rb") as fo:
            digest.update(hashlib.sha256(fo.read()).digest())
    for text in extra:
        digest.update(b"\1" + text.encode())
    return digest.hexdigest()[:24]


def key_of(loader: object) -> str | None:
    """A loader's content key, or None when it gives none (then loaded once per run)."""
    key = getattr(loader, "key", None)
    if callable(key):
        key = key()
    return str(key) if key else None


class SqlFiles:
    """Run SQL files in the template database, in order; key: their contents."""

    def __init__(self, patterns: Sequence[str], rootdir: str) -> None:
        self.patterns = tuple(patterns)
        self.rootdir = rootdir

    @property
    def key(self) -> str:
        return content_key(expand(self.patterns, self.rootdir), self.rootdir)

    def __call__(self, database: Database) -> None:
        from .boss.cluster import SQLError

        for path in expand(self.patterns, self.rootdir):
            with open(path, encoding="utf-8") as fo:
                text = fo.read()
            try:
                database.sql(text)
            except SQLError as exc:
                raise TemplateLoadError(os.path.relpath(path, self.rootdir), str(exc)) from None

    def __repr__(self) -> str:
        return f"SqlFiles({', '.join(self.patterns)})"


class Callables:
    """Call `module:function` loaders in order; key: the source file of each module."""

    def __init__(self, names: Sequence[str], rootdir: str) -> None:
        for name in names:
            if not name.partition(":")[2]:
                raise TemplateLoadError(name, "is neither a .sql file nor module:function")
        self.names = tuple(names)
        self.rootdir = rootdir

    @property
    def key(self) -> str:
        files = []
        for name in self.names:
            module = name.partition(":")[0]
            try:
                spec = importlib.util.find_spec(module)
            except (ImportError, ValueError) as exc:
                raise TemplateLoadError(name, f"cannot find its module: {exc}") from None
            if spec is None or not spec.origin or not os.path.isfile(spec.origin):
                raise TemplateLoadError(name, "cannot find its module's source file")
            files.append(spec.origin)
        return content_key(files, self.rootdir, *self.names)

    def __call__(self, database: Database) -> None:
        for name in self.names:
            module, _, attribute = name.partition(":")
            try:
                function = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError) as exc:
                raise TemplateLoadError(name, f"cannot import it: {exc}") from None
            function(database)

    def __repr__(self) -> str:
        return f"Callables({', '.join(self.names)})"


class Sources:
    """The `pg_template` entries in order: `.sql` files and globs, and `module:function`."""

    def __init__(self, sources: Sequence[str], rootdir: str) -> None:
        self.sources = tuple(sources)
        self.rootdir = rootdir
        self._parts: list[SqlFiles | Callables] = []
        for source in sources:
            is_sql = source.endswith(".sql") or glob.has_magic(source)
            kind = SqlFiles if is_sql else Callables
            if self._parts and isinstance(self._parts[-1], kind):
                last = self._parts.pop()
                items = last.patterns if isinstance(last, SqlFiles) else last.names
                self._parts.append(kind([*items, source], rootdir))
            else:
                self._parts.append(kind([source], rootdir))

    @functools.cached_property
    def key(self) -> str:
        """Computed once per object: the fixture and the pool share one per run."""
        return content_key((), self.rootdir, *(str(part.key) for part in self._parts))

    def __call__(self, database: Database) -> None:
        for part in self._parts:
            part(database)

    def __repr__(self) -> str:
        return ", ".join(self.sources)


class Chain:
    """Loaders run in order (say, migrations then seed data). Its key combines theirs;
    when one of them gives none, neither does the chain (loaded once per run)."""

    def __init__(self, *loaders: Loader) -> None:
        self.loaders = loaders

    @functools.cached_property
    def key(self) -> str | None:
        keys = [key_of(loader) for loader in self.loaders]
        if any(key is None for key in keys):
            return None
        return content_key((), ".", *(str(key) for key in keys))

    def __call__(self, database: Database) -> None:
        for loader in self.loaders:
            loader(database)

    def __repr__(self) -> str:
        return " + ".join(repr(loader) for loader in self.loaders)


class AlembicUpgrade:
    """`alembic upgrade <revision>` into the template database, through SQLAlchemy with
    `driver` (psycopg 3 by default); key: the ini file and every script of its
    `script_location` (env.py and the revisions)."""

    def __init__(self, config: str, revision: str = "head", driver: str = "psycopg") -> None:
        self.config = os.path.abspath(config)
        self.revision = revision
        self.driver = driver

    def _alembic_config(self) -> object:
        try:
            from alembic.config import Config
        except ImportError:
            raise TemplateLoadError(
                self.config, "Alembic is not installed: pip install 'pytest-boss[alembic]'"
            ) from None
        return Config(self.config)

    @property
    def key(self) -> str:
        from alembic.script import ScriptDirectory

        script_dir = ScriptDirectory.from_config(self._alembic_config()).dir  # type: ignore[arg-type]
        scripts = sorted(glob.glob(os.path.join(script_dir, "**", "*.py"), recursive=True))
        root = os.path.dirname(self.config)
        return content_key([self.config, *scripts], root, self.revision)

    def __call__(self, database: Database) -> None:
        from alembic import command

        config = self._alembic_config()
        url = database.url(driver=self.driver)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # type: ignore[attr-defined]
        command.upgrade(config, self.revision)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"AlembicUpgrade({os.path.basename(self.config)}, {self.revision})"
