"""Faults: a config write that fails (full disk, read-only folder, file size limit), a server
that will not start, and secrets that must never be printed.

Each fault is made for real inside the inner test: a small tmpfs filled up, an immutable
data directory (`chattr +i`; root ignores mode bits), RLIMIT_FSIZE. The test gets a precise
error, the configuration file is byte for byte what it was, and the next test gets a healthy
cluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import InnerRun

ROOT = os.geteuid() == 0

FAULT_SUITE = """
import contextlib
import errno
import os
import resource
import signal
import subprocess

@contextlib.contextmanager
def fault(cluster):
    how = os.environ["HOW"]
    if how == "full-disk":
        filler = os.path.join(os.environ["FULL_DIR"], "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for size in (1 << 20, 4096, 1):  # until not even a byte fits
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"x" * size)
        finally:
            os.close(fd)
        try:
            yield
        finally:
            os.remove(filler)
    elif how == "read-only-folder":
        subprocess.run(["chattr", "+i", cluster.data_dir], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", cluster.data_dir], check=True)
    else:  # file-size-limit
        previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limits = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16, limits[1]))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, limits)
            signal.signal(signal.SIGXFSZ, previous)

def read(path):
    with open(path, "rb") as fo:
        return fo.read()

def test_write_fails(pg_cluster, pg_conf):
    before = read(pg_cluster.config_path)
    names = set(os.listdir(pg_cluster.data_dir))
    try:
        with fault(pg_cluster):
            pg_conf["work_mem"] = "9MB"
    finally:
        assert read(pg_cluster.config_path) == before
        assert set(os.listdir(pg_cluster.data_dir)) == names  # no temporary file left
        assert pg_cluster.sql("SHOW work_mem") == [("4MB",)]

def test_hba_write_fails(pg_cluster, pg_hba):
    before = read(pg_cluster.hba_path)
    count = len(pg_hba)
    try:
        with fault(pg_cluster):
            pg_hba.insert(0, "host all alice 127.0.0.1/32 reject")
    finally:
        assert read(pg_cluster.hba_path) == before
        assert len(pg_hba) == count

def test_next_is_healthy(pg_cluster, pg_conf, pg_hba):
    assert pg_cluster.sql("SHOW work_mem") == [("4MB",)]
    pg_conf["work_mem"] = "9MB"
    assert pg_cluster.sql("SHOW work_mem") == [("9MB",)]
    pg_hba.insert(0, "host all alice 127.0.0.1/32 reject")
    assert str(pg_hba[0]).split() == ["host", "all", "alice", "127.0.0.1/32", "reject"]
"""

#: (fault, what the system says), the cluster on a tmpfs for the full disk.
FAULTS = [
    pytest.param("file-size-limit", "File too large", id="file-size-limit"),
    *(
        [
            pytest.param("full-disk", "No space left on device", id="full-disk"),
            pytest.param("read-only-folder", "Operation not permitted", id="read-only-folder"),
        ]
        if ROOT
        else []
    ),
]


@pytest.fixture
def small_tmpfs() -> Iterator[Path]:
    """A 160 MB tmpfs (room for one cluster) where the server user can reach it."""
    folder = Path(tempfile.mkdtemp(prefix="boss-small-", dir="/tmp"))
    folder.chmod(0o755)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
        folder.rmdir()


@pytest.mark.parametrize(("how", "reason"), FAULTS)
def test_a_config_write_that_fails_is_precise_and_changes_nothing(
    pytester: pytest.Pytester,
    run_default: InnerRun,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    how: str,
    reason: str,
) -> None:
    monkeypatch.setenv("HOW", how)
    args = []
    if how == "full-disk":
        folder = request.getfixturevalue("small_tmpfs")
        monkeypatch.setenv("FULL_DIR", str(folder))
        args.append(f"--pg-dir={folder}")
    pytester.makepyfile(test_inner=FAULT_SUITE)
    result = run_default(*args)
    result.assert_outcomes(passed=1, failed=2)
    for name in ("postgresql.conf", "pg_hba.conf"):
        result.stdout.fnmatch_lines(
            [
                f"E*pytest_boss.boss.cluster.ConfigWriteError: could not write */{name}: "
                f"{reason}; the file is unchanged. Free space on its filesystem, or make its "
                "folder writable, and try again",
            ]
        )
    result.stdout.fnmatch_lines(["*FAILED test_inner.py::test_write_fails*"])
    result.stdout.fnmatch_lines(["*FAILED test_inner.py::test_hba_write_fails*"])


START_SUITE = """
import pytest
from pytest_boss.errors import ClusterStartError

@pytest.mark.pg_conf(shared_preload_libraries="no_such_library_boss")
def test_bad_library(pg_cluster):
    pass

def test_healthy(pg_cluster):
    assert pg_cluster.sql("SHOW shared_preload_libraries") == [("",)]

def test_bad_library_at_run_time(pg_cluster, pg_conf):
    with pytest.raises(ClusterStartError, match='could not access file "no_such_library_boss"'):
        pg_conf["shared_preload_libraries"] = "no_such_library_boss"
    assert pg_cluster.sql("SHOW shared_preload_libraries") == [("",)]
"""

#: Where this machine has no huge pages, huge_pages=on is a shared memory request the
#: kernel refuses: the memory-limit kind of start failure, made for real.
_NO_HUGE_PAGES = "HugePages_Total:       0" in Path("/proc/meminfo").read_text()
HUGE_SUITE = """

@pytest.mark.pg_conf(huge_pages="on")
def test_no_huge_pages(pg_cluster):
    pass
"""


def test_a_server_that_will_not_start_is_a_precise_setup_error(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    pytester.makepyfile(test_inner=START_SUITE + (HUGE_SUITE if _NO_HUGE_PAGES else ""))
    result = run_default()
    result.assert_outcomes(passed=2, errors=1 + _NO_HUGE_PAGES)
    lines = [
        "ClusterStartError: PostgreSQL does not start with "
        "shared_preload_libraries='no_such_library_boss'; change these settings. The server said:",
        '*FATAL:  could not access file "no_such_library_boss": No such file or directory',
    ]
    if _NO_HUGE_PAGES:
        lines += [
            "ClusterStartError: PostgreSQL does not start with "
            "huge_pages='on'; change these settings. The server said:",
            "*FATAL:  could not map anonymous shared memory: Cannot allocate memory",
        ]
    result.stdout.fnmatch_lines(lines, consecutive=False)


SECRET_SUITE = """
import os
import pytest

@pytest.fixture(autouse=True)
def tell(pg_cluster):
    with open(os.environ["SECRET"], "w") as fo:
        fo.write(pg_cluster.password)
    with open(os.environ["SECRET"] + ".logs", "a") as fo:
        fo.write(pg_cluster.log_path + "\\n")

def test_fails(pg_cluster, pg_conf, pg_hba, pg_database, pg_cluster_factory):
    private = pg_cluster_factory(conf={"log_statement": "all"})
    private.sql("SELECT 1")
    assert pg_cluster.sql("SELECT 1") == [("2",)]

def test_fails_in_sql(pg_database):
    pg_database.sql("SELECT no_such_column")

def test_bad_password_login(pg_cluster):
    import psycopg
    psycopg.connect(pg_cluster.dsn(host="127.0.0.1", password="wrong"))

@pytest.mark.pg_conf(shared_preload_libraries="no_such_library_boss")
def test_start_error(pg_cluster):
    pass
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_run_password_is_never_printed(
    pytester: pytest.Pytester,
    run_default: InnerRun,
    monkeypatch: pytest.MonkeyPatch,
    workers: list[str],
) -> None:
    """Failures with every detail asked for (-vv, --showlocals, long tracebacks), server
    logs of every statement: the password is in none of it."""
    secret = pytester.path / "secret"
    monkeypatch.setenv("SECRET", str(secret))
    pytester.makepyfile(test_inner=SECRET_SUITE)
    result = run_default(
        "-vv", "--showlocals", "--tb=long", "-rA", "--pg-conf=log_statement=all",
        "--pg-conf=log_min_messages=debug1", "--pg-keep", *workers,
    )  # fmt: skip
    logs = set(Path(f"{secret}.logs").read_text().split())
    kept = [Path(log).read_text(errors="replace") for log in logs]
    for log in logs:  # kept on purpose: not for a later run to reap
        shutil.rmtree(os.path.dirname(os.path.dirname(os.path.dirname(log))))
    result.assert_outcomes(failed=3, errors=1)
    password = secret.read_text()
    assert len(password) >= 16
    result.stdout.fnmatch_lines(["*PostgreSQL server log*"])  # the log sections are there
    output = "\n".join(result.outlines + result.errlines)
    assert password not in output
    # The whole logs (the plugin's own sessions log no statements; the core's tests check
    # that the server receives only the password's verifier).
    assert all(password not in log for log in kept)
