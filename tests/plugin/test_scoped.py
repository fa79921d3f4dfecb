"""pg_database_factory: databases for fixtures of any scope, and the baselines they make."""

from __future__ import annotations

import pytest
from conftest import InnerRun

SUITE = """
import psycopg
import pytest

def names(cluster, sql):
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        return sorted(row[0] for row in conn.execute(sql).fetchall())

ROLES = "SELECT rolname FROM pg_roles WHERE rolname LIKE 'shop%'"

@pytest.fixture(scope="module")
def shop(pg_database_factory):
    db = pg_database_factory()
    db.sql("CREATE TABLE item (id int); INSERT INTO item VALUES (1)")
    db.sql("CREATE ROLE shop_reader")
    yield db
    db.sql("DROP ROLE shop_reader")  # the fixture's own teardown still finds its role

def test_uses_shop(shop, pg_cluster):
    assert shop.cluster.port == pg_cluster.port
    assert shop.sql("SELECT count(*) FROM item") == [("1",)]
    assert names(pg_cluster, ROLES) == ["shop_reader"]
    shop.sql("INSERT INTO item VALUES (2)")
    pg_cluster.sql("CREATE ROLE shop_leak")  # this test's own: repaired after it

def test_shares_shop(shop, pg_cluster):
    assert shop.sql("SELECT count(*) FROM item") == [("2",)]
    assert names(pg_cluster, ROLES) == ["shop_reader"]

def test_in_body(pg_database_factory, pg_cluster):
    db = pg_database_factory()
    assert db.sql("SELECT current_database()") == [(db.name,)]
    pytest.in_body = db.name
"""

AFTER = """
import psycopg

def test_after_scope(pg_cluster):
    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as conn:
        roles = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'shop%'").fetchall()
        dbs = conn.execute("SELECT datname FROM pg_database").fetchall()
    assert roles == []
    assert len(dbs) <= 6  # postgres, template0/1, boss_template, a test's and a spare
"""


@pytest.mark.parametrize("isolation", ["repair", "check"])
def test_module_fixture_state_is_the_baseline(
    pytester: pytest.Pytester, run_inner: InnerRun, isolation: str
) -> None:
    """A module fixture's database and role are kept for its tests, not reported as
    leaks; a test's own role is; the module's state is gone after the module."""
    pytester.makepyfile(test_a_shop=SUITE, test_b_after=AFTER)
    result = run_inner(f"--pg-isolation={isolation}")
    if isolation == "check":
        result.assert_outcomes(passed=4, errors=1)
        result.stdout.fnmatch_lines(["*ERROR at teardown of test_uses_shop*"])
    else:
        result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["pytest-boss: 1 test(s) left state behind*"])
    result.stdout.fnmatch_lines(["*test_uses_shop: repaired: role shop_leak (added)*"])


def test_scoped_databases_under_xdist(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    pytester.makepyfile(test_a_shop=SUITE, test_b_after=AFTER)
    result = run_inner("-n", "2")
    result.assert_outcomes(passed=4)


def test_database_of_a_test_body_is_dropped(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_make(pg_database_factory):
            pytest.made = pg_database_factory().name

        def test_gone(pg_cluster):
            sql = f"SELECT count(*) FROM pg_database WHERE datname = '{pytest.made}'"
            assert pg_cluster.sql(sql) == [("0",)]
        """
    )
    result = run_inner("-p", "no:randomly")
    result.assert_outcomes(passed=2)
