"""pg_hba.conf rules per test, and password logins over TCP with scram-sha-256."""

import psycopg
import pytest


@pytest.fixture
def alice(pg_cluster):
    """A login role with a password, dropped after the test."""
    pg_cluster.sql("CREATE ROLE alice LOGIN PASSWORD 'wonderland'")
    yield "alice"
    pg_cluster.sql("DROP ROLE alice")


def connect_over_tcp(cluster, user, password):
    return psycopg.connect(
        host="127.0.0.1", port=cluster.port, dbname="postgres", user=user, password=password
    )


@pytest.mark.pg_hba("host all alice 127.0.0.1/32 scram-sha-256")
def test_password_login_with_scram(pg_cluster, alice):
    with connect_over_tcp(pg_cluster, alice, "wonderland") as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("alice",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect_over_tcp(pg_cluster, alice, "looking-glass")


@pytest.mark.pg_hba("host all alice 127.0.0.1/32 reject")
def test_reject_rule_comes_first(pg_cluster, alice):
    with pytest.raises(psycopg.OperationalError, match="rejects connection"):
        connect_over_tcp(pg_cluster, alice, "wonderland")


def test_rules_are_undone_after_each_test(pg_cluster, alice):
    # No marker here: the reject rule of the previous test is gone.
    with connect_over_tcp(pg_cluster, alice, "wonderland") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_rules_edited_inside_the_test(pg_cluster, pg_hba, alice):
    pg_hba.insert(0, "host all alice 127.0.0.1/32 reject")
    with pytest.raises(psycopg.OperationalError):
        connect_over_tcp(pg_cluster, alice, "wonderland")


def test_superuser_dsn_carries_the_run_password(pg_cluster):
    # TCP logins need the password generated for this run; dsn() carries it.
    with psycopg.connect(pg_cluster.dsn(host="127.0.0.1")) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (pg_cluster.user,)
