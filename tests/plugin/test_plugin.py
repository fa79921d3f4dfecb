# ruff: noqa: E501 (the inner suites are source text; their lines read best unbroken)
"""What users see of the plugin: --help, --markers, the header, reports, options, cleanup."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable

import pytest
from suites import QUIET

from pytest_boss.boss.installation import Installation, find_installations
from pytest_boss.boss.privileges import remove_placed

InnerRun = Callable[..., pytest.RunResult]


def test_help_shows_the_boss_group_with_ini_twins(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    result = run_default("--help")
    result.stdout.fnmatch_lines(
        [
            "PostgreSQL clusters for tests (pytest-boss):",
            "*--pg-bin=PATH*",
            "*--pg-user=NAME*[env BOSS_PG_USER]*",
            "*--pg-conf=NAME=VALUE*",
            "*--pg-hba=RULE*",
            "*--pg-template=SOURCE*",
            "*--pg-cache-dir=DIR*",
            "*--pg-no-cache*",
            "*--pg-dir=DIR*",
            "*--pg-keep*",
            "*--pg-pool-size=N*",
        ]
    )
    for ini in ("pg_bin (linelist)", "pg_user (string)", "pg_conf (linelist)", "pg_hba (linelist)",
                "pg_template (linelist)", "pg_cache_dir (string)", "pg_no_cache (bool)",
                "pg_dir (string)", "pg_keep (bool)", "pg_pool_size"):  # fmt: skip
        result.stdout.fnmatch_lines([f"*{ini}*"])


def test_markers_are_documented_with_their_signatures(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    result = run_default("--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.pg_conf(mapping=None, /, **settings): postgresql.conf settings *",
            "@pytest.mark.pg_hba(*rules, replace=False): pg_hba.conf rules *",
            "@pytest.mark.pg_init(**initdb_options): initdb options *",
        ],
        consecutive=False,
    )


def test_strict_markers_header_and_the_server_log_of_a_failing_test(
    pytester: pytest.Pytester, run_default: InnerRun, default_installation: Installation
) -> None:
    pytester.makepyfile(
        test_inner="""
        import pytest

        @pytest.mark.pg_conf(work_mem="5MB")
        @pytest.mark.pg_hba("local all all trust")
        @pytest.mark.pg_init(encoding="UTF8")
        def test_fails(pg_cluster):
            pg_cluster.sql("DO $$ BEGIN RAISE LOG 'marker-of-this-test'; END $$")
            assert False

        def test_passes_and_logs(pg_cluster):
            pg_cluster.sql("DO $$ BEGIN RAISE LOG 'marker-of-a-passing-test'; END $$")

        def test_fails_without_a_cluster():
            assert False
        """
    )
    result = run_default("--strict-markers", "-rA")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "pytest-boss *",
            f"  {default_installation.version_string} (*{default_installation.bindir})",
        ]
    )
    out = result.stdout.str()
    failing = out[out.index("_ test_fails _") : out.index("_ test_fails_without_a_cluster _")]
    assert "PostgreSQL server log" in failing
    assert "marker-of-this-test" in failing
    assert "marker-of-a-passing-test" not in out
    without = out[out.index("_ test_fails_without_a_cluster _") :]
    assert "PostgreSQL server log" not in without.split("short test summary")[0]


def test_default_settings_and_rules_from_options_and_ini(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    pytester.makeini(
        """
        [pytest]
        pg_conf =
            work_mem = 6MB
            max_connections=77
        pg_hba = host all carol 127.0.0.1/32 reject
        """
    )
    pytester.makepyfile(
        test_inner="""
        import psycopg
        import pytest

        def test_defaults(pg_cluster, pg_hba):
            assert pg_cluster.sql("SHOW work_mem; SHOW max_connections; SHOW lock_timeout") == [("6MB",), ("77",), ("8s",)]
            assert str(pg_hba[0]).split()[:3] == ["host", "all", "carol"]

        @pytest.mark.pg_conf(work_mem="9MB")
        def test_marker_wins(pg_cluster):
            assert pg_cluster.sql("SHOW work_mem") == [("9MB",)]

        @pytest.mark.pg_hba("local all all trust", replace=True)
        def test_replace_keeps_the_run_rules(pg_hba):
            assert [str(e).split()[2] for e in pg_hba] == ["all", "carol"]
        """
    )
    result = run_default("--pg-conf", "lock_timeout=8s", "-v")
    result.assert_outcomes(passed=3)


def test_option_precedence_command_line_ini_environment(
    pytester: pytest.Pytester, run_default: InnerRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\npg_pool_size = 3\npg_keep = false\n")
    pytester.makepyfile(
        test_inner="""
        import os
        from pytest_boss.session import session_of

        def test_values(pytestconfig):
            expected = os.environ["EXPECTED"].split(",")
            options = session_of(pytestconfig).options
            got = [str(options.pool_size), str(options.keep), str(options.user)]
            assert got == expected
        """
    )
    monkeypatch.setenv("BOSS_PG_POOL_SIZE", "9")
    monkeypatch.setenv("BOSS_PG_USER", "from-env")
    monkeypatch.setenv("EXPECTED", "3,False,from-env")
    run_default().assert_outcomes(passed=1)
    monkeypatch.setenv("EXPECTED", "5,True,from-cli")
    run_default("--pg-pool-size=5", "--pg-keep", "--pg-user=from-cli").assert_outcomes(passed=1)
    monkeypatch.setenv("BOSS_PG_POOL_SIZE", "lots")
    monkeypatch.setenv("EXPECTED", "3,False,from-env")
    result = run_default()
    result.assert_outcomes(passed=1)  # the ini value wins, the bad environment value is unused
    os.remove(pytester.path / "tox.ini")
    result = run_default()
    result.stderr.fnmatch_lines(["*environment BOSS_PG_POOL_SIZE*'lots'*expected a whole number*"])


def test_every_server_is_stopped_and_removed_at_the_end(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    clusters = pytester.mkdir("clusters")
    pytester.makepyfile(
        test_inner="""
        import pytest

        PIDS = []

        @pytest.mark.parametrize("mb", [64, 96])
        def test_two_keys(pg_cluster, pg_cluster_factory, mb, pg_conf):
            pg_conf["shared_buffers"] = f"{mb}MB"
            PIDS.append(pg_cluster.pid())
            PIDS.append(pg_cluster_factory().pid())
            with open("pids.txt", "a") as fo:
                fo.write("\\n".join(map(str, PIDS)) + "\\n")
        """
    )
    result = run_default(f"--pg-dir={clusters}", "-v")
    result.assert_outcomes(passed=2)
    pids = {int(line) for line in (pytester.path / "pids.txt").read_text().split()}
    assert len(pids) >= 3
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}"), f"postmaster {pid} outlived the run"
    assert list(clusters.iterdir()) == []


def test_keep_keeps_the_folders_but_stops_the_servers(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    clusters = pytester.mkdir("clusters")
    pytester.makepyfile(
        test_inner="""
        def test_one(pg_cluster):
            with open("pid.txt", "w") as fo:
                fo.write(str(pg_cluster.pid()))
        """
    )
    run_default(f"--pg-dir={clusters}", "--pg-keep").assert_outcomes(passed=1)
    pid = int((pytester.path / "pid.txt").read_text())
    assert not os.path.exists(f"/proc/{pid}")
    kept = glob.glob(f"{clusters}/*/*/data/PG_VERSION")  # */ follows the link to the real place
    assert kept, "no data directory was kept"
    for path in kept:
        # The run folder is a link to a private holder the server user can reach: remove both.
        remove_placed(os.path.normpath(os.path.join(path, "..", "..", "..")))


def test_servers_run_as_the_server_user_and_tcp_needs_the_run_password(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    pytester.makepyfile(
        test_inner="""
        import os
        import pwd
        import psycopg
        import pytest

        def owner(pid):
            with open(f"/proc/{pid}/status") as fo:
                uid = next(line for line in fo if line.startswith("Uid:")).split()[1]
            return pwd.getpwuid(int(uid)).pw_name

        def test_identity_and_password(pg_cluster):
            expected = pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() else "postgres"
            assert owner(pg_cluster.pid()) == expected
            assert pg_cluster.password
            with pytest.raises(psycopg.OperationalError, match="password"):
                psycopg.connect(host="127.0.0.1", port=pg_cluster.port, user=pg_cluster.user,
                                password="guess", dbname="postgres")
            with psycopg.connect(pg_cluster.url()) as conn:
                assert conn.execute("SELECT inet_server_addr()::text").fetchone()[0] == "127.0.0.1/32"
            assert pg_cluster.sql("SHOW listen_addresses") == [("127.0.0.1",)]
        """
    )
    run_default("-v").assert_outcomes(passed=1)


def test_pool_size_bounds_running_clusters(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    pytester.makepyfile(
        test_inner="""
        import pytest

        @pytest.mark.parametrize("mb", [
            pytest.param(mb, marks=pytest.mark.pg_conf(shared_buffers=f"{mb}MB"))
            for mb in (64, 96, 64, 96)
        ])
        def test_alternating_keys(_pg_pool, pg_cluster, mb):
            assert pg_cluster.sql("SHOW shared_buffers") == [(f"{mb}MB",)]
            assert _pg_pool.running() == [pg_cluster]
        """
    )
    run_default("--pg-pool-size=1", "-v").assert_outcomes(passed=4)


def test_a_full_pool_stops_the_cluster_needed_again_the_latest(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    """Three configurations in a cycle through a pool of two: stopping the least recently
    used one would restart a server for every test (9 starts); stopping the one needed again
    the latest costs 6 (A, B, C; then B for test 4, A for test 6, C for test 8)."""
    pytester.makepyfile(
        test_inner="""
        import pytest

        ORDER = [20, 21, 22] * 3

        @pytest.mark.parametrize("n", [
            pytest.param(n, marks=pytest.mark.pg_conf(max_connections=m))
            for n, m in enumerate(ORDER)
        ])
        def test_cycle(n, pg_cluster):
            assert pg_cluster.sql("SHOW max_connections") == [(str(ORDER[n]),)]
            with open("starts.txt", "a") as fo:
                fo.write(f"{pg_cluster.data_dir} {pg_cluster.pid()}\\n")
        """
    )
    run_default("--pg-pool-size=2").assert_outcomes(passed=9)
    starts = set((pytester.path / "starts.txt").read_text().splitlines())
    assert len(starts) == 6, sorted(starts)


def test_template_cache_is_built_once_checked_and_optional(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    cache = pytester.mkdir("cache")
    pytester.makepyfile(
        test_inner="""
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_cluster(pg_cluster, n):
            assert pg_cluster.sql("SELECT 1") == [("1",)]
        """
    )
    run_default(f"--pg-cache-dir={cache}", "-n", "2").assert_outcomes(passed=4)
    entries = [
        p for p in cache.iterdir() if p.is_dir() and p.name not in ("ports", "hints", "probes")
    ]
    assert len(entries) == 1, "two workers must share one initdb result"
    manifest = entries[0] / ".pytest-boss-template.json"
    assert manifest.exists()
    # A damaged entry (a file lost) is never used: it is rebuilt.
    (entries[0] / "PG_VERSION").unlink()
    run_default(f"--pg-cache-dir={cache}").assert_outcomes(passed=4)
    assert (entries[0] / "PG_VERSION").exists()
    # --pg-no-cache neither reads nor writes it.
    stamp = manifest.stat().st_mtime_ns
    other = pytester.mkdir("other-cache")
    run_default(f"--pg-cache-dir={other}", "--pg-no-cache").assert_outcomes(passed=4)
    assert [p.name for p in other.iterdir()] in ([], ["ports"])
    assert manifest.stat().st_mtime_ns == stamp


def test_several_installations_run_each_test_on_each(pytester: pytest.Pytester) -> None:
    installations = {i.major: i for i in find_installations()}
    if len(installations) < 2:
        pytest.skip("one PostgreSQL major on this machine: nothing to run side by side")
    chosen = list(installations.values())[:2]
    pytester.makepyfile(
        test_inner="""
        def test_version(pg_cluster, pg_installation):
            assert pg_cluster.sql("SHOW server_version_num")[0][0].startswith(str(pg_installation.major))

        def test_without_cluster():
            pass
        """
    )
    result = pytester.runpytest_subprocess(*QUIET, *(f"--pg-bin={i.bindir}" for i in chosen), "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [f"*test_version?{chosen[0].id}? PASSED*", f"*test_version?{chosen[1].id}? PASSED*"],
        consecutive=False,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="acting as another local user needs root")
def test_another_local_user_cannot_log_in(pytester: pytest.Pytester, run_default: InnerRun) -> None:
    psqls = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    if not psqls:
        pytest.skip("no world-readable psql (/usr/lib/postgresql/*/bin/psql) to act with")
    pytester.makepyfile(
        test_inner=f"""
        import pwd
        import subprocess

        def as_nobody(dsn):
            nobody = pwd.getpwnam("nobody")
            return subprocess.run(
                [{psqls[-1]!r}, "-X", "-w", "-c", "SELECT 1", dsn],
                user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[], cwd="/",
                env={{"LC_ALL": "C", "PATH": "/usr/bin:/bin"}},
                capture_output=True, text=True, timeout=60,
            )

        def test_refused(pg_cluster):
            tcp = as_nobody(f"host=127.0.0.1 port={{pg_cluster.port}} user={{pg_cluster.user}} dbname=postgres")
            assert tcp.returncode != 0
            assert "password" in tcp.stderr
            local = as_nobody(f"host={{pg_cluster.host}} port={{pg_cluster.port}} user={{pg_cluster.user}} dbname=postgres")
            assert local.returncode != 0
            assert "Permission denied" in local.stderr
        """
    )
    run_default("-v").assert_outcomes(passed=1)
