"""No server outlives its run: Ctrl-C, SIGTERM, and a SIGKILLed run reaped by the next one.

The inner run is started with Popen so it can be signalled while a test is running; the
test writes its postmaster's pid and data directory, then waits. Whether a postmaster is
left is read from the process table (/proc).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import InnerRun
from suites import QUIET

from pytest_boss.boss.installation import Installation

FACTS = """
import json
import os

def segments(pid):
    with open(f"/proc/{pid}/maps") as fo:
        return sorted({line.split()[-1] for line in fo if "/dev/shm/PostgreSQL." in line})

def shmid(cluster):
    with open(os.path.join(cluster.data_dir, "postmaster.pid")) as fo:
        return int(fo.read().splitlines()[6].split()[1])

def write_facts(*clusters, before_writing=lambda: None):
    facts = {"process": os.getpid(), "pids": [c.pid() for c in clusters],
             "dirs": [c.data_dir for c in clusters], "paths": [c.path for c in clusters],
             "sockets": [c.host for c in clusters],
             "segments": [s for c in clusters for s in segments(c.pid())],
             "sysv": [shmid(c) for c in clusters]}
    before_writing()
    with open(os.environ["STATE"] + ".tmp", "w") as fo:
        json.dump(facts, fo)
    os.rename(os.environ["STATE"] + ".tmp", os.environ["STATE"])
"""

WAITING_SUITE = (
    FACTS
    + """
import signal
import time

def test_waits(pg_cluster, pg_cluster_factory):
    private = pg_cluster_factory()
    killed = pg_cluster_factory()

    def kill():  # a postmaster dead before the run is: its shared memory is left
        pid = killed.pid()
        os.kill(pid, signal.SIGKILL)
        while killed.running() or killed.controller.orphans():
            time.sleep(0.01)

    write_facts(pg_cluster, private, killed, before_writing=kill)
    time.sleep(120)
"""
)


def _start(
    pytester: pytest.Pytester, installation: Installation, folder: Path | None, *args: str
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start the waiting suite in its own process group; clusters in `folder`, or where the
    plugin puts them (None)."""
    pytester.makepyfile(test_inner=WAITING_SUITE)
    state = pytester.path / "state.json"
    env = {**os.environ, "STATE": str(state)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *QUIET, f"--pg-bin={installation.bindir}",
         *([f"--pg-dir={folder}"] if folder else []), "-q", *args],
        cwd=pytester.path,
        start_new_session=True,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not state.exists():
        assert process.poll() is None, "the inner run ended before its test started"
        assert time.monotonic() < deadline, "the inner test did not start within 120 s"
        time.sleep(0.05)
    return process, state


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fo:
            return fo.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _wait_gone(pids: list[int], timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive:
            return []
        time.sleep(0.05)
    return alive


def _sysv_ids() -> set[int]:
    with open("/proc/sysvipc/shm", encoding="ascii") as fo:
        return {int(line.split()[1]) for line in fo.read().splitlines()[1:]}


def _assert_nothing_left(facts: dict[str, Any]) -> None:
    """No postmaster, folder, link, socket folder or shared memory of the run is left, and no
    pytest-boss-* folder in /tmp or /dev/shm is owned by its process (read from the system)."""
    assert _wait_gone(facts["pids"]) == [], "a postmaster outlived the run"
    run_dirs = {os.path.dirname(os.path.dirname(p)) for p in facts["dirs"] + facts["paths"]}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fo:
                    args = fo.read().decode("utf-8", "replace").split("\0")
            except OSError:
                continue
            assert not [a for a in args for d in run_dirs if a.startswith(d + "/")], args
    paths = [*facts["dirs"], *facts["paths"], *facts["sockets"], *sorted(run_dirs)]
    deadline = time.monotonic() + 30  # a worker may still be removing them
    while [path for path in paths if os.path.lexists(path)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [path for path in paths if os.path.lexists(path)] == []
    assert facts["segments"], "no /dev/shm segment was recorded: nothing checked"
    assert [path for path in facts["segments"] if os.path.exists(path)] == []
    assert set(facts["sysv"]) & _sysv_ids() == set()
    for folder in ("/tmp", "/dev/shm"):
        for name in os.listdir(folder):
            owner = Path(folder, name, "owner.json")
            if name.startswith("pytest-boss-") and owner.exists():
                with contextlib.suppress(OSError, ValueError):
                    assert json.loads(owner.read_text())["pid"] != facts["process"], name


def test_a_normal_run_leaves_nothing_in_tmp_or_dev_shm(
    pytester: pytest.Pytester, run_default: InnerRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = pytester.path / "state.json"
    monkeypatch.setenv("STATE", str(state))
    pytester.makepyfile(
        test_inner=FACTS
        + """
import pytest

@pytest.mark.pg_conf(shared_buffers="32MB")
def test_records(pg_cluster, pg_cluster_factory, pg_database):
    write_facts(pg_cluster, pg_cluster_factory())

def test_fails(pg_cluster):
    assert 0
"""
    )
    result = run_default()  # the plugin's own choice of folder: /dev/shm or /tmp
    result.assert_outcomes(passed=1, failed=1)
    _assert_nothing_left(json.loads(state.read_text()))


SHUTDOWN_SUITE = """
import os

def keep_log(cluster, name):
    # The log goes with the cluster: a second name on the same filesystem keeps it.
    os.link(cluster.log_path, os.path.join(os.environ["KEEP"], name))

def test_pooled(pg_cluster):
    keep_log(pg_cluster, "pooled.log")

def test_private(pg_cluster_factory):
    keep_log(pg_cluster_factory(), "private.log")
"""


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs a RAM folder for --pg-dir")
def test_servers_are_stopped_fast_not_immediate(
    pytester: pytest.Pytester, run_default: InnerRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An immediate shutdown an instant after a start can kill a child making a shared
    memory segment, which then stays in /dev/shm: the plugin stops its servers fast, at a
    private cluster's teardown and at the end of the run."""
    folder = Path(tempfile.mkdtemp(prefix="boss-shutdown-", dir="/dev/shm"))
    try:
        folder.chmod(0o755)
        keep = folder / "kept"
        keep.mkdir()
        monkeypatch.setenv("KEEP", str(keep))
        pytester.makepyfile(test_inner=SHUTDOWN_SUITE)
        run_default(f"--pg-dir={folder}").assert_outcomes(passed=2)
        for name in ("pooled.log", "private.log"):
            log = (keep / name).read_text(errors="replace")
            assert "received fast shutdown request" in log, name
            assert "immediate shutdown" not in log, name
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(
    ("signum", "args", "group"),
    [
        pytest.param(signal.SIGINT, (), False, id="sigint"),
        pytest.param(signal.SIGTERM, (), False, id="sigterm"),
        pytest.param(signal.SIGINT, ("-n", "2"), True, id="ctrl-c-xdist"),
        pytest.param(signal.SIGINT, ("-n", "2"), False, id="sigint-xdist-controller"),
        pytest.param(signal.SIGTERM, ("-n", "2"), False, id="sigterm-xdist-controller"),
    ],
)
def test_an_interrupted_run_stops_its_servers(
    pytester: pytest.Pytester,
    default_installation: Installation,
    signum: int,
    args: tuple[str, ...],
    group: bool,
) -> None:
    """Ctrl-C in a terminal signals the whole process group (controller and workers); a
    signal may also reach the xdist controller alone."""
    process, state = _start(pytester, default_installation, None, *args)
    facts = json.loads(state.read_text())
    assert all(_alive(pid) for pid in facts["pids"][:2])
    if group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    process.wait(timeout=120)
    _assert_nothing_left(facts)


def test_a_killed_postmasters_shared_memory_is_removed(
    pytester: pytest.Pytester, run_default: InnerRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL leaves a postmaster's shared memory (no start follows on a dropped cluster):
    the plugin removes what is provably that data directory's."""
    state = pytester.path / "state.json"
    monkeypatch.setenv("STATE", str(state))
    pytester.makepyfile(
        test_inner=FACTS
        + """
import signal
import time

def test_kills_its_servers(pg_cluster, pg_cluster_factory):
    private = pg_cluster_factory()
    write_facts(pg_cluster, private)
    for pid in (private.pid(), pg_cluster.pid()):
        os.kill(pid, signal.SIGKILL)
    while private.running() or pg_cluster.running():
        time.sleep(0.01)

def test_next(pg_cluster):
    assert pg_cluster.sql("SELECT 1") == [("1",)]
"""
    )
    result = run_default()
    result.assert_outcomes(passed=2)
    _assert_nothing_left(json.loads(state.read_text()))


def test_a_killed_run_is_reaped_by_the_next(
    pytester: pytest.Pytester, default_installation: Installation
) -> None:
    folder = pytester.mkdir("clusters")
    process, state = _start(pytester, default_installation, folder)
    facts = json.loads(state.read_text())
    process.kill()
    process.wait(timeout=60)
    assert all(_alive(pid) for pid in facts["pids"][:2]), "SIGKILL should leave the servers"
    assert all(os.path.exists(path) for path in facts["segments"])
    pytester.makepyfile(test_inner="def test_next(pg_cluster): pass")
    result = pytester.runpytest_subprocess(
        *QUIET, f"--pg-bin={default_installation.bindir}", f"--pg-dir={folder}"
    )
    result.assert_outcomes(passed=1)
    assert _wait_gone(facts["pids"]) == [], "the next run left the killed run's servers"
    assert not any(os.path.exists(path) for path in facts["dirs"])
    assert list(folder.iterdir()) == []
    _assert_nothing_left(facts)  # the postmaster killed before the run: its memory too
