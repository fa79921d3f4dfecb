"""The plugin's kept session (`admin.KeptSession`) on a real server: one login for many
questions, logged in again when the server ends it, and ended by the server once idle."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pytest_boss import admin
from pytest_boss.boss.cluster import Cluster, SQLError

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def kept(cluster: Cluster) -> Iterator[admin.KeptSession]:
    if cluster.version[0] < admin.KEPT_SINCE:
        pytest.skip("no idle_session_timeout before PostgreSQL 14: nothing is kept")
    session = admin.KeptSession(cluster)
    yield session
    session.close()


def _pid(kept: admin.KeptSession) -> str:
    value = kept.run("SELECT pg_backend_pid()")[0][0]
    assert value is not None
    return value


def _alive(cluster: Cluster, pid: str) -> bool:
    rows = cluster.sql(f"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}")
    return rows == [("1",)]


def _gone(cluster: Cluster, pid: str, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while _alive(cluster, pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_one_login_for_many_questions(kept: admin.KeptSession, cluster: Cluster) -> None:
    first = _pid(kept)
    assert _pid(kept) == first
    assert kept.run("SELECT 1, NULL") == [("1", None)]
    assert _pid(kept) == first
    row = cluster.sql(f"SELECT application_name, datname FROM pg_stat_activity WHERE pid = {first}")
    assert row == [(admin.APP_NAME, "postgres")]


def test_a_failed_statement_keeps_the_session(kept: admin.KeptSession) -> None:
    before = _pid(kept)
    with pytest.raises(SQLError) as info:
        kept.run("SELECT * FROM no_such_table")
    assert info.value.sqlstate == "42P01"
    assert _pid(kept) == before


def test_logs_in_again_when_terminated(kept: admin.KeptSession, cluster: Cluster) -> None:
    before = _pid(kept)
    assert cluster.sql(f"SELECT pg_terminate_backend({before})") == [("t",)]
    assert _gone(cluster, before)
    after = _pid(kept)
    assert after != before


def test_the_server_ends_it_once_idle(kept: admin.KeptSession, cluster: Cluster) -> None:
    before = _pid(kept)
    assert kept.run("SHOW idle_session_timeout") == [(f"{admin.KEPT_IDLE_MS}ms",)]
    time.sleep(admin.KEPT_IDLE_MS / 1000)
    assert _gone(cluster, before)
    assert _pid(kept) != before  # and the next question logs in again


def test_its_end_is_not_logged(kept: admin.KeptSession, cluster: Cluster) -> None:
    """Neither the idle timeout nor a termination leaves a line in the server log: a
    test's share of the log is the test's doing."""
    offset = len(open(cluster.log_path, "rb").read())  # noqa: SIM115 (read once)
    pid = _pid(kept)
    time.sleep(admin.KEPT_IDLE_MS / 1000)
    assert _gone(cluster, pid)
    pid = _pid(kept)
    cluster.sql(f"SELECT pg_terminate_backend({pid})")
    assert _gone(cluster, pid)
    cluster.sql("DO $$BEGIN RAISE LOG 'kept-session-test-mark'; END$$")
    with open(cluster.log_path, "rb") as fo:
        fo.seek(offset)
        log = fo.read().decode(errors="replace")
    assert "kept-session-test-mark" in log
    assert "idle-session timeout" not in log
    assert "administrator command" not in log


def test_close_logs_out(kept: admin.KeptSession, cluster: Cluster) -> None:
    pid = _pid(kept)
    kept.close()
    assert _gone(cluster, pid)
    kept.close()  # twice is harmless


def test_a_stopped_server_is_an_error_not_a_hang(kept: admin.KeptSession, cluster: Cluster) -> None:
    _pid(kept)
    cluster.stop("fast")
    try:
        with pytest.raises(SQLError):
            kept.run("SELECT 1")
    finally:
        cluster.start()
    assert kept.run("SELECT 1") == [("1",)]


def test_without_psycopg_each_question_logs_in(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """psql answers instead, with a login each time: nothing to keep."""
    monkeypatch.setattr(admin, "_driver", lambda: None)
    session = admin.KeptSession(cluster)
    first = session.run("SELECT pg_backend_pid()")
    assert session.run("SELECT pg_backend_pid()") != first
