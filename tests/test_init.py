"""initdb through Initializor: defaults fit for tests, every option, errors with initdb's words.

The server is the oracle: options are checked by starting the new cluster and asking it.
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_boss.boss import config
from pytest_boss.boss.cluster import Cluster
from pytest_boss.boss.init import (
    OPTIONS,
    Initializor,
    InitializorError,
    UnknownInitOptionError,
    check_options,
)
from pytest_boss.boss.installation import Installation
from pytest_boss.boss.privileges import (
    ServerUser,
    clean_env,
    place_directory,
    remove_placed,
    server_bindir,
    server_user,
)


@pytest.fixture(scope="module")
def user() -> ServerUser:
    return server_user()


@pytest.fixture(scope="module")
def initdb(pg_installation: Installation, user: ServerUser) -> Initializor:
    return Initializor(
        os.path.join(server_bindir(pg_installation.bindir, user), "initdb"), user=user
    )


@pytest.fixture(scope="module")
def new_dir(cluster_base: str, user: ServerUser) -> Iterator[Any]:
    """``new_dir()``: an empty folder the server user can use (removed at the end)."""
    made: list[str] = []

    def make() -> str:
        path = tempfile.mkdtemp(prefix="init-", dir=cluster_base)
        os.rmdir(path)
        made.append(path)
        return place_directory(path, user).real

    yield make
    for path in made:
        remove_placed(path)


def _started(path: str, installation: Installation, **kwargs: Any) -> Cluster:
    cluster = Cluster(path, installation, **kwargs)
    cluster.configure()
    cluster.start()
    return cluster


@pytest.fixture(scope="module")
def default_cluster(
    initdb: Initializor, new_dir: Any, pg_installation: Installation
) -> Iterator[Cluster]:
    """A cluster made with the defaults, while the caller's locale is German."""
    path = new_dir()
    saved = {k: os.environ.get(k) for k in ("LANG", "LC_ALL", "LC_MESSAGES")}
    os.environ.update(LANG="de_DE.UTF-8", LC_ALL="de_DE.UTF-8", LC_MESSAGES="de_DE.UTF-8")
    try:
        initdb(path)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    cluster = _started(path, pg_installation)
    yield cluster
    cluster.drop()


PASSWORD = "s3cret 'pw' \\ é"


@pytest.fixture(scope="module")
def options_cluster(
    initdb: Initializor, new_dir: Any, pg_installation: Installation
) -> Iterator[Cluster]:
    """A cluster made with many options at once (one initdb for all the checks below)."""
    path = new_dir()
    initdb(
        path,
        superuser="alice",
        password=PASSWORD,
        auth_local="trust",
        auth_host="scram-sha-256",
        encoding="LATIN1",
        locale="C",
        lc_monetary="C",
        data_checksums=True,
        wal_segsize=32,
    )
    cluster = _started(path, pg_installation, user="alice", password=PASSWORD)
    yield cluster
    cluster.drop()


def test_defaults(
    default_cluster: Cluster, pg_installation: Installation, user: ServerUser
) -> None:
    with open(os.path.join(default_cluster.data_dir, "PG_VERSION")) as fo:
        assert fo.read().strip() == str(pg_installation.major)
    rows = default_cluster.sql(
        "SELECT current_user, pg_encoding_to_char(encoding), datcollate, datctype"
        " FROM pg_database WHERE datname = current_database()"
    )
    assert rows == [("postgres", "UTF8", "C", "C")]


def test_machine_locale_does_not_leak(default_cluster: Cluster) -> None:
    assert config.read_file(default_cluster.config_path)["lc_messages"] == "C"
    assert default_cluster.sql("SHOW lc_messages") == [("C",)]


def test_files_belong_to_the_server_user(default_cluster: Cluster, user: ServerUser) -> None:
    for root, dirs, files in os.walk(default_cluster.data_dir):
        for name in [*dirs, *files]:
            assert os.lstat(os.path.join(root, name)).st_uid == user.uid, name


def test_superuser(options_cluster: Cluster) -> None:
    assert options_cluster.sql(
        "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
    ) == [("alice", "t")]


def test_password_is_a_scram_secret(options_cluster: Cluster) -> None:
    rows = options_cluster.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'")
    assert rows[0][0] is not None and rows[0][0].startswith("SCRAM-SHA-256$")


@pytest.mark.parametrize(
    ("password", "works"),
    [pytest.param(PASSWORD, True, id="right"), pytest.param("wrong", False, id="wrong")],
)
def test_tcp_login_needs_the_password(options_cluster: Cluster, password: str, works: bool) -> None:
    psql = os.path.join(options_cluster.bindir, "psql")
    dsn = options_cluster.dsn(host=options_cluster.address, password=password)
    done = subprocess.run(
        [psql, "-X", "-A", "-t", "-d", dsn, "-c", "SELECT inet_server_addr()"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    if works:
        assert (done.returncode, done.stdout.strip()) == (0, "127.0.0.1"), done.stderr
    else:
        assert done.returncode != 0
        assert 'password authentication failed for user "alice"' in done.stderr


def test_encoding_checksums_wal_segsize(options_cluster: Cluster) -> None:
    rows = options_cluster.sql("SHOW server_encoding; SHOW data_checksums; SHOW wal_segment_size")
    assert rows == [("LATIN1",), ("on",), ("32MB",)]


def test_lc_option(options_cluster: Cluster) -> None:
    assert options_cluster.sql("SHOW lc_monetary") == [("C",)]


@pytest.mark.parametrize(
    ("options", "present", "absent"),
    [
        pytest.param(
            {},
            [
                "--username=postgres",
                "--no-sync",
                "--no-instructions",
                "--locale=C",
                "--encoding=UTF8",
            ],
            ["--data-checksums", "--no-data-checksums"],
            id="defaults",
        ),
        pytest.param(
            {"no_sync": False, "no_instructions": False, "encoding": None, "locale": None},
            [],
            ["--no-sync", "--no-instructions", "--encoding=UTF8", "--locale=C"],
            id="initdb-own-defaults",
        ),
        pytest.param(
            {"auth": "md5", "auth_local": "peer", "auth_host": "scram-sha-256"},
            ["--auth=md5", "--auth-local=peer", "--auth-host=scram-sha-256"],
            [],
            id="auth",
        ),
        pytest.param(
            {"lc_collate": "C", "lc_ctype": "C.UTF-8", "lc_time": "POSIX"},
            ["--lc-collate=C", "--lc-ctype=C.UTF-8", "--lc-time=POSIX"],
            [],
            id="lc-categories",
        ),
        pytest.param(
            {"data_checksums": True, "wal_segsize": 64, "allow_group_access": True},
            ["--data-checksums", "--wal-segsize=64", "--allow-group-access"],
            [],
            id="checksums-walseg-group",
        ),
    ],
)
def test_arguments(
    initdb: Initializor, options: dict[str, Any], present: list[str], absent: list[str]
) -> None:
    args = initdb.arguments("/data", **options)
    assert args[:3] == [initdb.path, "-D", "/data"]
    for arg in present:
        assert arg in args
    for arg in absent:
        assert arg not in args


def test_checksums_off_is_said_where_they_default_on(initdb: Initializor) -> None:
    args = initdb.arguments("/data", data_checksums=False)
    assert ("--no-data-checksums" in args) is (initdb.major >= 18)


def test_extra_args_come_last(initdb: Initializor) -> None:
    assert initdb.arguments("/data", extra_args=["-g", "--debug"])[-2:] == ["-g", "--debug"]


def test_password_file_is_removed(
    initdb: Initializor, new_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A temp folder of this test's own (another xdist worker runs the same test at once),
    # one the server user can traverse, as /tmp.
    folder = tempfile.mkdtemp(prefix="boss-pw-test-", dir="/tmp")
    try:
        os.chmod(folder, 0o755)
        monkeypatch.setattr(tempfile, "tempdir", folder)
        with pytest.raises(InitializorError):
            initdb(new_dir(), password="x", extra_args=["--no-such-option"])
        assert os.listdir(folder) == []
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_unknown_option_error_carries_initdb_output(initdb: Initializor, new_dir: Any) -> None:
    path = new_dir()
    with pytest.raises(InitializorError) as info:
        initdb(path, extra_args=["--no-such-option"])
    error = info.value
    assert error.returncode not in (None, 0)
    assert "--no-such-option" in error.output
    assert error.data_dir == path
    assert "initdb said" in str(error)


def test_unknown_locale(initdb: Initializor, new_dir: Any) -> None:
    with pytest.raises(InitializorError) as info:
        initdb(new_dir(), locale="xx_NOWHERE.UTF-8")
    assert "xx_NOWHERE" in info.value.output


def test_folder_not_empty(initdb: Initializor, new_dir: Any) -> None:
    path = new_dir()
    with open(os.path.join(path, "something"), "w") as fo:
        fo.write("x")
    with pytest.raises(InitializorError, match="not empty"):
        initdb(path)


def test_parent_missing(initdb: Initializor, cluster_base: str) -> None:
    with pytest.raises(InitializorError, match="does not exist"):
        initdb(os.path.join(cluster_base, "no", "such", "data"))


def test_initdb_missing(user: ServerUser, new_dir: Any) -> None:
    with pytest.raises(InitializorError, match="cannot run"):
        Initializor("/nonexistent/bin/initdb", user=user)(new_dir())


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param({"encodingg": "UTF8"}, "'encodingg' (did you mean 'encoding'?)", id="typo"),
        pytest.param({"superusr": "x"}, "'superusr' (did you mean 'superuser'?)", id="dropped"),
        pytest.param({"colour": "blue"}, "option 'colour'; the options are: ", id="far"),
    ],
)
def test_unknown_option_is_refused_before_anything_is_made(
    options: dict[str, Any], expected: str, initdb: Initializor, cluster_base: str
) -> None:
    path = os.path.join(cluster_base, "never-made")
    with pytest.raises(UnknownInitOptionError) as info:
        initdb(path, **options)
    assert expected in str(info.value)
    assert isinstance(info.value, TypeError) and isinstance(info.value, InitializorError)
    assert not os.path.lexists(path)


def test_check_options_names_every_unknown_one() -> None:
    with pytest.raises(UnknownInitOptionError) as info:
        check_options(["locale", "lc_colate", "wal_segsize", "nosync"])
    assert info.value.unknown == ["lc_colate", "nosync"]
    assert info.value.suggestions["lc_colate"][0] == "lc_collate"
    assert info.value.suggestions["nosync"][0] == "no_sync"
    check_options(OPTIONS)


def test_every_option_flag_is_one_initdb_knows(initdb: Initializor, user: ServerUser) -> None:
    """The table against the real initdb's own list of its options."""
    done = user.run([initdb.path, "--help"], timeout=30)
    flags = {option.flag for option in OPTIONS.values() if option.flag}
    if initdb.major < 15:
        flags -= {"--locale-provider", "--icu-locale"}
    missing = sorted(flag for flag in flags if flag not in done.stdout)
    assert missing == []


def test_the_call_signature_lists_every_option() -> None:
    """help() and inspect see the options of the table, with their defaults."""
    parameters = inspect.signature(Initializor.__call__).parameters
    assert list(parameters)[2:] == list(OPTIONS)
    assert {name: parameters[name].default for name in OPTIONS} == {
        name: option.default for name, option in OPTIONS.items()
    }
