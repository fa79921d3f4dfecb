"""pytest-boss beside the plugins suites already load, where they meet its own state:
pytest-rerunfailures runs a test's protocol again on the same item."""

from __future__ import annotations

import pytest
from conftest import InnerRun

FLAKY = """
import pytest

def _attempt(tmp_path_factory, name):
    counter = tmp_path_factory.getbasetemp().parent / name
    n = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(n))
    return n

def test_leaks_then_passes(pg_cluster, tmp_path_factory):
    if _attempt(tmp_path_factory, "leaks") == 1:
        pg_cluster.sql("CREATE ROLE left_by_first_try")
        raise AssertionError("first try")

def test_fails_twice(pg_cluster, tmp_path_factory):
    n = _attempt(tmp_path_factory, "twice")
    pg_cluster.sql(f"DO $$ BEGIN RAISE LOG 'marker of attempt {n}'; END $$")
    raise AssertionError(f"try {n}")
"""


def test_a_rerun_reports_only_its_own_leaks_and_log(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    """Each run of a test is reported with what it left behind and its share of the
    server log, not again with what an earlier run of it left or logged."""
    pytester.makepyfile(test_flaky=FLAKY)
    result = run_default("--reruns=1", "-p", "no:randomly", "-k", "leaks")
    assert result.parseoutcomes() == {"passed": 1, "deselected": 1, "rerun": 1}
    result.stdout.fnmatch_lines(
        [
            "pytest-boss: 1 test(s) left state behind on a shared cluster*",
            "*test_leaks_then_passes: repaired: role left_by_first_try (added)",
        ]
    )
    result = run_default("--reruns=1", "-p", "no:randomly", "-k", "twice")
    assert result.parseoutcomes() == {"failed": 1, "deselected": 1, "rerun": 1}
    failure = result.stdout.str().split("= FAILURES =")[1]
    assert "marker of attempt 2" in failure
    assert "marker of attempt 1" not in failure
