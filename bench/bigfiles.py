"""Big-file benchmark of the core: a 50,000-line pg_hba.conf, a 20,000-line postgresql.conf.

Each operation runs several times in this process (after one untimed warm-up) and the
median wall time is printed, with the targets of issue 17 beside the numbers they bound.
The files are generated here, the same every run: no PostgreSQL is needed.

    PYTHONPATH=$PWD python bench/bigfiles.py               # 5 repetitions
    PYTHONPATH=$PWD python bench/bigfiles.py --repeat 9 --markdown
    PYTHONPATH=$PWD python bench/bigfiles.py --clock cpu   # this process's CPU time

On a machine shared with other work, ``--clock cpu`` is the steadier number: the wall time
also counts the time other processes held the cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pytest_boss.boss import config, hba

HBA_LINES = 50_000
CONF_LINES = 20_000
INDEX_OPS = 100


def hba_text(lines: int = HBA_LINES) -> str:
    """A pg_hba.conf of ``lines`` lines: records of every common shape, comments, blanks."""
    out = ["# TYPE  DATABASE        USER            ADDRESS                 METHOD\n"]
    i = 0
    while len(out) < lines:
        i += 1
        kind = i % 10
        if kind == 0:
            out.append(f"# rule group {i}\n")
        elif kind == 5:
            out.append("\n")
        elif kind in (1, 2):
            a, b = divmod(i, 250)
            out.append(f"host    db{i}   u{i}   10.{a % 250}.{b}.0/24   scram-sha-256\n")
        elif kind == 3:
            out.append(
                f"local   all             u{i}                                    peer map=m{i}\n"
            )
        elif kind == 4:
            out.append(
                f'hostssl "db {i}",x{i} +g{i} fe80::{i % 65535:x}/64 cert clientcert=verify-full\n'
            )
        elif kind in (6, 7):
            out.append(f"host    all   u{i}   192.168.{i % 250}.1 255.255.255.255  md5\n")
        else:
            out.append(
                f"hostnossl replication   r{i}              host{i}.example.com     reject  # old\n"
            )
    return "".join(out)


def conf_text(lines: int = CONF_LINES) -> str:
    """A postgresql.conf of ``lines`` lines, shaped like initdb's: mostly comments."""
    out: list[str] = []
    i = 0
    while len(out) < lines:
        i += 1
        kind = i % 8
        if kind == 0:
            out.append(f"app.setting_{i} = 'value {i}'\t\t# live\n")
        elif kind == 1:
            out.append(f"#app.dormant_{i} = {i}kB\t\t# min 64kB\n")
        elif kind == 2:
            out.append("\n")
        elif kind == 3:
            out.append(f"work_mem = {i % 64 + 1}MB\n")
        else:
            out.append(f"# a comment line about nothing in particular, number {i}\n")
    return "".join(out)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median time of ``fn`` over ``repeat`` runs, after one untimed run."""
    fn()
    times = []
    for _ in range(repeat):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def _appended(text: str, count: int) -> hba.Sequence:
    seq = hba.read_config(text)
    for k in range(count):
        seq.append(f"host all new{k} 10.1.{k % 250}.0/24 scram-sha-256")
    return seq


def run(repeat: int, folder: str) -> list[tuple[str, float, str]]:
    """(what, seconds, target) for every operation."""
    htext = hba_text()
    ctext = conf_text()
    hpath = os.path.join(folder, "pg_hba.conf")
    cpath = os.path.join(folder, "postgresql.conf")
    Path(hpath).write_text(htext)
    Path(cpath).write_text(ctext)
    seq = hba.read_config(htext)
    n = len(seq)
    middle = n // 2
    after100 = _appended(htext, 100)
    after1000 = _appended(htext, 1000)

    def index_ops() -> None:
        for _ in range(INDEX_OPS):
            seq[middle]
            len(seq)

    rows = [
        (
            f"hba.read_config, {HBA_LINES:,} lines ({n:,} records)",
            timed(lambda: hba.read_config(htext), repeat),
            "<= 0.3 s",
        ),
        ("hba.read_file of the same file", timed(lambda: hba.read_file(hpath), repeat), "<= 0.3 s"),
        (
            f"seq[{middle}] + len(seq), per pair (mean of {INDEX_OPS})",
            timed(index_ops, repeat) / INDEX_OPS,
            "constant",
        ),
        ("seq.text(), untouched", timed(seq.text, repeat), "linear"),
        ("seq.text() after 100 appends", timed(after100.text, repeat), "linear"),
        ("seq.text() after 1,000 appends", timed(after1000.text, repeat), "linear"),
        ("hba.read_config, then 100 appends", timed(lambda: _appended(htext, 100), repeat), ""),
        (
            f"config.read_config, {CONF_LINES:,} lines",
            timed(lambda: config.read_config(ctext), repeat),
            "< 0.15 s",
        ),
        (
            "config.read_file of the same file",
            timed(lambda: config.read_file(cpath), repeat),
            "< 0.15 s",
        ),
        (
            "config.alter_config of 3 settings",
            timed(
                lambda: config.alter_config(
                    {"work_mem": "8MB", "app.dormant_9": 1, "new.one": "x"}, ctext
                ),
                repeat,
            ),
            "< 0.15 s",
        ),
    ]
    return rows


def _checkout() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed runs per operation (default 5)"
    )
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument(
        "--clock", choices=sorted(CLOCKS), default="wall", help="what to time (default wall)"
    )
    ns = parser.parse_args()
    global clock
    clock = CLOCKS[ns.clock]
    with tempfile.TemporaryDirectory() as folder:
        rows = run(ns.repeat, folder)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"Python {platform.python_version()}, checkout {_checkout()}, {os.cpu_count()} cores,"
        f" load {load}, median {ns.clock} time of {ns.repeat}"
    )
    if ns.markdown:
        print("\n| operation | time | target |\n|---|---:|---|")
    for what, seconds, target in rows:
        shown = f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds:.3f} s"
        print(
            f"| {what} | {shown} | {target} |"
            if ns.markdown
            else f"{what:<58} {shown:>12}  {target}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
