"""Typed setting values without a server, checked against ``postgres -C``, ``SHOW`` and
``pg_settings`` on real servers.

The expected values in the tables are worked out by hand from PostgreSQL's rules (units are
case-sensitive, integers are rounded half to even in the base unit, fractions of a unit
are rounded to the next smaller unit first), not taken from the code under test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_boss.boss.config import read_file, setting_type, typed_value

#: (name, value as written in postgresql.conf, expected typed value, settable with SET).
CASES = [
    ("work_mem", "'4MB'", 4096, True),
    ("work_mem", "'1.5MB'", 1536, True),
    ("work_mem", "0x100", 256, True),
    ("work_mem", "0100", 64, True),  # octal, as strtol reads it
    ("work_mem", "'1GB'", 1048576, True),
    ("work_mem", "'2048000B'", 2000, True),
    ("work_mem", "' 128 kB '", 128, True),
    ("effective_cache_size", "'1GB'", 131072, True),  # 8kB pages
    ("effective_cache_size", "'100kB'", 12, True),  # 12.5 pages, half to even
    ("temp_buffers", "'1MB'", 128, True),
    ("statement_timeout", "'1.5min'", 90000, True),
    ("statement_timeout", "'2h'", 7200000, True),
    ("statement_timeout", "'1d'", 86400000, True),
    ("statement_timeout", "250", 250, True),
    ("statement_timeout", "1.5", 2, True),  # a fraction of the base unit is rounded
    ("statement_timeout", "'2500us'", 2, True),  # 2.5 ms, half to even
    ("statement_timeout", "'1500us'", 2, True),
    ("log_min_duration_statement", "-1", -1, True),
    ("checkpoint_timeout", "'5min'", 300, False),
    ("random_page_cost", "'1e1'", 10.0, True),
    ("random_page_cost", "1.5", 1.5, True),
    ("vacuum_cost_delay", "'500us'", 0.5, True),
    ("jit", "yes", True, True),
    ("jit", "'of'", False, True),
    ("jit", "TRUE", True, True),
    ("jit", "0", False, True),
    ("wal_level", "REPLICA", "replica", False),
    ("synchronous_commit", "Remote_Apply", "remote_apply", True),
    ("application_name", "'Hello'", "Hello", True),
]

#: Values the server refuses to parse for the setting.
REJECTED = [
    ("jit", "'o'"),
    ("jit", "'yess'"),
    ("work_mem", "'4mb'"),  # units are case-sensitive
    ("work_mem", "'4 MBx'"),
    ("random_page_cost", "'1MB'"),  # no unit for this setting
    ("statement_timeout", "'abc'"),
    ("wal_level", "'nonsense'"),
]


def _id(case: Any) -> str:
    return f"{case[0]}={case[1]}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_typed_value(case: tuple[str, str, object, bool]) -> None:
    name, written, expected, _ = case
    value = written.strip("'") if written.startswith("'") else written
    got = typed_value(name, value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("case", REJECTED, ids=_id)
def test_typed_value_rejects(case: tuple[str, str]) -> None:
    with pytest.raises(ValueError):
        typed_value(case[0], case[1].strip("'"))


def test_setting_type() -> None:
    assert setting_type("work_mem") == ("integer", "kB")
    assert setting_type("SHARED_BUFFERS") == ("integer", "8kB")
    assert setting_type("log_connections", version=15) == ("bool", "")
    assert setting_type("log_connections", version=18) == ("string", "")
    assert setting_type("auto_explain.log_min_duration") == ("string", "")
    with pytest.raises(KeyError):
        setting_type("no_such_setting")


def test_explicit_type_and_unit() -> None:
    assert typed_value("my.size", "2MB", "integer", "kB") == 2048
    assert typed_value("my.flag", "on", "bool") is True


class Server:
    """A running cluster whose postgresql.conf includes ``typed.conf``."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.main = os.path.join(cluster.data_dir, "postgresql.conf")
        self.case = os.path.join(cluster.data_dir, "typed.conf")
        with open(self.main, "a", encoding="utf-8") as fo:
            fo.write("include_if_exists 'typed.conf'\n")

    def write(self, text: str) -> None:
        with open(self.case, "w", encoding="utf-8") as fo:
            fo.write(text)
        if os.geteuid() == 0:
            st = os.stat(self.cluster.data_dir)
            os.chown(self.case, st.st_uid, st.st_gid)

    def postgres_c(self, name: str) -> tuple[int, str]:
        postgres = os.path.join(self.cluster.server_bindir, "postgres")
        argv = [postgres, "-C", name, "-D", self.cluster.data_dir]
        done = self.cluster.server_user.run(argv, timeout=60)
        return done.returncode, done.stdout.strip()

    def show(self, name: str, value: str) -> tuple[str, str]:
        """(SHOW's text, pg_settings.setting) after ``SET name = value`` in one session."""
        literal = value.replace("'", "''")
        rows = self.cluster.sql(
            f"SELECT s.shown, p.setting FROM (SELECT set_config('{name}', '{literal}', false)"
            f" AS shown OFFSET 0) s, LATERAL (SELECT setting FROM pg_settings"
            f" WHERE name = '{name}' AND s.shown IS NOT NULL) p"
        )
        return rows[0][0] or "", rows[0][1] or ""


@pytest.fixture(scope="module")
def server(make_cluster: Callable[..., Any]) -> Iterator[Server]:
    cluster = make_cluster()
    cluster.start()
    yield Server(cluster)
    cluster.stop()


def _as(expected: object, text: str) -> object:
    if isinstance(expected, bool):
        return {"on": True, "off": False}[text]
    if isinstance(expected, int):
        return int(text)
    if isinstance(expected, float):
        return float(text)
    return text


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_like_postgres_c_and_show(server: Server, case: tuple[str, str, object, bool]) -> None:
    """The file's value read by us equals what the server reads from it, and what SHOW says."""
    name, written, expected, settable = case
    server.write(f"{name} = {written}\n")
    ours = typed_value(name, read_file(server.main)[name], version=server.cluster.version[0])
    code, out = server.postgres_c(name)
    assert code == 0, out
    assert _as(expected, out) == ours == expected
    if settable:
        shown, setting = server.show(name, read_file(server.main)[name])
        assert _as(expected, setting) == expected
        assert typed_value(name, shown) == expected  # SHOW's spelling reads back the same


@pytest.mark.parametrize("case", REJECTED, ids=_id)
def test_rejected_like_postgres_c(server: Server, case: tuple[str, str]) -> None:
    name, written = case
    server.write(f"{name} = {written}\n")
    code, out = server.postgres_c(name)
    assert code != 0 and "contains errors" in out, out
    with pytest.raises(ValueError):
        typed_value(name, read_file(server.main)[name])


def test_types_match_pg_settings(server: Server) -> None:
    """Our table of types and units is what this server's pg_settings says."""
    major = server.cluster.version[0]
    rows = server.cluster.sql("SELECT name, vartype, coalesce(unit, '') FROM pg_settings")
    wrong = {
        name: (vartype, unit, setting_type(name, major))
        for name, vartype, unit in rows
        if setting_type(name, major) != (vartype, unit)
    }
    assert not wrong
