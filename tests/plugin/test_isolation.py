"""Isolation (--pg-isolation): tests that leak each kind of state through pg_cluster, each
followed by a test that demands a pristine cluster, in several orders and under -n 2.

The pristine test checks the cluster with its own queries (not the plugin's snapshot): only
the initdb roles and databases (besides the plugin's own `test_*`/`boss_template`), no
settings, slots, prepared transactions, subscriptions, large objects or other sessions, no
user objects in `postgres` or `template1`, CONNECT on `postgres` for everyone, and the run's
password still accepted over TCP.
"""

from __future__ import annotations

import pytest
from conftest import InnerRun

CONFTEST = """
import os
import random

import psycopg
import pytest

OPEN = []  # connections a leaking test leaves open on purpose

def pytest_collection_modifyitems(items):
    order = os.environ.get("INNER_ORDER", "forward")
    if order == "reverse":
        items.reverse()
    elif order.startswith("seed"):
        random.Random(order).shuffle(items)

def rows(cluster, sql, dbname="postgres"):
    with psycopg.connect(cluster.dsn(dbname), autocommit=True) as conn:
        return conn.execute(sql).fetchall()

def assert_pristine(cluster):
    # One session per database: a closed one may still be leaving the server.
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        def one(sql):
            return conn.execute(sql).fetchall()
        assert one("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_'") == [(cluster.user,)]
        names = {name for (name,) in one("SELECT datname FROM pg_database")}
        ours = {n for n in names if n.startswith("test_") or n == "boss_template"}
        assert names - ours == {"postgres", "template0", "template1"}
        assert one("SELECT count(*) FROM pg_db_role_setting") == [(0,)]
        assert one("SELECT count(*) FROM pg_prepared_xacts") == [(0,)]
        assert one("SELECT count(*) FROM pg_replication_slots") == [(0,)]
        assert one("SELECT count(*) FROM pg_subscription") == [(0,)]
        assert one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == [(0,)]
        assert one("SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                   "'client backend' AND pid <> pg_backend_pid() AND datname NOT LIKE 'test%' "
                   "AND application_name <> 'pytest-boss'") == [(0,)]
        assert one("SELECT spcname FROM pg_tablespace ORDER BY 1") == [
            ("pg_default",), ("pg_global",)]
        assert one("SELECT has_database_privilege('public', 'postgres', 'CONNECT')") == [(True,)]
    for db in ("postgres", "template1"):
        with psycopg.connect(cluster.dsn(db), autocommit=True) as conn:
            def one(sql):
                return conn.execute(sql).fetchall()
            assert one("SELECT count(*) FROM pg_class WHERE relnamespace = "
                       "'public'::regnamespace") == [(0,)], db
            assert one("SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' "
                       "ORDER BY 1") == [("information_schema",), ("public",)], db
            assert one("SELECT extname FROM pg_extension") == [("plpgsql",)], db
            assert one("SELECT count(*) FROM pg_event_trigger") == [(0,)], db
            assert one("SELECT count(*) FROM pg_largeobject_metadata") == [(0,)], db
            assert one("SELECT has_schema_privilege('public', 'public', 'CREATE')") == [
                (cluster.version[0] < 15,)], db
    with psycopg.connect(cluster.url(), connect_timeout=10):
        pass  # the run's password still works over TCP
"""

LEAKS = {
    "role": "c.sql('CREATE ROLE leaky LOGIN')",
    "database": "c.sql('CREATE DATABASE leaky_db')",
    "template_database": "c.sql('CREATE DATABASE leaky_tpl IS_TEMPLATE true')",
    "table": "c.sql('CREATE TABLE leaky (id int)')",
    "schema": "c.sql('CREATE SCHEMA leaky')",
    "extension": "c.sql('CREATE EXTENSION hstore')",
    "template1_table": "c.sql('CREATE TABLE leaky (id int)', dbname='template1')",
    "role_setting": "c.sql('ALTER ROLE CURRENT_USER SET work_mem = \\'9MB\\'')",
    "database_setting": "c.sql('ALTER DATABASE postgres SET work_mem = \\'9MB\\'')",
    "prepared": "c.sql(\"BEGIN; CREATE TABLE p (); PREPARE TRANSACTION 'leaky'\")",
    "slot": "c.sql(\"SELECT pg_create_physical_replication_slot('leaky')\")",
    "large_object": "c.sql('SELECT lo_create(0)')",
    "revoke_connect": "c.sql('REVOKE CONNECT ON DATABASE postgres FROM PUBLIC')",
    "password": "c.sql(\"ALTER ROLE CURRENT_USER PASSWORD 'changed'\")",
    "event_trigger": (
        "c.sql('CREATE FUNCTION leaky() RETURNS event_trigger LANGUAGE plpgsql AS "
        "$$BEGIN END$$; CREATE EVENT TRIGGER leaky ON ddl_command_start EXECUTE FUNCTION "
        "leaky()')"
    ),
    "advisory_lock": (
        "OPEN.append(psycopg.connect(c.dsn(), autocommit=True)); "
        "OPEN[-1].execute('SELECT pg_advisory_lock(42)')"
    ),
    "subscription": (
        "c.sql(\"CREATE SUBSCRIPTION leaky CONNECTION 'dbname=nowhere' PUBLICATION p "
        'WITH (connect = false)")'
    ),
    "grant_public": "c.sql('GRANT ALL ON SCHEMA public TO PUBLIC')",
}


def _suite(kinds: list[str]) -> str:
    lines = ["import psycopg", "from conftest import OPEN, assert_pristine, rows", ""]
    for kind in kinds:
        lines += [
            f"def test_leak_{kind}(pg_cluster):",
            "    c = pg_cluster",
            f"    {LEAKS[kind]}",
            "",
            f"def test_pristine_after_{kind}(pg_cluster):",
            "    assert_pristine(pg_cluster)",
            "",
        ]
    return "\n".join(lines)


def _write(pytester: pytest.Pytester) -> None:
    kinds = sorted(LEAKS)
    half = len(kinds) // 2
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".py", test_leaks_a=_suite(kinds[:half]), test_leaks_b=_suite(kinds[half:]))
    pytester.makeini("[pytest]\npg_conf =\n    max_prepared_transactions = 4\n")


@pytest.mark.parametrize("order", ["forward", "reverse", "seed-1"])
def test_repair_every_kind(
    pytester: pytest.Pytester, run_inner: InnerRun, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each leak is repaired before the next test: every pristine test passes, in any order;
    the summary lists every leaking test with what was repaired."""
    _write(pytester)
    monkeypatch.setenv("INNER_ORDER", order)
    result = run_inner("-p", "no:randomly")
    result.assert_outcomes(passed=2 * len(LEAKS))
    result.stdout.fnmatch_lines([f"pytest-boss: {len(LEAKS)} test(s) left state behind*"])
    result.stdout.fnmatch_lines(["*test_leak_role: repaired: role leaky (added)*"])
    result.stdout.fnmatch_lines(["*test_leak_table: *table leaky in postgres (added)*"])
    result.stdout.fnmatch_lines(["*test_leak_advisory_lock: *connection*"])


def test_repair_under_xdist(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    """Under -n 2 (each file on its own worker), every leak is repaired as well."""
    _write(pytester)
    result = run_inner("-p", "no:randomly", "-n", "2", "--dist", "loadfile")
    result.assert_outcomes(passed=2 * len(LEAKS))
    result.stdout.fnmatch_lines([f"pytest-boss: {len(LEAKS)} test(s) left state behind*"])


def test_check_mode_fails_the_leaking_test(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    """--pg-isolation=check: the leaking test errors at teardown with what it left; the
    cluster is repaired all the same, so the pristine tests pass."""
    _write(pytester)
    result = run_inner("-p", "no:randomly", "--pg-isolation=check")
    result.assert_outcomes(passed=2 * len(LEAKS), errors=len(LEAKS))
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_leak_role*"])
    result.stdout.fnmatch_lines(["*IsolationError*left state behind*role leaky (added)*"])


def test_off_mode_leaves_the_leaks(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    """--pg-isolation=off is the old behaviour: a leak is seen by the next test."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        _suite(["role"]) + "\ndef test_role_still_there(pg_cluster):\n"
        "    assert rows(pg_cluster, \"SELECT count(*) FROM pg_roles WHERE rolname = 'leaky'\")"
        " == [(1,)]\n"
    )
    result = run_inner("-p", "no:randomly", "--pg-isolation=off")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FAILED*test_pristine_after_role*"])
    assert "left state behind" not in result.stdout.str()


def test_bad_mode_is_a_usage_error(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = run_inner("--pg-isolation=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pg_isolation*'sometimes'*expected one of repair, check, off*"])


def test_nothing_leaked_reports_nothing(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    """Tests that clean up after themselves, and tests using pg_database, are not reported."""
    pytester.makepyfile(
        """
        def test_cleans_up(pg_cluster):
            pg_cluster.sql("CREATE ROLE tidy")
            pg_cluster.sql("DROP ROLE tidy")

        def test_own_database(pg_database):
            pg_database.sql("CREATE TABLE t (id int); CREATE SCHEMA s")

        def test_temp_table(pg_cluster):
            pg_cluster.sql("CREATE TEMP TABLE scratch (id int)")
        """
    )
    result = run_inner("-p", "no:randomly", "--pg-isolation=check")
    result.assert_outcomes(passed=3)
    assert "left state behind" not in result.stdout.str()


def test_standby_of_the_shared_cluster_is_not_a_leak(
    pytester: pytest.Pytester, run_inner: InnerRun
) -> None:
    """A standby made through pg_cluster_factory before pg_cluster was set up is removed
    before the check: its walsender and slot are the plugin's, nothing is reported."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        from conftest import assert_pristine

        def test_standby_first(pg_cluster_factory, pg_cluster):
            standby = pg_cluster_factory(replica_of=pg_cluster)
            assert standby.sql("SELECT pg_is_in_recovery()") == [("t",)]

        def test_replicas(pg_replicas, pg_cluster):
            assert len(pg_replicas) == 1

        def test_pristine(pg_cluster):
            assert_pristine(pg_cluster)
        """
    )
    result = run_inner("-p", "no:randomly", "--pg-isolation=check")
    result.assert_outcomes(passed=3)
    assert "left state behind" not in result.stdout.str()
