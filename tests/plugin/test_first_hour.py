# ruff: noqa: E501 (the inner suites are source text; their lines read best unbroken)
"""A new user's first hour: path options as separate words, short failures, a quiet log."""

from __future__ import annotations

import os

import pytest
from conftest import InnerRun
from suites import QUIET

from pytest_boss.boss.installation import Installation
from pytest_boss.errors import OptionError
from pytest_boss.options import check_path_words

pytestmark = pytest.mark.usefixtures("default_installation")


@pytest.mark.parametrize(
    ("args", "refused"),
    [
        pytest.param(["--pg-bin", "/usr"], "pg_bin", id="bin-separate"),
        pytest.param(["-v", "--pg-cache-dir", "/tmp"], "pg_cache_dir", id="cache-separate"),
        pytest.param(["--pg-dir", "/tmp", "tests"], "pg_dir", id="dir-separate"),
        pytest.param(["--pg-template", "/etc/hostname"], "pg_template", id="template-separate"),
        pytest.param(["--pg-bin=/usr"], None, id="equals-form"),
        pytest.param(["--pg-bin", "system"], None, id="a-name-not-a-path"),
        pytest.param(["--pg-user", "/tmp"], None, id="not-a-path-option"),
        pytest.param(["--pg-bin"], None, id="last-word"),
    ],
)
def test_path_options_as_separate_words_are_refused(args: list[str], refused: str | None) -> None:
    if refused is None:
        check_path_words(args, os.path.exists)
        return
    with pytest.raises(OptionError) as info:
        check_path_words(args, os.path.exists)
    assert info.value.option == refused
    flag = "--" + refused.replace("_", "-")
    assert f"write {flag}={args[args.index(flag) + 1]} (with '=')" in str(info.value)


def test_a_separate_path_word_stops_the_run_before_the_ini_file_is_lost(
    pytester: pytest.Pytester, default_installation: Installation
) -> None:
    pytester.makeini("[pytest]\npg_conf = work_mem=7MB\n")
    pytester.makepyfile(test_inner="def test_nothing(pg_cluster): pass")
    result = pytester.runpytest_subprocess(*QUIET, "--pg-bin", default_installation.bindir)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*write --pg-bin={default_installation.bindir} (with '=')*rootdir*"]
    )
    # The '=' form runs, and the project's ini file is read.
    pytester.makepyfile(
        test_inner="def test_ini(pg_cluster):\n    assert pg_cluster.sql('SHOW work_mem') == [('7MB',)]\n"
    )
    ok = pytester.runpytest_subprocess(*QUIET, f"--pg-bin={default_installation.bindir}")
    ok.assert_outcomes(passed=1)


HANDLE_SUITE = """
import pytest

def test_bad_value_through_the_handle(pg_conf):
    pg_conf["work_mem"] = "lots"

@pytest.fixture
def private(pg_cluster_factory):
    return pg_cluster_factory(conf={"shared_buffers": "nope"})

def test_bad_value_in_a_fixture(private):
    pass
"""


def test_a_handle_error_shows_the_users_line_and_a_readable_summary(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    pytester.makepyfile(test_inner=HANDLE_SUITE)
    result = run_default("-rfE")
    result.assert_outcomes(failed=1, errors=1)
    out = result.stdout.str()
    assert "pytest_boss/" not in out  # no frame of the plugin's internals
    result.stdout.fnmatch_lines(
        [
            '>       pg_conf["work_mem"] = "lots"',
            "E       *SettingValueError: PostgreSQL rejects work_mem = 'lots'*",
            "test_inner.py:4: SettingValueError",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(
        [
            '>       return pg_cluster_factory(conf={"shared_buffers": "nope"})',
            "E       *SettingValueError: PostgreSQL rejects shared_buffers = 'nope'*",
            "test_inner.py:8: SettingValueError",
        ],
        consecutive=False,
    )
    # The summary line starts with the class's own name, not its module path.
    result.stdout.fnmatch_lines(
        [
            "FAILED test_inner.py::test_bad_value_through_the_handle - SettingValueError: *",
            "ERROR test_inner.py::test_bad_value_in_a_fixture - SettingValueError: *",
        ],
        consecutive=False,
    )


LOG_SUITE = """
import pytest

def test_before(pg_database):
    pg_database.sql("CREATE TABLE t (x int)")

@pytest.mark.pg_conf(work_mem="8MB", log_min_duration_statement="0")
def test_fails(pg_database):
    pg_database.sql("SELECT 42 AS the_tests_own_query")
    assert False
"""


def test_the_server_log_section_holds_the_tests_own_lines(
    pytester: pytest.Pytester, run_inner: InnerRun
) -> None:
    pytester.makepyfile(test_inner=LOG_SUITE)
    result = run_inner("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    section = out[out.index("PostgreSQL server log") :]
    section = section[: section.index("short test summary")]
    assert "the_tests_own_query" in section
    for plugin_line in (
        "checkpoint",
        "reloading configuration",
        "CREATE DATABASE",
        "boss_template",
    ):
        assert plugin_line not in section, plugin_line
