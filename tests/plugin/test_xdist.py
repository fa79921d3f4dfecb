# ruff: noqa: E501 (the inner suites are source text; their lines read best unbroken)
"""Under pytest-xdist each worker has its own clusters, ports and sockets; semantics hold."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest
from suites import HBA_SUITE

InnerRun = Callable[..., pytest.RunResult]

WORKER_SUITE = """
import json
import os
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
            assert len(str(host)) + len("/.s.PGSQL.65535") < 108  # a unix socket path's limit


def test_hba_semantics_hold_under_xdist(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    pytester.makepyfile(test_inner=HBA_SUITE)
    result = run_inner("-n", "2")
    result.assert_outcomes(passed=6)


CRASH_SUITE = """
import json
import os
import signal
import pytest

def test_crashes(pg_cluster, pg_cluster_factory, worker_id):
    private = pg_cluster_factory()
    facts = {"worker": worker_id, "pids": [pg_cluster.pid(), private.pid()],
             "dirs": [pg_cluster.data_dir, private.data_dir],
             "sockets": [pg_cluster.host, private.host]}
    with open(os.environ["STATE"], "w") as fo:
        json.dump(facts, fo)
    if os.environ["HOW"] == "exit":
        os._exit(3)
    os.kill(os.getpid(), signal.SIGKILL)

@pytest.mark.parametrize("n", range(6))
def test_goes_on(pg_cluster, pg_database, n):
    assert pg_database.sql("SELECT 1") == [("1",)]
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fo:
            return fo.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.parametrize("how", ["exit", "sigkill"], ids=["os-exit", "sigkill"])
def test_a_crashed_workers_servers_are_stopped_by_the_controller(
    pytester: pytest.Pytester, run_default: InnerRun, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The worker dies inside a test; the controller stops its servers at once (no next run
    needed), the crashed test fails, the rest of the run goes on in a new worker."""
    state = pytester.path / "state.json"
    monkeypatch.setenv("STATE", str(state))
    monkeypatch.setenv("HOW", how)
    folder = pytester.mkdir("clusters")
    pytester.makepyfile(test_inner=CRASH_SUITE)
    result = run_default("-n", "2", f"--pg-dir={folder}")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(["*crashed while running*test_crashes*"])
    result.stderr.fnmatch_lines(["pytest-boss: stopped the servers of crashed gw*; removed *"])
    facts = json.loads(state.read_text())
    assert [pid for pid in facts["pids"] if _alive(pid)] == []
    assert not any(os.path.exists(path) for path in facts["dirs"] + facts["sockets"])
    assert list(folder.iterdir()) == []
