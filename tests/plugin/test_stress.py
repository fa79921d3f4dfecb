"""Many workers and simultaneous runs on one machine: no clash, and nothing left behind.

Three rounds; each starts two `-n 4` runs at once, sharing one template cache that starts
cold (so eight workers race to build each entry). Every inner test proves that the server
answering on its TCP port and on its socket is its own cluster (a port or socket clash would
answer from another), that no start of it lost its port (which the pool would retry
silently), and records what it used. Afterwards: every test passed, no two
clusters shared a data directory or socket folder, the cache holds one intact entry per
initdb variant, and no postmaster, run folder, socket folder or shared memory segment of
these runs is left (read from /proc, /tmp and /dev/shm).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from suites import QUIET

from pytest_boss.boss.installation import Installation

RUNS_AT_ONCE = 2
ROUNDS = 3
WORKERS = "4"

STRESS_SUITE = """
import json
import os
import psycopg
import pytest

def check_and_record(cluster, kind):
    with psycopg.connect(host="127.0.0.1", port=cluster.port, user=cluster.user,
                         password=cluster.password, dbname="postgres", connect_timeout=10) as conn:
        (over_tcp,) = conn.execute("SHOW data_directory").fetchone()
    assert os.path.realpath(over_tcp) == cluster.data_dir, "another server holds this port"
    (over_socket,), = cluster.sql("SHOW data_directory")
    assert os.path.realpath(over_socket) == cluster.data_dir, "another server uses this socket"
    with open(cluster.log_path, errors="replace") as fo:
        assert "Address already in use" not in fo.read(), "a start lost its port to another"
    postmaster = cluster.pid()
    with open(f"/proc/{postmaster}/maps") as fo:
        segments = sorted({line.split()[-1] for line in fo if "/dev/shm/PostgreSQL." in line})
    row = {"run": os.environ["RUN"], "process": os.getpid(), "kind": kind, "port": cluster.port,
           "socket_dir": cluster.host, "data_dir": cluster.data_dir, "path": cluster.path,
           "postmaster": postmaster, "segments": segments}
    with open(os.path.join(os.environ["RECORDS"], f"{os.getpid()}.jsonl"), "a") as fo:
        fo.write(json.dumps(row) + "\\n")

@pytest.mark.parametrize("n", range(6))
def test_default(pg_cluster, n):
    check_and_record(pg_cluster, "pooled")

@pytest.mark.parametrize("n", range(3))
@pytest.mark.pg_conf(shared_buffers="32MB", max_connections="30")
def test_postmaster_level(pg_cluster, n):
    check_and_record(pg_cluster, "pooled")

@pytest.mark.parametrize("n", range(3))
@pytest.mark.pg_init(data_checksums=True)
def test_other_initdb(pg_cluster, n):
    check_and_record(pg_cluster, "pooled")

@pytest.mark.parametrize("n", range(2))
def test_private(pg_cluster_factory, n):
    check_and_record(pg_cluster_factory(conf={"work_mem": "5MB"}), "private")
"""
PASSED = 14


def _cmdlines() -> dict[int, list[str]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fo:
                    found[int(entry)] = [
                        a.decode("utf-8", "replace") for a in fo.read().split(b"\0")
                    ]
            except OSError:
                continue
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fo:
            return fo.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _owned_leftovers(folders: list[str], pids: set[int]) -> list[str]:
    """pytest-boss-* folders in `folders` whose owner record names one of `pids`."""
    left = []
    for folder in folders:
        for name in os.listdir(folder):
            if not name.startswith("pytest-boss-"):
                continue
            try:
                with open(os.path.join(folder, name, "owner.json"), encoding="utf-8") as fo:
                    owner = json.load(fo)
            except (OSError, ValueError):
                continue
            if owner.get("pid") in pids:
                left.append(os.path.join(folder, name))
    return left


def test_many_workers_and_simultaneous_runs_clash_nowhere_and_leave_nothing(
    pytester: pytest.Pytester, default_installation: Installation
) -> None:
    pytester.makepyfile(test_inner=STRESS_SUITE)
    records = pytester.mkdir("records")
    cache = pytester.mkdir("cache")
    for round_ in range(ROUNDS):
        runs = []
        for index in range(RUNS_AT_ONCE):
            name = f"r{round_}-{index}"
            out = (pytester.path / f"{name}.out").open("wb")
            env = {**os.environ, "RUN": name, "RECORDS": str(records)}
            process = subprocess.Popen(
                [sys.executable, "-m", "pytest", *QUIET, f"--pg-bin={default_installation.bindir}",
                 f"--pg-cache-dir={cache}", "-n", WORKERS, "-q", "-p", "no:randomly"],
                cwd=pytester.path, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            runs.append((name, process, out))
        for name, process, out in runs:
            code = process.wait(timeout=300)
            out.close()
            text = (pytester.path / f"{name}.out").read_text(errors="replace")
            assert code == 0 and f"{PASSED} passed" in text, f"run {name} failed:\n{text}"

    rows = [
        json.loads(line) for path in records.iterdir() for line in path.read_text().splitlines()
    ]
    assert {row["run"] for row in rows} == {
        f"r{r}-{i}" for r in range(ROUNDS) for i in range(RUNS_AT_ONCE)
    }
    assert len(rows) == PASSED * ROUNDS * RUNS_AT_ONCE
    # One data directory per (process, cluster); none shared between processes; each its own
    # socket folder (mkdtemp names: a reuse would show as two data directories on one folder).
    owners: dict[str, int] = {}
    sockets: dict[str, str] = {}
    for row in rows:
        assert owners.setdefault(row["data_dir"], row["process"]) == row["process"]
        assert sockets.setdefault(row["socket_dir"], row["data_dir"]) == row["data_dir"]
    assert (
        len({row["data_dir"] for row in rows if row["kind"] == "private"})
        == 2 * ROUNDS * RUNS_AT_ONCE
    )

    # The template cache: one intact entry per initdb variant, no half-built one left.
    entries = sorted(
        p for p in cache.iterdir() if p.is_dir() and p.name not in ("ports", "hints", "probes")
    )
    built = [p for p in entries if (p / ".pytest-boss-template.json").exists()]
    assert len(built) == 2, [p.name for p in entries]
    assert not [p for p in entries if p.name.endswith(".partial")]
    for entry in built:
        manifest = json.loads((entry / ".pytest-boss-template.json").read_text())
        files = [Path(root, f) for root, _, names in os.walk(entry) for f in names]
        files = [f for f in files if f.name != ".pytest-boss-template.json" or f.parent != entry]
        assert (len(files), sum(f.lstat().st_size for f in files)) == (
            manifest["files"],
            manifest["bytes"],
        )

    # Nothing left: postmasters (process table), folders, sockets, shared memory.
    postmasters = {row["postmaster"] for row in rows}
    assert [pid for pid in postmasters if _alive(pid)] == []
    run_dirs = {os.path.dirname(os.path.dirname(row["data_dir"])) for row in rows}
    run_dirs |= {os.path.dirname(os.path.dirname(row["path"])) for row in rows}
    servers_left = [
        (pid, args) for pid, args in _cmdlines().items()
        if any(arg.startswith(run_dir + "/") for arg in args for run_dir in run_dirs)
    ]  # fmt: skip
    assert servers_left == []
    paths = run_dirs | {row["socket_dir"] for row in rows}
    assert [path for path in sorted(paths) if os.path.lexists(path)] == []
    processes = {row["process"] for row in rows}
    assert _owned_leftovers(["/tmp", "/dev/shm"], processes) == []
    segments = {segment for row in rows for segment in row["segments"]}
    assert segments, "the postmasters mapped no /dev/shm segment: nothing was checked"
    assert [segment for segment in sorted(segments) if os.path.exists(segment)] == []
