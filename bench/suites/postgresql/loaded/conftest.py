"""Workload 5 (pytest-postgresql): the template filled from shared/loaded_schema.sql.

One process fixture per postmaster configuration (the default, and max_connections=40),
each with `load=` as pytest-postgresql's documentation describes: a callable that appends a
line to $BENCH_LOAD_LOG (so that the harness counts the loads), then the SQL file. Each
process fixture loads its template once per worker per session. With BENCH_TEMPLATE=empty
nothing is loaded: the same suite with an empty template.
"""

import os
from pathlib import Path

from pytest_postgresql import factories

LOADED = os.environ.get("BENCH_TEMPLATE") != "empty"
SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "loaded_schema.sql"


def note_load(**connection: object) -> None:
    """A `load` callable (given host, port, user, dbname, password): notes one load."""
    log = os.environ.get("BENCH_LOAD_LOG")
    if log:
        with open(log, "a") as fo:
            fo.write(f"load {os.getpid()}\n")


LOAD = [note_load, SCHEMA] if LOADED else []

postgresql_default_proc = factories.postgresql_proc(load=LOAD)
postgresql_mc40_proc = factories.postgresql_proc(
    postgres_options="-c max_connections=40", load=LOAD
)
postgresql_default = factories.postgresql("postgresql_default_proc")
postgresql_mc40 = factories.postgresql("postgresql_mc40_proc")
