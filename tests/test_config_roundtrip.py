"""Round trips of boss.config: values through the server, real files through the editor.

- Any string value (any Unicode text without NUL) written by ``alter_config`` or
  ``write_config`` reads back identically with ``read_config`` and in the server's
  ``pg_file_settings`` view (hypothesis, a fixed database of examples so CI is stable).
- The postgresql.conf of a real cluster and the installation's postgresql.conf.sample (the
  file initdb copies) parse and write back byte for byte, and an edit changes exactly the
  edited lines.
"""

from __future__ import annotations

import difflib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_boss.boss.config import (
    alter_config,
    alter_file,
    file_settings,
    read_config,
    read_file,
    write_config,
)

VALUES_FILE = "boss_roundtrip.conf"


class Server:
    """A running cluster whose postgresql.conf includes ``boss_roundtrip.conf``."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.data_dir = Path(os.path.abspath(cluster.data_dir))
        self.config = self.data_dir / "postgresql.conf"
        self.values = self.data_dir / VALUES_FILE

    def install(self) -> None:
        # Created once with the server user's ownership; atomic replacement keeps it.
        self.values.write_text("", encoding="utf-8")
        os.chmod(self.values, 0o644)
        if os.geteuid() == 0:
            st_data = self.data_dir.stat()
            os.chown(self.values, st_data.st_uid, st_data.st_gid)
        alter_file(self.config, {})  # no-op: must not rewrite
        with self.config.open("a", encoding="utf-8", newline="") as fo:
            fo.write(f"include_if_exists '{VALUES_FILE}'\n")

    def file_settings(self, path: Path) -> list[tuple[str | None, ...]]:
        literal = "'" + str(path).replace("'", "''") + "'"
        return [
            tuple(row)
            for row in self.cluster.sql(
                "SELECT name, setting, error FROM pg_file_settings"
                f" WHERE sourcefile = {literal} OR name IS NULL ORDER BY seqno"
            )
        ]


@pytest.fixture(scope="module")
def server(make_cluster: Callable[..., Any]) -> Iterator[Server]:
    cluster = make_cluster()
    cluster.start()
    server = Server(cluster)
    server.install()
    yield server
    cluster.stop()


# Text that stresses the quoting: the characters the scanner treats specially, mixed with
# any other Unicode text (hypothesis' default alphabet leaves out surrogates).
SPECIAL = "'\\#\n\r\t \x08\x0c=\"$é日\u2028\x85\x0b0178abnrtfx"
values = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\0")),
    st.text(alphabet=SPECIAL),
    st.text(alphabet=st.sampled_from(SPECIAL) | st.characters(blacklist_characters="\0")),
)


@settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(edited=values, written=values)
def test_any_string_value_round_trips(server: Server, edited: str, written: str) -> None:
    lines = alter_config(
        {"boss.edited": edited},
        "# a file\nboss.edited = 'old'   # keep this comment\r\nboss.edited = 2\n",
    )
    out = io.StringIO()
    write_config({"boss.written": written}, out)
    text = "".join(lines) + out.getvalue()
    assert read_config(text) == {"boss.edited": edited, "boss.written": written}

    server.values.write_bytes(text.encode("utf-8"))
    rows = server.file_settings(server.values)
    assert rows == [
        ("boss.edited", edited, None),
        ("boss.written", written, None),
    ]
    assert read_file(server.config)["boss.edited"] == edited


def real_files(server: Server) -> list[Path]:
    sharedir = server.cluster.pg_config.get("sharedir")
    sample = Path(sharedir) / "postgresql.conf.sample" if sharedir else None
    files = [server.config]
    if sample is not None and sample.exists():
        files.append(sample)
    return files


@pytest.mark.parametrize("which", ["cluster", "sample"])
def test_real_file_written_back_byte_for_byte(server: Server, which: str) -> None:
    files = real_files(server)
    if which == "sample" and len(files) < 2:
        pytest.fail(f"no postgresql.conf.sample in {server.cluster.pg_config.get('sharedir')}")
    path = files[0 if which == "cluster" else 1]
    data = path.read_bytes()
    text = data.decode("utf-8", "surrogateescape")
    assert "".join(alter_config({}, text)).encode("utf-8", "surrogateescape") == data
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as fo:
        assert "".join(alter_config({}, fo)).encode("utf-8", "surrogateescape") == data
    crlf = text.replace("\n", "\r\n")
    assert "".join(alter_config({}, crlf)) == crlf


def changed_lines(before: list[str], after: list[str]) -> tuple[list[str], list[str]]:
    """Removed and added lines of a line diff."""
    removed, added = [], []
    for line in difflib.ndiff(before, after):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def test_sample_edit_changes_only_edited_lines(server: Server) -> None:
    files = real_files(server)
    if len(files) < 2:
        pytest.fail(f"no postgresql.conf.sample in {server.cluster.pg_config.get('sharedir')}")
    before = files[1].read_text(encoding="utf-8").splitlines(keepends=True)
    work_mem = next(line for line in before if line.startswith("#work_mem = "))
    max_conn = next(line for line in before if line.startswith("#max_connections = "))
    after = alter_config(
        {"work_mem": "8MB", "max_connections": 20, "boss.new": "it's new", "ssl": None},
        before,
    )
    removed, added = changed_lines(before, after)
    assert removed == [max_conn, work_mem]
    assert added == [
        max_conn.replace("#max_connections = 100", "max_connections = 20"),
        work_mem.replace("#work_mem = 4MB", "work_mem = '8MB'"),
        "boss.new = 'it''s new'\n",
    ]
    assert len(after) == len(before) + 1


def test_cluster_edit_changes_only_edited_lines_and_server_agrees(server: Server) -> None:
    config = server.config
    original = config.read_bytes()
    before = config.read_text(encoding="utf-8").splitlines(keepends=True)
    live = read_file(config)
    assert "max_connections" in live
    try:
        after = alter_file(
            config,
            {"max_connections": 42, "work_mem": "3MB", "boss.added": "a 'b' \\c"},
        )
        removed, added = changed_lines(before, after)
        assert len(removed) == len(added) - 1
        assert all(("max_connections" in r) or ("work_mem" in r) for r in removed)
        assert added[-1] == "boss.added = 'a ''b'' \\\\c'\n"
        rows = server.file_settings(config)
        assert not [row for row in rows if row[2] is not None and row[0] is None]
        got = {name: value for name, value, _ in rows if name is not None}
        assert (got["max_connections"], got["work_mem"], got["boss.added"]) == (
            "42",
            "3MB",
            "a 'b' \\c",
        )
        assert [s.value for s in file_settings(config) if s.name == "max_connections"] == ["42"]
    finally:
        config.write_bytes(original)
