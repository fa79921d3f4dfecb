"""Standbys and logical replication between clusters, as an application's tests use them.

`pg_replicas` gives streaming standbys of the test's cluster (read-replica routing,
failover); `pg_cluster_factory` makes private clusters, and `replica_of=` makes a standby of
any of them. Logical replication needs nothing but the clusters' own `dsn()`.
"""

import time

import pytest


@pytest.mark.pg_replicas(1)
def test_reads_go_to_the_replica(pg_cluster, pg_replicas):
    (replica,) = pg_replicas
    pg_cluster.sql("CREATE TABLE IF NOT EXISTS orders (id int); INSERT INTO orders VALUES (1)")
    replica.catch_up()
    assert replica.is_standby
    assert replica.sql("SELECT count(*) > 0 FROM orders") == [("t",)]
    pg_cluster.sql("DROP TABLE orders")


def test_failover_to_a_standby(pg_cluster_factory):
    primary = pg_cluster_factory()
    standby = pg_cluster_factory(replica_of=primary)
    primary.sql("CREATE TABLE ledger (amount int); INSERT INTO ledger VALUES (10)")
    standby.catch_up()
    primary.kill()  # the primary crashes
    standby.promote()
    assert not standby.is_standby
    standby.sql("INSERT INTO ledger VALUES (5)")
    assert standby.sql("SELECT sum(amount) FROM ledger") == [("15",)]


def test_logical_replication_between_clusters(pg_cluster_factory):
    source = pg_cluster_factory(conf={"wal_level": "logical"})
    target = pg_cluster_factory()
    for cluster in (source, target):
        cluster.sql("CREATE TABLE events (id int PRIMARY KEY, kind text)")
    source.sql("CREATE PUBLICATION app_events FOR TABLE events")
    source.sql("INSERT INTO events VALUES (1, 'created')")
    conninfo = source.dsn().replace("'", "''")  # a libpq string inside an SQL literal
    target.sql(f"CREATE SUBSCRIPTION app_events CONNECTION '{conninfo}' PUBLICATION app_events")
    source.sql("INSERT INTO events VALUES (2, 'paid')")
    deadline = time.monotonic() + 30
    while target.sql("SELECT count(*) FROM events") != [("2",)]:
        assert time.monotonic() < deadline, "the subscription did not catch up"
        time.sleep(0.05)
    assert target.sql("SELECT kind FROM events ORDER BY id") == [("created",), ("paid",)]
    target.sql("DROP SUBSCRIPTION app_events")
