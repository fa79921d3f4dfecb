"""Inner suites shared by several plugin tests (run serially and under xdist)."""

#: Plugins of this environment the inner runs do not need (hypothesis's alone costs ~1.4 s
#: per run at session end); `-p no:NAME` is harmless where one is not installed.
QUIET = (
    "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:randomly"
)  # fmt: skip

HBA_SUITE = """
import psycopg
import pytest

def login(cluster, user="alice", password="secret"):
    with psycopg.connect(host="127.0.0.1", port=cluster.port, user=user,
                         password=password, dbname="postgres", connect_timeout=10):
        pass

@pytest.fixture
def alice(pg_cluster):
    pg_cluster.sql("DROP ROLE IF EXISTS alice; CREATE ROLE alice LOGIN PASSWORD 'secret'")
    return pg_cluster

@pytest.mark.pg_hba("host all alice 127.0.0.1/32 reject")
def test_rule_before_defaults(alice):
    with pytest.raises(psycopg.OperationalError, match="rejects connection"):
        login(alice)
    login(alice, user=alice.user, password=alice.password)

def test_rule_gone(alice):
    login(alice)

@pytest.mark.pg_hba("local all all trust", "host all all 127.0.0.1/32 trust", replace=True)
def test_replace(alice, pg_hba):
    assert [str(entry).split()[0] for entry in pg_hba] == ["local", "host"]
    login(alice, password="wrong")

def test_replace_gone(alice):
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        login(alice, password="wrong")

def test_fixture_edits(alice, pg_hba):
    count = len(pg_hba)
    pg_hba.insert(0, "host all alice 127.0.0.1/32 reject")
    assert len(pg_hba) == count + 1
    with pytest.raises(psycopg.OperationalError, match="rejects connection"):
        login(alice)
    with pytest.raises(ValueError, match="127.0.0.1/33"):
        pg_hba.insert(0, "host all alice 127.0.0.1/33 reject")
    assert len(pg_hba) == count + 1
    del pg_hba[0]
    login(alice)
    pg_hba.append("host all bob 127.0.0.1/32 reject")

def test_fixture_edits_gone(alice, pg_hba):
    assert "bob" not in str(pg_hba)
    login(alice)
"""

#: Inner code: the pooled clusters whose postmaster says "ready", found by their files under
#: `root` (a --pg-dir). Only pooled clusters' folders (c1-...): initdb's single-user backends
#: and a template load's server write postmaster.pid too, and remove it at any moment.
READY_CLUSTERS = """
import glob, os, time

def ready_clusters(root):
    found = {}  # data folder: port
    pattern = os.path.join(root, "pytest-boss-*", "c*", "data", "postmaster.pid")
    for path in glob.glob(pattern):
        try:
            with open(path) as fo:
                lines = fo.read().splitlines()
        except OSError:
            continue
        if len(lines) >= 8 and lines[7].strip() == "ready":
            found[os.path.realpath(os.path.dirname(path))] = lines[3].strip()
    return found

def wait_for_ready_clusters(root, seconds):
    deadline = time.monotonic() + seconds
    while not ready_clusters(root) and time.monotonic() < deadline:
        time.sleep(0.01)
    return ready_clusters(root)
"""
