"""The first cluster started while pytest collects, from what the last such run needed first."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import InnerRun
from suites import READY_CLUSTERS

from pytest_boss.ahead import HINT_DAYS, forget, hint_path, read_hint, write_hint
from pytest_boss.boss.installation import Installation, find_installations

# -- the hint file ----------------------------------------------------------------------------


def test_a_hint_comes_back_as_the_needs_it_remembered(tmp_path: Path) -> None:
    path = hint_path(str(tmp_path), "/project", ["tests"], "main")
    assert read_hint(path) is None
    write_hint(path, "/pg/bin", {"max_connections": "42"}, {"data_checksums": True, "locale": "C"})
    hint = read_hint(path)
    assert hint is not None
    assert hint.bindir == "/pg/bin"
    assert dict(hint.needs.conf) == {"max_connections": "42"}
    assert dict(hint.needs.init) == {"data_checksums": True, "locale": "C"}
    forget(path)
    assert read_hint(path) is None
    forget(path)  # forgetting twice is no error


@pytest.mark.parametrize(
    "init",
    [
        pytest.param({"extra_args": ("--no-instructions",)}, id="tuple-comes-back-a-list"),
        pytest.param({"wal_segsize": 16.0 + 1e-20j}, id="complex-is-no-json"),
    ],
)
def test_needs_json_cannot_give_back_whole_are_not_remembered(tmp_path: Path, init: dict) -> None:
    path = hint_path(str(tmp_path), "/project", [], "main")
    write_hint(path, "/pg/bin", {}, {})
    write_hint(path, "/pg/bin", {}, init)
    assert read_hint(path) is None  # and the older hint is gone: it would be wrong now


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{", id="not-json"),
        pytest.param("[]", id="not-an-object"),
        pytest.param('{"bindir": "/b", "init": {}}', id="no-postmaster"),
        pytest.param('{"init": {}, "postmaster": {}}', id="no-bindir"),
        pytest.param('{"bindir": 1, "init": {}, "postmaster": {}}', id="bindir-not-text"),
        pytest.param('{"bindir": "/b", "init": [], "postmaster": {}}', id="init-not-an-object"),
        pytest.param(
            '{"bindir": "/b", "init": {}, "postmaster": {"port": 5}}', id="setting-not-text"
        ),
    ],
)
def test_a_hint_that_does_not_read_as_one_is_ignored(tmp_path: Path, text: str) -> None:
    path = Path(hint_path(str(tmp_path), "/project", [], "main"))
    path.parent.mkdir(parents=True)
    path.write_text(text)
    assert read_hint(str(path)) is None


def test_hints_no_run_reads_for_a_month_go_when_a_new_one_is_written(tmp_path: Path) -> None:
    cache = str(tmp_path)
    paths = {name: hint_path(cache, "/project", [name], "main") for name in ("old", "read", "new")}
    write_hint(paths["old"], "/pg/bin", {}, {})
    write_hint(paths["read"], "/pg/bin", {}, {})
    long_ago = time.time() - (HINT_DAYS + 1) * 86400
    for name in ("old", "read"):
        os.utime(paths[name], (long_ago, long_ago))
    assert read_hint(paths["read"]) is not None  # a run read it: it stays
    write_hint(paths["new"], "/pg/bin", {}, {})
    assert not os.path.exists(paths["old"])
    assert os.path.exists(paths["read"]) and os.path.exists(paths["new"])


def test_each_way_of_starting_a_run_has_its_own_hint(tmp_path: Path) -> None:
    cache = str(tmp_path)
    base = hint_path(cache, "/project", ["tests"], "gw0")
    assert base == hint_path(cache, "/project", ["tests"], "gw0")
    others = [
        hint_path(cache, "/other", ["tests"], "gw0"),
        hint_path(cache, "/project", ["tests/unit"], "gw0"),
        hint_path(cache, "/project", ["tests"], "gw1"),
    ]
    assert len({base, *others}) == 4


# -- inner runs -------------------------------------------------------------------------------

# The inner conftest looks, when collection is done, for a server that is up already in the
# run's cluster folder; with AHEAD_WAIT it waits for one that long (a cluster made ahead is
# started by a thread while collection runs). The test says which cluster it got.
CONFTEST = (
    READY_CLUSTERS
    + """
def pytest_collection_finish(session):
    wait = float(os.environ.get("AHEAD_WAIT", "0"))
    ready = wait_for_ready_clusters(os.environ["AHEAD_DIR"], wait)
    with open("ready-at-collection.txt", "w") as fo:
        fo.write("\\n".join(ready))
"""
)

FIRST_TEST = """
import os

def test_first(pg_cluster):
    with open("used.txt", "w") as fo:
        fo.write(os.path.realpath(pg_cluster.data_dir) + "\\n")
        fo.write(pg_cluster.sql("SHOW max_connections")[0][0])
"""


def _hint_files(cache: Path) -> list[dict[str, object]]:
    folder = cache / "hints"
    if not folder.exists():
        return []
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def _hints(cache: Path) -> list[dict[str, object]]:
    """The needs each hint remembers (its bin folder and template left out)."""
    return [
        {k: v for k, v in hint.items() if k not in ("bindir", "template")}
        for hint in _hint_files(cache)
    ]


@pytest.fixture
def ahead_run(
    pytester: pytest.Pytester, run_default: InnerRun, monkeypatch: pytest.MonkeyPatch
) -> InnerRun:
    """run_default with a cache folder and a cluster folder of the test's own."""
    cache = pytester.mkdir("cache")
    clusters = pytester.mkdir("clusters")
    monkeypatch.setenv("AHEAD_DIR", str(clusters))
    pytester.makeconftest(CONFTEST)

    def run(*args: str, wait: float = 0) -> pytest.RunResult:
        monkeypatch.setenv("AHEAD_WAIT", str(wait))
        return run_default(f"--pg-cache-dir={cache}", f"--pg-dir={clusters}", *args)

    return run


def _ready(pytester: pytest.Pytester) -> list[str]:
    return (pytester.path / "ready-at-collection.txt").read_text().split()


def _used(pytester: pytest.Pytester) -> tuple[str, str]:
    data_dir, max_connections = (pytester.path / "used.txt").read_text().split("\n")
    return data_dir, max_connections


def test_the_next_run_finds_its_first_cluster_started_during_collection(
    pytester: pytest.Pytester, ahead_run: InnerRun, default_installation: Installation
) -> None:
    pytester.makepyfile(test_inner=FIRST_TEST)
    cache = pytester.path / "cache"
    ahead_run().assert_outcomes(passed=1)
    assert _ready(pytester) == []  # nothing known yet: the test started it
    assert _hint_files(cache) == [
        {"bindir": default_installation.bindir, "init": {}, "postmaster": {}, "template": None}
    ]

    ahead_run(wait=60).assert_outcomes(passed=1)
    ready = _ready(pytester)
    assert len(ready) == 1
    assert _used(pytester)[0] == ready[0]  # the test got the cluster started ahead
    assert list((pytester.path / "clusters").iterdir()) == []  # and it was stopped, removed


def test_a_wrong_guess_costs_nothing_but_is_corrected(
    pytester: pytest.Pytester, ahead_run: InnerRun
) -> None:
    pytester.makepyfile(test_inner=FIRST_TEST)
    cache = pytester.path / "cache"
    ahead_run().assert_outcomes(passed=1)
    # The first test now needs another postmaster-level setting than the hint says.
    pytester.makepyfile(
        test_inner="import pytest\n"
        + FIRST_TEST.replace(
            "def test_first", "@pytest.mark.pg_conf(max_connections=42)\ndef test_first"
        )
    )
    ahead_run(wait=60).assert_outcomes(passed=1)
    ready = _ready(pytester)
    assert len(ready) == 1  # the guess was started...
    data_dir, max_connections = _used(pytester)
    assert data_dir != ready[0]  # ...but not lent
    assert max_connections == "42"
    assert _hints(cache) == [{"init": {}, "postmaster": {"max_connections": "42"}}]
    assert list((pytester.path / "clusters").iterdir()) == []  # both stopped and removed

    ahead_run(wait=60).assert_outcomes(passed=1)
    assert _used(pytester)[0] == _ready(pytester)[0]


LOADER_CONFTEST = """
import pytest
from pytest_boss.loaders import SqlFiles

@pytest.fixture(scope="session")
def pg_template_loader(pytestconfig):
    return SqlFiles(["schema.sql"], str(pytestconfig.rootpath))
"""


def test_a_conftest_loader_s_template_is_copied_ahead(
    pytester: pytest.Pytester, ahead_run: InnerRun
) -> None:
    """The loader of a conftest.py is known only once fixtures run: the cluster made ahead
    copies the cached template the last run's first cluster held, and is kept."""
    pytester.makepyfile(test_inner=FIRST_TEST)
    conftest = (pytester.path / "conftest.py").read_text()
    (pytester.path / "conftest.py").write_text(conftest + LOADER_CONFTEST)
    (pytester.path / "schema.sql").write_text("CREATE TABLE loaded (id int);\n")
    cache = pytester.path / "cache"
    ahead_run().assert_outcomes(passed=1)
    [hint] = _hint_files(cache)
    assert isinstance(hint["template"], list) and len(hint["template"]) == 3

    ahead_run(wait=60).assert_outcomes(passed=1)
    ready = _ready(pytester)
    assert len(ready) == 1
    assert _used(pytester)[0] == ready[0]  # not replaced once the conftest's loader is known


def test_a_run_that_needs_no_cluster_forgets_the_hint(
    pytester: pytest.Pytester, ahead_run: InnerRun
) -> None:
    pytester.makepyfile(test_inner=FIRST_TEST)
    cache = pytester.path / "cache"
    ahead_run().assert_outcomes(passed=1)
    assert len(_hints(cache)) == 1
    pytester.makepyfile(test_inner="def test_no_server():\n    pass\n")
    ahead_run().assert_outcomes(passed=1)
    assert _hints(cache) == []
    assert list((pytester.path / "clusters").iterdir()) == []  # the guess was stopped too
    ahead_run().assert_outcomes(passed=1)
    assert _ready(pytester) == []  # and the next run starts nothing


def test_an_interrupted_run_keeps_the_hint(pytester: pytest.Pytester, ahead_run: InnerRun) -> None:
    pytester.makepyfile(test_inner=FIRST_TEST)
    cache = pytester.path / "cache"
    ahead_run().assert_outcomes(passed=1)
    pytester.makepyfile(test_inner="def test_stop():\n    raise KeyboardInterrupt\n")
    result = ahead_run()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert _hints(cache) == [{"init": {}, "postmaster": {}}]  # Ctrl-C proves nothing
    assert list((pytester.path / "clusters").iterdir()) == []  # the guess was stopped


def test_without_a_cache_nothing_is_remembered(
    pytester: pytest.Pytester, ahead_run: InnerRun
) -> None:
    pytester.makepyfile(test_inner=FIRST_TEST)
    ahead_run("--pg-no-cache").assert_outcomes(passed=1)
    ahead_run("--pg-no-cache").assert_outcomes(passed=1)
    assert _hints(pytester.path / "cache") == []
    assert _ready(pytester) == []


def test_under_xdist_each_worker_starts_its_own_first_cluster_ahead(
    pytester: pytest.Pytester, ahead_run: InnerRun
) -> None:
    pytester.makepyfile(
        test_inner="""
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_cluster(pg_cluster, n):
            assert pg_cluster.sql("SELECT 1") == [("1",)]
        """
    )
    cache = pytester.path / "cache"
    ahead_run("-n", "2").assert_outcomes(passed=4)
    assert len(_hints(cache)) == 2  # one per worker; the controller runs no test
    ahead_run("-n", "2").assert_outcomes(passed=4)
    assert list((pytester.path / "clusters").iterdir()) == []


def test_a_conftest_that_chooses_its_installation_gets_its_cluster_ahead(
    pytester: pytest.Pytester, ahead_run: InnerRun, default_installation: Installation
) -> None:
    others = [i for i in find_installations() if i.bindir != default_installation.bindir]
    if not others:
        pytest.skip("one PostgreSQL installation on this machine: nothing else to choose")
    chosen = others[0]
    pytester.makeconftest(
        CONFTEST
        + f"""
import pytest
from pytest_boss.boss.installation import installation_from_path

@pytest.fixture(scope="session")
def pg_installation():
    return installation_from_path({chosen.bindir!r})
"""
    )
    pytester.makepyfile(
        test_inner=FIRST_TEST
        + """
def test_version(pg_cluster):
    with open("version.txt", "w") as fo:
        fo.write(pg_cluster.sql("SHOW server_version_num")[0][0])
"""
    )
    cache = pytester.path / "cache"
    ahead_run().assert_outcomes(passed=2)
    assert [hint["bindir"] for hint in _hint_files(cache)] == [chosen.bindir]
    ahead_run(wait=60).assert_outcomes(passed=2)
    assert _used(pytester)[0] == _ready(pytester)[0]  # the conftest's installation, ahead
    assert (pytester.path / "version.txt").read_text().startswith(str(chosen.major))


WAITS_FIRST = (
    READY_CLUSTERS
    + """
def test_a_no_server(request):
    found = wait_for_ready_clusters(os.environ["AHEAD_DIR"], float(os.environ["WAIT_FOR"]))
    with open("found.txt", "w") as fo:
        fo.write("\\n".join(found))

def test_b_cluster(pg_cluster):
    with open("used.txt", "w") as fo:
        fo.write(os.path.realpath(pg_cluster.data_dir) + "\\n0")
"""
)


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
def test_without_a_hint_the_first_needed_cluster_starts_while_earlier_tests_run(
    pytester: pytest.Pytester, ahead_run: InnerRun, monkeypatch: pytest.MonkeyPatch, cache: bool
) -> None:
    pytester.makepyfile(test_inner=WAITS_FIRST)
    monkeypatch.setenv("WAIT_FOR", "60")
    ahead_run(*(() if cache else ("--pg-no-cache",))).assert_outcomes(passed=2)
    found = (pytester.path / "found.txt").read_text().split()
    assert len(found) == 1  # started while test_a_no_server ran...
    assert _used(pytester)[0] == found[0]  # ...and lent to test_b_cluster


def test_a_run_whose_selected_tests_need_no_cluster_starts_none(
    pytester: pytest.Pytester, ahead_run: InnerRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_inner=WAITS_FIRST)
    monkeypatch.setenv("WAIT_FOR", "3")  # a cluster started ahead would be ready in far less
    ahead_run("-k", "no_server").assert_outcomes(passed=1)
    assert (pytester.path / "found.txt").read_text().split() == []


def test_a_template_not_cached_yet_starts_nothing_ahead(
    pytester: pytest.Pytester, ahead_run: InnerRun
) -> None:
    """Pooled clusters are copies of the template's entry: before the load, a cluster made
    ahead could only be a copy of initdb's, which the first test would replace."""
    pytester.makeini("[pytest]\npg_template = schema.sql\n")
    (pytester.path / "schema.sql").write_text("CREATE TABLE loaded (id int);\n")
    pytester.makepyfile(
        test_inner="""
        import glob, os

        def test_first(pg_database):
            assert pg_database.sql("SELECT count(*) FROM loaded") == [("0",)]
            made = glob.glob(os.path.join(os.environ["AHEAD_DIR"], "pytest-boss-*", "c*"))
            # The worker's first pooled cluster (c1-...): none was made before it.
            assert [os.path.basename(path).split("-")[0] for path in made] == ["c1"], made
        """
    )
    ahead_run().assert_outcomes(passed=1)
    assert _ready(pytester) == []
