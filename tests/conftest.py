"""Shared fixtures of the test suite: PostgreSQL installations and real clusters.

- ``pg_installation`` (session): one per PostgreSQL major found on this machine (ids
  ``pg15``, ``pg18``...). ``BOSS_PG_BIN`` narrows the choice (a path, ``system``,
  ``embedded``, ``15``). No PostgreSQL at all is a failure of every test that needs one,
  with the places searched; ``BOSS_ALLOW_MISSING_PG=1`` turns that into a skip, except when
  ``CI=true``.
- ``make_cluster`` (session): ``make_cluster(**create_options) -> Cluster``, created (not
  started) in a RAM-backed folder when there is one; every cluster made is dropped at the end
  of the session.
- ``shared_cluster`` (session): one running cluster per installation, for tests that only
  read or that restore what they change.
- ``cluster`` (function): ``shared_cluster``, running, with postgresql.conf and pg_hba.conf
  restored after the test (and the server restarted or reloaded when they changed).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_boss.boss.cluster import Cluster
from pytest_boss.boss.installation import Installation, InstallationError, find_installations

#: Folders tried for test clusters, fastest first (file creation dominates on disk).
RAM_FOLDERS = ("/dev/shm",)
RAM_NEEDED_BYTES = 512 * 1024 * 1024


def _discover() -> list[Installation | InstallationError]:
    """One installation per major, in search order; or the error saying why there is none."""
    try:
        found = find_installations()
    except InstallationError as exc:
        return [exc]
    by_major: dict[int, Installation] = {}
    for installation in found:
        by_major.setdefault(installation.major, installation)
    return list(by_major.values())


_INSTALLATIONS = _discover()


def _id(item: Installation | InstallationError) -> str:
    return item.id if isinstance(item, Installation) else "no-postgresql"


def _missing_allowed() -> bool:
    return (
        os.environ.get("BOSS_ALLOW_MISSING_PG") == "1"
        and os.environ.get("CI", "").lower() != "true"
    )


@pytest.fixture(scope="session", params=_INSTALLATIONS, ids=_id)
def pg_installation(request: pytest.FixtureRequest) -> Installation:
    """A PostgreSQL installation of this machine (the test runs once per major)."""
    item = request.param
    if isinstance(item, InstallationError):
        if _missing_allowed():
            pytest.skip(f"BOSS_ALLOW_MISSING_PG=1 and no PostgreSQL: {item.message}")
        pytest.fail(str(item), pytrace=False)
    assert isinstance(item, Installation)
    return item


def _cluster_base(factory: pytest.TempPathFactory) -> str:
    """A private folder for test clusters, on tmpfs when it has room."""
    for folder in RAM_FOLDERS:
        try:
            usage = shutil.disk_usage(folder)
        except OSError:
            continue
        if usage.free >= RAM_NEEDED_BYTES and os.access(folder, os.W_OK | os.X_OK):
            return tempfile.mkdtemp(prefix="pytest-boss-tests-", dir=folder)
    return str(factory.mktemp("clusters"))


@pytest.fixture(scope="session")
def cluster_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The folder (private, mode 0700) that holds this session's test clusters."""
    base = _cluster_base(tmp_path_factory)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM and SIGHUP would end the run without its teardown, leaving the servers of
    this suite's own clusters running: they interrupt it instead, as Ctrl-C does, so that
    every fixture's teardown runs (the plugin's handlers, which stop only its pools, are
    not needed then). Handlers someone else set are kept."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@pytest.fixture(scope="session")
def make_cluster(
    pg_installation: Installation, cluster_base: str
) -> Iterator[Callable[..., Cluster]]:
    """``make_cluster(**create_options)``: a new, stopped cluster of ``pg_installation``."""
    made: list[Cluster] = []

    def make(**options: Any) -> Cluster:
        path = tempfile.mkdtemp(prefix=f"{pg_installation.id}-", dir=cluster_base)
        os.rmdir(path)  # Cluster.create wants a new folder; the name is ours now
        cluster = Cluster.create(path, pg_installation, **options)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.drop()


@pytest.fixture(scope="session")
def shared_cluster(make_cluster: Callable[..., Cluster]) -> Cluster:
    """One running cluster per installation, shared by the session."""
    cluster = make_cluster()
    cluster.start()
    return cluster


@pytest.fixture
def cluster(shared_cluster: Cluster) -> Iterator[Cluster]:
    """The shared cluster, running; its configuration files are restored after the test."""
    if not shared_cluster.running():
        shared_cluster.start()
    saved = {
        path: open(path, "rb").read()  # noqa: SIM115 (read once, small)
        for path in (shared_cluster.config_path, shared_cluster.hba_path)
    }
    yield shared_cluster
    changed = False
    for path, data in saved.items():
        with open(path, "rb") as fo:
            current = fo.read()
        if current != data:
            from pytest_boss.boss._atomic import atomic_write_bytes

            atomic_write_bytes(path, data)
            changed = True
    if changed and shared_cluster.running():
        shared_cluster.restart()
    elif not shared_cluster.running():
        shared_cluster.start()
