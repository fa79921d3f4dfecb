"""Server settings declared per test: reloadable ones cost a reload, restart-only ones select
another pooled cluster; every change is undone for the next test."""

import pytest

pytestmark = pytest.mark.pg_conf(statement_timeout="5s")


def show(cluster, name):
    return cluster.sql(f"SHOW {name}")[0][0]


@pytest.mark.pg_conf(work_mem="12MB")
def test_reloadable_setting_from_marker(pg_cluster):
    assert show(pg_cluster, "work_mem") == "12MB"


def test_module_marker_applies_and_previous_test_is_undone(pg_cluster):
    assert show(pg_cluster, "statement_timeout") == "5s"
    assert show(pg_cluster, "work_mem") == "4MB"


@pytest.mark.pg_conf(max_connections=42)
def test_restart_only_setting(pg_cluster):
    assert show(pg_cluster, "max_connections") == "42"


@pytest.mark.pg_conf(statement_timeout="1s")
def test_closest_marker_wins(pg_cluster):
    assert show(pg_cluster, "statement_timeout") == "1s"


def test_setting_from_inside_the_test(pg_cluster, pg_conf):
    pg_conf["lock_timeout"] = "250ms"
    assert show(pg_cluster, "lock_timeout") == "250ms"
    del pg_conf["lock_timeout"]
    assert show(pg_cluster, "lock_timeout") == "0"


@pytest.mark.pg_conf({"auto_explain.log_min_duration": 0}, shared_preload_libraries="auto_explain")
def test_extension_settings_with_dotted_names(pg_cluster):
    assert show(pg_cluster, "auto_explain.log_min_duration") == "0"
