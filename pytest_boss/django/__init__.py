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

from .loader import DjangoMigrate

__all__ = ["DjangoMigrate", "pytest_configure", "pytest_fixture_setup"]

#: pytest-django's per-test database fixture, behind `db`, `transactional_db`, the
#: `django_db` marker and `live_server` (pytest-django 4.6 and later).
DJANGO_DB_HELPER = "_django_db_helper"


def pytest_configure(config: pytest.Config) -> None:
    """Register the fixtures now: after pytest-django, so that they override its own."""
    if not config.pluginmanager.hasplugin("django"):
        raise pytest.UsageError(
            "-p pytest_boss.django needs pytest-django: pip install 'pytest-boss[django]'"
        )
    from . import fixtures

    if not config.pluginmanager.is_registered(fixtures):
        config.pluginmanager.register(fixtures, "pytest_boss.django.fixtures")


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Generator[None]:
    """Before pytest-django opens a test's transaction: the test's markers applied and
    Django's connection pointed at the test's database (torn down after the helper)."""
    if fixturedef.argname == DJANGO_DB_HELPER:
        from pytest_django.django_compat import is_django_unittest

        if not is_django_unittest(request):
            request.getfixturevalue("_pg_django_database")
    yield
