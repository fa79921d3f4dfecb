# ruff: noqa: E501 (the inner suites are source text; their lines read best unbroken)
"""Under pytest-xdist each worker has its own clusters, ports and sockets; semantics hold."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from suites import HBA_SUITE

InnerRun = Callable[..., pytest.RunResult]

WORKER_SUITE = """
import json
import os
import pytest

def record(worker_id, cluster):
    with open(os.environ["RECORD"], "a") as fo:
        fo.write(json.dumps([worker_id, cluster.port, cluster.host, cluster.pid(), cluster.data_dir]) + "\\n")

@pytest.mark.parametrize("n", range(8))
def test_plain(pg_cluster, worker_id, n):
    record(worker_id, pg_cluster)
    assert pg_cluster.sql("SHOW work_mem") == [("4MB",)]

@pytest.mark.parametrize("n", range(4))
@pytest.mark.pg_conf(work_mem="12MB", shared_buffers="64MB")
def test_marked(pg_cluster, worker_id, n):
    record(worker_id, pg_cluster)
    assert pg_cluster.sql("SHOW work_mem; SHOW shared_buffers") == [("12MB",), ("64MB",)]

@pytest.mark.parametrize("n", range(4))
def test_handle_and_database(pg_conf, pg_database, pg_cluster, n):
    pg_conf["work_mem"] = f"{n + 1}MB"
    pg_database.sql("CREATE TABLE t (x int)")
    assert pg_cluster.sql("SHOW work_mem") == [(f"{n + 1}MB",)]
"""


def test_each_worker_has_its_own_clusters_and_ports(
    pytester: pytest.Pytester, run_inner: InnerRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = pytester.path / "record.jsonl"
    monkeypatch.setenv("RECORD", str(record))
    pytester.makepyfile(test_inner=WORKER_SUITE)
    result = run_inner("-n", "2")
    result.assert_outcomes(passed=16)
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    workers = {row[0] for row in rows}
    assert workers == {"gw0", "gw1"}
    by_worker: dict[str, set[tuple[object, ...]]] = {}
    for worker, port, host, pid, data_dir in rows:
        by_worker.setdefault(worker, set()).add((port, host, pid, data_dir))
    gw0, gw1 = by_worker["gw0"], by_worker["gw1"]
    for index in range(4):  # port, socket folder, postmaster, data directory
        assert not {c[index] for c in gw0} & {c[index] for c in gw1}
    for worker_clusters in by_worker.values():
        for _port, host, _pid, _data in worker_clusters:
            assert len(host) + len("/.s.PGSQL.65535") < 108  # a unix socket path's limit


def test_hba_semantics_hold_under_xdist(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    pytester.makepyfile(test_inner=HBA_SUITE)
    result = run_inner("-n", "2")
    result.assert_outcomes(passed=6)
