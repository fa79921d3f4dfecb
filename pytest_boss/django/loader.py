"""`DjangoMigrate`: Django's `migrate` into the template database, keyed by what makes the
schema.

What makes a Django project's schema: the migration files of every installed app (Django's
own included), the models of apps without migrations (`migrate --run-syncdb` creates their
tables), the database cache tables of `CACHES` (`createcachetable`), the Django version and
the database engine. The key is the content of those files and those names: never times,
never absolute paths, so a checkout, a CI cache restore or another virtualenv with the same
Django keeps the cache. Django is imported only when the loader is used.
"""

from __future__ import annotations

import contextlib
import glob
import importlib
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import TemplateLoadError
from ..loaders import content_key
from .connections import pointed, served_aliases

if TYPE_CHECKING:
    from ..database import Database

__all__ = ["DjangoMigrate"]

Unblock = Callable[[], AbstractContextManager[Any]]


class DjangoMigrate:
    """`manage.py migrate` (and `createcachetable`) into the template database, for the
    Django database `alias`; key: the migration files and the rest of what makes the schema.

    `migrations=False` builds the tables from the models instead (pytest-django's
    `--no-migrations`). `unblock` opens pytest-django's database blocker for the load
    (`django_db_blocker.unblock`). Django must be set up (pytest-django does it).
    """

    def __init__(
        self, alias: str = "default", *, migrations: bool = True, unblock: Unblock | None = None
    ) -> None:
        self.alias = alias
        self.migrations = migrations
        self.unblock = unblock

    @property
    def key(self) -> str:
        from django import get_version
        from django.apps import apps
        from django.conf import settings

        parts = [_app_key(app, self.migrations) for app in apps.get_app_configs()]
        engine = str(settings.DATABASES[self.alias].get("ENGINE", ""))
        extra = [get_version(), engine, *_cache_tables(), f"migrations={self.migrations}"]
        return content_key((), ".", *parts, *extra)

    def __call__(self, database: Database) -> None:
        from django.conf import settings
        from django.core.management import call_command

        aliases = served_aliases(settings.DATABASES, self.alias)
        unblock = self.unblock or contextlib.nullcontext
        with unblock(), pointed(aliases, database), _without_migrations(not self.migrations):
            try:
                call_command(
                    "migrate", database=self.alias, interactive=False, verbosity=0, run_syncdb=True
                )
                call_command("createcachetable", database=self.alias, verbosity=0)
            except Exception as exc:
                raise TemplateLoadError(
                    f"Django migrate --database {self.alias}", f"{type(exc).__name__}: {exc}"
                ) from exc

    def __repr__(self) -> str:
        how = "" if self.migrations else ", no migrations"
        return f"DjangoMigrate({self.alias}{how})"


def _app_key(app: Any, migrations: bool) -> str:
    """The content key of what one app adds to the schema: its migrations package, or
    (without migrations) its models."""
    from django.db.migrations.loader import MigrationLoader

    module_name, _explicit = MigrationLoader.migrations_module(app.label)
    package = _import(module_name) if migrations and module_name else None
    if package is not None and getattr(package, "__path__", None):
        return _package_key(package, f"{app.label}:{module_name}")
    models = app.models_module
    if models is None or not getattr(models, "__file__", None):
        return content_key((), ".", f"{app.label}:no models")
    if os.path.basename(models.__file__) == "__init__.py":
        return _package_key(models, f"{app.label}:{models.__name__}")
    folder = os.path.dirname(models.__file__)
    return content_key([models.__file__], folder, f"{app.label}:{models.__name__}")


def _package_key(package: ModuleType, name: str) -> str:
    """Every .py file of a package (its folders, recursively), named relative to it."""
    keys = []
    for folder in package.__path__:
        files = sorted(glob.glob(os.path.join(folder, "**", "*.py"), recursive=True))
        keys.append(content_key(files, folder))
    return content_key((), ".", name, *keys)


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _cache_tables() -> list[str]:
    """The tables `createcachetable` makes: one per database cache in CACHES."""
    from django.conf import settings

    return sorted(
        f"cache:{cache['LOCATION']}"
        for cache in getattr(settings, "CACHES", {}).values()
        if str(cache.get("BACKEND", "")).endswith("DatabaseCache")
    )


class _NoMigrations(dict[str, None]):
    """MIGRATION_MODULES for no migrations at all: every app is unmigrated."""

    def __contains__(self, item: object) -> bool:
        return True

    def __getitem__(self, item: str) -> None:
        return None


@contextlib.contextmanager
def _without_migrations(active: bool) -> Iterator[None]:
    if not active:
        yield
        return
    from django.test.utils import override_settings

    with override_settings(MIGRATION_MODULES=_NoMigrations()):
        yield
