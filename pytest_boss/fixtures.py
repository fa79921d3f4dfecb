"""The fixtures of pytest-boss.

Public: `pg_cluster`, `pg_conf`, `pg_hba`, `pg_database`, `pg_database_factory`,
`pg_cluster_factory`, `pg_replicas`, and two
documented override points a conftest.py may redefine: `pg_installation` (the binaries; one
per --pg-bin when several are given) and `pg_template_loader` (what fills pg_database's
template). Internal layers carry a leading underscore: `_pg_session` (this process's
state), `_pg_pool` (running clusters keyed by postmaster-level configuration) and
`_pg_lease` (this test's use of a pooled cluster).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from .collected import needs_in_order
from .database import Database
from .errors import IsolationError, MarkerError
from .logs import LOG_KEY, mark_of
from .markers import call_marker, needs_of
from .session import BossSession, installations_for, session_of

if TYPE_CHECKING:
    # Imported where first used: a run whose tests need no server loads none of it.
    from .boss.cluster import Cluster
    from .boss.installation import Installation
    from .handles import ConfHandle, HbaHandle
    from .lease import Lease
    from .pool import ClusterPool, Pooled
    from .scopes import DatabaseFactory

__all__ = [
    "_pg_lease",
    "_pg_pool",
    "_pg_session",
    "pg_cluster",
    "pg_cluster_factory",
    "pg_conf",
    "pg_database",
    "pg_database_factory",
    "pg_hba",
    "pg_installation",
    "pg_replicas",
    "pg_template_loader",
]

TemplateLoader = Callable[[Database], None]
#: The user property a test's report gets when it left state behind (one line).
ISOLATION_PROPERTY = "pg_isolation"
ClusterFactory = Callable[..., "Cluster"]


@pytest.fixture(scope="session")
def _pg_session(pytestconfig: pytest.Config) -> Generator[BossSession, None, None]:
    """This process's pytest-boss state; every server it started is stopped at the end."""
    session = session_of(pytestconfig)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session")
def pg_installation(request: pytest.FixtureRequest) -> Installation:
    """The PostgreSQL installation of this test (parametrized when --pg-bin names several)."""
    from .boss.installation import Installation

    param = getattr(request, "param", None)
    if isinstance(param, Installation):
        return param
    return installations_for(request.config)[0]


@pytest.fixture(scope="session")
def _pg_pool(
    _pg_session: BossSession,
    pg_installation: Installation,
    pg_template_loader: TemplateLoader | None,
) -> ClusterPool:
    """The running clusters of this worker for one installation, copies of the template
    `pg_template_loader` fills."""
    pool = _pg_session.pool(pg_installation)
    pool.use_template(_pg_session.template_spec(pg_template_loader))
    return pool


@pytest.fixture(scope="session")
def pg_template_loader(pytestconfig: pytest.Config) -> TemplateLoader | None:
    """What fills the template of `pg_database`: the pg_template ini key (SQL files and
    module:function callables), loaded once per machine and kept in the template cache.

    Override it in conftest.py (session scope) to return your own `loader(database)`; give
    the loader a `key` (a string that changes with what it loads) for it to be cached, or
    use one of `pytest_boss.loaders`'s.
    """
    return session_of(pytestconfig).default_loader


#: Collected tests the pool looks at before the first test (a bound on the time the first
#: test waits for it).
PLAN_ITEMS = 5000


@pytest.fixture
def _pg_lease(
    request: pytest.FixtureRequest, _pg_pool: ClusterPool
) -> Generator[Lease, None, None]:
    """This test's use of a pooled cluster, with its markers applied (the next test's lease
    starts from the pool's files again); after the test, the cluster is brought back to
    its baseline (see isolation/)."""
    _pg_pool.plan(needs_in_order(request.session.items[:PLAN_ITEMS]))
    needs = needs_of(request.node)
    pooled, reloadable = _pg_pool.acquire(needs)
    from .lease import Lease

    lease = Lease(_pg_pool, pooled)
    default_hba = _pg_pool.workspace.options.hba
    rules = [*needs.hba, *default_hba] if needs.hba_replace else list(needs.hba)
    lease.apply(reloadable, rules, needs.hba_replace)
    # The test's share of the log begins once its markers are in force: the reload and
    # the plugin's own logins before that are not the test's doing.
    request.node.stash.setdefault(LOG_KEY, []).append(mark_of(lease.cluster.log_path))
    _pg_pool.guard(lease.pooled)
    yield lease
    # The check first, through the kept session; then the test's databases are dropped.
    outcome = _pg_pool.isolate(lease.pooled, lease.finished_databases)
    if outcome is not None:
        summary = outcome.summary()
        request.node.user_properties.append((ISOLATION_PROPERTY, summary))
        if _pg_pool.workspace.options.isolation == "check":
            raise IsolationError(summary)


@pytest.fixture
def pg_cluster(_pg_lease: Lease) -> Cluster:
    """A running Cluster with this test's markers applied; shared with tests of the same
    postmaster-level needs, and restored after the test."""
    return _pg_lease.cluster


@pytest.fixture
def pg_conf(_pg_lease: Lease) -> ConfHandle:
    """The settings of this test's cluster: read the effective value, assign to apply at
    once (reload or restart), `del` to drop the test's own value; undone after the test."""
    from .handles import ConfHandle

    return ConfHandle(_pg_lease)


@pytest.fixture
def pg_hba(_pg_lease: Lease) -> HbaHandle:
    """The pg_hba.conf records of this test's cluster; edits apply at once, undone after."""
    from .handles import HbaHandle

    return HbaHandle(_pg_lease)


@pytest.fixture
def pg_database(
    _pg_lease: Lease, _pg_pool: ClusterPool, pg_template_loader: TemplateLoader | None
) -> Generator[Database, None, None]:
    """A fresh database for this test, copied from the template database, dropped after."""
    database = _pg_pool.new_database(_pg_lease.pooled, pg_template_loader)
    try:
        yield database
    finally:
        _pg_lease.finished_databases.append(database)  # dropped by the lease, see below


@pytest.fixture(scope="session")
def pg_database_factory(
    _pg_session: BossSession, _pg_pool: ClusterPool, pg_template_loader: TemplateLoader | None
) -> DatabaseFactory:
    """`pg_database_factory()` -> a new Database from the template, on the cluster a test
    without markers gets; it lives as long as the fixture (of any scope) or test that asked
    for it. What a module-, class- or session-scoped fixture makes on that cluster is kept
    for the tests in its scope, and removed when the scope ends."""
    return _pg_session.scopes.factory(_pg_pool, pg_template_loader)


@pytest.fixture
def pg_cluster_factory(
    request: pytest.FixtureRequest, _pg_pool: ClusterPool
) -> Generator[ClusterFactory, None, None]:
    """`pg_cluster_factory(conf={...}, hba=[...], template=False, replica_of=None,
    synchronous=False, **initdb_options)`: private running clusters for this test (several
    allowed), stopped and removed after it. With `template=True` the cluster holds the
    loaded template database, and `Database.from_template(cluster)` makes databases from
    it. With `replica_of=cluster` it is a hot standby of that cluster (a factory one, the
    test's pg_cluster, or another standby), `synchronous` making the primary wait for it."""
    from .replicas import Standbys

    made: list[Pooled] = []
    standbys = Standbys(_pg_pool)

    def factory(
        conf: Mapping[str, Any] | None = None,
        hba: Iterable[str] = (),
        template: bool = False,
        replica_of: Cluster | None = None,
        synchronous: bool = False,
        **initdb_options: Any,
    ) -> Cluster:
        if replica_of is not None:
            if conf or hba or template or initdb_options:
                raise MarkerError(
                    "pg_cluster_factory",
                    "(conf=None, hba=(), template=False, replica_of=None, synchronous=False, "
                    "**initdb_options)",
                    "a standby (replica_of=) is a copy of its upstream: it takes no conf, "
                    "hba, template or initdb options",
                )
            standby = standbys.make(replica_of, synchronous=synchronous)
            request.node.stash.setdefault(LOG_KEY, []).append(mark_of(standby.log_path))
            return standby
        settings = call_marker("pg_conf", (dict(conf or {}),), {})
        rules, _ = call_marker("pg_hba", tuple(hba), {})
        init = call_marker("pg_init", (), initdb_options)
        pooled = _pg_pool.private(settings, rules, init, template=template)
        made.append(pooled)
        request.node.stash.setdefault(LOG_KEY, []).append(mark_of(pooled.cluster.log_path))
        return pooled.cluster

    try:
        yield factory
    finally:
        errors = []
        try:
            standbys.close()  # before their upstreams
        except Exception as exc:
            errors.append(exc)
        for pooled in made:
            try:
                _pg_pool.discard_private(pooled)
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture
def pg_replicas(
    request: pytest.FixtureRequest, _pg_lease: Lease, _pg_pool: ClusterPool
) -> Generator[list[Cluster], None, None]:
    """With `@pytest.mark.pg_replicas(n, synchronous=False)` (default: one), running hot
    standbys of this test's pg_cluster, removed after the test with their slots and
    settings: the shared cluster keeps nothing of them."""
    from .replicas import Standbys

    marker = request.node.get_closest_marker("pg_replicas")
    n, synchronous = (
        call_marker("pg_replicas", marker.args, marker.kwargs) if marker else (1, False)
    )
    standbys = Standbys(_pg_pool)
    try:
        replicas = [standbys.make(_pg_lease.cluster, synchronous) for _ in range(n)]
        for standby in replicas:
            request.node.stash.setdefault(LOG_KEY, []).append(mark_of(standby.log_path))
        yield replicas
    finally:
        standbys.close()
