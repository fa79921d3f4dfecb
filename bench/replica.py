"""Benchmark: a standby of a small running cluster, ready and caught up, on tmpfs.

pytest-boss's core (``Cluster.replica`` then ``catch_up``) side by side with testgres doing
the same (``backup``, ``spawn_replica(...).start()``, ``catchup``): both clock from "the
primary runs" to "the standby has replayed the primary's last commit". testgres runs with
its defaults, and once more with pg_basebackup's fast checkpoint (``-c fast``), which
pytest-boss uses.

Both run in one process, as the same user, with the same binaries, on the same tmpfs folder
(``/dev/shm``; testgres puts its folders in ``TMPDIR``). PostgreSQL and testgres refuse
root: as root, this script builds (once) a virtualenv from the system Python, world-readable,
holding testgres, and runs itself again from it as an unprivileged user (``postgres``, else
``nobody``), with this checkout on ``PYTHONPATH``.

    python bench/replica.py                                # PostgreSQL 15, 10 repetitions
    python bench/replica.py --pg-bin DIR --repeat 20
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG_BIN = "/usr/lib/postgresql/15/bin"
TMPFS = "/dev/shm"
SYSTEM_PYTHON = "/usr/bin/python3"
VENV = Path("/var/tmp/pytest-boss-bench-replica/venv")
REQUIREMENTS = ("testgres>=1.10", "filelock>=3.12")
USERS = ("postgres", "nobody")
SETUP_SQL = "CREATE TABLE t AS SELECT g AS a FROM generate_series(1, 1000) g"
WRITE_SQL = "INSERT INTO t VALUES (0)"

Timings = dict[str, list[float]]


def _check_call(argv: Sequence[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        sys.exit(f"{what} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def ensure_venv() -> Path:
    """The world-readable virtualenv holding testgres (built once; marker written last)."""
    marker = VENV / "ready"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if not (marker.exists() and marker.read_text() == wanted):
        print(f"building {VENV} (once) ...", file=sys.stderr)
        shutil.rmtree(VENV, ignore_errors=True)
        VENV.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        _check_call([SYSTEM_PYTHON, "-m", "venv", str(VENV)], "creating the virtualenv")
        pip = [str(VENV / "bin/python"), "-m", "pip", "install", "-q", "--root-user-action=ignore"]
        _check_call([*pip, *REQUIREMENTS], "installing testgres")
        marker.write_text(wanted)
    return VENV / "bin/python"


def rerun_unprivileged(argv: Sequence[str]) -> int:
    """Run this script again as an unprivileged user from the virtualenv; its exit status."""
    user = next(pwd.getpwnam(n) for n in USERS if n in {u.pw_name for u in pwd.getpwall()})
    python = ensure_venv()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": TMPFS,
        "LC_ALL": "C.UTF-8",
        "TMPDIR": TMPFS,
        "PYTHONPATH": str(REPO),
    }
    print(f"running as {user.pw_name} with {python}", file=sys.stderr)
    done = subprocess.run(
        [str(python), __file__, *argv],
        env=env,
        cwd="/",
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        check=False,
    )
    return done.returncode


def bench_boss(pg_bin: str, repeat: int, base: str) -> Timings:
    """Cluster.replica + catch_up, ``repeat`` times, on one running primary."""
    from pytest_boss.boss.cluster import Cluster
    from pytest_boss.boss.installation import pg_config_dictionary

    primary = Cluster.create(
        os.path.join(base, "primary"), pg_config_dictionary(os.path.join(pg_bin, "pg_config"))
    )
    timings: Timings = {"replica()": [], "catch_up()": [], "total": []}
    try:
        primary.start()
        primary.sql(SETUP_SQL)
        for index in range(repeat + 1):  # the first one warms the page cache: not counted
            primary.sql(WRITE_SQL)
            start = time.perf_counter()
            standby = primary.replica(os.path.join(base, f"standby{index}"))
            made = time.perf_counter()
            standby.catch_up()
            done = time.perf_counter()
            assert standby.sql("SELECT count(*) FROM t")[0][0] == str(1000 + index + 1)
            standby.drop()
            if index:
                timings["replica()"].append(made - start)
                timings["catch_up()"].append(done - made)
                timings["total"].append(done - start)
    finally:
        primary.drop()
    return timings


def bench_testgres(pg_bin: str, repeat: int, base: str, fast: bool) -> Timings:
    """testgres's backup + spawn_replica + start + catchup, ``repeat`` times."""
    os.environ["PG_BIN"] = pg_bin
    tempfile.tempdir = TMPFS  # testgres's backups and initdb cache
    import testgres

    options = ["-c", "fast"] if fast else None
    timings: Timings = {"backup()": [], "spawn_replica().start()": [], "catchup()": []}
    timings["total"] = []
    with testgres.get_new_node(base_dir=os.path.join(base, "primary")) as node:
        node.init(allow_streaming=True).start()
        node.safe_psql(SETUP_SQL)
        for index in range(repeat + 1):
            node.safe_psql(WRITE_SQL)
            start = time.perf_counter()
            backup = node.backup(options=options)
            backed = time.perf_counter()
            replica = backup.spawn_replica(f"replica{index}").start()
            started = time.perf_counter()
            replica.catchup()
            done = time.perf_counter()
            count = replica.execute("SELECT count(*) FROM t")[0][0]
            assert count == 1000 + index + 1, count
            replica.cleanup()
            if index:
                timings["backup()"].append(backed - start)
                timings["spawn_replica().start()"].append(started - backed)
                timings["catchup()"].append(done - started)
                timings["total"].append(done - start)
    return timings


def report(name: str, timings: Timings) -> str:
    lines = []
    for phase, values in timings.items():
        lines.append(
            f"| {name} | {phase} | {statistics.median(values):.3f} | "
            f"{min(values):.3f} | {max(values):.3f} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-bin", default=DEFAULT_PG_BIN, help="PostgreSQL binaries")
    parser.add_argument("--repeat", type=int, default=10, help="measured repetitions (10)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if os.geteuid() == 0:
        return rerun_unprivileged(argv)
    args = parse_args(argv)
    base = tempfile.mkdtemp(prefix="bench-replica-", dir=TMPFS)
    runs: list[tuple[str, Callable[[], Timings]]] = [
        ("pytest-boss", lambda: bench_boss(args.pg_bin, args.repeat, base)),
        ("testgres", lambda: bench_testgres(args.pg_bin, args.repeat, base + "/tg", False)),
        ("testgres -c fast", lambda: bench_testgres(args.pg_bin, args.repeat, base + "/tf", True)),
    ]
    rows = []
    totals = {}
    try:
        for name, run in runs:
            timings = run()
            totals[name] = statistics.median(timings["total"])
            rows.append(report(name, timings))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    version = subprocess.run(
        [os.path.join(args.pg_bin, "postgres"), "--version"], capture_output=True, text=True
    ).stdout.strip()
    print(f"{version}, {args.repeat} repetitions, on {TMPFS}, as {pwd.getpwuid(os.geteuid())[0]}")
    print("| tool | phase | median (s) | min (s) | max (s) |\n|---|---|---:|---:|---:|")
    print("\n".join(rows))
    boss = totals["pytest-boss"]
    for name, total in totals.items():
        if name != "pytest-boss":
            print(f"{name} / pytest-boss (median totals): {total / boss:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
