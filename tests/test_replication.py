"""Replication on real servers: backups, hot standbys, catch-up, cascading and synchronous
standbys, promotion, crashes and crash recovery; as root and as an ordinary user."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator

import pytest

from pytest_boss.boss.backup import BackupError, remove_backup
from pytest_boss.boss.cluster import Cluster, SQLError
from pytest_boss.boss.control import NotRunningError, read_pid_file
from pytest_boss.boss.replication import NotAStandbyError, ReplicationError, SlotNameError

NewPath = Callable[[], str]
Keep = Callable[[Cluster], Cluster]


@pytest.fixture(scope="module")
def primary(make_cluster: Callable[..., Cluster]) -> Cluster:
    """A running primary per installation, shared by the module's tests that only read it
    or leave it as they found it."""
    cluster = make_cluster()
    cluster.start()
    cluster.sql("CREATE TABLE seed (a int); INSERT INTO seed VALUES (1), (2), (3)")
    return cluster


@pytest.fixture
def new_path(cluster_base: str) -> NewPath:
    """``new_path()``: a folder name that does not exist yet, beside the test clusters."""

    def make() -> str:
        path = tempfile.mkdtemp(prefix="repl-", dir=cluster_base)
        os.rmdir(path)
        return path

    return make


@pytest.fixture
def keep() -> Iterator[Keep]:
    """``keep(cluster)``: drop it after the test (last kept, first dropped)."""
    kept: list[Cluster] = []

    def add(cluster: Cluster) -> Cluster:
        kept.append(cluster)
        return cluster

    yield add
    for cluster in reversed(kept):
        cluster.drop()


@pytest.fixture
def own_primary(primary: Cluster, new_path: NewPath, keep: Keep) -> Cluster:
    """A private running primary for a test that stops, crashes or reconfigures it: a
    clone of ``primary`` made from a backup."""
    clone = keep(Cluster(primary.backup(new_path()), primary.pg_config, password=primary.password))
    clone.configure()
    clone.start()
    return clone


def _one(cluster: Cluster, query: str) -> str | None:
    return cluster.sql(query)[0][0]


# -- backups ------------------------------------------------------------------------------


def test_backup_starts_as_a_primary_of_its_own(primary: Cluster, new_path: NewPath) -> None:
    path = new_path()
    assert primary.backup(path) == path
    clone = Cluster(path, primary.pg_config)
    try:
        assert not os.path.exists(clone.log_path), "the primary's log was copied"
        assert clone._read_meta() == {"superuser": primary.user}
        clone.configure()
        clone.start()
        assert clone.port != primary.port and clone.host != primary.host
        assert not clone.is_standby
        assert clone.sql("SELECT count(*) FROM seed") == [("3",)]
    finally:
        clone.drop()
    assert not os.path.lexists(path)


def test_backup_passes_options_to_pg_basebackup(primary: Cluster, new_path: NewPath) -> None:
    path = primary.backup(new_path(), label="boss label", wal_method="fetch")
    try:
        with open(os.path.join(path, "backup_label"), encoding="utf-8") as fo:
            assert "LABEL: boss label" in fo.read()
    finally:
        remove_backup(path)
    assert not os.path.lexists(path)


def test_backup_failure_leaves_nothing(primary: Cluster, new_path: NewPath) -> None:
    path = new_path()
    with pytest.raises(BackupError) as info:
        primary.backup(path, no_such_option=True)
    assert "no-such-option" in str(info.value)
    assert not os.path.lexists(path)


def test_backup_of_a_stopped_cluster_says_so(own_primary: Cluster, new_path: NewPath) -> None:
    own_primary.stop()
    path = new_path()
    with pytest.raises(ReplicationError, match="is not running; start it first"):
        own_primary.backup(path)
    assert not os.path.lexists(path)


# -- standbys -----------------------------------------------------------------------------


def test_replica_is_a_streaming_hot_standby(
    primary: Cluster, new_path: NewPath, keep: Keep
) -> None:
    standby = keep(primary.replica(new_path()))
    assert standby.running() and standby.is_standby and not primary.is_standby
    assert (standby.host, standby.port) != (primary.host, primary.port)
    assert standby.sql("SELECT count(*) FROM seed") == [("3",)]
    with pytest.raises(SQLError) as info:
        standby.sql("CREATE TABLE nope (a int)")
    assert info.value.sqlstate == "25006"  # read-only transaction
    name = standby._read_meta()["application_name"]
    standby.catch_up()
    rows = primary.sql(f"SELECT state FROM pg_stat_replication WHERE application_name = '{name}'")
    assert rows == [("streaming",)]


def test_catch_up_sees_unflushed_commits(primary: Cluster, new_path: NewPath, keep: Keep) -> None:
    standby = keep(primary.replica(new_path()))
    primary.sql("CREATE TABLE fresh AS SELECT g FROM generate_series(1, 100) g")
    try:
        lsn = standby.catch_up()
        assert standby.sql("SELECT count(*) FROM fresh") == [("100",)]
        assert _one(standby, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'") == "t"
    finally:
        primary.sql("DROP TABLE fresh")


def test_catch_up_of_a_primary_is_an_error(primary: Cluster) -> None:
    with pytest.raises(NotAStandbyError, match="is not a standby"):
        primary.catch_up()


def test_replica_of_a_stopped_cluster_leaves_nothing(
    own_primary: Cluster, new_path: NewPath
) -> None:
    own_primary.stop()
    path = new_path()
    with pytest.raises(ReplicationError, match="not running"):
        own_primary.replica(path)
    assert not os.path.lexists(path)


def test_replica_without_start(primary: Cluster, new_path: NewPath, keep: Keep) -> None:
    standby = keep(primary.replica(new_path(), start=False))
    assert not standby.running()
    standby.start()
    assert standby.is_standby


def test_cascading_standby(primary: Cluster, new_path: NewPath, keep: Keep) -> None:
    first = keep(primary.replica(new_path()))
    second = keep(first.replica(new_path()))
    assert second.is_standby
    primary.sql("CREATE TABLE cascade AS SELECT 42 AS answer")
    try:
        second.catch_up()
        assert second.sql("SELECT answer FROM cascade") == [("42",)]
        name = second._read_meta()["application_name"]
        rows = first.sql(f"SELECT state FROM pg_stat_replication WHERE application_name = '{name}'")
        assert rows == [("streaming",)], "the second standby streams from the first"
        assert primary.sql(
            f"SELECT count(*) FROM pg_stat_replication WHERE application_name = '{name}'"
        ) == [("0",)]
    finally:
        primary.sql("DROP TABLE cascade")


def test_backup_of_a_standby_copies_its_primary(
    primary: Cluster, new_path: NewPath, keep: Keep
) -> None:
    standby = keep(primary.replica(new_path()))
    clone = keep(Cluster(standby.backup(new_path()), primary.pg_config))
    clone.configure()
    clone.start()
    assert not clone.is_standby
    assert clone.sql("SELECT count(*) FROM seed") == [("3",)]


def test_backup_of_a_standby_without_its_primary_says_why(
    own_primary: Cluster, new_path: NewPath, keep: Keep
) -> None:
    standby = keep(own_primary.replica(new_path()))
    own_primary.stop()
    path = new_path()
    with pytest.raises(ReplicationError, match="full_page_writes off"):
        standby.backup(path)
    assert not os.path.lexists(path)


def test_synchronous_standby(own_primary: Cluster, new_path: NewPath, keep: Keep) -> None:
    standby = keep(own_primary.replica(new_path(), synchronous=True))
    name = standby._read_meta()["application_name"]
    assert _one(own_primary, "SHOW synchronous_commit") == "on"
    assert name in str(_one(own_primary, "SHOW synchronous_standby_names"))
    own_primary.sql("CREATE TABLE waited AS SELECT 1 AS a")  # returns once the standby has it
    rows = own_primary.sql(
        f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{name}'"
    )
    assert rows == [("sync",)]
    standby.drop()
    assert _one(own_primary, "SHOW synchronous_commit") == "off"
    assert _one(own_primary, "SHOW synchronous_standby_names") == ""


def test_synchronous_standby_of_a_standby_is_refused(
    primary: Cluster, new_path: NewPath, keep: Keep
) -> None:
    standby = keep(primary.replica(new_path()))
    path = new_path()
    with pytest.raises(ReplicationError, match="only waits for standbys of the primary"):
        standby.replica(path, synchronous=True)
    assert not os.path.lexists(path)


@pytest.mark.parametrize("slot", [True, "named_slot"], ids=["generated", "named"])
def test_slot_lives_as_long_as_the_standby(
    primary: Cluster, new_path: NewPath, slot: str | bool
) -> None:
    standby = primary.replica(new_path(), slot=slot)
    try:
        name = standby._read_meta()["slot"]
        assert slot is True or name == slot
        standby.catch_up()
        query = f"SELECT active FROM pg_replication_slots WHERE slot_name = '{name}'"
        assert primary.sql(query) == [("t",)]
    finally:
        standby.drop()
    assert primary.sql(query) == []


def test_bad_slot_name_is_refused_before_anything(primary: Cluster, new_path: NewPath) -> None:
    path = new_path()
    with pytest.raises(SlotNameError, match="invalid replication slot name"):
        primary.replica(path, slot="Bad-Name")
    assert not os.path.lexists(path)


def test_missing_replication_rule_is_added(
    own_primary: Cluster, new_path: NewPath, keep: Keep
) -> None:
    with open(own_primary.hba_path, "w", encoding="utf-8") as fo:
        fo.write("local all all trust\n")
    own_primary.reload()
    standby = keep(own_primary.replica(new_path()))
    standby.catch_up()
    with open(own_primary.hba_path, encoding="utf-8") as fo:
        first = fo.readline().split()
    assert first == ["local", "replication", own_primary.user, "trust"]


def test_password_rule_gets_the_password(
    own_primary: Cluster, new_path: NewPath, keep: Keep
) -> None:
    with open(own_primary.hba_path, "w", encoding="utf-8") as fo:
        fo.write("local all all scram-sha-256\nlocal replication all scram-sha-256\n")
    own_primary.reload()
    standby = keep(own_primary.replica(new_path()))
    standby.catch_up()
    assert standby.is_standby


def test_rejecting_rule_is_named(own_primary: Cluster, new_path: NewPath) -> None:
    with open(own_primary.hba_path, "w", encoding="utf-8") as fo:
        fo.write("local replication all reject\nlocal all all trust\n")
    own_primary.reload()
    path = new_path()
    with pytest.raises(ReplicationError, match=r"pg_hba.conf:1 .*'reject'"):
        own_primary.replica(path)
    assert not os.path.lexists(path)


# -- promotion and crashes ------------------------------------------------------------------


def test_promote(primary: Cluster, new_path: NewPath, keep: Keep) -> None:
    standby = keep(primary.replica(new_path()))
    standby.promote()
    assert not standby.is_standby
    standby.sql("CREATE TABLE mine (a int)")
    with pytest.raises(NotAStandbyError):
        standby.promote()
    with pytest.raises(NotAStandbyError):
        standby.catch_up()


def test_promote_a_synchronous_standby_frees_the_primary(
    own_primary: Cluster, new_path: NewPath, keep: Keep
) -> None:
    standby = keep(own_primary.replica(new_path(), synchronous=True))
    standby.promote()
    assert _one(own_primary, "SHOW synchronous_standby_names") == ""
    own_primary.sql("CREATE TABLE not_waiting (a int)")


def test_promote_with_the_primary_stopped(
    own_primary: Cluster, new_path: NewPath, keep: Keep
) -> None:
    standby = keep(own_primary.replica(new_path()))
    own_primary.sql("CREATE TABLE before_failover AS SELECT 7 AS a")
    standby.catch_up()
    own_primary.stop()
    standby.promote(timeout=30)
    assert not standby.is_standby
    standby.sql("INSERT INTO before_failover VALUES (8)")
    assert standby.sql("SELECT a FROM before_failover ORDER BY a") == [("7",), ("8",)]


def _shared_memory_ids() -> set[str]:
    with open("/proc/sysvipc/shm", encoding="ascii") as fo:
        return {line.split()[1] for line in fo.read().splitlines()[1:]}


def test_kill_then_start_recovers(own_primary: Cluster) -> None:
    own_primary.sql(
        "SET synchronous_commit = on; CREATE TABLE survives AS SELECT 5 AS a"
    )  # flushed: a crash keeps it
    pid = own_primary.pid()
    shmid = (read_pid_file(own_primary.data_dir) or [""] * 7)[6].split()[-1]
    own_primary.kill()
    assert not own_primary.running()
    assert pid is not None and not os.path.exists(f"/proc/{pid}")
    assert shmid not in _shared_memory_ids(), "the killed server's shared memory stayed"
    offset = os.path.getsize(own_primary.log_path)
    own_primary.start()
    with open(own_primary.log_path, encoding="utf-8", errors="replace") as fo:
        fo.seek(offset)
        assert "not properly shut down" in fo.read()
    assert own_primary.sql("SELECT a FROM survives") == [("5",)]


def test_kill_a_stopped_server_is_an_error(own_primary: Cluster) -> None:
    own_primary.stop()
    with pytest.raises(NotRunningError, match="not running"):
        own_primary.kill()


def test_killed_standby_restarts_as_a_standby(
    primary: Cluster, new_path: NewPath, keep: Keep
) -> None:
    standby = keep(primary.replica(new_path()))
    standby.kill()
    standby.start()
    assert standby.is_standby
    standby.catch_up()


def test_standby_of_a_killed_primary_can_be_promoted(
    own_primary: Cluster, new_path: NewPath, keep: Keep
) -> None:
    standby = keep(own_primary.replica(new_path()))
    standby.catch_up()
    own_primary.kill()
    standby.promote()
    assert not standby.is_standby
