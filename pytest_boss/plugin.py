"""pytest hooks of pytest-boss: options, markers, header and reports (entry point `boss`).

Every entry point pytest calls is here; the fixtures live in `fixtures.py` and are imported
below so pytest registers them with this plugin.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import Any

import pytest

from . import __version__
from .ahead import wants_ahead
from .fixtures import (  # noqa: F401 - registered with pytest by being module attributes
    ISOLATION_PROPERTY,
    _pg_lease,
    _pg_pool,
    _pg_session,
    pg_cluster,
    pg_cluster_factory,
    pg_conf,
    pg_database,
    pg_database_factory,
    pg_hba,
    pg_installation,
    pg_replicas,
    pg_template_loader,
)
from .logs import LOG_KEY
from .markers import MARKERS
from .options import RunOptions, add_options
from .reports import add_server_log, shorten_usage_error
from .session import BossSession, installations_for, session_of

#: Tests that left state behind, listed one per line in the terminal summary.
LEAKS_SHOWN = 20
#: Where an xdist worker puts the templates it used, for the controller's summary.
LOADS_KEY = "pytest_boss_loads"


def pytest_addoption(parser: pytest.Parser) -> None:
    """The "boss" option group, each option with its ini twin."""
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Markers with their signatures (so --strict-markers and --markers work); our state."""
    for marker in MARKERS:
        config.addinivalue_line("markers", marker.line)
    options = RunOptions.from_config(config)
    config.stash[BossSession.KEY] = BossSession(config, options)
    if options.isolation != "off":
        config.pluginmanager.register(LeakReport(options.isolation), "boss-isolation")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the cluster the first test will want while collection runs (see ahead.py)."""
    if wants_ahead(session.config):
        session_of(session.config).start_ahead()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Nothing started ahead yet: start the cluster the first test that needs one will want,
    while the tests before it run (see ahead.py)."""
    if wants_ahead(session.config):
        session_of(session.config).start_for(session.items)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run whose tests needed no cluster starts none ahead next time (see ahead.py); an
    xdist worker tells the controller which templates it loaded."""
    boss = session.config.stash.get(BossSession.KEY, None)
    if boss is not None:
        boss.session_finished(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[LOADS_KEY] = [load.describe() for load in boss.loads()]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Per template: loaded now (how long it took) or copied from the cache."""
    boss = config.stash.get(BossSession.KEY, None)
    if boss is None:
        return
    lines = sorted({*(load.describe() for load in boss.loads()), *boss.worker_loads})
    for line in lines:
        terminalreporter.write_line(f"pytest-boss: {line}")


class LeakReport:
    """The tests that left state behind on a shared cluster: counted from their teardown
    reports (on the xdist controller: every worker's), listed in the terminal summary."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.leaks: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        for name, value in report.user_properties:
            if name == ISOLATION_PROPERTY:
                self.leaks.append((report.nodeid, str(value)))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.leaks:
            return
        terminalreporter.write_line(
            f"pytest-boss: {len(self.leaks)} test(s) left state behind on a shared cluster "
            f"(--pg-isolation={self.mode}):"
        )
        for nodeid, summary in self.leaks[:LEAKS_SHOWN]:
            terminalreporter.write_line(f"  {nodeid}: {summary}")
        if len(self.leaks) > LEAKS_SHOWN:
            terminalreporter.write_line(f"  ... and {len(self.leaks) - LEAKS_SHOWN} more")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Second line of defence (the session fixture's `finally` is the first): stop servers."""
    session = config.stash.get(BossSession.KEY, None)
    if session is not None:
        try:
            session.close()
        except Exception as exc:  # pytest is ending: say it, do not crash the exit
            sys.stderr.write(f"pytest-boss: stopping the servers failed: {exc}\n")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object | None) -> None:
    """xdist controller: a worker that crashed (os._exit, a signal) could not stop its
    servers; stop them and remove its folders now, while the run goes on."""
    session = node.config.stash.get(BossSession.KEY, None)
    if session is None:
        return
    session.worker_loads.extend(getattr(node, "workeroutput", {}).get(LOADS_KEY, ()))
    if error is None:
        return
    try:
        reaped = session.workspace.reap_dead()
    except Exception as exc:  # the run goes on; the next run's reaper tries again
        sys.stderr.write(f"pytest-boss: stopping a crashed worker's servers failed: {exc}\n")
        return
    if reaped:
        worker = getattr(getattr(node, "gateway", None), "id", "an xdist worker")
        sys.stderr.write(
            f"pytest-boss: stopped the servers of crashed {worker}; removed {', '.join(reaped)}\n"
        )


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The PostgreSQL version and binaries in use."""
    installs = installations_for(config, quiet=True)
    if not installs:
        return [f"pytest-boss {__version__}: no PostgreSQL found (see --pg-bin)"]
    lines = [f"pytest-boss {__version__}"]
    for install in installs:
        lines.append(f"  {install.describe()}")
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test once per installation when several are given (--pg-bin twice)."""
    if "pg_installation" not in metafunc.fixturenames:
        return
    installs = installations_for(metafunc.config, quiet=True)
    if len(installs) > 1:
        metafunc.parametrize(
            "pg_installation",
            installs,
            ids=[install.id for install in installs],
            indirect=True,
            scope="session",
        )


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    """Tell pg_database_factory which fixture asks (its databases live as long as it)."""
    scopes = session_of(request.config).scopes
    scopes.starting(fixturedef)
    try:
        return (yield)
    finally:
        scopes.finished(fixturedef)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Each run of a test starts without an earlier run's server log marks and isolation
    findings, which were reported with that run (pytest-rerunfailures runs an item again)."""
    item.stash[LOG_KEY] = []
    item.user_properties[:] = [p for p in item.user_properties if p[0] != ISOLATION_PROPERTY]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """A database pg_database_factory makes in a test's body lives as long as the test."""
    session_of(item.config).scopes.current_item = item


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    session_of(item.config).scopes.current_item = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test's mistake shown from its own line; a failing test's share of the server log."""
    report = yield
    if call.excinfo is not None and report.failed:
        shorten_usage_error(item, report, call.excinfo)
    if report.failed:
        add_server_log(item, report)
    return report
