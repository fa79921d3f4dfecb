"""The loaded template: once per machine, keyed by the content of its inputs, never stale."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import InnerRun

from pytest_boss.boss.installation import Installation

LOADER = """
import os

def load(database):
    with open(os.environ["LOAD_LOG"], "a") as fo:
        fo.write("load\\n")
    database.sql(open(os.path.join(os.environ["PROJECT"], "schema.sql")).read())
"""

SUITE = """
import pytest

@pytest.mark.parametrize("n", range(3))
def test_default(pg_database, n):
    assert pg_database.sql("SELECT name FROM item") == [(open("expected.txt").read().strip(),)]
    assert pg_database.sql("SELECT count(*) FROM pg_roles WHERE rolname = 'app_owner'") == [("1",)]

@pytest.mark.pg_conf(max_connections="31")
@pytest.mark.parametrize("n", range(3))
def test_other_postmaster(pg_database, n):
    assert pg_database.sql("SELECT name FROM item") == [(open("expected.txt").read().strip(),)]

def test_private_cluster(pg_cluster_factory):
    from pytest_boss import Database
    cluster = pg_cluster_factory(template=True)
    database = Database.from_template(cluster)
    assert database.sql("SELECT count(*) FROM item") == [("1",)]
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytester.makeini("[pytest]\npg_template = schema_loader:load\npg_template_key = data/*.txt\n")
    pytester.makepyfile(schema_loader=LOADER, test_inner=SUITE)
    (pytester.path / "data").mkdir()
    (pytester.path / "data" / "extra.txt").write_text("v1\n")
    _schema(pytester.path, "one")
    monkeypatch.setenv("LOAD_LOG", str(pytester.path / "loads.log"))
    monkeypatch.setenv("PROJECT", str(pytester.path))
    # Prepended: a PYTHONPATH given to this run (a worktree's checkout) stays in force.
    monkeypatch.setenv("PYTHONPATH", str(pytester.path), prepend=os.pathsep)
    return pytester.path


def _schema(path: Path, name: str) -> None:
    (path / "schema.sql").write_text(
        "CREATE TABLE item (name text);\n"
        f"INSERT INTO item VALUES ('{name}');\n"
        "CREATE ROLE app_owner;\n"
    )
    (path / "expected.txt").write_text(name)


def _loads(project: Path) -> int:
    log = project / "loads.log"
    count = len(log.read_text().splitlines()) if log.exists() else 0
    log.unlink(missing_ok=True)
    return count


def test_loaded_once_per_machine_and_again_when_an_input_changes(
    project: Path, run_inner: InnerRun
) -> None:
    cache = f"--pg-cache-dir={project / 'cache'}"
    cold = run_inner(cache, "-n", "2")
    cold.assert_outcomes(passed=7)
    assert _loads(project) == 1  # two workers, two postmaster configurations, one load
    cold.stdout.fnmatch_lines(["pytest-boss: template *schema_loader:load*: loaded now in *"])
    warm = run_inner(cache, "-n", "2")
    warm.assert_outcomes(passed=7)
    assert _loads(project) == 0
    warm.stdout.fnmatch_lines(["pytest-boss: template *: copied from the cache*"])
    # The loader's module changed: a fresh load, and the tests see it.
    (project / "schema_loader.py").write_text(LOADER + "\n# changed\n")
    run_inner(cache).assert_outcomes(passed=7)
    assert _loads(project) == 1
    # A file named by pg_template_key changed.
    (project / "data" / "extra.txt").write_text("v2\n")
    run_inner(cache).assert_outcomes(passed=7)
    assert _loads(project) == 1
    # The old entries are gone: one loaded entry left (besides the initdb one).
    manifests = list((project / "cache").glob("*/pytest_boss_template.json"))
    assert len(manifests) == 1


def test_a_loader_without_a_key_loads_once_per_run(project: Path, run_inner: InnerRun) -> None:
    (project / "conftest.py").write_text(
        "import pytest\nfrom schema_loader import load\n\n"
        "@pytest.fixture(scope='session')\ndef pg_template_loader():\n    return load\n"
    )
    cache = f"--pg-cache-dir={project / 'cache'}"
    for _ in range(2):
        result = run_inner(cache, "-n", "2")
        result.assert_outcomes(passed=7)
        assert _loads(project) == 1
        result.stdout.fnmatch_lines(["*not cached: the loader gives no key*"])


def test_a_failing_load_is_the_tests_error_and_nothing_is_cached(
    project: Path, run_inner: InnerRun
) -> None:
    (project / "schema.sql").write_text("CREATE TABLE item (name text);\nSELECT no_such_column;\n")
    cache = f"--pg-cache-dir={project / 'cache'}"
    failed = run_inner(cache, "-p", "no:randomly")
    failed.assert_outcomes(errors=6, failed=1)
    failed.stdout.fnmatch_lines(["*no_such_column*"])
    assert _loads(project) == 1  # tried once, not once per test
    assert not list((project / "cache").glob("*/pytest_boss_template.json"))
    _schema(project, "fixed")
    run_inner(cache).assert_outcomes(passed=7)
    assert _loads(project) == 1


def _wal_bytes(entry: Path) -> int:
    """What an entry's WAL takes on disk (holes not counted): what each copy of it copies."""
    return sum(path.stat().st_blocks * 512 for path in (entry / "pg_wal").iterdir())


def test_a_loaded_entry_carries_no_copy_of_template1_in_its_wal(
    project: Path, run_inner: InnerRun, pg_installation: Installation
) -> None:
    if pg_installation.major < 15:
        pytest.skip("CREATE DATABASE writes no WAL of its own before PostgreSQL 15")
    run_inner(f"--pg-cache-dir={project / 'cache'}").assert_outcomes(passed=7)
    entries = [path for path in (project / "cache").iterdir() if (path / "pg_wal").is_dir()]
    loaded = [path for path in entries if (path / "pytest_boss_template.json").exists()]
    assert len(entries) == 2 and len(loaded) == 1
    (initdb,) = set(entries) - set(loaded)
    # The load adds a table, a row and a role: its WAL, not template1's 7 MB again.
    assert _wal_bytes(loaded[0]) - _wal_bytes(initdb) < 2 * 2**20


def test_a_large_load_leaves_no_spare_wal_segments_in_the_entry(
    project: Path, run_inner: InnerRun
) -> None:
    # About 100 MB of WAL: more than min_wal_size, whose worth a checkpoint keeps as spares.
    (project / "schema.sql").write_text(
        "CREATE TABLE item (name text);\n"
        "INSERT INTO item VALUES ('one');\n"
        "CREATE ROLE app_owner;\n"
        "CREATE TABLE bulk AS SELECT g, repeat('x', 300) AS filler"
        " FROM generate_series(1, 300000) AS g;\n"
        "DROP TABLE bulk;\n"
    )
    run_inner(f"--pg-cache-dir={project / 'cache'}").assert_outcomes(passed=7)
    entries = [path for path in (project / "cache").iterdir() if (path / "pg_wal").is_dir()]
    (loaded,) = [path for path in entries if (path / "pytest_boss_template.json").exists()]
    segments = [path for path in (loaded / "pg_wal").iterdir() if path.is_file()]
    # The segment in use, and perhaps the next one made ahead of it: no recycled spares.
    assert len(segments) <= 2, sorted(path.name for path in segments)


ALEMBIC_INI = """
[alembic]
script_location = %(here)s/migrations
sqlalchemy.url = postgresql+psycopg://set-by-the-loader
"""

ALEMBIC_ENV = """
import os
from alembic import context
from sqlalchemy import engine_from_config, pool

with open(os.environ["LOAD_LOG"], "a") as fo:
    fo.write("load\\n")
config = context.config
engine = engine_from_config(
    config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool
)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
"""

REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None

def upgrade():
    {body}

def downgrade():
    pass
"""

ALEMBIC_SUITE = """
def test_schema(pg_database):
    tables = pg_database.sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    )
    assert [t for (t,) in tables] == open("expected.txt").read().split()
"""


def test_alembic_migrations_fill_the_template_once(
    pytester: pytest.Pytester, run_inner: InnerRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("alembic")
    project = pytester.path
    (project / "alembic.ini").write_text(ALEMBIC_INI)
    versions = project / "migrations" / "versions"
    versions.mkdir(parents=True)
    (project / "migrations" / "env.py").write_text(ALEMBIC_ENV)
    body = 'op.create_table("item", sa.Column("id", sa.Integer, primary_key=True))'
    (versions / "r1.py").write_text(REVISION.format(rev="r1", down=None, body=body))
    (project / "expected.txt").write_text("alembic_version item")
    pytester.makeconftest(
        "import pytest\nfrom pytest_boss.loaders import AlembicUpgrade\n\n"
        "@pytest.fixture(scope='session')\ndef pg_template_loader(pytestconfig):\n"
        "    return AlembicUpgrade(str(pytestconfig.rootpath / 'alembic.ini'))\n"
    )
    pytester.makepyfile(test_inner=ALEMBIC_SUITE)
    monkeypatch.setenv("LOAD_LOG", str(project / "loads.log"))
    cache = f"--pg-cache-dir={project / 'cache'}"
    run_inner(cache).assert_outcomes(passed=1)
    assert _loads(project) == 1
    run_inner(cache).assert_outcomes(passed=1)
    assert _loads(project) == 0
    # A new revision: loaded again, and the tests see its table.
    body = 'op.create_table("order", sa.Column("id", sa.Integer, primary_key=True))'
    (versions / "r2.py").write_text(REVISION.format(rev="r2", down="r1", body=body))
    (project / "expected.txt").write_text("alembic_version item order")
    run_inner(cache).assert_outcomes(passed=1)
    assert _loads(project) == 1
