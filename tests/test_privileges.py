"""The server user, placing folders it can reach, and binaries it can execute.

Run as root, the server user is another account and every switch is exercised; run as an
ordinary user, the same calls must be plain pass-throughs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from pytest_boss.boss.installation import Installation
from pytest_boss.boss.privileges import (
    PrivilegeError,
    ServerUser,
    clean_env,
    place_directory,
    remove_placed,
    server_bindir,
    server_user,
)

ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(not ROOT, reason="switching users needs root")
ordinary_only = pytest.mark.skipif(ROOT, reason="checks the ordinary user's behaviour")


@pytest.fixture(scope="module")
def user() -> ServerUser:
    return server_user()


def test_server_user_is_never_root(user: ServerUser) -> None:
    assert user.uid != 0
    assert pwd.getpwuid(user.uid).pw_name == user.name


@root_only
def test_root_switches_to_postgres_or_nobody(user: ServerUser) -> None:
    expected = "postgres" if _exists("postgres") else "nobody"
    assert user.name == expected
    assert user.switching
    assert user.popen_kwargs() == {"user": user.uid, "group": user.gid, "extra_groups": []}


@ordinary_only
def test_ordinary_user_runs_the_server_itself(user: ServerUser) -> None:
    assert user.uid == os.geteuid()
    assert not user.switching
    assert user.popen_kwargs() == {}


@root_only
def test_root_may_name_the_server_user() -> None:
    assert server_user("nobody").name == "nobody"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("root", id="root"),
        pytest.param("no-such-user-pytest-boss", id="unknown-user"),
    ],
)
def test_unusable_server_user_is_an_error(name: str) -> None:
    if not ROOT and name != "root":
        pytest.skip("an ordinary user cannot name any other user")
    with pytest.raises(PrivilegeError) as info:
        server_user(name)
    assert name in str(info.value)


def test_run_as_server_user(user: ServerUser) -> None:
    done = user.run(["id", "-u"], timeout=30)
    assert done.returncode == 0
    assert int(done.stdout) == user.uid


def test_clean_env_drops_libpq_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPORT", "1")
    monkeypatch.setenv("PGHOST", "/nowhere")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    monkeypatch.setenv("KEEP_ME", "yes")
    env = clean_env(EXTRA="1")
    assert "PGPORT" not in env and "PGHOST" not in env
    assert env["LC_ALL"] == "C" and env["LANG"] == "C"
    assert env["KEEP_ME"] == "yes" and env["EXTRA"] == "1"


@pytest.fixture
def private_dir(tmp_path: Path) -> Path:
    """A folder only its owner (this process) can enter, like pytest's basetemp."""
    folder = tmp_path / "private"
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)
    return folder


def test_can_traverse(user: ServerUser, private_dir: Path) -> None:
    assert user.can_traverse("/")
    assert user.can_traverse(private_dir) is (not user.switching)


def test_place_directory_in_reachable_parent(user: ServerUser, private_dir: Path) -> None:
    open_parent = private_dir / "open"
    open_parent.mkdir()
    # A reachable parent: make the chain reachable without touching the private folder's
    # own mode by using a folder the server user can already reach.
    parent = Path(user.reachable_ancestor("/tmp"))
    target = Path(user.make_private_dir(parent)) / "data"
    holder = target.parent
    try:
        placed = place_directory(target, user)
        assert placed.real == str(target) and placed.private is None
        assert not target.is_symlink() and target.is_dir()
        assert target.stat().st_uid == user.uid
        assert stat.S_IMODE(target.stat().st_mode) == 0o700
    finally:
        shutil.rmtree(holder)


def test_place_directory_behind_private_parent(user: ServerUser, private_dir: Path) -> None:
    target = private_dir / "cluster"
    placed = place_directory(target, user)
    try:
        assert stat.S_IMODE(private_dir.stat().st_mode) == 0o700  # never loosened
        real = Path(placed.real)
        assert real.is_dir() and real.stat().st_uid == user.uid
        assert user.run(["test", "-w", str(real)], timeout=30).returncode == 0
        if user.switching:
            assert target.is_symlink() and os.path.realpath(target) == str(real)
            assert placed.private is not None
            assert user.can_traverse(placed.private)
        else:
            assert str(real) == str(target) and placed.private is None
    finally:
        remove_placed(target)
    assert not os.path.lexists(target)
    assert not os.path.exists(placed.real)
    if placed.private:
        assert not os.path.exists(placed.private)


def test_place_directory_refuses_an_existing_path(user: ServerUser, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError):
        place_directory(tmp_path / "taken", user)


def test_remove_placed_of_nothing_is_fine(tmp_path: Path) -> None:
    remove_placed(tmp_path / "never-made")


def test_server_bindir_is_executable_by_server_user(
    user: ServerUser, pg_installation: Installation
) -> None:
    bindir = server_bindir(pg_installation.bindir, user)
    done = user.run([os.path.join(bindir, "postgres"), "--version"], timeout=30)
    assert done.returncode == 0, done.stdout
    assert str(pg_installation.major) in done.stdout
    if not user.switching:
        assert bindir == os.path.realpath(pg_installation.bindir)


@root_only
def test_unreadable_installation_is_mirrored(
    user: ServerUser, pg_installation: Installation, cluster_base: str
) -> None:
    """Binaries the server user cannot read are mirrored into a shared cache it can read.

    An installation the server user can already run (a system package) is copied into a
    private folder first; one it cannot (a wheel in root's home) is used as it is.
    """
    source = pg_installation.bindir
    readable = _runs(user, pg_installation.postgres)
    tmp_path = Path(tempfile.mkdtemp(dir=cluster_base))  # private, on tmpfs
    if readable:
        private_dir = tmp_path / "private"
        private_dir.mkdir(mode=0o700)
        prefix = os.path.dirname(pg_installation.bindir)
        for sub in ("bin", "lib"):
            if os.path.isdir(os.path.join(prefix, sub)):
                shutil.copytree(os.path.join(prefix, sub), private_dir / "pg" / sub, symlinks=True)
        source = str(private_dir / "pg" / "bin")
    assert not _runs(user, os.path.join(source, "postgres"))
    cache = tmp_path / "cache"  # private too: the mirror must say so instead of failing later
    with pytest.raises(PrivilegeError, match="cannot execute"):
        server_bindir(source, user, cache_dir=str(cache))
    shared = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else "/var/tmp"))
    try:
        os.chmod(shared, 0o755)
        mirrored = server_bindir(source, user, cache_dir=str(shared))
        assert mirrored.startswith(str(shared))
        done = user.run([os.path.join(mirrored, "postgres"), "--version"], timeout=30)
        assert done.returncode == 0 and str(pg_installation.major) in done.stdout
        done = user.run([os.path.join(mirrored, "initdb"), "--version"], timeout=30)
        assert done.returncode == 0, done.stdout
        # Used again, not copied again (the marker says it is whole).
        marker = next(shared.glob("*/.complete"))
        before = marker.stat().st_mtime_ns
        assert server_bindir(source, user, cache_dir=str(shared)) == mirrored
        assert marker.stat().st_mtime_ns == before
        # An incomplete copy (no marker) is never used: it is made again.
        marker.unlink()
        assert server_bindir(source, user, cache_dir=str(shared)) == mirrored
        assert marker.exists()
    finally:
        shutil.rmtree(shared)
        shutil.rmtree(tmp_path)


@root_only
def test_mirror_folder_writable_by_others_is_refused(user: ServerUser, tmp_path: Path) -> None:
    private_dir = tmp_path / "private"
    (private_dir / "bin").mkdir(parents=True, mode=0o700)
    for name in ("postgres", "initdb"):
        script = private_dir / "bin" / name
        script.write_text("#!/bin/sh\necho 'postgres (PostgreSQL) 99.0'\n")
        script.chmod(0o755)
    os.chmod(private_dir, 0o700)
    cache = tmp_path / "world-writable"
    cache.mkdir()
    cache.chmod(0o777)
    with pytest.raises(PrivilegeError, match="writable by no one else"):
        server_bindir(str(private_dir / "bin"), user, cache_dir=str(cache))


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _runs(user: ServerUser, program: str) -> bool:
    """Whether ``user`` can run ``program --version``."""
    try:
        return user.run([program, "--version"], timeout=30).returncode == 0
    except OSError:
        return False
