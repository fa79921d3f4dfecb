# ruff: noqa: E501 (the inner suites are source text; their lines read best unbroken)
"""The fixtures and markers on real servers, through inner pytest runs (one per major).

Each inner suite runs its tests in file order, so a test can check that what the previous
one changed is gone. PostgreSQL's own defaults (work_mem 4MB, shared_buffers 128MB,
max_connections 100) are the "default" the next test must see.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from suites import HBA_SUITE

InnerRun = Callable[..., pytest.RunResult]


def test_pg_conf_marker_applies_and_is_undone(
    pytester: pytest.Pytester, run_inner: InnerRun
) -> None:
    pytester.makepyfile(
        test_inner="""
        import pytest

        def show(cluster, name):
            return cluster.sql(f"SHOW {name}")[0][0]

        @pytest.mark.pg_conf(work_mem="12MB")
        def test_reloadable(pg_cluster):
            assert show(pg_cluster, "work_mem") == "12MB"

        def test_reloadable_gone(pg_cluster):
            assert show(pg_cluster, "work_mem") == "4MB"

        @pytest.mark.pg_conf(shared_buffers="64MB", max_connections=42)
        def test_restart_only(pg_cluster):
            assert show(pg_cluster, "shared_buffers") == "64MB"
            assert show(pg_cluster, "max_connections") == "42"

        def test_restart_only_gone(pg_cluster):
            assert show(pg_cluster, "shared_buffers") == "128MB"
            assert show(pg_cluster, "max_connections") == "100"

        @pytest.mark.pg_conf({"auto_explain.log_min_duration": 0, "myapp.mode": "test"})
        def test_dotted_names(pg_cluster):
            assert show(pg_cluster, "auto_explain.log_min_duration") == "0"
            assert pg_cluster.sql("SELECT current_setting('myapp.mode')") == [("test",)]

        def test_dotted_gone(pg_cluster):
            rows = pg_cluster.sql("SELECT current_setting('myapp.mode', true)")
            assert rows in ([(None,)], [("",)])

        @pytest.mark.pg_conf(enable_seqscan=False, random_page_cost=1.5)
        def test_bool_and_float(pg_cluster):
            assert show(pg_cluster, "enable_seqscan") == "off"
            assert show(pg_cluster, "random_page_cost") == "1.5"
        """
    )
    result = run_inner("-v")
    result.assert_outcomes(passed=7)


def test_markers_merge_closest_wins(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    pytester.makepyfile(
        test_inner="""
        import pytest

        pytestmark = pytest.mark.pg_conf(work_mem="2MB", statement_timeout="5s")

        def show(cluster, name):
            return cluster.sql(f"SHOW {name}")[0][0]

        def test_module_level(pg_cluster):
            assert show(pg_cluster, "work_mem") == "2MB"
            assert show(pg_cluster, "statement_timeout") == "5s"

        @pytest.mark.pg_conf(work_mem="3MB", max_connections=30)
        class TestClass:
            def test_class_level(self, pg_cluster):
                assert show(pg_cluster, "work_mem") == "3MB"
                assert show(pg_cluster, "statement_timeout") == "5s"
                assert show(pg_cluster, "max_connections") == "30"

            @pytest.mark.pg_conf(work_mem="12MB")
            def test_function_level(self, pg_cluster):
                assert show(pg_cluster, "work_mem") == "12MB"
                assert show(pg_cluster, "statement_timeout") == "5s"
                assert show(pg_cluster, "max_connections") == "30"

        @pytest.mark.pg_conf(work_mem="13MB")
        @pytest.mark.pg_conf(lock_timeout="7s")
        def test_stacked_markers(pg_cluster):
            assert show(pg_cluster, "work_mem") == "13MB"
            assert show(pg_cluster, "lock_timeout") == "7s"
            assert show(pg_cluster, "statement_timeout") == "5s"
        """
    )
    result = run_inner("-v")
    result.assert_outcomes(passed=4)


def test_pg_conf_fixture(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    pytester.makepyfile(
        test_inner="""
        import pytest
        from collections.abc import MutableMapping

        def show(cluster, name):
            return cluster.sql(f"SHOW {name}")[0][0]

        def test_read_set_delete(pg_conf, pg_cluster):
            assert isinstance(pg_conf, MutableMapping)
            assert pg_conf["work_mem"] == "4MB"
            pg_conf["work_mem"] = "12MB"
            assert show(pg_cluster, "work_mem") == "12MB"
            assert pg_conf["work_mem"] == "12MB"
            del pg_conf["work_mem"]
            assert show(pg_cluster, "work_mem") == "4MB"
            with pytest.raises(KeyError):
                del pg_conf["work_mem"]

        def test_restart_level_applies_at_once(pg_conf, pg_cluster):
            pg_conf["max_connections"] = 50
            assert show(pg_cluster, "max_connections") == "50"

        @pytest.mark.pg_conf(work_mem="6MB")
        def test_del_restores_the_marker_value(pg_conf, pg_cluster):
            pg_conf["work_mem"] = "7MB"
            del pg_conf["work_mem"]
            assert show(pg_cluster, "work_mem") == "6MB"

        def test_update_and_dotted(pg_conf, pg_cluster):
            pg_conf.update({"auto_explain.log_min_duration": 0}, work_mem="5MB")
            assert pg_conf["auto_explain.log_min_duration"] == "0"
            assert show(pg_cluster, "work_mem") == "5MB"
            assert "work_mem" in pg_conf
            assert "no_such_setting" not in pg_conf
            assert pg_conf.get("no_such_setting", "absent") == "absent"
            assert len(pg_conf) > 100

        def test_clear_drops_the_tests_own_values(pg_conf, pg_cluster):
            pg_conf.update(work_mem="5MB", max_connections=60)
            pg_conf.clear()
            assert show(pg_cluster, "work_mem") == "4MB"
            assert show(pg_cluster, "max_connections") == "100"

        def test_rejected_value_changes_nothing(pg_conf, pg_cluster):
            pg_conf["work_mem"] = "9MB"
            with pytest.raises(ValueError, match='invalid value for parameter "work_mem"'):
                pg_conf["work_mem"] = "12XB"
            assert show(pg_cluster, "work_mem") == "9MB"
            with pytest.raises(KeyError, match="did you mean 'work_mem'"):
                pg_conf["wrk_mem"] = "1MB"
            with pytest.raises(ValueError, match="port"):
                pg_conf["port"] = 1

        def test_everything_undone(pg_cluster):
            assert show(pg_cluster, "work_mem") == "4MB"
            assert show(pg_cluster, "max_connections") == "100"
            assert pg_cluster.sql("SELECT current_setting('auto_explain.log_min_duration', true)")[0][0] in (None, "")
        """
    )
    result = run_inner("-v")
    result.assert_outcomes(passed=7)


def test_pg_hba_marker_and_fixture(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    pytester.makepyfile(test_inner=HBA_SUITE)
    result = run_inner("-v")
    result.assert_outcomes(passed=6)


def test_pg_database_from_sql_files_and_callables(
    pytester: pytest.Pytester, run_inner: InnerRun
) -> None:
    pytester.makeini(
        """
        [pytest]
        pg_template =
            sql/*.sql
            fill:add_rows
        """
    )
    pytester.mkdir("sql")
    pytester.path.joinpath("sql", "01_schema.sql").write_text(
        "CREATE TABLE item (id int PRIMARY KEY, name text);\n"
    )
    pytester.path.joinpath("sql", "02_data.sql").write_text("INSERT INTO item VALUES (1, 'a');\n")
    pytester.makepyfile(
        fill="""
        CALLS = []

        def add_rows(database):
            database.sql("INSERT INTO item VALUES (2, 'b')")
        """,
        test_inner="""
        import psycopg

        seen = []

        def test_first(pg_database):
            assert pg_database.sql("SELECT id, name FROM item ORDER BY id") == [("1", "a"), ("2", "b")]
            pg_database.sql("INSERT INTO item VALUES (3, 'c')")
            seen.append(pg_database.name)

        def test_second_is_fresh(pg_database, pg_cluster):
            assert pg_database.sql("SELECT count(*) FROM item") == [("2",)]
            assert pg_database.name != seen[0]
            assert pg_database.cluster is pg_cluster
            with psycopg.connect(pg_database.dsn()) as conn:
                assert conn.execute("SELECT current_database()").fetchone()[0] == pg_database.name
            with psycopg.connect(pg_database.url()) as conn:
                assert conn.execute("SELECT current_database()").fetchone()[0] == pg_database.name

        def test_first_was_dropped(pg_cluster):
            assert pg_cluster.sql(f"SELECT count(*) FROM pg_database WHERE datname = '{seen[0]}'") == [("0",)]
        """,
    )
    result = run_inner("-v")
    result.assert_outcomes(passed=3)


def test_pg_template_loader_fixture_overrides_the_ini_key(
    pytester: pytest.Pytester, run_inner: InnerRun
) -> None:
    pytester.makeini("[pytest]\npg_template = nothing_here.sql\n")
    pytester.makeconftest(
        """
        import pytest

        LOADS = []

        @pytest.fixture(scope="session")
        def pg_template_loader():
            def load(database):
                LOADS.append(database.name)
                database.sql("CREATE TABLE from_conftest (x int)")
            return load
        """
    )
    pytester.makepyfile(
        test_inner="""
        import pytest
        from conftest import LOADS

        @pytest.mark.parametrize("n", range(3))
        def test_loaded_once(pg_database, n):
            assert pg_database.sql("SELECT count(*) FROM from_conftest") == [("0",)]
            assert len(LOADS) == 1
        """
    )
    result = run_inner("-v")
    result.assert_outcomes(passed=3)


def test_pg_cluster_factory(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    pytester.makepyfile(
        test_inner="""
        import os
        import psycopg
        import pytest

        made = []

        def test_private_clusters(pg_cluster_factory):
            primary = pg_cluster_factory(conf={"wal_level": "logical", "work_mem": "3MB"},
                                         hba=["host all bob 127.0.0.1/32 reject"])
            other = pg_cluster_factory(encoding="LATIN1", locale="C")
            made.extend([primary.data_dir, other.data_dir])
            assert primary.sql("SHOW wal_level; SHOW work_mem") == [("logical",), ("3MB",)]
            assert other.sql("SHOW server_encoding") == [("LATIN1",)]
            assert primary.port != other.port
            primary.sql("CREATE ROLE bob LOGIN PASSWORD 'pw'")
            with pytest.raises(psycopg.OperationalError, match="rejects connection"):
                psycopg.connect(host="127.0.0.1", port=primary.port, user="bob",
                                password="pw", dbname="postgres")

        def test_removed_after(pg_cluster_factory):
            assert made and not any(os.path.exists(path) for path in made)

        def test_bad_conf(pg_cluster_factory):
            with pytest.raises(KeyError, match="did you mean 'work_mem'"):
                pg_cluster_factory(conf={"wrk_mem": "1MB"})
        """
    )
    result = run_inner("-v")
    result.assert_outcomes(passed=3)


def test_a_broken_cluster_does_not_break_the_next_test(
    pytester: pytest.Pytester, run_inner: InnerRun
) -> None:
    pytester.makepyfile(
        test_inner="""
        import os
        import signal
        import pytest

        def healthy(cluster):
            assert cluster.sql("SHOW work_mem; SHOW shared_buffers") == [("4MB",), ("128MB",)]
            assert cluster.sql("SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE '%auto.conf'") == [("0",)]

        def test_stops_it(pg_cluster):
            pg_cluster.stop()

        def test_after_stop(pg_cluster):
            healthy(pg_cluster)

        def test_kills_it(pg_cluster):
            os.kill(pg_cluster.pid(), signal.SIGKILL)

        def test_after_kill(pg_cluster):
            healthy(pg_cluster)

        def test_alter_system(pg_cluster):
            pg_cluster.sql("ALTER SYSTEM SET work_mem = '77MB'")
            pg_cluster.sql("ALTER SYSTEM SET shared_buffers = '77MB'")
            pg_cluster.sql("SELECT pg_reload_conf()")

        def test_after_alter_system(pg_cluster):
            healthy(pg_cluster)

        def test_corrupts_the_file(pg_cluster):
            with open(pg_cluster.config_path, "a") as fo:
                fo.write("shared_buffers = 'not a size'\\n")
            pg_cluster.stop()

        def test_after_corrupt_file(pg_cluster):
            healthy(pg_cluster)

        @pytest.mark.pg_hba("local all all reject", "host all all all reject", replace=True)
        def test_locks_everyone_out(pg_cluster):
            with pytest.raises(Exception, match="pg_hba.conf rejects"):
                pg_cluster.sql("SELECT 1")

        def test_after_lock_out(pg_cluster):
            healthy(pg_cluster)
        """
    )
    result = run_inner("-v")
    result.assert_outcomes(passed=10)


def test_composes_with_parametrize_and_fixtures_of_every_scope(
    pytester: pytest.Pytester, run_inner: InnerRun
) -> None:
    pytester.makepyfile(
        test_inner="""
        import pytest

        @pytest.fixture(scope="session")
        def app_settings():
            return {"name": "app"}

        @pytest.fixture(scope="module")
        def greeting():
            return "hello"

        @pytest.fixture(scope="class")
        def counter():
            return []

        @pytest.fixture
        def users(pg_database, app_settings):
            pg_database.sql("CREATE TABLE users (name text)")
            return pg_database

        @pytest.fixture(params=["1MB", "2MB"])
        def mem(request, pg_conf):
            pg_conf["work_mem"] = request.param
            return request.param

        def test_fixture_param(mem, pg_cluster):
            assert pg_cluster.sql("SHOW work_mem") == [(mem,)]

        @pytest.mark.parametrize("mb", [
            pytest.param("8MB", marks=pytest.mark.pg_conf(work_mem="8MB")),
            pytest.param("64MB", marks=pytest.mark.pg_conf(shared_buffers="64MB")),
        ])
        def test_marked_params(pg_cluster, mb):
            assert (mb,) in pg_cluster.sql("SHOW work_mem; SHOW shared_buffers")

        class TestUsers:
            @pytest.mark.parametrize("name", ["ann", "bo"])
            def test_insert(self, users, greeting, counter, name):
                users.sql(f"INSERT INTO users VALUES ('{name}')")
                counter.append(name)
                assert users.sql("SELECT count(*) FROM users") == [("1",)]
        """
    )
    result = run_inner("-v")
    result.assert_outcomes(passed=6)


def test_works_without_a_python_driver(pytester: pytest.Pytester, run_inner: InnerRun) -> None:
    # psycopg is optional: without it the plugin's own queries go through psql.
    pytester.makeconftest(
        """
        import pytest_boss.admin

        pytest_boss.admin._driver = lambda: None
        """
    )
    pytester.makepyfile(
        test_inner="""
        import pytest

        @pytest.mark.pg_conf(work_mem="12MB")
        @pytest.mark.pg_hba("host all alice 127.0.0.1/32 reject")
        def test_marked(pg_cluster, pg_hba, pg_conf):
            assert pg_conf["work_mem"] == "12MB"
            assert "alice" in str(pg_hba[0])
            with pytest.raises(KeyError):
                pg_conf["no_such_setting"]
            pg_conf["work_mem"] = "13MB"
            assert pg_cluster.sql("SHOW work_mem") == [("13MB",)]

        def test_database(pg_database, pg_cluster):
            pg_database.sql("CREATE TABLE t (x int)")
            assert pg_cluster.sql("SHOW work_mem") == [("4MB",)]

        def test_database_again(pg_database):
            assert pg_database.sql("SELECT count(*) FROM pg_tables WHERE tablename = 't'") == [("0",)]
        """
    )
    run_inner("-v").assert_outcomes(passed=3)


def test_a_cluster_moved_by_alter_system_is_brought_back(
    pytester: pytest.Pytester, run_inner: InnerRun
) -> None:
    pytester.makepyfile(
        test_inner="""
        import socket

        PORTS = []

        def free_port():
            # Just handed out by the system: not a port another worker's cluster holds.
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                return sock.getsockname()[1]

        def test_moves_it(pg_cluster):
            PORTS.append(pg_cluster.port)
            pg_cluster.sql(f"ALTER SYSTEM SET port = {free_port()}")
            pg_cluster.restart()

        def test_back_on_its_port(pg_cluster):
            assert pg_cluster.port == PORTS[0]
            assert pg_cluster.sql("SHOW port") == [(str(PORTS[0]),)]
        """
    )
    run_inner("-v").assert_outcomes(passed=2)
