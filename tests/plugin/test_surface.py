"""The public surface: what `pytest_boss` exports, and which fixtures users see."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import InnerRun

import pytest_boss

PUBLIC_FIXTURES = (
    "pg_cluster",
    "pg_conf",
    "pg_hba",
    "pg_database",
    "pg_cluster_factory",
    "pg_installation",
    "pg_template_loader",
)
INTERNAL_FIXTURES = ("_pg_session", "_pg_pool", "_pg_lease")


def test_every_exported_name_resolves() -> None:
    for name in pytest_boss.__all__:
        assert getattr(pytest_boss, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        pytest_boss.Nope  # noqa: B018


def test_exported_errors_share_the_plugin_root() -> None:
    errors = [getattr(pytest_boss, n) for n in pytest_boss.__all__ if n.endswith("Error")]
    assert len(errors) >= 10
    for error in errors:
        assert issubclass(error, pytest_boss.PytestBossError), error


def test_the_core_loads_without_pytest_or_the_plugin() -> None:
    code = (
        "import sys, pytest_boss.boss.cluster, pytest_boss.boss.hba, pytest_boss.boss.config;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest', 'xdist')"
        " or (m.startswith('pytest_boss.') and not m.startswith('pytest_boss.boss')));"
        "print(','.join(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def test_fixtures_are_the_exported_types(pytester: pytest.Pytester, run_default: InnerRun) -> None:
    pytester.makepyfile(
        test_inner="""
        import pytest_boss

        def test_types(pg_cluster, pg_conf, pg_hba, pg_database):
            assert isinstance(pg_cluster, pytest_boss.Cluster)
            assert isinstance(pg_conf, pytest_boss.ConfHandle)
            assert isinstance(pg_hba, pytest_boss.HbaHandle)
            assert isinstance(pg_database, pytest_boss.Database)
        """
    )
    run_default().assert_outcomes(passed=1)


def test_internal_layers_are_hidden_from_the_fixture_list(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    pytester.makepyfile(test_inner="def test_nothing():\n    pass\n")
    shown = run_default("--fixtures").stdout.str()
    for name in PUBLIC_FIXTURES:
        assert f"{name} " in shown or f"{name} [" in shown, name
    for name in INTERNAL_FIXTURES:
        assert name not in shown, name
