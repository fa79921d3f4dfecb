# ruff: noqa: E501 (the inner suites are source text; their lines read best unbroken)
"""Bad input is the test's error at setup, with a precise message, and nothing else suffers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from suites import QUIET

InnerRun = Callable[..., pytest.RunResult]

BAD_INPUT_SUITE = """
import pytest

@pytest.mark.pg_conf(wrk_mem="1MB")
def test_unknown_setting(pg_cluster):
    pass

@pytest.mark.pg_conf(work_mem="12XB")
def test_rejected_reloadable_value(pg_cluster):
    pass

@pytest.mark.pg_conf(shared_buffers="lots")
def test_rejected_postmaster_value(pg_cluster):
    pass

@pytest.mark.pg_conf(port=5432)
def test_managed_setting(pg_cluster):
    pass

@pytest.mark.pg_conf(wal_level="minimal")
def test_server_refuses_to_start(pg_cluster):
    pass

@pytest.mark.pg_hba("host all alice 127.0.0.1/33 reject")
def test_rejected_hba_rule(pg_cluster):
    pass

@pytest.mark.pg_hba("host all alice 127.0.0.1/32 trust", replce=True)
def test_wrong_hba_signature(pg_cluster):
    pass

@pytest.mark.pg_conf("work_mem")
def test_wrong_conf_signature(pg_cluster):
    pass

@pytest.mark.pg_conf(work_mem=["1MB"])
def test_wrong_conf_value_type(pg_cluster):
    pass

@pytest.mark.pg_init(data_chcksums=True)
def test_unknown_initdb_option(pg_cluster):
    pass

@pytest.mark.pg_init(encoding="NO_SUCH_ENCODING")
def test_initdb_refuses(pg_cluster):
    pass

def test_healthy_after_all_that(pg_cluster):
    assert pg_cluster.sql("SHOW work_mem; SHOW shared_buffers") == [("4MB",), ("128MB",)]
"""

# The message each bad test gets, as the user reads it (fnmatch patterns, in file order).
EXPECTED_MESSAGES = [
    "*ERROR at setup of test_unknown_setting *",
    "UnknownSettingError: unknown PostgreSQL setting 'wrk_mem' (PostgreSQL *); did you mean 'work_mem'?",
    "*ERROR at setup of test_rejected_reloadable_value *",
    'SettingValueError: PostgreSQL rejects work_mem = \'12XB\': invalid value for parameter "work_mem": "12XB"*',
    "*ERROR at setup of test_rejected_postmaster_value *",
    'SettingValueError: PostgreSQL rejects shared_buffers = \'lots\': invalid value for parameter "shared_buffers": "lots"*',
    "*ERROR at setup of test_managed_setting *",
    "ManagedSettingError: the setting 'port' cannot be set by a test*",
    "*ERROR at setup of test_server_refuses_to_start *",
    "ClusterStartError: PostgreSQL does not start with wal_level='minimal'*",
    "*FATAL:*WAL streaming*max_wal_senders*wal_level*",
    "*ERROR at setup of test_rejected_hba_rule *",
    "HbaRuleError: PostgreSQL rejects the pg_hba.conf rule 'host all alice 127.0.0.1/33 reject': invalid CIDR mask in address *",
    "*ERROR at setup of test_wrong_hba_signature *",
    "MarkerError: @pytest.mark.pg_hba: *unexpected keyword argument 'replce'; the signature is pg_hba(*rules, replace=False)",
    "*ERROR at setup of test_wrong_conf_signature *",
    "MarkerError: @pytest.mark.pg_conf: the positional argument must be a dict of settings, not str; the signature is pg_conf(mapping=None, /, **settings)",
    "*ERROR at setup of test_wrong_conf_value_type *",
    "MarkerError: @pytest.mark.pg_conf: work_mem: a setting's value must be str, int, float or bool, not list*",
    "*ERROR at setup of test_unknown_initdb_option *",
    "MarkerError: @pytest.mark.pg_init: unknown initdb option 'data_chcksums'*",
    "*ERROR at setup of test_initdb_refuses *",
    "InitdbError: initdb fails with encoding='NO_SUCH_ENCODING'; change the pg_init options:",
    '*"NO_SUCH_ENCODING" is not a valid*encoding name*',
]


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_bad_input_is_a_setup_error_with_a_precise_message(
    pytester: pytest.Pytester, run_inner: InnerRun, workers: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_inner=BAD_INPUT_SUITE)
    result = run_inner(*workers)
    result.assert_outcomes(passed=1, errors=11)
    if not workers:
        result.stdout.fnmatch_lines(EXPECTED_MESSAGES, consecutive=False)
    else:
        # Order differs between workers: check each message on its own.
        for pattern in EXPECTED_MESSAGES:
            result.stdout.fnmatch_lines([pattern])
    # The mistake is the test's: no traceback into pytest-boss.
    assert "pytest_boss/" not in result.stdout.str()


def test_bad_pg_conf_handle_values_raise_in_the_test(
    pytester: pytest.Pytester, run_inner: InnerRun
) -> None:
    pytester.makepyfile(
        test_inner="""
        import pytest
        from pytest_boss.errors import ClusterStartError, SettingValueError, UnknownSettingError

        def test_values(pg_conf, pg_cluster):
            with pytest.raises(UnknownSettingError, match="did you mean 'shared_buffers'"):
                pg_conf["shared_bufers"] = "64MB"
            with pytest.raises(SettingValueError, match="outside the valid range"):
                pg_conf["max_connections"] = 0
            with pytest.raises(ClusterStartError, match="wal_level"):
                pg_conf["wal_level"] = "minimal"
            assert pg_cluster.sql("SHOW wal_level; SHOW max_connections") == [("replica",), ("100",)]

        def test_next(pg_cluster):
            assert pg_cluster.sql("SHOW wal_level") == [("replica",)]
        """
    )
    result = run_inner("-v")
    result.assert_outcomes(passed=2)


def test_bad_options_are_usage_errors(pytester: pytest.Pytester, run_default: InnerRun) -> None:
    pytester.makepyfile(test_inner="def test_nothing(): pass")
    result = run_default("--pg-conf", "work_mem")
    result.stderr.fnmatch_lines(
        ["*pg_conf entry 'work_mem' is not NAME=VALUE (e.g. work_mem=64MB)*"]
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_missing_binaries_fail_with_what_to_do(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner="def test_needs(pg_cluster): pass")
    result = pytester.runpytest_subprocess(*QUIET, f"--pg-bin={pytester.path / 'nowhere'}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "InstallationPathError: */nowhere: no such file or folder. Give the bin"
            " folder of a PostgreSQL installation*",
        ]
    )
    result.stdout.no_fnmatch_line("*Install PostgreSQL*")  # that page is for no PostgreSQL
    # The path is wrong: a message, not a traceback through the plugin's code.
    result.stdout.no_fnmatch_line("*pytest_boss/session.py*")


def test_a_template_that_fails_to_load_names_its_source(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    pytester.makeini("[pytest]\npg_template = broken.sql\n")
    pytester.path.joinpath("broken.sql").write_text("CREATE TABLE t (x no_such_type);\n")
    pytester.makepyfile(
        test_inner="""
        def test_db(pg_database):
            pass

        def test_cluster_alone_is_fine(pg_cluster):
            pass
        """
    )
    result = run_default()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*TemplateLoadError: loading the template database from 'broken.sql' failed: type \"no_such_type\" does not exist*"
        ]
    )


VERSION_SUITE = """
import pytest

@pytest.mark.pg_hba("host all /^al.*$ 127.0.0.1/32 reject")
def test_regex_rule(pg_cluster, pg_hba):
    assert pg_hba[0].users == ["/^al.*$"]

@pytest.mark.pg_hba("include_if_exists extra.conf")
def test_include_rule(pg_cluster):
    pass

def test_regex_rule_from_the_handle(pg_cluster, pg_hba):
    pg_hba.insert(0, "host all /^al.*$ 127.0.0.1/32 reject")
    assert pg_hba[0].users == ["/^al.*$"]

def test_healthy_after(pg_cluster):
    assert pg_cluster.sql("SELECT 1") == [("1",)]
"""


def test_hba_features_of_a_newer_release_name_the_version(
    pytester: pytest.Pytester, run_inner: InnerRun, pg_installation
) -> None:
    """On 15 a regex name would silently be a plain name: an error naming both versions."""
    pytester.makepyfile(test_versions=VERSION_SUITE)
    result = run_inner()
    major = pg_installation.major
    if major < 16:
        result.assert_outcomes(passed=1, errors=2, failed=1)
        result.stdout.fnmatch_lines(
            [
                f"*HbaRuleError*regular expressions in database and user names needs "
                f"PostgreSQL 16 or newer, this is PostgreSQL {major}*",
                "*FAILED*test_regex_rule_from_the_handle*",
            ]
        )
        result.stdout.fnmatch_lines(
            [
                "*ERROR at setup of test_regex_rule *",
                f"*regular expressions in database and user names needs "
                f"PostgreSQL 16 or newer, this is PostgreSQL {major}*",
                "*ERROR at setup of test_include_rule *",
                f"*the include_if_exists directive needs PostgreSQL 16 or "
                f"newer, this is PostgreSQL {major}*",
            ]
        )
    else:
        result.assert_outcomes(passed=4)
