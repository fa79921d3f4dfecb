"""No server outlives its run: Ctrl-C, SIGTERM, and a SIGKILLed run reaped by the next one.

The inner run is started with Popen so it can be signalled while a test is running; the
test writes its postmaster's pid and data directory, then waits. Whether a postmaster is
left is read from the process table (/proc).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from suites import QUIET

from pytest_boss.boss.installation import Installation

WAITING_SUITE = """
import json
import os
import time

def test_waits(pg_cluster, pg_cluster_factory):
    private = pg_cluster_factory()
    with open(os.environ["STATE"] + ".tmp", "w") as fo:
        json.dump({"pids": [pg_cluster.pid(), private.pid()],
                   "dirs": [pg_cluster.data_dir, private.data_dir]}, fo)
    os.rename(os.environ["STATE"] + ".tmp", os.environ["STATE"])
    time.sleep(120)
"""


def _start(
    pytester: pytest.Pytester, installation: Installation, folder: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    pytester.makepyfile(test_inner=WAITING_SUITE)
    state = pytester.path / "state.json"
    env = {**os.environ, "STATE": str(state)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *QUIET, f"--pg-bin={installation.bindir}",
         f"--pg-dir={folder}", "-q"],
        cwd=pytester.path,
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


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_an_interrupted_run_stops_its_servers(
    pytester: pytest.Pytester, default_installation: Installation, signum: int
) -> None:
    folder = pytester.mkdir("clusters")
    process, state = _start(pytester, default_installation, folder)
    facts = json.loads(state.read_text())
    assert all(_alive(pid) for pid in facts["pids"])
    process.send_signal(signum)
    process.wait(timeout=120)
    assert _wait_gone(facts["pids"]) == [], "a postmaster outlived the interrupted run"
    assert not any(os.path.exists(path) for path in facts["dirs"])


def test_a_killed_run_is_reaped_by_the_next(
    pytester: pytest.Pytester, default_installation: Installation
) -> None:
    folder = pytester.mkdir("clusters")
    process, state = _start(pytester, default_installation, folder)
    facts = json.loads(state.read_text())
    process.kill()
    process.wait(timeout=60)
    assert all(_alive(pid) for pid in facts["pids"]), "SIGKILL should leave the servers"
    pytester.makepyfile(test_inner="def test_next(pg_cluster): pass")
    result = pytester.runpytest_subprocess(
        *QUIET, f"--pg-bin={default_installation.bindir}", f"--pg-dir={folder}"
    )
    result.assert_outcomes(passed=1)
    assert _wait_gone(facts["pids"]) == [], "the next run left the killed run's servers"
    assert not any(os.path.exists(path) for path in facts["dirs"])
    assert list(folder.iterdir()) == []
