"""Django projects on pytest-boss clusters, with pytest-django: `-p pytest_boss.django`.

With that one setting (`addopts = -p pytest_boss.django` in the pytest configuration),
pytest-django's test database lives on the worker's cluster: Django's migrations are
loaded into the template once per machine (keyed by the migration files), the session's
test database is a copy of it, `db` and `transactional_db` work as usual, and
`pg_conf`/`pg_hba` markers apply to Django's connection (a postmaster-level setting moves
the test, and its connection, to another pooled cluster). This module holds the hooks;
the fixtures are in `fixtures.py`, the loader in `loader.py`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from ..collected import add_finder
from ..markers import MARKERS
from ..session import session_of
from . import fixtures
from .fixtures import DJANGO_DB_HELPER
from .loader import DjangoMigrate

__all__ = [
    "DjangoMigrate",
    "pytest_collection_finish",
    "pytest_configure",
    "pytest_fixture_setup",
    "pytest_runtest_setup",
]

#: pytest-boss's markers, none of which a Django TestCase can honour.
MARKER_NAMES = frozenset(spec.name for spec in MARKERS)


def pytest_configure(config: pytest.Config) -> None:
    """Register the fixtures now: after pytest-django, so that they override its own."""
    if not config.pluginmanager.hasplugin("django"):
        raise pytest.UsageError(
            "-p pytest_boss.django needs pytest-django: pip install 'pytest-boss[django]'"
        )
    if not config.pluginmanager.is_registered(fixtures):
        config.pluginmanager.register(fixtures, "pytest_boss.django.fixtures")
    add_finder(config, fixtures.django_needs)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Before pytest-boss starts the first cluster ahead: the template its clusters copy
    holds Django's migrations (the overriding pg_template_loader runs only later)."""
    from pytest_django.lazy_django import django_settings_is_configured

    if django_settings_is_configured():
        config = session.config
        migrations = not config.getvalue("nomigrations")
        session_of(config).expect_loader(fixtures.template_loader(config, migrations))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A Django TestCase runs on the session's database, as under Django's own runner: a
    pytest-boss marker on it (or on its module) would be ignored, so it is an error."""
    from pytest_django.django_compat import is_django_unittest
    from pytest_django.lazy_django import django_settings_is_configured

    if not django_settings_is_configured() or not is_django_unittest(item):
        return
    names = sorted({mark.name for mark in item.iter_markers() if mark.name in MARKER_NAMES})
    if names:
        which = ", ".join(f"@pytest.mark.{name}" for name in names)
        pytest.fail(
            f"{which} cannot apply to a Django TestCase: it runs on the session's database "
            "(as under Django's test runner). Write this test as a pytest function with the "
            "`db` fixture, where markers apply, or move the marker off its class and module.",
            pytrace=False,
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Generator[None]:
    """Before pytest-django opens a test's transaction: the test's markers applied and
    Django's connection pointed at the test's database (torn down after the helper)."""
    if fixturedef.argname == DJANGO_DB_HELPER:
        from pytest_django.django_compat import is_django_unittest

        if not is_django_unittest(request):
            request.getfixturevalue("_pg_django_database")
    yield
