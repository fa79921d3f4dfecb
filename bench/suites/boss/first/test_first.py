"""Workload 1 (pytest-boss): one test that reaches a running server."""

import os
import time
from pathlib import Path

import psycopg


def test_select_1(pg_cluster) -> None:
    """The server is up when the body starts: the harness reads that moment from BENCH_STAMP."""
    stamp = os.environ.get("BENCH_STAMP")
    if stamp:
        Path(stamp).write_text(repr(time.time()))
    with psycopg.connect(pg_cluster.dsn()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
