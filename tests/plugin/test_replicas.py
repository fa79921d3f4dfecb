"""Standbys for tests: pg_replicas and pg_cluster_factory(replica_of=...), with nothing left
on the shared cluster afterwards."""

from __future__ import annotations

import pytest
from conftest import InnerRun

SUITE = """
import pytest

@pytest.mark.pg_replicas(2)
def test_two(pg_cluster, pg_replicas):
    pg_cluster.sql("CREATE TABLE IF NOT EXISTS r (x int); INSERT INTO r VALUES (1)")
    for standby in pg_replicas:
        standby.catch_up()
        assert standby.is_standby
        assert standby.sql("SELECT count(*) >= 1 FROM r") == [("t",)]

def test_after(pg_cluster):
    assert pg_cluster.sql("SELECT count(*) FROM pg_replication_slots") == [("0",)]
    assert pg_cluster.sql("SELECT count(*) FROM pg_stat_replication") == [("0",)]
    assert pg_cluster.sql("SHOW synchronous_standby_names") == [("",)]
    pg_cluster.sql("DROP TABLE IF EXISTS r")

def test_cascade(pg_cluster_factory):
    primary = pg_cluster_factory()
    first = pg_cluster_factory(replica_of=primary, synchronous=True)
    second = pg_cluster_factory(replica_of=first)
    primary.sql("CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
    second.catch_up()
    assert second.sql("SELECT x FROM t") == [("7",)]

@pytest.mark.pg_replicas(1, synchronous=True)
def test_sync(pg_cluster, pg_replicas):
    assert pg_cluster.sql("SHOW synchronous_commit") == [("on",)]

def test_sync_gone(pg_cluster):
    assert pg_cluster.sql("SHOW synchronous_commit") == [("off",)]
    assert pg_cluster.sql("SHOW synchronous_standby_names") == [("",)]

@pytest.mark.pg_replicas(0)
def test_bad_count(pg_replicas):
    pass
"""


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_standbys_come_and_go_without_a_trace(
    pytester: pytest.Pytester, run_inner: InnerRun, workers: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_inner=SUITE)
    result = run_inner("-p", "no:randomly", *workers)
    result.assert_outcomes(passed=5, errors=1)
    result.stdout.fnmatch_lines(
        ["*MarkerError: @pytest.mark.pg_replicas: the number of standbys must be a whole*"]
    )
