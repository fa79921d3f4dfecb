"""The plugin's parts that need no running server: signatures, settings check, ports, cache."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_boss.boss.installation import Installation, find_installation
from pytest_boss.errors import (
    ManagedSettingError,
    MarkerError,
    SettingValueError,
    UnknownSettingError,
)
from pytest_boss.markers import call_marker, pg_conf_signature, setting_text
from pytest_boss.ports import PortError, claim_port
from pytest_boss.reaper import OWNER_FILE, _owner_alive, write_owner
from pytest_boss.settings import SettingsCatalog
from pytest_boss.template import MANIFEST, TemplateCache, TemplateError, TemplateKey

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(True, "on", id="true-is-on"),
        pytest.param(False, "off", id="false-is-off"),
        pytest.param(0, "0", id="int"),
        pytest.param(1.5, "1.5", id="float"),
        pytest.param("12MB", "12MB", id="str-as-is"),
        pytest.param("it's", "it's", id="quote-kept-for-the-writer"),
    ],
)
def test_setting_text(value: object, text: str) -> None:
    assert setting_text(value) == text


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        pytest.param((), {"work_mem": "1MB"}, {"work_mem": "1MB"}, id="keywords"),
        pytest.param(({"a.b": 0},), {}, {"a.b": "0"}, id="dict-for-dotted"),
        pytest.param(
            ({"Work_Mem": "1MB"},),
            {"work_mem": "2MB"},
            {"work_mem": "2MB"},
            id="keyword-wins-names-lowered",
        ),
        pytest.param((), {}, {}, id="nothing"),
    ],
)
def test_pg_conf_signature(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: dict[str, str]
) -> None:
    assert pg_conf_signature(*args, **kwargs) == expected


@pytest.mark.parametrize(
    ("marker", "args", "kwargs", "message"),
    [
        pytest.param("pg_conf", ("work_mem",), {}, "must be a dict", id="conf-positional-str"),
        pytest.param("pg_conf", ({}, {}), {}, "positional argument", id="conf-two-dicts"),
        pytest.param("pg_conf", (), {"x": None}, "not NoneType", id="conf-none-value"),
        pytest.param("pg_hba", (1,), {}, "must be a str", id="hba-not-str"),
        pytest.param(
            "pg_hba",
            ("local all all trust",),
            {"replace": "yes"},
            "True or False",
            id="hba-replace-not-bool",
        ),
        pytest.param("pg_hba", (), {"before": True}, "unexpected keyword", id="hba-unknown-kw"),
        pytest.param("pg_init", ("UTF8",), {}, "positional argument", id="init-positional"),
    ],
)
def test_wrong_marker_calls_name_the_marker_and_signature(
    marker: str, args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(MarkerError, match=message) as info:
        call_marker(marker, args, kwargs)
    assert str(info.value).startswith(f"@pytest.mark.{marker}: ")
    assert f"the signature is {marker}(" in str(info.value)


@pytest.fixture(scope="module")
def catalog() -> SettingsCatalog:
    installation: Installation = find_installation()
    return SettingsCatalog.load(installation.postgres, installation.version_string)


def test_catalog_knows_contexts_from_the_server(catalog: SettingsCatalog) -> None:
    assert catalog.needs_restart("shared_buffers")
    assert catalog.needs_restart("MAX_CONNECTIONS")
    assert not catalog.needs_restart("work_mem")
    assert not catalog.needs_restart("auto_explain.log_min_duration")
    restart, reload = catalog.split({"shared_buffers": "1GB", "work_mem": "1MB"})
    assert (restart, reload) == ({"shared_buffers": "1GB"}, {"work_mem": "1MB"})


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        pytest.param(
            {"wrk_mem": "1MB"},
            UnknownSettingError,
            "did you mean 'work_mem'",
            id="unknown-with-nearest",
        ),
        pytest.param(
            {"work_mem": "1XB"},
            SettingValueError,
            'invalid value for parameter "work_mem"',
            id="bad-unit",
        ),
        pytest.param(
            {"shared_buffers": "1"}, SettingValueError, "outside the valid range", id="out-of-range"
        ),
        pytest.param(
            {"enable_seqscan": "maybe"},
            SettingValueError,
            "requires a Boolean value",
            id="bad-bool",
        ),
        pytest.param({"port": "5432"}, ManagedSettingError, "ports", id="managed-port"),
        pytest.param(
            {"listen_addresses": "*"}, ManagedSettingError, "loopback", id="managed-listen"
        ),
    ],
)
def test_catalog_check_reports_the_servers_verdict(
    catalog: SettingsCatalog, settings: dict[str, str], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        catalog.check(settings, cache=set())


def test_catalog_check_accepts_good_values_and_remembers_them(catalog: SettingsCatalog) -> None:
    cache: set[tuple[str, str]] = set()
    good = {"work_mem": "12MB", "shared_buffers": "64MB", "myapp.anything": "x y"}
    catalog.check(good, cache=cache)
    assert cache == set(good.items())


@pytest.mark.parametrize(
    ("pairs", "accepted"),
    [
        pytest.param([("work_mem", "12MB"), ("work_mem", "2MB")], True, id="same-name-twice"),
        pytest.param([("max_connections", "20"), ("myapp.mode", "a b")], True, id="mixed"),
        pytest.param([("work_mem", "12MB"), ("work_mem", "1XB")], False, id="one-bad-value"),
        pytest.param([("wrk_mem", "1MB")], False, id="unknown-name"),
    ],
)
def test_catalog_checks_a_whole_session_at_once_and_remembers_across_runs(
    tmp_path: Path, pairs: list[tuple[str, str]], accepted: bool
) -> None:
    installation = find_installation()
    first = SettingsCatalog.load(installation.postgres, installation.version_string, str(tmp_path))
    cache: set[tuple[str, str]] = set()
    assert first.check_all(pairs, cache=cache) is accepted
    assert cache == (set(pairs) if accepted else set())
    # A later run (another process: a new catalog from the same cache folder) knows them.
    later = SettingsCatalog.load(installation.postgres, installation.version_string, str(tmp_path))
    assert later.accepted() == (set(pairs) if accepted else set())


def test_port_claims_are_exclusive_and_free(tmp_path: Path) -> None:
    claims = [claim_port(str(tmp_path)) for _ in range(20)]
    ports = [c.port for c in claims]
    assert len(set(ports)) == len(ports)
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # nobody listens there
    for claim in claims:
        claim.release()


def _unused_port() -> int:
    """A port nothing listens on now (the kernel's pick), for a one-port claim range."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_claim_held_elsewhere_is_not_given(tmp_path: Path) -> None:
    """A claim is an flock on the port's file: another open file description holding it
    (another process, or this one through a second open) keeps the port from anyone else."""
    port = _unused_port()
    mine = claim_port(str(tmp_path), low=port, high=port)
    assert mine.port == port
    mine.release()
    holder = os.open(tmp_path / f"{port}.lock", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with pytest.raises(PortError, match=f"no free TCP port in {port}-{port}"):
            claim_port(str(tmp_path), low=port, high=port)
    finally:
        os.close(holder)
    again = claim_port(str(tmp_path), low=port, high=port)
    assert again.port == port
    again.release()


def _fake_initdb(folder: Path, calls: list[str]) -> str:
    data = folder / f"made-{len(calls)}"
    (data / "base").mkdir(parents=True)
    (data / "PG_VERSION").write_text("15\n")
    (data / "base" / "1").write_bytes(b"x" * 1000)
    calls.append(str(data))
    return str(data)


def test_template_cache_builds_once_and_rebuilds_a_damaged_entry(tmp_path: Path) -> None:
    cache = TemplateCache(str(tmp_path / "cache"), str(tmp_path / "scratch"))
    key = TemplateKey("/bin", "PostgreSQL 15", "1:2", (("locale", "'C'"),))
    calls: list[str] = []
    entry = cache.get(key, lambda: _fake_initdb(tmp_path, calls))
    assert len(calls) == 1 and not os.path.exists(calls[0])  # staging removed
    assert (Path(entry) / MANIFEST).exists()
    again = TemplateCache(str(tmp_path / "cache"), str(tmp_path / "scratch"))
    assert again.get(key, lambda: _fake_initdb(tmp_path, calls)) == entry
    assert len(calls) == 1
    (Path(entry) / "base" / "1").write_bytes(b"half")  # damaged: size differs
    third = TemplateCache(str(tmp_path / "cache"), str(tmp_path / "scratch"))
    third.get(key, lambda: _fake_initdb(tmp_path, calls))
    assert len(calls) == 2
    assert (Path(entry) / "base" / "1").read_bytes() == b"x" * 1000
    copy = tmp_path / "copy"
    TemplateCache.copy(entry, str(copy))
    assert (copy / "PG_VERSION").read_text() == "15\n"
    assert not (copy / MANIFEST).exists()
    assert (copy / "base" / "1").stat().st_mode & 0o077 == 0


def test_template_copy_notices_a_damaged_entry_and_rebuilds_it(tmp_path: Path) -> None:
    key = TemplateKey("/bin", "PostgreSQL 15", "1:2", ())
    calls: list[str] = []
    cache = TemplateCache(str(tmp_path / "cache"), str(tmp_path / "scratch"))
    first = tmp_path / "first"
    entry = cache.copy_to(key, lambda: _fake_initdb(tmp_path, calls), str(first))
    cache.wait()  # the entry is stored in the background
    assert len(calls) == 1
    assert (first / "base" / "1").read_bytes() == b"x" * 1000
    assert not (first / MANIFEST).exists()
    # Cases of damage after the entry was made: each copy notices it and gets a good entry.
    damages = {
        "shorter file": lambda: (Path(entry) / "base" / "1").write_bytes(b"half"),
        "file lost": lambda: (Path(entry) / "PG_VERSION").unlink(),
        "file added": lambda: (Path(entry) / "stray").write_text("x"),
    }
    for n, (case, damage) in enumerate(damages.items(), start=2):
        damage()
        fresh = TemplateCache(str(tmp_path / "cache"), str(tmp_path / "scratch"))
        copy = tmp_path / f"copy-{n}"
        fresh.copy_to(key, lambda: _fake_initdb(tmp_path, calls), str(copy))
        fresh.wait()
        assert len(calls) == n, case
        assert (copy / "PG_VERSION").read_text() == "15\n", case
        assert (copy / "base" / "1").read_bytes() == b"x" * 1000, case
        assert not (copy / "stray").exists(), case
    # An intact entry is copied without building anything.
    fresh = TemplateCache(str(tmp_path / "cache"), str(tmp_path / "scratch"))
    fresh.copy_to(key, lambda: _fake_initdb(tmp_path, calls), str(tmp_path / "last"))
    assert len(calls) == 1 + len(damages)


def test_template_copy_keeps_a_wal_segment_whole_and_its_zero_tail_a_hole(tmp_path: Path) -> None:
    records = bytes(range(256)) * 40  # 10 kB of "records", then zeros to 2 MB
    segment = records + bytes(2 * 1024 * 1024 - len(records))

    def initdb() -> str:
        data = tmp_path / "made"
        (data / "pg_wal").mkdir(parents=True)
        (data / "pg_wal" / "000000010000000000000001").write_bytes(segment)
        (data / "PG_VERSION").write_text("15\n")
        return str(data)

    cache = TemplateCache(str(tmp_path / "cache"), str(tmp_path / "scratch"))
    key = TemplateKey("/bin", "PostgreSQL 15", "1:2", ())
    copy = tmp_path / "copy"
    entry = cache.copy_to(key, initdb, str(copy))
    cache.wait()
    for root in (Path(entry), copy):
        path = root / "pg_wal" / "000000010000000000000001"
        assert path.read_bytes() == segment, root
        assert path.stat().st_mode & 0o077 == 0 or root != copy


def test_a_cold_copy_comes_from_initdbs_result_while_the_entry_is_stored(tmp_path: Path) -> None:
    key = TemplateKey("/bin", "PostgreSQL 15", "1:2", ())
    calls: list[str] = []
    cache = TemplateCache(str(tmp_path / "cache"), str(tmp_path / "scratch"))
    entry = cache.copy_to(key, lambda: _fake_initdb(tmp_path, calls), str(tmp_path / "first"))
    assert (tmp_path / "first" / "base" / "1").read_bytes() == b"x" * 1000
    # Another process (its own cache object) waits for the entry under the lock and copies it
    # without building anything.
    other = TemplateCache(str(tmp_path / "cache"), str(tmp_path / "scratch"))
    other.copy_to(key, lambda: _fake_initdb(tmp_path, calls), str(tmp_path / "second"))
    assert len(calls) == 1
    assert (tmp_path / "second" / "PG_VERSION").read_text() == "15\n"
    cache.wait()
    assert (Path(entry) / MANIFEST).exists()
    assert not os.path.exists(calls[0])  # initdb's result is removed once stored
    # The same cache object awaits its own store before it copies again.
    cache.copy_to(key, lambda: _fake_initdb(tmp_path, calls), str(tmp_path / "third"))
    assert len(calls) == 1


def test_a_failed_background_store_is_reported_by_wait(tmp_path: Path) -> None:
    key = TemplateKey("/bin", "PostgreSQL 15", "1:2", ())
    calls: list[str] = []
    cache_dir = tmp_path / "cache"
    cache = TemplateCache(str(cache_dir), str(tmp_path / "scratch"))

    def initdb_while_someone_squats_the_entry() -> str:
        squat = cache_dir / key.digest / "base"
        squat.mkdir(parents=True)
        (squat / "stray").write_text("x")
        return _fake_initdb(tmp_path, calls)

    cache.copy_to(key, initdb_while_someone_squats_the_entry, str(tmp_path / "first"))
    assert (tmp_path / "first" / "PG_VERSION").read_text() == "15\n"  # the test still runs
    failures = cache.wait()
    assert [type(f) for f in failures] == [TemplateError]
    assert key.digest in str(failures[0]) and "--pg-cache-dir" in str(failures[0])
    assert not os.path.exists(calls[0])
    assert cache.wait() == []  # reported once


def test_template_key_differs_by_options(tmp_path: Path) -> None:
    installation = find_installation()
    a = TemplateKey.of(installation.bindir, installation.version_string, {"locale": "C"})
    b = TemplateKey.of(installation.bindir, installation.version_string, {"locale": "C.UTF-8"})
    c = TemplateKey.of(installation.bindir, installation.version_string, {"locale": "C"})
    assert a.digest != b.digest and a.digest == c.digest


def _owner_record(run_dir: Path, pid: int, start: object) -> Path:
    run_dir.mkdir()
    (run_dir / OWNER_FILE).write_text(json.dumps({"pid": pid, "start": start}))
    return run_dir


def test_a_run_folders_owner_is_alive_only_while_that_very_process_runs(tmp_path: Path) -> None:
    me = _owner_record(tmp_path / "me", os.getpid(), None)
    write_owner(str(me))  # the real record of this process
    assert _owner_alive(str(me))
    reused = json.loads((me / OWNER_FILE).read_text())
    other = _owner_record(tmp_path / "reused", os.getpid(), str(int(reused["start"]) - 1))
    assert not _owner_alive(str(other))  # same pid, other start: a reused pid
    child = subprocess.Popen(["true"])
    try:
        stat = Path(f"/proc/{child.pid}/stat")
        deadline = time.monotonic() + 30
        while stat.read_text().rpartition(")")[2].split()[0] != "Z":  # exited, not waited for
            assert time.monotonic() < deadline, "the child never became a zombie"
            time.sleep(0.01)
        zombie = _owner_record(tmp_path / "zombie", child.pid, None)
        assert not _owner_alive(str(zombie))
    finally:
        child.wait()
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / OWNER_FILE).write_text("{")  # being written: not ours to judge
    assert _owner_alive(str(unreadable))


def _fake_bindir(folder: Path) -> str:
    folder.mkdir(parents=True)
    (folder / "postgres").write_text("#!/bin/sh\n")
    return str(folder)


def test_storing_an_entry_prunes_those_whose_postgres_is_gone_or_changed(tmp_path: Path) -> None:
    from filelock import FileLock

    cache_dir = tmp_path / "cache"
    calls: list[str] = []
    bindirs = {name: _fake_bindir(tmp_path / name) for name in ("kept", "gone", "upgraded", "busy")}
    entries = {}
    for name, bindir in bindirs.items():
        key = TemplateKey.of(bindir, "PostgreSQL 15", {})
        cache = TemplateCache(str(cache_dir), str(tmp_path / "scratch"))
        entries[name] = Path(cache.get(key, lambda: _fake_initdb(tmp_path, calls)))
    abandoned = cache_dir / f"{'f' * 20}.abc123.partial"  # a killed run's staging folder
    (abandoned / "data").mkdir(parents=True)
    shutil.rmtree(bindirs["gone"])  # a deleted virtualenv's wheel
    Path(bindirs["upgraded"], "postgres").write_text("#!/bin/sh\n# a newer release\n")
    shutil.rmtree(bindirs["busy"])  # gone too, but another process is copying it now
    busy = FileLock(str(cache_dir / f"{entries['busy'].name}.lock"), thread_local=False)
    with busy:
        cache = TemplateCache(str(cache_dir), str(tmp_path / "scratch"))
        key = TemplateKey.of(_fake_bindir(tmp_path / "new"), "PostgreSQL 15", {})
        cache.copy_to(key, lambda: _fake_initdb(tmp_path, calls), str(tmp_path / "copy"))
        assert cache.wait() == []
    assert entries["kept"].exists()
    assert not entries["gone"].exists()
    assert not entries["upgraded"].exists()
    assert entries["busy"].exists()  # left for another time
    assert not abandoned.exists()
    assert (cache_dir / key.digest / MANIFEST).exists()
