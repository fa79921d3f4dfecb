"""Workload 5 (pytest-boss): the template filled from shared/loaded_schema.sql.

`pg_template_loader` is overridden as the README shows, with `SqlFiles` (cached by the
content of the SQL file). This subclass also appends a line to $BENCH_LOAD_LOG each time it
runs, so that the harness counts the loads. With BENCH_TEMPLATE=empty there is no loader:
the same suite with an empty template.
"""

import os

import pytest

from pytest_boss.loaders import SqlFiles

LOADED = os.environ.get("BENCH_TEMPLATE") != "empty"


class CountedSqlFiles(SqlFiles):
    """SqlFiles that notes each load in the file named by BENCH_LOAD_LOG."""

    def __call__(self, database) -> None:
        log = os.environ.get("BENCH_LOAD_LOG")
        if log:
            with open(log, "a") as fo:
                fo.write(f"load {os.getpid()}\n")
        super().__call__(database)


@pytest.fixture(scope="session")
def pg_template_loader(pytestconfig: pytest.Config) -> CountedSqlFiles | None:
    if not LOADED:
        return None
    return CountedSqlFiles(["shared/loaded_schema.sql"], str(pytestconfig.rootpath))
