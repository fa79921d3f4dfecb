"""Starting, stopping and watching real postmasters with Controller and pg_ctl."""

from __future__ import annotations

import inspect
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_boss.boss.cluster import Cluster
from pytest_boss.boss.control import (
    AlreadyRunningError,
    Controller,
    ControlTimeoutError,
    ControlWarning,
    NotAClusterError,
    NotRunningError,
    PortInUseError,
    StartupError,
    pg_ctl,
    pid_alive,
    read_pid_file,
)
from pytest_boss.boss.installation import Installation
from pytest_boss.boss.privileges import place_directory, remove_placed


@pytest.fixture(scope="module")
def data(make_cluster: Callable[..., Cluster]) -> Cluster:
    """A stopped cluster of this module (configured for tests by Cluster.create)."""
    return make_cluster()


@pytest.fixture
def ctl(data: Cluster) -> Iterator[Controller]:
    """A Controller of the module's cluster; the server is stopped after each test."""
    controller = Controller(
        data.path, os.path.join(data.server_bindir, "postgres"), user=data.server_user
    )
    yield controller
    if controller.running():
        controller.stop("fast")  # an immediate stop can leave a segment in /dev/shm


def _proc_status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fo:
        return dict(line.split(":", 1) for line in fo if ":" in line)


def test_start_waits_until_ready(ctl: Controller, data: Cluster) -> None:
    pid = ctl.start(logfile=data.log_path)
    assert ctl.running() and ctl.pid() == pid
    assert ctl.status() == "ready"
    lines = read_pid_file(data.data_dir)
    assert lines is not None and int(lines[0]) == pid
    assert data.sql("SELECT pg_backend_pid() <> 0") == [("t",)]


def test_server_runs_as_the_server_user(ctl: Controller, data: Cluster) -> None:
    pid = ctl.start(logfile=data.log_path)
    real_uid = int(_proc_status(pid)["Uid"].split()[0])
    assert real_uid == data.server_user.uid
    assert real_uid != 0


def test_no_pipe_reaches_the_postmaster(ctl: Controller, data: Cluster) -> None:
    """stdin is /dev/null; stdout and stderr are the log file; its own session."""
    pid = ctl.start(logfile=data.log_path)
    fds = {n: os.readlink(f"/proc/{pid}/fd/{n}") for n in (0, 1, 2)}
    assert fds[0] == "/dev/null"
    assert fds[1] == fds[2] == os.path.realpath(data.log_path)
    assert os.getsid(pid) == pid


def test_start_twice_is_an_error_and_keeps_the_server(ctl: Controller, data: Cluster) -> None:
    pid = ctl.start(logfile=data.log_path)
    with pytest.raises(AlreadyRunningError, match=f"already running \\(pid {pid}\\)"):
        ctl.start(logfile=data.log_path)
    assert ctl.pid() == pid


@pytest.mark.parametrize("mode", ["smart", "fast", "immediate"])
def test_stop_modes(mode: str, ctl: Controller, data: Cluster) -> None:
    pid = ctl.start(logfile=data.log_path)
    # The server's own start-up work done first: an immediate stop an instant after a start
    # can kill a child making a shared memory segment, which then stays in /dev/shm.
    assert data.sql("SELECT 1") == [("1",)]
    ctl.stop(mode)
    assert not ctl.running()
    assert not pid_alive(pid)
    assert ctl.status() is None


def test_stop_mode_must_be_known(ctl: Controller) -> None:
    with pytest.raises(ValueError, match="smart, fast, immediate"):
        ctl.stop("gentle")


def test_stop_a_stopped_server_warns(ctl: Controller) -> None:
    with pytest.warns(ControlWarning, match="not running"):
        ctl.stop()


def test_smart_stop_waits_for_clients(ctl: Controller, data: Cluster) -> None:
    """Smart mode lets a connected client finish: a short stop time-out then expires."""
    ctl.start(logfile=data.log_path)
    client = subprocess.Popen(
        [os.path.join(data.bindir, "psql"), "-X", "-d", data.dsn(), "-c", "SELECT pg_sleep(30)"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while data.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%'"
            " AND pid <> pg_backend_pid()"
        ) != [("1",)]:
            pass
        ctl.stop_timeout = 0.3
        with pytest.raises(ControlTimeoutError, match="try fast"):
            ctl.stop("smart")
        assert ctl.running()
        ctl.stop("fast")
        assert not ctl.running()
    finally:
        client.kill()
        client.wait()
        ctl.stop_timeout = 60.0


def test_restart_gives_a_new_postmaster(ctl: Controller, data: Cluster) -> None:
    first = ctl.start(logfile=data.log_path)
    second = ctl.restart()
    assert second != first and ctl.pid() == second
    assert ctl.logfile == os.path.abspath(data.log_path)


def test_restart_takes_the_seed_parameters_in_order(ctl: Controller, data: Cluster) -> None:
    """pg_boss's ``restart(postmaster, options, mode, nowait, logfile)``, positionally."""
    names = list(inspect.signature(pg_ctl.restart).parameters)
    assert names == ["self", "postmaster", "options", "mode", "nowait", "logfile"]
    ctl.start(options={"work_mem": "3MB"}, logfile=data.log_path)
    ctl.restart(None, {"work_mem": "5MB"}, "fast", False, data.log_path)
    assert ctl.status() == "ready"
    assert data.sql("SHOW work_mem") == [("5MB",)]


def test_restart_nowait_returns_before_the_server_is_ready(ctl: Controller, data: Cluster) -> None:
    """The new postmaster is a script that waits a second before it runs postgres: restart
    with ``nowait`` returns meanwhile, and the server is ready later."""
    postgres = os.path.join(data.server_bindir, "postgres")
    slow = os.path.join(data.data_dir, "slow-postgres")
    with open(slow, "w", encoding="ascii") as fo:
        fo.write(f'#!/bin/sh\nsleep 1\nexec {postgres} "$@"\n')
    os.chmod(slow, 0o755)
    try:
        first = ctl.start(logfile=data.log_path)
        pid = ctl.restart(slow, nowait=True)
        assert pid != first
        assert ctl.status() != "ready"
        deadline = time.monotonic() + 60
        while ctl.status() != "ready":
            assert time.monotonic() < deadline, "the restarted server never became ready"
            time.sleep(0.01)
        assert ctl.pid() == pid
        assert data.sql("SELECT 1") == [("1",)]
    finally:
        os.remove(slow)


def test_reload_needs_a_running_server(ctl: Controller) -> None:
    with pytest.raises(NotRunningError, match="not running"):
        ctl.reload()


def test_options_are_settings(ctl: Controller, data: Cluster) -> None:
    ctl.start(options={"work_mem": "3MB", "jit": False}, logfile=data.log_path)
    assert data.sql("SHOW work_mem; SHOW jit") == [("3MB",), ("off",)]


def test_rejected_setting_fails_at_once_with_the_log(ctl: Controller, data: Cluster) -> None:
    with pytest.raises(StartupError) as info:
        ctl.start(options={"shared_buffers": "lots"}, logfile=data.log_path)
    assert 'invalid value for parameter "shared_buffers"' in info.value.log_tail
    assert "exited during start" in str(info.value)
    assert not ctl.running()


def test_port_in_use_is_a_clear_error(ctl: Controller, data: Cluster) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUseError) as info:
            ctl.start(options={"port": port}, logfile=data.log_path)
    assert "Address already in use" in info.value.log_tail
    assert "choose another port" in str(info.value)
    assert not ctl.running()


def test_start_time_out_stops_the_server(ctl: Controller, data: Cluster) -> None:
    ctl.start_timeout = 0.0
    try:
        with pytest.raises(ControlTimeoutError, match="not ready within"):
            ctl.start(logfile=data.log_path)
    finally:
        ctl.start_timeout = 60.0
    assert not ctl.running()


def test_killed_postmaster_is_not_running_and_starts_again(ctl: Controller, data: Cluster) -> None:
    pid = ctl.start(logfile=data.log_path)
    os.kill(pid, signal.SIGKILL)
    while pid_alive(pid):
        pass
    assert not ctl.running()  # its postmaster.pid is left behind, stale
    assert read_pid_file(data.data_dir) is not None
    # Its children may still hold the shared memory for a moment: start waits for them.
    assert ctl.start(logfile=data.log_path) != pid
    assert ctl.orphans() == []
    assert data.sql("SELECT 1") == [("1",)]


def test_nowait_returns_before_ready(ctl: Controller, data: Cluster) -> None:
    pid = ctl.start(nowait=True, logfile=data.log_path)
    while ctl.status() != "ready":
        assert pid_alive(pid)
    assert ctl.pid() == pid


def test_default_log_file_is_in_the_data_directory(ctl: Controller, data: Cluster) -> None:
    ctl.start()
    assert ctl.logfile == os.path.join(data.data_dir, "postmaster.log")
    with open(ctl.logfile, encoding="utf-8") as fo:
        assert "database system is ready to accept connections" in fo.read()


def test_pg_ctl_finds_postgres_beside_it(data: Cluster) -> None:
    control = pg_ctl(data.path, os.path.join(data.server_bindir, "pg_ctl"), user=data.server_user)
    assert control.postgres_path == os.path.join(data.server_bindir, "postgres")
    control.start(logfile=data.log_path)
    try:
        assert data.sql("SELECT 1") == [("1",)]
    finally:
        control.stop()
    assert not control.running()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda tmp: tmp / "missing", id="missing-folder"),
        pytest.param(lambda tmp: tmp, id="empty-folder"),
    ],
)
def test_not_a_cluster(make: Callable[[Path], Path], tmp_path: Path, data: Cluster) -> None:
    folder = make(tmp_path)
    control = Controller(folder, os.path.join(data.server_bindir, "postgres"))
    with pytest.raises(NotAClusterError, match="not a PostgreSQL data directory"):
        control.start()


def test_missing_server_program(data: Cluster, tmp_path: Path) -> None:
    control = Controller(data.path, str(tmp_path / "bin" / "postgres"), user=data.server_user)
    with pytest.raises(StartupError, match="cannot run the server program"):
        control.start(logfile=data.log_path)
    assert not control.running()


def test_standby_starts_and_is_promoted(
    make_cluster: Callable[..., Cluster], pg_installation: Installation, cluster_base: str
) -> None:
    """A copy of a stopped cluster with standby.signal starts as a standby; pg_ctl promotes it."""
    primary = make_cluster()
    user = primary.server_user
    path = tempfile.mkdtemp(prefix="standby-", dir=cluster_base)
    os.rmdir(path)
    real = place_directory(path, user).real
    try:
        shutil.copytree(primary.data_dir, real, symlinks=True, dirs_exist_ok=True)
        open(os.path.join(real, "standby.signal"), "w").close()
        user.chown_tree(real)
        standby = Cluster(path, pg_installation)
        standby.configure()
        standby.start()
        assert standby.controller.status() in ("ready", "standby")
        assert standby.sql("SELECT pg_is_in_recovery()") == [("t",)]
        control = pg_ctl(path, os.path.join(standby.server_bindir, "pg_ctl"), user=user)
        control.promote()
        assert standby.sql("SELECT pg_is_in_recovery()") == [("f",)]
        standby.drop()
    finally:
        remove_placed(path)


def test_kill_ends_the_running_postmaster(ctl: Controller, data: Cluster) -> None:
    pid = ctl.start(logfile=data.log_path)
    assert not ctl.wait_exit(pid, timeout=0.05)  # alive: waiting gives up
    assert ctl.kill() is True
    assert not pid_alive(pid) and not ctl.running()
    assert ctl.wait_exit(pid, timeout=0.05)
    assert ctl.kill() is True  # nothing runs: nothing to do


def _mapped_segments(pid: int) -> set[str]:
    """The /dev/shm files the postmaster and its children map (the kernel's view)."""
    found = set()
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fo:
                ppid = int(fo.read().rpartition(")")[2].split()[1])
            if int(entry) != pid and ppid != pid:
                continue
            with open(f"/proc/{entry}/maps", encoding="utf-8", errors="replace") as fo:
                found |= {line.split()[-1] for line in fo if "/dev/shm/PostgreSQL." in line}
        except (OSError, ValueError):
            continue
    return found


def _sysv_ids() -> set[int]:
    with open("/proc/sysvipc/shm", encoding="ascii") as fo:
        return {int(line.split()[1]) for line in fo.read().splitlines()[1:]}


def _kill_and_wait(ctl: Controller, pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    while pid_alive(pid) or ctl.orphans():
        pass


def _posix_segments() -> set[str]:
    return {f"/dev/shm/{name}" for name in os.listdir("/dev/shm") if name.startswith("PostgreSQL.")}


def test_a_killed_postmasters_shared_memory_is_removed(ctl: Controller, data: Cluster) -> None:
    """Every segment its processes map goes, and only segments made since it started."""
    older = _posix_segments()
    pid = ctl.start(logfile=data.log_path)
    shmid = int(read_pid_file(data.data_dir)[6].split()[1])  # type: ignore[index]
    assert shmid in _sysv_ids()
    assert ctl.remove_shared_memory() == []  # running: nothing is touched
    segments = _mapped_segments(pid)
    assert all(os.path.exists(path) for path in segments)
    _kill_and_wait(ctl, pid)
    assert all(os.path.exists(path) for path in segments), "SIGKILL should leave them"
    removed = set(ctl.remove_shared_memory())
    assert {*segments, f"sysv:{shmid}"} <= removed
    assert not removed & older
    assert not any(os.path.exists(path) for path in segments)
    assert shmid not in _sysv_ids()
    assert ctl.start(logfile=data.log_path) != pid  # the data directory is fine
    assert data.sql("SELECT 1") == [("1",)]


def test_shared_memory_of_another_data_directory_is_not_removed(
    ctl: Controller, data: Cluster, make_cluster: Callable[..., Cluster]
) -> None:
    """A stale postmaster.pid naming another cluster's segment (a copied data directory)
    removes nothing: the segment records the data directory it belongs to."""
    other = make_cluster()
    other.start()
    other_ctl = other.controller
    pid = other.pid()
    assert pid is not None
    segments = _mapped_segments(pid)
    _kill_and_wait(other_ctl, pid)
    shutil.copyfile(
        os.path.join(other.data_dir, "postmaster.pid"),
        os.path.join(data.data_dir, "postmaster.pid"),
    )
    try:
        assert ctl.remove_shared_memory() == []
        assert all(os.path.exists(path) for path in segments)
    finally:
        os.remove(os.path.join(data.data_dir, "postmaster.pid"))
    other.drop()  # drop removes what its killed postmaster left
    assert not any(os.path.exists(path) for path in segments)
