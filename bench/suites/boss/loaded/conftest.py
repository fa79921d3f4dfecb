"""Workload 5 (pytest-boss): the template filled from shared/loaded_schema.sql.

`pg_template_loader` is overridden as the README shows, with `SqlFiles` (cached by the
content of the SQL file); this subclass also notes each load (loadcount.py), so that the
harness counts them. With BENCH_TEMPLATE=empty there is no loader: the same suite with an
empty template. With BENCH_LOADER=option the fixture is not overridden: the template comes
from the `--pg-template` options the harness gives (`loadcount:note_load` and the SQL file).
This folder is on sys.path (pytest puts a conftest's folder there), so `loadcount` imports.
"""

import os

import pytest
from loadcount import note_load

from pytest_boss.loaders import SqlFiles

LOADED = os.environ.get("BENCH_TEMPLATE") != "empty"


class CountedSqlFiles(SqlFiles):
    """SqlFiles that notes each load in the file named by BENCH_LOAD_LOG."""

    def __call__(self, database) -> None:
        note_load(database)
        super().__call__(database)


if os.environ.get("BENCH_LOADER") != "option":

    @pytest.fixture(scope="session")
    def pg_template_loader(pytestconfig: pytest.Config) -> CountedSqlFiles | None:
        if not LOADED:
            return None
        return CountedSqlFiles(["shared/loaded_schema.sql"], str(pytestconfig.rootpath))
