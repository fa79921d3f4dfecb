"""Django with pytest-django on pytest-boss clusters (`-p pytest_boss.django`): migrations
in the template once per machine, the test database on the worker's cluster, markers that
reach Django's connection, `-n 2`."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import InnerRun
from suites import READY_CLUSTERS

SETTINGS = """
INSTALLED_APPS = ["django.contrib.contenttypes", "notes"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "prod",
                         "HOST": "no-such-host.invalid", "USER": "app", "PASSWORD": "secret"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
"""

MODELS = """
from django.db import models

class Note(models.Model):
    text = models.TextField()
"""

INITIAL = """
import json
import os
from django.db import migrations, models

def count_load(apps, schema_editor):
    with open(os.environ["LOAD_LOG"], "a") as fo:
        fo.write("migrate\\n")
    apps.get_model("notes", "Note").objects.create(text="seed")

class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Note", [
            ("id", models.BigAutoField(primary_key=True, serialize=False)),
            ("text", models.TextField()),
        ]),
        migrations.RunPython(count_load),
    ]
"""

SECOND = """
from django.db import migrations

class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [migrations.RunSQL("CREATE TABLE later (a int)")]
"""

SUITE = """
import pytest
from django.db import connection
from notes.models import Note

def show(name):
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]

@pytest.mark.parametrize("n", range(3))
def test_db(db, n):
    assert Note.objects.count() == 1  # the data migration's row
    Note.objects.create(text="x")
    assert connection.settings_dict["HOST"] == "127.0.0.1"

def test_transactional(transactional_db):
    Note.objects.create(text="committed")
    assert Note.objects.count() == 2  # then Django flushes every table of this database

@pytest.mark.pg_conf(max_connections=31)
@pytest.mark.parametrize("n", range(2))
def test_postmaster_level(db, pg_cluster, n):
    assert show("max_connections") == "31"
    assert connection.settings_dict["PORT"] == str(pg_cluster.port)
    assert Note.objects.count() == 1

@pytest.mark.pg_conf(log_disconnections=True)
def test_connection_time_setting(db):
    assert show("log_disconnections") == "on"

def test_back_on_the_session_database(db):
    assert show("max_connections") != "31"
    assert show("log_disconnections") == "off"
    assert list(Note.objects.values_list("text", flat=True)) == ["seed"]
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytester.makeini(
        "[pytest]\nDJANGO_SETTINGS_MODULE = site_settings\naddopts = -p pytest_boss.django\n"
    )
    pytester.makepyfile(site_settings=SETTINGS)
    app = pytester.path / "notes"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(MODELS)
    (app / "migrations" / "__init__.py").write_text("")
    (app / "migrations" / "0001_initial.py").write_text(INITIAL)
    monkeypatch.setenv("LOAD_LOG", str(pytester.path / "loads.log"))
    monkeypatch.setenv("PYTHONPATH", str(pytester.path), prepend=os.pathsep)
    return pytester.path


def _loads(project: Path) -> int:
    log = project / "loads.log"
    count = len(log.read_text().splitlines()) if log.exists() else 0
    log.unlink(missing_ok=True)
    return count


def test_migrations_load_once_per_machine_and_again_when_one_changes(
    project: Path, pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    pytester.makepyfile(test_notes=SUITE)
    cache = f"--pg-cache-dir={project / 'cache'}"
    cold = run_default(cache, "-n", "2", "--pg-isolation=check")
    cold.assert_outcomes(passed=8)  # and nothing left behind on a shared cluster
    assert _loads(project) == 1  # two workers, two pooled clusters: one migrate
    cold.stdout.fnmatch_lines(["pytest-boss: template DjangoMigrate(default): loaded now in *"])
    warm = run_default(cache, "-n", "2", "-p", "no:randomly")
    warm.assert_outcomes(passed=8)
    assert _loads(project) == 0
    (project / "notes" / "migrations" / "0002_later.py").write_text(SECOND)
    pytester.makepyfile(
        test_later="def test_later(db):\n"
        "    from django.db import connection\n"
        "    with connection.cursor() as c:\n"
        "        c.execute('SELECT count(*) FROM later')\n"
    )
    changed = run_default(cache, "-n", "2")
    changed.assert_outcomes(passed=9)
    assert _loads(project) == 1
    changed.stdout.fnmatch_lines(["pytest-boss: template DjangoMigrate(default): loaded now in *"])


def test_hba_markers_reach_djangos_connection(
    project: Path, pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    """A rule that refuses Django's own TCP login fails that test at setup (its
    connection was opened under the rule); the next test gets a connection again."""
    pytester.makepyfile(
        test_hba="""
        import pytest
        from notes.models import Note

        @pytest.mark.pg_hba("host all all 127.0.0.1/32 reject")
        def test_refused(db):
            pass

        def test_after(db):
            assert Note.objects.count() == 1
        """
    )
    result = run_default("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*django.db.utils.OperationalError*pg_hba.conf rejects connection*",
            "ERROR *test_refused*",
        ]
    )


def test_a_database_pytest_boss_cannot_serve_is_a_usage_error(
    project: Path, pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    pytester.makepyfile(
        site_settings=SETTINGS.replace(
            "django.db.backends.postgresql", "django.db.backends.sqlite3"
        ),
        test_one="def test_one(db):\n    pass\n",
    )
    result = run_default()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*pytest-boss serves Django's 'default' database on PostgreSQL*"])


def test_a_failing_migration_is_the_tests_error(
    project: Path, pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    (project / "notes" / "migrations" / "0002_later.py").write_text(
        SECOND.replace("CREATE TABLE later (a int)", "CREATE TABLE broken (a no_such_type)")
    )
    pytester.makepyfile(test_one="def test_one(db):\n    pass\n")
    result = run_default()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Django migrate --database default*no_such_type*"])


def test_a_transactional_test_leaves_the_data_migrations_rows_alone(
    project: Path, pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    """pytest-django flushes every table after a transactional test; here that test had a
    copy of the template of its own, so the next test still sees the seeded row."""
    pytester.makepyfile(
        test_order="""
        import pytest
        from notes.models import Note

        def test_commits(transactional_db):
            Note.objects.create(text="committed")

        @pytest.mark.django_db(transaction=True)
        def test_commits_too():
            assert list(Note.objects.values_list("text", flat=True)) == ["seed"]

        def test_then(db):
            assert list(Note.objects.values_list("text", flat=True)) == ["seed"]
        """
    )
    run_default("-p", "no:randomly").assert_outcomes(passed=3)


def test_without_django_settings_the_error_says_what_to_set(
    pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    pytester.makeini("[pytest]\naddopts = -p pytest_boss.django\n")
    pytester.makepyfile(test_one="def test_one(pg_database):\n    pass\n")
    result = run_default()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Django is not configured; set DJANGO_SETTINGS_MODULE*"])


def test_django_follows_when_the_pool_replaces_the_cluster(
    project: Path, pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    """A change isolation cannot repair (a table in the template database) replaces the
    shared cluster, and the session's database with it; the tests after that run on the
    new cluster, on databases of their own."""
    pytester.makepyfile(
        test_replace="""
        import psycopg
        from django.db import connection
        from notes.models import Note

        def test_changes_the_template(db, pg_cluster):
            with psycopg.connect(pg_cluster.dsn("boss_template"), autocommit=True) as conn:
                conn.execute("CREATE TABLE stray (id int)")

        def test_after(db, pg_cluster):
            assert connection.settings_dict["PORT"] == str(pg_cluster.port)
            assert list(Note.objects.values_list("text", flat=True)) == ["seed"]
        """
    )
    result = run_default("-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_changes_the_template: replaced the cluster*"])


def test_the_pool_sees_which_tests_use_djangos_database(
    project: Path, pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    """Django's tests lease a cluster only once they run; the plan made from the collected
    tests (and the cluster started ahead) counts them all the same."""
    pytester.makeconftest(
        """
        import json
        from pytest_boss.collected import cluster_needs

        def pytest_collection_finish(session):
            found = {}
            for item in session.items:
                needs = cluster_needs(item)
                found[item.name] = None if needs is None else dict(needs.conf)
            with open("needs.json", "w") as fo:
                json.dump(found, fo)
        """
    )
    pytester.makepyfile(
        test_kinds="""
        import pytest
        from django.test import SimpleTestCase, TestCase

        def test_db(db):
            pass

        @pytest.mark.django_db
        @pytest.mark.pg_conf(max_connections=31)
        def test_marker():
            pass

        def test_transactional(transactional_db):
            pass

        def test_plain():
            pass

        class CaseWithDatabase(TestCase):
            def test_case(self):
                pass

        class CaseWithout(SimpleTestCase):
            def test_simple(self):
                pass
        """
    )
    run_default("-p", "no:randomly").assert_outcomes(passed=6)
    found = json.loads((pytester.path / "needs.json").read_text())
    assert found == {
        "test_db": {},
        "test_marker": {"max_connections": "31"},
        "test_transactional": {},
        "test_plain": None,
        "test_case": {},  # on the session's database: markers do not apply
        "test_simple": None,
    }


def test_a_django_suite_starts_its_first_cluster_as_collection_ends(
    project: Path, pytester: pytest.Pytester, run_default: InnerRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No hint from an earlier run, the migrations in the cache: the cluster the first Django
    test needs is started, from the migrated template, as soon as the tests are collected."""
    clusters = pytester.mkdir("clusters")
    pytester.makeconftest(
        READY_CLUSTERS
        + f"""
import pytest

@pytest.hookimpl(trylast=True)  # after pytest-boss's own
def pytest_collection_finish(session):
    ready = wait_for_ready_clusters({str(clusters)!r}, float(os.environ["AHEAD_WAIT"]))
    with open("ready.txt", "w") as fo:
        fo.write(" ".join(ready.values()))
"""
    )
    pytester.makepyfile(
        test_inner="""
        from django.db import connection

        def test_database(db):
            with open("used.txt", "w") as fo:
                fo.write(str(connection.settings_dict["PORT"]))
        """
    )
    cache = pytester.mkdir("cache")
    options = (f"--pg-cache-dir={cache}", f"--pg-dir={clusters}")
    monkeypatch.setenv("AHEAD_WAIT", "0")
    run_default(*options).assert_outcomes(passed=1)  # migrates into the cache
    assert (pytester.path / "ready.txt").read_text() == ""  # nothing to copy ahead yet
    shutil.rmtree(cache / "hints")  # as if this were a new selection of tests
    monkeypatch.setenv("AHEAD_WAIT", "60")
    run_default(*options).assert_outcomes(passed=1)
    ready = (pytester.path / "ready.txt").read_text().split()
    assert ready == [(pytester.path / "used.txt").read_text()]


def test_a_pytest_boss_marker_on_a_django_testcase_is_an_error_not_ignored(
    project: Path, pytester: pytest.Pytester, run_default: InnerRun
) -> None:
    pytester.makepyfile(
        test_cases="""
        import pytest
        from django.test import TestCase
        from notes.models import Note

        pytestmark = pytest.mark.pg_hba("local all all trust")

        def test_function(db):
            assert Note.objects.count() == 1

        @pytest.mark.pg_conf(max_connections=31)
        class MarkedCase(TestCase):
            def test_marked(self):
                pass
        """,
        test_plain_case="""
        from django.test import TestCase
        from notes.models import Note

        class PlainCase(TestCase):
            def test_plain(self):
                self.assertEqual(Note.objects.count(), 1)
        """,
    )
    result = run_default("-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of MarkedCase.test_marked*",
            "@pytest.mark.pg_conf, @pytest.mark.pg_hba cannot apply to a Django TestCase: it "
            "runs on the session's database*",
        ]
    )
