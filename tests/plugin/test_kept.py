"""The plugin's kept session in a real suite: tests that end it, outlast it, or need every
other session gone (a smart shutdown, `DROP DATABASE postgres`) still run, and isolation
still finds what they leave."""

from __future__ import annotations

import pytest
from conftest import InnerRun

SUITE = """
import time

from pytest_boss.admin import KEPT_IDLE_MS

def test_terminates_every_other_session(pg_cluster):
    pg_cluster.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )
    pg_cluster.sql("CREATE ROLE leaky_after_terminate")

def test_outlasts_the_plugins_session(pg_cluster):
    time.sleep(KEPT_IDLE_MS / 1000 + 0.2)
    pg_cluster.sql("CREATE ROLE leaky_after_sleep")

def test_smart_shutdown(pg_cluster):
    pg_cluster.stop("smart")
    pg_cluster.start()

def test_drop_and_make_postgres(pg_cluster):
    pg_cluster.sql("DROP DATABASE postgres", dbname="template1")
    pg_cluster.sql("CREATE DATABASE postgres", dbname="template1")

def test_pristine(pg_cluster):
    rows = pg_cluster.sql("SELECT rolname FROM pg_roles WHERE rolname LIKE 'leaky%'")
    assert rows == []
    assert pg_cluster.sql("SELECT count(*) FROM pg_database WHERE datname = 'postgres'") == [
        ("1",)
    ]
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2", "--dist", "loadfile"]], ids=["1", "n2"])
def test_tests_that_end_or_outwait_the_plugins_session(
    pytester: pytest.Pytester, run_inner: InnerRun, workers: list[str]
) -> None:
    pytester.makepyfile(test_kept=SUITE)
    result = run_inner("-p", "no:randomly", *workers)
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        ["*test_terminates_every_other_session: repaired: role leaky_after_terminate (added)*"]
    )
    result.stdout.fnmatch_lines(
        ["*test_outlasts_the_plugins_session: repaired: role leaky_after_sleep (added)*"]
    )
    assert "test_smart_shutdown:" not in result.stdout.str()


def test_settings_confirmed_through_the_kept_session(
    pytester: pytest.Pytester, run_inner: InnerRun
) -> None:
    """Each test's reloadable settings are in force for its first new connection, whether
    the previous test had other settings, its own hba rules, or none."""
    pytester.makepyfile(
        """
        import pytest

        def show(cluster, name):
            return cluster.sql(f"SHOW {name}")[0][0]

        @pytest.mark.parametrize("mem", [
            pytest.param(mem, marks=pytest.mark.pg_conf(work_mem=mem))
            for mem in ["1MB", "2MB", "3MB"] * 3
        ])
        def test_work_mem(pg_cluster, mem):
            assert show(pg_cluster, "work_mem") == mem

        @pytest.mark.pg_conf(work_mem="7MB")
        def test_a(pg_cluster):
            assert show(pg_cluster, "work_mem") == "7MB"

        @pytest.mark.pg_hba("local all nobody_here reject")
        @pytest.mark.pg_conf(work_mem="8MB")
        def test_b(pg_cluster):
            assert show(pg_cluster, "work_mem") == "8MB"

        def test_c(pg_cluster):
            assert show(pg_cluster, "work_mem") == "4MB"
            rules = pg_cluster.sql("SELECT count(*) FROM pg_hba_file_rules "
                                   "WHERE 'nobody_here' = ANY(user_name)")
            assert rules == [("0",)]

        @pytest.mark.pg_conf(work_mem="9MB")
        def test_d(pg_cluster):
            assert show(pg_cluster, "work_mem") == "9MB"
        """
    )
    result = run_inner("-p", "no:randomly")
    result.assert_outcomes(passed=13)
