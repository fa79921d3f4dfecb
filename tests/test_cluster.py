"""Cluster on real servers: create, configure, query, parameters, control, drop, as root too."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from pytest_boss.boss.cluster import (
    DEFAULT_CONFIG_FILENAME,
    DEFAULT_HBA_FILENAME,
    Cluster,
    ClusterError,
    SQLError,
    libpq_quote,
)
from pytest_boss.boss.control import (
    AlreadyRunningError,
    ControlWarning,
    NotAClusterError,
    NotRunningError,
    PortInUseError,
    ReloadError,
)
from pytest_boss.boss.installation import Installation, InstallationError
from pytest_boss.boss.privileges import clean_env

MakeCluster = Callable[..., Cluster]


# -- pure functions -------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("plain", "plain", id="plain"),
        pytest.param("", "''", id="empty"),
        pytest.param("two words", "'two words'", id="blank"),
        pytest.param("it's", r"'it\'s'", id="quote"),
        pytest.param("back\\slash", r"'back\\slash'", id="backslash"),
        pytest.param("/tmp/x=y", "/tmp/x=y", id="equals-needs-no-quotes"),
    ],
)
def test_libpq_quote(value: str, expected: str) -> None:
    assert libpq_quote(value) == expected


# -- the shared cluster: queries and facts ----------------------------------------------------


def test_create_start_select_1(cluster: Cluster) -> None:
    assert cluster.running()
    assert cluster.sql("select 1") == [("1",)]


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        pytest.param("SELECT NULL::text", [(None,)], id="null"),
        pytest.param("SELECT ''", [("",)], id="empty-string"),
        pytest.param("SELECT '', NULL, 'x'", [("", None, "x")], id="empty-null-text"),
        pytest.param("SELECT 'a,b', '\"q\"'", [("a,b", '"q"')], id="separators-quotes"),
        pytest.param("SELECT E'l1\\nl2\\r\\n'", [("l1\nl2\r\n",)], id="newlines"),
        pytest.param("SELECT 'é€😀'", [("é€😀",)], id="unicode"),
        pytest.param("SELECT 'NULL', '\\N'", [("NULL", "\\N")], id="null-lookalikes"),
        pytest.param(
            "SELECT g, g * 2 FROM generate_series(1, 3) g",
            [("1", "2"), ("2", "4"), ("3", "6")],
            id="rows",
        ),
        pytest.param("SELECT 1 WHERE false", [], id="no-rows"),
        pytest.param("SELECT 1; SELECT 2", [("1",), ("2",)], id="two-statements"),
        pytest.param("CREATE TEMP TABLE t (a int); DROP TABLE t", [], id="commands"),
        pytest.param("SELECT 1 AS x", [("1",)], id="no-semicolon-needed"),
    ],
)
def test_sql_rows(cluster: Cluster, query: str, rows: list[tuple[str | None, ...]]) -> None:
    assert cluster.sql(query) == rows


@pytest.mark.parametrize(
    ("query", "sqlstate", "message"),
    [
        pytest.param("SELECT 1/0", "22012", "division by zero", id="division"),
        pytest.param("SELEC 1", "42601", 'syntax error at or near "SELEC"', id="syntax"),
        pytest.param("SELECT * FROM nowhere", "42P01", 'relation "nowhere"', id="relation"),
    ],
)
def test_sql_error_carries_the_server_message(
    cluster: Cluster, query: str, sqlstate: str, message: str
) -> None:
    with pytest.raises(SQLError) as info:
        cluster.sql(query)
    error = info.value
    assert error.sqlstate == sqlstate
    assert message in error.message
    assert error.query == query and message in str(error)


def test_sql_stops_at_the_first_error(cluster: Cluster) -> None:
    with pytest.raises(SQLError):
        cluster.sql("CREATE TABLE stop_here (a int); SELECT 1/0; DROP TABLE stop_here")
    try:
        assert cluster.sql("SELECT count(*) FROM stop_here") == [("0",)]
    finally:
        cluster.sql("DROP TABLE stop_here")


def test_sql_unknown_database(cluster: Cluster) -> None:
    with pytest.raises(SQLError) as info:
        cluster.sql("SELECT 1", dbname="no_such_db")
    assert 'database "no_such_db" does not exist' in info.value.message
    assert info.value.dbname == "no_such_db"


def test_sql_in_another_database(cluster: Cluster) -> None:
    assert cluster.sql("SELECT current_database()", dbname="template1") == [("template1",)]


def test_connection_facts(cluster: Cluster) -> None:
    rows = cluster.sql(
        "SELECT current_setting('unix_socket_directories'), current_setting('port'),"
        " current_user, current_setting('listen_addresses'), current_setting('fsync'),"
        " current_setting('synchronous_commit'), current_setting('full_page_writes'),"
        " current_setting('logging_collector'), current_setting('data_directory')"
    )
    assert rows == [
        (cluster.host, str(cluster.port), cluster.user, "127.0.0.1", *["off"] * 4, cluster.data_dir)
    ]
    assert cluster.address == "127.0.0.1"


def test_socket_folder_is_short_and_private(cluster: Cluster) -> None:
    socket_path = os.path.join(cluster.host, f".s.PGSQL.{cluster.port}")
    assert len(socket_path.encode()) < 107
    st = os.stat(cluster.host)
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert st.st_uid == cluster.server_user.uid
    assert stat.S_ISSOCK(os.stat(socket_path).st_mode)


def test_dsn_over_the_socket(cluster: Cluster) -> None:
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(cluster.dsn()) as conn:
        row = conn.execute("SELECT current_user, inet_server_addr() IS NULL").fetchone()
    assert row == (cluster.user, True)  # no address: a unix socket


def test_dsn_parameters(cluster: Cluster) -> None:
    dsn = cluster.dsn("template1", application_name="boss test", password=None)
    assert "dbname=template1" in dsn and "application_name='boss test'" in dsn
    assert "password" not in dsn
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT current_setting('application_name')").fetchone() == (
            "boss test",
        )


@pytest.fixture
def odd_password(cluster: Cluster) -> Iterator[str]:
    """The superuser's password set to one needing every kind of quoting, then restored."""
    original = cluster.password
    assert original is not None
    odd = "p@ss:w/rd %?#'\" \\é"
    cluster.set_password(odd)
    yield odd
    cluster.set_password(original)


def test_set_password_never_sends_the_password(cluster: Cluster) -> None:
    """The server gets a SCRAM verifier: TCP logins with the password work, and a log of
    every statement does not hold it."""
    psycopg = pytest.importorskip("psycopg")
    original = cluster.password
    assert original is not None
    password = "Fresh-" + os.urandom(12).hex()
    cluster.set_parameters({"log_statement": "all"})
    cluster.reload()
    offset = os.path.getsize(cluster.log_path)
    try:
        cluster.set_password(password)
        with psycopg.connect(cluster.dsn(host=cluster.address), connect_timeout=10) as conn:
            (stored,) = conn.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = current_user"
            ).fetchone()
        assert stored.startswith("SCRAM-SHA-256$4096:")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(cluster.dsn(host=cluster.address, password=password[:-1]))
        with open(cluster.log_path, encoding="utf-8", errors="replace") as fo:
            fo.seek(offset)
            logged = fo.read()
        assert "ALTER ROLE" in logged and password not in logged
    finally:
        cluster.set_password(original)


def test_tcp_login_with_dsn_and_url(cluster: Cluster, odd_password: str) -> None:
    psycopg = pytest.importorskip("psycopg")
    url = cluster.url()
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port) == ("postgresql", "127.0.0.1", cluster.port)
    assert unquote(parts.password or "") == odd_password
    for target in (cluster.dsn(host=cluster.address), url):
        with psycopg.connect(target) as conn:
            row = conn.execute("SELECT inet_server_addr()::text").fetchone()
        assert row == ("127.0.0.1/32",)


def test_tcp_login_needs_the_password(cluster: Cluster) -> None:
    psycopg = pytest.importorskip("psycopg")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(cluster.dsn(host=cluster.address, password="wrong"))
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.dsn(host=cluster.address, password=None))


def test_generated_passwords_differ(cluster: Cluster, make_cluster: MakeCluster) -> None:
    """Two clusters never share a password (and it is long enough to be one)."""
    first, second = cluster, make_cluster()
    assert first.password and second.password
    assert first.password != second.password
    assert len(first.password) >= 20


# -- parameters ---------------------------------------------------------------------------------


def test_file_names() -> None:
    assert (DEFAULT_CONFIG_FILENAME, DEFAULT_HBA_FILENAME) == ("postgresql.conf", "pg_hba.conf")
    assert Cluster.DEFAULT_CONFIG_FILENAME == DEFAULT_CONFIG_FILENAME


def test_get_and_select_parameters(cluster: Cluster) -> None:
    values = cluster.get_parameters(["port", "FSYNC", "no_such_setting"])
    assert values == {"port": str(cluster.port), "FSYNC": "off", "no_such_setting": None}
    selected = cluster.select_parameters(lambda name: name.startswith("full_page"))
    assert selected == {"full_page_writes": "off"}


def test_reloadable_parameter(cluster: Cluster) -> None:
    cluster.set_parameters({"work_mem": "7MB"})
    assert cluster.get_parameters(["work_mem"]) == {"work_mem": "7MB"}
    assert cluster.sql("SHOW work_mem") != [("7MB",)]  # written, not yet applied
    cluster.reload()
    assert cluster.sql("SHOW work_mem") == [("7MB",)]


def test_restart_only_parameter(cluster: Cluster) -> None:
    cluster.set_parameters({"max_connections": 42})
    lines = cluster.reload()
    assert any('"max_connections" cannot be changed without restarting' in line for line in lines)
    assert cluster.sql(
        "SELECT setting, pending_restart FROM pg_settings WHERE name = 'max_connections'"
    ) != [("42", "f")]
    cluster.restart()
    assert cluster.sql("SHOW max_connections") == [("42",)]


def test_reload_and_wait_runs_its_checks_with_the_given_query(cluster: Cluster) -> None:
    """The caller's query (a faster driver's) runs the check, and a setting that needs a
    restart is reported pending."""
    asked: list[str] = []

    def query(text: str) -> list[tuple[str | None, ...]]:
        asked.append(text)
        return cluster.sql(text)

    cluster.set_parameters({"max_connections": 43, "work_mem": "9MB"})
    done = cluster.reload_and_wait(query=query)
    assert asked and all("pg_conf_load_time()" in text for text in asked)
    assert (done.pending, done.admitted) == (["max_connections"], True)
    assert cluster.sql("SHOW work_mem") == [("9MB",)]


def test_reload_and_wait_takes_a_refusal_as_proof_when_told(cluster: Cluster) -> None:
    """Rules that shut the caller out are in force once a login is refused."""
    with open(cluster.hba_path, "w", encoding="utf-8") as fo:
        fo.write("local all all reject\nhost all all 127.0.0.1/32 reject\n")
    done = cluster.reload_and_wait(refused_means_done=True)
    assert (done.pending, done.admitted) == ([], False)
    with pytest.raises(SQLError, match=r"pg_hba\.conf rejects connection"):
        cluster.sql("SELECT 1")


def test_set_password_runs_through_the_given_query(cluster: Cluster) -> None:
    original = cluster.password
    assert original is not None
    asked: list[str] = []

    def query(text: str) -> list[tuple[str | None, ...]]:
        asked.append(text)
        return cluster.sql(text)

    try:
        cluster.set_password("Through-a-query-1", query=query)
        assert len(asked) == 1 and asked[0].startswith('ALTER ROLE "postgres" PASSWORD ')
        assert "Through-a-query-1" not in asked[0]
        assert cluster.password == "Through-a-query-1"
    finally:
        cluster.set_password(original)


def test_set_parameters_keeps_the_file_owner(cluster: Cluster) -> None:
    cluster.set_parameters({"work_mem": 8192})
    assert os.stat(cluster.config_path).st_uid == cluster.server_user.uid
    cluster.set_parameters({"work_mem": None})
    assert cluster.get_parameters(["work_mem"]) == {"work_mem": None}


def test_reload_of_a_rejected_file(cluster: Cluster) -> None:
    """A file the server rejects as a whole is an error at once, not a time-out."""
    with open(cluster.config_path, "a", encoding="utf-8") as fo:
        fo.write("include 'no-such-file.conf'\n")
    with pytest.raises(ReloadError) as info:
        cluster.reload(timeout=60)
    assert "no-such-file.conf" in info.value.log_tail


def test_reload_waits_even_when_the_rules_in_force_refuse_us(cluster: Cluster) -> None:
    """reload() asks nothing before signalling: restoring rules that shut everyone out works."""
    with open(cluster.hba_path, encoding="utf-8") as fo:
        original = fo.read()
    with open(cluster.hba_path, "w", encoding="utf-8") as fo:
        fo.write("local all all reject\nhost all all 127.0.0.1/32 reject\n")
    cluster.reload(wait=False)
    while True:  # until the refusing rules are in force
        try:
            cluster.sql("SELECT 1")
        except SQLError as exc:
            assert "pg_hba.conf rejects connection" in exc.message
            break
    with open(cluster.hba_path, "w", encoding="utf-8") as fo:
        fo.write(original)
    cluster.reload()
    assert cluster.sql("SELECT 1") == [("1",)]


# -- control --------------------------------------------------------------------------------------


def test_start_twice_is_an_error(cluster: Cluster) -> None:
    pid = cluster.pid()
    with pytest.raises(AlreadyRunningError):
        cluster.start()
    assert cluster.pid() == pid


@pytest.mark.parametrize("mode", ["smart", "fast", "immediate"])
def test_stop_modes_and_start_again(cluster: Cluster, mode: str) -> None:
    cluster.stop(mode)
    assert not cluster.running()
    assert not os.path.exists(os.path.join(cluster.host, f".s.PGSQL.{cluster.port}"))
    cluster.start()
    assert cluster.sql("SELECT 1") == [("1",)]


def test_stop_a_stopped_cluster_warns(cluster: Cluster) -> None:
    cluster.stop()
    with pytest.warns(ControlWarning):
        cluster.stop()


def test_stopped_cluster_cannot_be_queried_or_reloaded(cluster: Cluster) -> None:
    cluster.stop()
    with pytest.raises(SQLError) as info:
        cluster.sql("SELECT 1")
    assert cluster.host in info.value.message
    with pytest.raises(NotRunningError, match="not running"):
        cluster.reload()


def test_restart(cluster: Cluster) -> None:
    before = cluster.pid()
    cluster.restart()
    assert cluster.pid() not in (None, before)
    assert cluster.sql("SELECT 1") == [("1",)]


def test_server_process_is_not_root(cluster: Cluster) -> None:
    pid = cluster.pid()
    assert pid is not None
    with open(f"/proc/{pid}/status", encoding="ascii") as fo:
        uids = next(line for line in fo if line.startswith("Uid:")).split()[1:]
    assert {int(u) for u in uids} == {cluster.server_user.uid}
    assert cluster.server_user.uid != 0


def test_files_belong_to_the_server_user(cluster: Cluster) -> None:
    uid = cluster.server_user.uid
    for root, dirs, files in os.walk(cluster.data_dir):
        for name in [*dirs, *files]:
            assert os.lstat(os.path.join(root, name)).st_uid == uid, name
    assert os.stat(cluster.host).st_uid == uid


def test_log_is_a_file_in_the_data_directory(cluster: Cluster) -> None:
    assert os.path.dirname(cluster.log_path) == cluster.data_dir
    cluster.sql("DO $$ BEGIN RAISE LOG 'boss-log-marker'; END $$")
    with open(cluster.log_path, encoding="utf-8") as fo:
        assert "boss-log-marker" in fo.read()


# -- creation, adoption, drop ---------------------------------------------------------------------


def test_private_parent_folder_works(cluster: Cluster, cluster_base: str) -> None:
    """The clusters' parent is private (0700, the caller's): it is never loosened."""
    assert stat.S_IMODE(os.stat(cluster_base).st_mode) == 0o700
    assert os.path.dirname(cluster.path) == cluster_base
    if cluster.server_user.switching:
        assert os.path.islink(cluster.path)
        assert not cluster.data_dir.startswith(cluster_base)
    assert cluster.sql("SELECT 1") == [("1",)]


def test_pytest_tmp_path_works(pg_installation: Installation, tmp_path: Path) -> None:
    """pytest's own basetemp (mode 0700, on disk) is a fine place to ask for."""
    cluster = Cluster.create(tmp_path / "db", pg_installation)
    try:
        cluster.start()
        assert cluster.sql("SELECT current_setting('data_directory')") == [(cluster.data_dir,)]
    finally:
        cluster.drop()


def _leftovers(cluster: Cluster) -> list[str]:
    return [
        p
        for p in (cluster.path, cluster.data_dir, os.path.dirname(cluster.data_dir), cluster.host)
        if os.path.lexists(p) and p != os.path.dirname(cluster.path)
    ]


def test_drop_leaves_nothing(make_cluster: MakeCluster) -> None:
    cluster = make_cluster()
    cluster.start()
    places = _leftovers(cluster)
    assert cluster.path in places and cluster.host in places
    pid = cluster.pid()
    cluster.drop()
    assert [p for p in places if os.path.lexists(p)] == []
    assert pid is not None and not os.path.exists(f"/proc/{pid}")


def test_drop_stops_a_running_server_fast(make_cluster: MakeCluster) -> None:
    """Not immediate, though the data goes: an immediate shutdown right after a start kills
    children that may be making a shared memory segment, which then stays in /dev/shm."""
    cluster = make_cluster()
    cluster.start()
    # The log goes with the data: a second name on the same filesystem keeps it readable.
    kept = os.path.join(os.path.dirname(cluster.path), f"kept-{os.getpid()}.log")
    os.link(cluster.log_path, kept)
    try:
        cluster.drop()
        with open(kept, encoding="utf-8", errors="replace") as fo:
            log = fo.read()
    finally:
        os.remove(kept)
    assert "received fast shutdown request" in log
    assert "immediate shutdown" not in log


def test_drop_of_a_stopped_cluster(make_cluster: MakeCluster) -> None:
    cluster = make_cluster()
    places = _leftovers(cluster)
    cluster.drop()
    assert [p for p in places if os.path.lexists(p)] == []


def test_create_on_an_existing_path(pg_installation: Installation, tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="already exists"):
        Cluster.create(tmp_path, pg_installation)
    assert tmp_path.is_dir()


def test_create_with_initdb_options(make_cluster: MakeCluster) -> None:
    cluster = make_cluster(superuser="boss", encoding="SQL_ASCII", settings={"work_mem": "9MB"})
    cluster.start()
    try:
        assert cluster.user == "boss"
        assert cluster.sql("SELECT current_user; SHOW server_encoding; SHOW work_mem") == [
            ("boss",),
            ("SQL_ASCII",),
            ("9MB",),
        ]
    finally:
        cluster.stop()


def test_adopt_a_copy(
    make_cluster: MakeCluster, pg_installation: Installation, cluster_base: str
) -> None:
    """A copy of a stopped cluster, adopted and configured, runs beside the original."""
    original = make_cluster()
    user = original.server_user
    copy_path = tempfile.mkdtemp(prefix="copy-", dir=cluster_base)
    os.rmdir(copy_path)
    from pytest_boss.boss.privileges import place_directory, remove_placed

    real = place_directory(copy_path, user).real
    try:
        shutil.copytree(original.data_dir, real, symlinks=True, dirs_exist_ok=True)
        user.chown_tree(real)
        copy = Cluster(copy_path, pg_installation, password=original.password)
        assert copy.user == original.user  # remembered by create, carried by the copy
        copy.configure()
        assert (copy.host, copy.port) != (original.host, original.port)
        original.start()
        copy.start()
        assert copy.sql("SELECT current_setting('data_directory')") == [(copy.data_dir,)]
        assert original.sql("SELECT 1") == [("1",)]
        old_socket = original.host
        copy.drop()
        assert os.path.isdir(old_socket)  # the original's socket folder is its own
    finally:
        remove_placed(copy_path)
        if original.running():
            original.stop()


def test_not_a_cluster(pg_installation: Installation, tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, pg_installation)
    with pytest.raises(NotAClusterError, match="not a PostgreSQL data directory"):
        cluster.start()
    assert not cluster.running()


def test_forced_port_in_use(make_cluster: MakeCluster) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        cluster = make_cluster(port=port)
        with pytest.raises(PortInUseError) as info:
            cluster.start()
    assert "Address already in use" in info.value.log_tail
    assert not cluster.running()
    assert cluster.port == port  # a port asked for is never changed behind the caller's back


def test_chosen_port_taken_meanwhile_is_replaced(make_cluster: MakeCluster) -> None:
    cluster = make_cluster()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", cluster.port))
        holder.listen()
        cluster.start()
        try:
            assert cluster.port != holder.getsockname()[1]
            assert cluster.sql("SHOW port") == [(str(cluster.port),)]
        finally:
            cluster.stop()


def test_missing_binaries(tmp_path: Path) -> None:
    facts = {"bindir": str(tmp_path / "nothing" / "bin"), "version": "PostgreSQL 15.1"}
    with pytest.raises(InstallationError) as info:
        Cluster.create(tmp_path / "db", facts)
    assert "initdb, postgres" in str(info.value) and "apt install postgresql" in str(info.value)
    assert not (tmp_path / "db").exists()


def test_missing_psql(cluster: Cluster, tmp_path: Path) -> None:
    """An installation without psql can run servers, but sql() says what is missing."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("postgres", "initdb", "pg_ctl"):
        (bindir / name).symlink_to(os.path.join(cluster.bindir, name))
    other = Cluster(cluster.path, {"bindir": str(bindir), "version": cluster.version_string})
    with pytest.raises(InstallationError, match="psql"):
        other.sql("SELECT 1")


def test_psql_alone_is_enough_to_query(cluster: Cluster) -> None:
    """No Python driver needed: sql() runs psql, with a clean environment."""
    env = clean_env()
    assert not any(key.startswith("PG") for key in env)
    done = subprocess.run(
        [os.path.join(cluster.bindir, "psql"), "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=True,
    )
    assert str(cluster.version[0]) in done.stdout
