"""Helpers of the plugin's own tests: run an inner pytest suite in a subprocess.

`run_inner(*args)` runs the suite pytester wrote with the plugin loaded from its entry point,
on one PostgreSQL installation (`pg_installation` from the suite's conftest: each test using
it runs once per major; `default_installation` is the first one found, for tests whose
subject is not the server).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from suites import QUIET

from pytest_boss.boss.installation import Installation, find_installation

InnerRun = Callable[..., pytest.RunResult]
TIMEOUT = 600


def _runner(pytester: pytest.Pytester, installation: Installation) -> InnerRun:
    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess(
            *QUIET, f"--pg-bin={installation.bindir}", *args, timeout=TIMEOUT
        )

    return run


@pytest.fixture
def run_inner(pytester: pytest.Pytester, pg_installation: Installation) -> InnerRun:
    """Run the inner suite on `pg_installation` (so the test runs once per major)."""
    return _runner(pytester, pg_installation)


@pytest.fixture(scope="session")
def default_installation() -> Installation:
    return find_installation()


@pytest.fixture
def run_default(pytester: pytest.Pytester, default_installation: Installation) -> InnerRun:
    """Run the inner suite on the first installation found."""
    return _runner(pytester, default_installation)
