"""The fixtures that put pytest-django's test database on pytest-boss clusters.

They override pytest-django's `django_db_setup` (the session's test database: a copy of
the migrated template instead of `setup_databases`) and pytest-boss's `pg_template_loader`
(Django's `migrate`, then the `pg_template` ini key's SQL files or callables). Registered by
`pytest_boss.django` after pytest-django, so they win over its fixtures; a conftest.py can
override them again. `_pg_django_database` is set up before pytest-django's database
helper for every test that uses `db`, `transactional_db` or the `django_db` marker.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from ..loaders import Chain
from ..markers import Needs, needs_of
from ..session import session_of
from .databases import TestDatabases, check_engine
from .loader import DjangoMigrate, Unblock

if TYPE_CHECKING:
    from ..database import Database
    from ..fixtures import TemplateLoader
    from ..scopes import DatabaseFactory

__all__ = ["_pg_django", "_pg_django_database", "django_db_setup", "pg_template_loader"]

#: pytest-django's per-test database fixture, behind `db`, `transactional_db`, the
#: `django_db` marker and `live_server` (pytest-django 4.6 and later).
DJANGO_DB_HELPER = "_django_db_helper"
#: The Django database pytest-boss serves (with the aliases that mirror it in tests).
ALIAS = "default"
#: Fixtures whose use makes a test's Django connection its own (opened after its markers).
HANDLES = ("pg_conf", "pg_hba")
#: Fixtures that make pytest-django run a test as a TransactionTestCase.
TRANSACTIONAL = ("transactional_db", "live_server", "django_db_reset_sequences")


@pytest.fixture(scope="session")
def pg_template_loader(
    pytestconfig: pytest.Config, django_db_blocker: Any, django_db_use_migrations: bool
) -> TemplateLoader:
    """Django's `migrate` into the template (once per machine, keyed by the migrations),
    then what the `pg_template` ini key names (seed data, say)."""
    _require_settings()
    return template_loader(pytestconfig, django_db_use_migrations, django_db_blocker.unblock)


def template_loader(
    config: pytest.Config, migrations: bool, unblock: Unblock | None = None
) -> TemplateLoader:
    """Django's `migrate`, then what the `pg_template` ini key names; without `unblock`,
    only a guess of the template's key (the pool never runs a guess)."""
    migrate = DjangoMigrate(ALIAS, migrations=migrations, unblock=unblock)
    default = session_of(config).default_loader
    return migrate if default is None else Chain(migrate, default)


@pytest.fixture(scope="session")
def _pg_django(request: pytest.FixtureRequest) -> TestDatabases:
    """Which Django test database each test of this worker uses."""
    from django.conf import settings

    _require_settings()
    check_engine(settings.DATABASES, ALIAS)
    _check_aliases(request.session.items)
    return TestDatabases(ALIAS)


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
    django_db_modify_db_settings: None,
    _pg_django: TestDatabases,
    pg_database_factory: DatabaseFactory,
) -> Generator[None, None, None]:
    """The session's Django test database: a copy of the migrated template on this
    worker's cluster (pytest-django's `setup_databases`, without the migrations), made
    by `pg_database_factory` so that it belongs to the cluster's baseline while it lives."""
    with django_db_blocker.unblock():
        _pg_django.start(pg_database_factory)
        _serialize(request.session.items)
    yield
    _pg_django.close()  # before the database is dropped


@pytest.fixture
def _pg_django_database(
    request: pytest.FixtureRequest, django_db_setup: None, _pg_django: TestDatabases
) -> Generator[Database, None, None]:
    """This test's Django database, on the cluster its markers select, with a connection
    opened after its markers are in force when it has any."""
    lease = request.getfixturevalue("_pg_lease")
    needs = needs_of(request.node)
    fresh = bool(needs.conf or needs.hba or needs.init)
    fresh = fresh or any(name in request.fixturenames for name in HANDLES)
    session_database = _pg_django.database
    assert session_database is not None  # django_db_setup made it
    if _pg_django.holds(lease.cluster) and not _transactional(request):
        database = session_database
    else:
        database = request.getfixturevalue("pg_database")
    _pg_django.use(database, fresh)
    yield database
    if fresh or database is not session_database:
        _pg_django.use(session_database, fresh=True)


def django_needs(item: pytest.Item) -> Needs | None:
    """What a collected test needs of a pooled cluster through Django's database (None:
    it uses none). A Django TestCase runs on the session's database, without markers."""
    from pytest_django.django_compat import is_django_unittest
    from pytest_django.lazy_django import django_settings_is_configured

    if not django_settings_is_configured():
        return None
    if is_django_unittest(item):
        return Needs() if getattr(getattr(item, "cls", None), "databases", None) else None
    if DJANGO_DB_HELPER in getattr(item, "fixturenames", ()):
        return needs_of(item)
    if item.get_closest_marker("django_db") is not None:
        return needs_of(item)
    return None


def _require_settings() -> None:
    """Without Django settings there is no database to serve: say what to set."""
    from pytest_django.lazy_django import django_settings_is_configured

    if not django_settings_is_configured():
        pytest.fail(
            "-p pytest_boss.django: Django is not configured; set DJANGO_SETTINGS_MODULE "
            "(the ini key, --ds, or the environment variable) as pytest-django documents",
            pytrace=False,
        )


def _transactional(request: pytest.FixtureRequest) -> bool:
    """Whether pytest-django runs this test as a TransactionTestCase (it commits, and
    Django flushes every table after it): such a test gets a copy of the template of its
    own, so the session's database keeps what the migrations put in it."""
    from pytest_django.fixtures import validate_django_db

    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        transaction, reset_sequences = validate_django_db(marker)[:2]
        if transaction or reset_sequences:
            return True
    return any(name in request.fixturenames for name in TRANSACTIONAL)


def _check_aliases(items: list[pytest.Item]) -> None:
    """Tests that ask for a database pytest-boss does not serve fail at once, not later
    against whatever server those settings name."""
    from django.conf import settings
    from pytest_django.fixtures import _get_databases_for_setup

    from .connections import served_aliases

    served = set(served_aliases(settings.DATABASES, ALIAS))
    wanted, _ = _get_databases_for_setup(items)
    others = sorted(set(wanted) - served)
    if others:
        raise pytest.UsageError(
            f"tests use the Django databases {', '.join(others)}: pytest-boss serves "
            f"{ALIAS!r} and its TEST MIRRORs only"
        )


def _serialize(items: list[pytest.Item]) -> None:
    """What `serialized_rollback` tests restore, as Django's test runner keeps it."""
    from django.db import connections
    from pytest_django.fixtures import _get_databases_for_setup

    _, serialized = _get_databases_for_setup(items)
    for alias in serialized:
        connection = connections[alias]
        connection._test_serialized_contents = connection.creation.serialize_db_to_string()
