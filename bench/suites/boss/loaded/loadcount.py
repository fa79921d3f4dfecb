"""Counts template loads: each load appends a line to the file named by BENCH_LOAD_LOG."""

import os


def note_load(database: object = None) -> None:
    """A `pg_template` entry (`loadcount:note_load`, given the template database): notes
    one load; the SQL file that follows it does the loading."""
    log = os.environ.get("BENCH_LOAD_LOG")
    if log:
        with open(log, "a") as fo:
            fo.write(f"load {os.getpid()}\n")
