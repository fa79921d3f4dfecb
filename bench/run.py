"""Side-by-side benchmark: pytest-boss against pytest-postgresql, in one run, on this machine.

Both tools run the same workloads (inner suites under bench/suites/<tool>/<suite>) in a
fresh pytest subprocess each time; the wall time of that whole subprocess is measured,
repeated, and the median reported with the ratio pytest-postgresql / pytest-boss.

PostgreSQL refuses to run as root and root's Python is often private, so when this script
runs as root it builds (once) a world-readable virtualenv from the system Python, installs
both tools into it, and runs every inner suite as an unprivileged user from there: both
tools then run under the same conditions. Not as root, the inner suites run with this
interpreter, which must have both tools installed (`tox -e bench` does that).

    python bench/run.py                      # everything, 3 repetitions
    python bench/run.py --only 1 --repeat 5  # workload 1 (cold and warm) only
    python bench/run.py --json out.json --markdown bench/RESULTS.md
    python bench/run.py --only 5 --repeat 3  # the loaded template (issue 13), loads counted
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import pwd
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SUITES = HERE / "suites"

BENCH_ROOT = Path("/var/tmp/pytest-boss-bench")
VENV = BENCH_ROOT / "venv"
VENV_MARKER = VENV / "bench-ready"
SYSTEM_PYTHON = Path("/usr/bin/python3")
# What the shared virtualenv holds before the project: the build backend, so that the project
# (with its `bench` extra: pytest-postgresql, psycopg) is installed on every run without
# build isolation, in seconds, and the benchmark always measures the code of this checkout.
VENV_REQUIREMENTS = ("hatchling",)

DEFAULT_PG_BIN = Path("/usr/lib/postgresql/15/bin")
RUN_TIMEOUT = 600.0
SETUP_TIMEOUT = 900.0

BOSS = "pytest-boss"
POSTGRESQL = "pytest-postgresql"
TOOLS = (POSTGRESQL, BOSS)
# Entry-point names, to keep the other tool's plugin out of each run.
PLUGIN_NAME = {BOSS: "boss", POSTGRESQL: "pytest_postgresql"}
SUITE_DIR = {BOSS: "boss", POSTGRESQL: "postgresql"}


class BenchError(Exception):
    """The benchmark cannot run: str() says what is missing and what to do."""


class InnerRunError(BenchError):
    """An inner pytest run did not pass all its tests; the output's tail says why."""

    def __init__(self, tool: str, workload: str, command: Sequence[str], rc: int, tail: str):
        self.tool = tool
        self.workload = workload
        self.command = list(command)
        self.rc = rc
        self.tail = tail
        super().__init__(
            f"{tool} failed workload {workload!r} (exit status {rc}); "
            "to see more, run `python bench/run.py --keep` and this in the copied suites "
            f"folder: {shlex.join(command)}\n{tail}"
        )


@dataclass(frozen=True)
class Workload:
    """One line of the table: an inner suite, how many tests it has, how it is run."""

    name: str
    group: str  # the workload's number in issue 5 (5: issue 13's loaded template)
    title: str
    suite: str
    tests: int
    workers: int = 0  # pytest-xdist -n; 0: no xdist
    cold: bool = False  # pytest-boss template cache emptied before each run
    stamp: bool = False  # the test writes the moment its body starts
    #: The suite's template loader notes each load in $BENCH_LOAD_LOG: loads are counted,
    #: and a warm workload gets one untimed run first (its cache filled whatever ran before).
    count_loads: bool = False
    env: tuple[tuple[str, str], ...] = ()  # more environment for the inner run
    boss_args: tuple[str, ...] = ()  # more pytest-boss options
    boss_only: bool = False  # a pytest-boss variant: pytest-postgresql has no such run

    def runs(self, tool: str) -> bool:
        return tool == BOSS or not self.boss_only


WORKLOADS = (
    Workload("baseline", "0", "pytest start-up, one test without a server", "baseline", 1),
    Workload(
        "first-cold",
        "1",
        "first test on a running server, cold template cache",
        "first",
        1,
        cold=True,
        stamp=True,
    ),
    Workload(
        "first-warm",
        "1",
        "first test on a running server, warm template cache",
        "first",
        1,
        stamp=True,
    ),
    Workload("databases", "2", "100 tests, each with a fresh database", "databases", 100),
    Workload(
        "settings", "3", "50 tests over 5 postmaster-level x 5 reloadable settings", "settings", 50
    ),
    Workload("databases-n2", "4", "workload 2 with -n 2", "databases", 100, workers=2),
    Workload("settings-n2", "4", "workload 3 with -n 2", "settings", 50, workers=2),
    Workload(
        "loaded-cold",
        "5",
        "20 tests, -n 2, 2 postmaster configs, 1.5 s template load, cold cache",
        "loaded",
        20,
        workers=2,
        cold=True,
        count_loads=True,
    ),
    Workload(
        "loaded-warm",
        "5",
        "the same, warm cache",
        "loaded",
        20,
        workers=2,
        count_loads=True,
    ),
    Workload(
        "loaded-empty",
        "5",
        "the same with an empty template, warm cache",
        "loaded",
        20,
        workers=2,
        count_loads=True,
        env=(("BENCH_TEMPLATE", "empty"),),
    ),
    Workload(
        "loaded-option",
        "5",
        "the same as warm, the template given by --pg-template, not by a fixture",
        "loaded",
        20,
        workers=2,
        count_loads=True,
        env=(("BENCH_LOADER", "option"),),
        boss_args=("--pg-template=loadcount:note_load", "--pg-template=shared/loaded_schema.sql"),
        boss_only=True,
    ),
)
WORKLOAD_BY_NAME = {w.name: w for w in WORKLOADS}


@dataclass
class Measurement:
    """The timings of one tool on one workload, every repetition kept."""

    tool: str
    workload: str
    wall: list[float] = field(default_factory=list)
    to_first_test: list[float] = field(default_factory=list)
    loads: list[int] = field(default_factory=list)  # template loads per run, when counted
    errors: list[str] = field(default_factory=list)

    def median(self) -> float | None:
        """The median wall time, or None when no run passed."""
        return statistics.median(self.wall) if self.wall else None

    def median_to_first_test(self) -> float | None:
        """The median time from spawning pytest to the first test body, if measured."""
        return statistics.median(self.to_first_test) if self.to_first_test else None


@dataclass(frozen=True)
class Runner:
    """How inner suites are run: which interpreter, as whom, with which environment."""

    python: Path
    user: str | None  # None: the current user
    home: Path
    work: Path  # a private copy of bench/suites, writable by `user`
    state: Path  # pytest-boss's template cache for the benchmark, writable by `user`
    pg_bin: Path
    boss_options: dict[str, str] = field(default_factory=dict)

    def boss_option(self, key: str) -> str:
        """The flag pytest-boss offers for key (the first candidate until it was asked)."""
        return self.boss_options.get(key) or BOSS_OPTION_CANDIDATES[key][0]

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """An explicit environment: nothing from the caller's leaks in (PG*, BOSS_*, PYTEST_*)."""
        env = {
            "PATH": f"{self.python.parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
        }
        if self.user is not None:
            env["USER"] = env["LOGNAME"] = self.user
        env.update(extra or {})
        return env

    def run(
        self, argv: Sequence[str], cwd: Path, env: dict[str, str], timeout: float, what: str
    ) -> tuple[int, str, float]:
        """Runs argv, output to a file (never a pipe a server could inherit); (rc, output, s)."""
        group = None if self.user is None else _group_of(self.user)
        extra_groups: list[int] | None = None if self.user is None else []
        with tempfile.TemporaryFile() as out:
            start = time.perf_counter()
            try:
                proc = subprocess.run(
                    list(argv),
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                    user=self.user,
                    group=group,
                    extra_groups=extra_groups,
                )
            except subprocess.TimeoutExpired as exc:
                raise BenchError(
                    f"{what} did not finish within {timeout:.0f} s: {shlex.join(argv)}"
                ) from exc
            elapsed = time.perf_counter() - start
            out.seek(0)
            output = out.read().decode("utf-8", "replace")
        return proc.returncode, output, elapsed


def _group_of(user: str) -> int:
    """The primary group of user."""
    return pwd.getpwnam(user).pw_gid


def _check_call(argv: Sequence[str], what: str, timeout: float = SETUP_TIMEOUT) -> str:
    """Runs a set-up command as the current user; its output, or BenchError with its tail."""
    try:
        proc = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{what} did not finish within {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise BenchError(f"{what} failed ({shlex.join(argv)}):\n{tail}")
    return proc.stdout


def ensure_venv(repo: Path) -> Path:
    """Builds the shared virtualenv once (marker written last), installs this checkout."""
    BENCH_ROOT.mkdir(mode=0o755, exist_ok=True)
    BENCH_ROOT.chmod(0o755)
    wanted = "\n".join(VENV_REQUIREMENTS) + "\n"
    if not (VENV_MARKER.exists() and VENV_MARKER.read_text() == wanted):
        if not SYSTEM_PYTHON.exists():
            raise BenchError(
                f"{SYSTEM_PYTHON} is missing: the benchmark needs a Python every user can "
                "read to run the suites as an unprivileged user (apt-get install python3-venv)"
            )
        print(f"building {VENV} (once) ...", file=sys.stderr)
        shutil.rmtree(VENV, ignore_errors=True)
        _check_call([str(SYSTEM_PYTHON), "-m", "venv", str(VENV)], "creating the virtualenv")
        _check_call(
            [str(VENV / "bin/python"), "-m", "pip", "install", "-q", *VENV_REQUIREMENTS],
            "installing the benchmark's requirements",
        )
        VENV_MARKER.write_text(wanted)
    print(f"installing {repo} into {VENV} ...", file=sys.stderr)
    _check_call(
        [
            str(VENV / "bin/python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--root-user-action=ignore",
            "--no-build-isolation",
            f"{repo}[bench]",
        ],
        "installing pytest-boss from this checkout",
    )
    return VENV / "bin/python"


def give_venv_to(user: str) -> None:
    """Hands the virtualenv to the user the suites run as, as a user's own venv would be.

    pytest caches the assertion rewrite of every module of an entry-point plugin in
    `__pycache__` beside it; in a venv its user cannot write, both tools pay that rewrite on
    every run, which no user of either tool pays after their first run.
    """
    entry = pwd.getpwnam(user)
    for path in [VENV, *VENV.rglob("*")]:
        os.lchown(path, entry.pw_uid, entry.pw_gid)


def make_runner(pg_bin: Path, user: str) -> Runner:
    """As root: the shared venv and an unprivileged user. Otherwise: this interpreter."""
    if os.geteuid() == 0:
        python = ensure_venv(REPO)
        give_venv_to(user)
        entry = pwd.getpwnam(user)
        base = Path(tempfile.mkdtemp(prefix="run-", dir=BENCH_ROOT))
        base.chmod(0o755)
        os.chown(base, entry.pw_uid, entry.pw_gid)
        home = Path(entry.pw_dir)
        runner_user: str | None = user
    else:
        python = Path(sys.executable)
        base = Path(tempfile.mkdtemp(prefix="pytest-boss-bench-"))
        home = Path.home()
        runner_user = None
    work = base / "suites"
    shutil.copytree(SUITES, work, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    state = base / "boss-cache"
    state.mkdir()
    if runner_user is not None:
        entry = pwd.getpwnam(runner_user)
        for path in [state, work, *work.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return Runner(python, runner_user, home, work, state, pg_bin)


# pytest-boss options the bench uses: the binaries, and the template cache folder (the
# first name of each list that `pytest --help` shows is used).
BOSS_OPTION_CANDIDATES = {
    "pg_bin": ("--pg-bin",),
    "cache": ("--pg-cache-dir", "--pg-cache"),
}


def tool_args(tool: str, runner: Runner) -> list[str]:
    """The tool's own options: both use the same PostgreSQL installation."""
    if tool == BOSS:
        # The '=' form: as separate words pytest would take the paths for test paths.
        return [
            f"{runner.boss_option('pg_bin')}={runner.pg_bin}",
            f"{runner.boss_option('cache')}={runner.state}",
        ]
    return ["--postgresql-exec", str(runner.pg_bin / "pg_ctl")]


def pytest_argv(tool: str, workload: Workload, runner: Runner) -> list[str]:
    """The whole inner command line."""
    other = PLUGIN_NAME[POSTGRESQL if tool == BOSS else BOSS]
    argv = [str(runner.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", f"no:{other}"]
    if workload.workers:
        argv += ["-n", str(workload.workers)]
    argv += tool_args(tool, runner)
    if tool == BOSS:
        argv += workload.boss_args
    argv.append(f"{SUITE_DIR[tool]}/{workload.suite}")
    return argv


PASSED = re.compile(r"\b(\d+) passed\b")


def run_once(
    tool: str, workload: Workload, runner: Runner
) -> tuple[float, float | None, int | None]:
    """One timed inner run: (wall seconds, seconds from spawn to the first test body, the
    number of template loads)."""
    if workload.cold and tool == BOSS:
        empty_cache(runner)
    extra: dict[str, str] = dict(workload.env)
    load_log: Path | None = None
    if workload.count_loads:
        load_log = runner.work / f".loads-{os.getpid()}"
        load_log.unlink(missing_ok=True)
        extra["BENCH_LOAD_LOG"] = str(load_log)
    stamp_path: Path | None = None
    if workload.stamp:
        stamp_path = runner.work / f".stamp-{os.getpid()}"
        stamp_path.unlink(missing_ok=True)
        extra["BENCH_STAMP"] = str(stamp_path)
    argv = pytest_argv(tool, workload, runner)
    spawned = time.time()
    rc, output, elapsed = runner.run(
        argv, runner.work, runner.env(extra), RUN_TIMEOUT, f"{tool} on {workload.name}"
    )
    passed = PASSED.findall(output)
    if rc != 0 or not passed or int(passed[-1]) != workload.tests:
        tail = "\n".join(output.splitlines()[-40:])
        raise InnerRunError(tool, workload.name, argv, rc, tail)
    to_first: float | None = None
    if stamp_path is not None and stamp_path.exists():
        to_first = float(stamp_path.read_text()) - spawned
        stamp_path.unlink()
    loads: int | None = None
    if load_log is not None:
        loads = len(load_log.read_text().splitlines()) if load_log.exists() else 0
        load_log.unlink(missing_ok=True)
    return elapsed, to_first, loads


def empty_cache(runner: Runner) -> None:
    """Removes the contents of pytest-boss's template cache (not the folder itself)."""
    for child in runner.state.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def versions(runner: Runner) -> dict[str, str]:
    """Versions of the tools in the interpreter that runs the suites, and of PostgreSQL."""
    script = (
        "import importlib.metadata as m, json, sys\n"
        "names = ['pytest', 'pytest-boss', 'pytest-postgresql', 'pytest-xdist', 'psycopg']\n"
        "d = {}\n"
        "for n in names:\n"
        "    try:\n"
        "        d[n] = m.version(n)\n"
        "    except m.PackageNotFoundError:\n"
        "        d[n] = 'missing'\n"
        "d['python'] = sys.version.split()[0]\n"
        "print(json.dumps(d))\n"
    )
    rc, output, _ = runner.run(
        [str(runner.python), "-c", script], runner.work, runner.env(), 60, "reading versions"
    )
    if rc != 0:
        raise BenchError(f"cannot read versions with {runner.python}:\n{output}")
    found: dict[str, str] = json.loads(output.strip().splitlines()[-1])
    missing = [name for name, version in found.items() if version == "missing"]
    if missing:
        raise BenchError(
            f"{', '.join(missing)} not installed for {runner.python}: run `tox -e bench`, or "
            "`pip install -e '.[bench]'` and run this script again"
        )
    postgres = runner.pg_bin / "postgres"
    found["postgresql"] = _check_call([str(postgres), "--version"], "postgres --version").strip()
    return found


def find_boss_options(runner: Runner) -> None:
    """Fills runner.boss_options from `pytest --help`; fails early, listing the plugin's options."""
    rc, output, _ = runner.run(
        [str(runner.python), "-m", "pytest", "--help", "-p", "no:pytest_postgresql"],
        runner.work,
        runner.env(),
        120,
        "pytest --help",
    )
    offered = set(re.findall(r"(--pg-[a-z-]+)", output))
    absent = []
    for key, candidates in BOSS_OPTION_CANDIDATES.items():
        found = [flag for flag in candidates if flag in offered]
        if found:
            runner.boss_options[key] = found[0]
        else:
            absent.append(" or ".join(candidates))
    if rc != 0 or absent:
        raise BenchError(
            f"pytest-boss offers no {', '.join(absent) or 'working plugin'} (pytest --help "
            f"exit status {rc}); it offers: {', '.join(sorted(offered)) or 'nothing'}\n"
            + "\n".join(output.splitlines()[-20:])
        )


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "system": f"{platform.system()} {platform.release()}",
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def checkout() -> str:
    """The commit of the measured pytest-boss (with -dirty for local changes), if known."""
    try:
        return _check_call(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"], "git describe", 30
        ).strip()
    except (BenchError, OSError):
        return "unknown"


def count(values: Sequence[int]) -> str:
    """Template loads per run: one number when every run agrees, else the range."""
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


def fmt(seconds: float | None) -> str:
    """Seconds with 2 decimals, or a dash."""
    return "-" if seconds is None else f"{seconds:.2f}"


def spread(values: Sequence[float]) -> str:
    """The median, with the range when there are several values."""
    if not values:
        return "-"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def table(workloads: Sequence[Workload], results: dict[tuple[str, str], Measurement]) -> str:
    """A Markdown table: medians, ratio pytest-postgresql / pytest-boss."""
    head = (
        "| # | workload | tests | pytest-postgresql (s) | pytest-boss (s) | ratio |\n"
        "|---|---|---:|---:|---:|---:|\n"
    )
    rows = []
    for w in workloads:
        ppg = results[(POSTGRESQL, w.name)]
        boss = results[(BOSS, w.name)]
        a, b = ppg.median(), boss.median()
        ratio = f"{a / b:.1f}x" if a is not None and b is not None and b > 0 else "-"
        cells = [spread(ppg.wall), spread(boss.wall)]
        if w.stamp:
            cells = [
                f"{spread(ppg.wall)}, first test at {fmt(ppg.median_to_first_test())}",
                f"{spread(boss.wall)}, first test at {fmt(boss.median_to_first_test())}",
            ]
        if w.count_loads:
            cells = [
                f"{cell}, loads {count(m.loads)}" if m.loads else cell
                for cell, m in zip(cells, (ppg, boss), strict=True)
            ]
        rows.append(f"| {w.group} | {w.title} | {w.tests} | {cells[0]} | {cells[1]} | {ratio} |")
    return head + "\n".join(rows) + "\n"


def select(only: Sequence[str] | None) -> list[Workload]:
    """Workloads by name or by issue number ('1' is first-cold and first-warm)."""
    if not only:
        return list(WORKLOADS)
    chosen: list[Workload] = []
    for token in only:
        matches = [w for w in WORKLOADS if token in (w.name, w.group)]
        if not matches:
            names = ", ".join(w.name for w in WORKLOADS)
            raise BenchError(f"unknown workload {token!r}: choose a number 0-5 or one of {names}")
        chosen += [w for w in matches if w not in chosen]
    # Cold before warm, whatever the order asked.
    return sorted(chosen, key=WORKLOADS.index)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per tool and workload")
    parser.add_argument(
        "--only",
        action="append",
        metavar="WORKLOAD",
        help="run only this workload (name or number 0-5); repeatable",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every timing to FILE")
    parser.add_argument(
        "--markdown", type=Path, metavar="FILE", help="write the table and its context to FILE"
    )
    parser.add_argument(
        "--pg-bin",
        type=Path,
        default=DEFAULT_PG_BIN,
        help=f"PostgreSQL binaries both tools use (default {DEFAULT_PG_BIN})",
    )
    parser.add_argument(
        "--user",
        default="postgres",
        help="unprivileged user for the suites when run as root (default postgres)",
    )
    parser.add_argument(
        "--tool",
        choices=TOOLS,
        action="append",
        help="measure only this tool (repeatable; default both)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the copied suites and the template cache of this run (for debugging)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


NOTES = """
## What is measured

- Every number is the wall time of one whole `python -m pytest` subprocess (interpreter
  start to exit, server shutdown and clean-up included), the median of the repetitions; the
  runs go in rounds (one run of every workload by each tool per round; the rounds of the
  cold workloads first, as they empty the cache) and the two tools alternate. "first test
  at" is the time from spawning pytest to the first line of the test body (fixtures set
  up, server running).
- Both tools use the same PostgreSQL binaries. As root, both run from the same virtualenv
  as the same unprivileged user, who owns it (as a user's own virtualenv: pytest's cache of
  rewritten plugin modules can be written, and one untimed run of each tool fills it). Each
  run loads only its own tool's plugin (`-p no:boss` / `-p no:pytest_postgresql`), both with
  `-p no:cacheprovider`.
- Each tool keeps its defaults for where data lives. pytest-postgresql runs initdb at every
  session into pytest's basetemp (`/tmp/pytest-of-<user>/...`, the root ext4 filesystem
  here) and starts the server with fsync off (`-F`). pytest-boss copies a cached initdb
  result into its default cluster folder (`/dev/shm` when it has room). The bench gives
  pytest-boss a template cache folder of its own (under /var/tmp, ext4, like the default
  `~/.cache/pytest-boss`), emptied before every cold run; the OS page cache is not dropped.
  pytest-postgresql has no cache: its cold and warm runs do the same work.
- Workload 1: one test connects with psycopg to the server's `postgres` database and runs
  `SELECT 1` (pytest-postgresql: the `postgresql_proc` fixture; pytest-boss: `pg_cluster`).
- Workload 2: 100 tests, each creates a table and inserts a row in a fresh database
  (pytest-postgresql: the `postgresql` client fixture, which clones its template database
  and drops it after the test; pytest-boss: `pg_database`, connected with psycopg).
- Workload 3: 50 tests, 25 combinations of `max_connections` 20..24 (postmaster-level) and
  `work_mem` 1MB..5MB (reloadable), twice each, grouped by `max_connections`, same order
  in both suites. pytest-postgresql: one `factories.postgresql_proc(postgres_options=
  "-c max_connections=N")` per postmaster-level configuration (5 servers, in conftest.py)
  and `work_mem` set for the test's connection with `set_config` (the cheapest choice its
  users have; a process fixture per combination would mean 25 servers). pytest-boss: one
  `@pytest.mark.pg_conf(max_connections=N, work_mem=...)` per test, default pool size.
- Workload 4: the same suites with pytest-xdist `-n 2` (default load scheduling): in both
  tools each worker starts its own servers.
- Workload 5 (issue 13): 20 tests under `-n 2`, each with a fresh database made from a
  template loaded from `shared/loaded_schema.sql` (3 tables, 6,100 rows, then
  `pg_sleep(1.5)`), checking the rows are there; 10 tests run on the default server, 10 on
  one with `max_connections=40` (postmaster-level). pytest-postgresql: two `postgresql_proc`
  factories (the second with `postgres_options="-c max_connections=40"`), each with
  `load=[note_load, <the SQL file>]`, and a `postgresql` client fixture each. pytest-boss:
  `pg_template_loader` overridden in conftest.py with a `SqlFiles` subclass that notes
  each load, and `@pytest.mark.pg_conf(max_connections=40)` on half the tests. Each load
  appends a line to the file named by `BENCH_LOAD_LOG`: "loads N" is how many lines a run
  wrote. Cold: pytest-boss's cache emptied before each run. Warm: one untimed run first.
  Empty: the same suite with `BENCH_TEMPLATE=empty` (no loader; the tests check the
  database is empty), warm. "warm minus empty" is the median over rounds of the difference
  between a round's warm and empty runs (closer together in time than the medians are).
  "--pg-template" (pytest-boss only): the warm run with the template given by
  `--pg-template=loadcount:note_load --pg-template=shared/loaded_schema.sql` instead of
  the fixture (the `pg_template` ini key's way).
- Suites: `bench/suites/postgresql/*` and `bench/suites/boss/*`.
- A load average above the number of cores means other work shared the machine during
  the run; the range of each cell shows how much that moved the numbers.
"""


def markdown(
    command: str,
    started: datetime.datetime,
    elapsed: float,
    info: dict[str, dict[str, str]],
    body: str,
    runner: Runner,
    repeat: int,
) -> str:
    """RESULTS.md: the table and everything needed to reproduce it."""
    v, m = info["versions"], info["machine"]
    inner = "\n".join(
        f"    {shlex.join(pytest_argv(tool, WORKLOAD_BY_NAME['settings-n2'], runner))}"
        for tool in TOOLS
    )
    return (
        "# Benchmark: pytest-boss against pytest-postgresql\n\n"
        f"Command: `{command}` (as {'root' if os.geteuid() == 0 else 'a normal user'}; "
        f"suites ran as `{runner.user or pwd.getpwuid(os.getuid()).pw_name}`)\n\n"
        f"Date: {started:%Y-%m-%d %H:%M} UTC, {elapsed:.0f} s in all. "
        f"Median of {repeat} runs (range in brackets); ratio of the medians = "
        "pytest-postgresql / pytest-boss.\n\n"
        f"Machine: {m['system']}, {m['cpu']}, {m['cores']} cores, {m['memory']}, "
        f"load average {m['loadavg']} at start, {m.get('loadavg_end', '?')} at the end.\n\n"
        f"Versions: {v['postgresql']} ({runner.pg_bin}), Python {v['python']}, "
        f"pytest {v['pytest']}, pytest-xdist {v['pytest-xdist']}, psycopg {v['psycopg']}, "
        f"pytest-postgresql {v['pytest-postgresql']}, pytest-boss {v['pytest-boss']} "
        f"(checkout {checkout()}).\n\n"
        + body
        + "\nInner command lines (workload 4, settings suite), run in a copy of bench/suites:\n\n"
        + inner
        + "\n"
        + NOTES
    )


def with_later_sections(written: str, existing: str) -> str:
    """`written` followed by the sections of `existing` that it does not write itself (the
    hand-written records of other measurements, from the first such `## ` heading on)."""
    own = {line for line in written.splitlines() if line.startswith("## ")}
    lines = existing.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith("## ") and line.rstrip("\n") not in own:
            return written.rstrip("\n") + "\n\n" + "".join(lines[index:])
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the selected workloads, prints the table, writes --json and --markdown."""
    args = parse_args(argv)
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    workloads = select(args.only)
    tools = args.tool or list(TOOLS)
    if not (args.pg_bin / "pg_ctl").exists():
        raise BenchError(f"no pg_ctl in {args.pg_bin}: give --pg-bin a PostgreSQL bin folder")
    runner = make_runner(args.pg_bin, args.user)
    try:
        return measure(args, runner, workloads, tools, started, t0, argv)
    finally:
        if not args.keep:
            shutil.rmtree(runner.work.parent, ignore_errors=True)


def measure(
    args: argparse.Namespace,
    runner: Runner,
    workloads: Sequence[Workload],
    tools: Sequence[str],
    started: datetime.datetime,
    t0: float,
    argv: Sequence[str] | None,
) -> int:
    """The measurements proper, in a prepared runner."""
    info = {"versions": versions(runner), "machine": machine()}
    if BOSS in tools:
        find_boss_options(runner)
    print(f"suites in {runner.work}, run as {runner.user or 'me'}", file=sys.stderr)
    results = {(t, w.name): Measurement(t, w.name) for t in TOOLS for w in workloads}
    # Cold workloads empty the template cache: their rounds first, then the warm ones'.
    cold = [w for w in workloads if w.cold]
    warm = [w for w in workloads if not w.cold]
    warm_up([WORKLOAD_BY_NAME["first-warm"]], tools, runner)
    for rep in range(args.repeat):
        time_round(rep, cold, tools, runner, results)
    warm_up([w for w in warm if w.count_loads], tools, runner)
    for rep in range(args.repeat):
        time_round(rep, warm, tools, runner, results)
    elapsed = time.perf_counter() - t0
    info["machine"]["loadavg_end"] = machine()["loadavg"]
    body = table(workloads, results)
    gap = gaps(workloads, results)
    if gap:
        body += "\nWorkload 5, warm minus empty (median of the rounds' differences): " + (
            ", ".join(f"{tool} {seconds:+.2f} s" for tool, seconds in gap.items()) + "\n"
        )
    print(body)
    command = shlex.join(["python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    if args.json:
        payload = {
            "command": command,
            "date": started.isoformat(),
            "seconds": elapsed,
            "repeat": args.repeat,
            **info,
            "workloads": [asdict(w) for w in workloads],
            "results": [asdict(m) for m in results.values()],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    if args.markdown:
        written = markdown(command, started, elapsed, info, body, runner, args.repeat)
        kept = args.markdown.read_text() if args.markdown.exists() else ""
        args.markdown.write_text(with_later_sections(written, kept))
    failed = any(m.errors for m in results.values())
    return 1 if failed else 0


def warm_up(workloads: Sequence[Workload], tools: Sequence[str], runner: Runner) -> None:
    """One untimed run of each workload by each tool: workload 1 first of all (imports and
    binaries in the page cache for everyone); then each warm workload that counts loads,
    after the cold rounds (its template in the cache, whichever workload ran before)."""
    for workload in workloads:
        for tool in [t for t in tools if workload.runs(t)]:
            try:
                run_once(tool, workload, runner)
            except BenchError as exc:
                print(f"warm-up of {workload.name}: {exc}", file=sys.stderr)


def time_round(
    rep: int,
    workloads: Sequence[Workload],
    tools: Sequence[str],
    runner: Runner,
    results: dict[tuple[str, str], Measurement],
) -> None:
    """One timed run of each workload by each tool, into `results`. Rounds, rather than all
    the runs of one workload in a row: a change of the machine's load then moves every
    workload alike, and workloads compared with each other (5: warm and empty) stay fair."""
    # Alternate the order, so neither tool always runs right after the other.
    order = tools if rep % 2 == 0 else list(reversed(tools))
    for workload in workloads:
        for tool in [t for t in order if workload.runs(t)]:
            m = results[(tool, workload.name)]
            try:
                wall, first, loads = run_once(tool, workload, runner)
            except BenchError as exc:
                m.errors.append(str(exc))
                print(f"{tool:18} {workload.name:13} FAILED\n{exc}", file=sys.stderr)
                continue
            m.wall.append(wall)
            if first is not None:
                m.to_first_test.append(first)
            if loads is not None:
                m.loads.append(loads)
            extra = f" (first test at {first:.3f})" if first is not None else ""
            extra += f" ({loads} template loads)" if loads is not None else ""
            print(f"{tool:18} {workload.name:13} {wall:7.3f} s{extra}", file=sys.stderr)


def gaps(
    workloads: Sequence[Workload], results: dict[tuple[str, str], Measurement]
) -> dict[str, float]:
    """Per tool (and variant), the median over rounds of (a warm run - the empty run): the
    cost of the loaded template on a warm run, each round's runs taken close together."""
    names = {w.name for w in workloads}
    found: dict[str, float] = {}
    if "loaded-empty" not in names:
        return found
    for tool in TOOLS:
        empty = results[(tool, "loaded-empty")].wall
        for name in ("loaded-warm", "loaded-option"):
            warm = results[(tool, name)].wall if name in names else []
            if warm and len(warm) == len(empty):
                label = tool if name == "loaded-warm" else f"{tool} ({name})"
                found[label] = statistics.median(a - b for a, b in zip(warm, empty, strict=True))
    return found


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(2)
