"""Editing postgresql.conf: DELETE, trailing comments; and NUL bytes read as the server does.

The NUL cases are judged by the server: ``pg_file_settings`` re-reads the included file on
every query, and ``postgres -C`` reads it as at start-up.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_boss.boss.config import (
    DELETE,
    ConfigError,
    alter_config,
    file_settings,
    read_config,
    write_config,
)

CONF = (
    "# memory\n"
    "work_mem = 4MB\t\t# min 64kB\n"
    "#maintenance_work_mem = 64MB\t\t# min 1MB\n"
    "shared_buffers = 128MB\n"
    "work_mem = 8MB\n"
)


def test_delete_removes_live_lines_only() -> None:
    lines = alter_config({"work_mem": DELETE}, CONF)
    assert "".join(lines) == (
        "# memory\n#maintenance_work_mem = 64MB\t\t# min 1MB\nshared_buffers = 128MB\n"
    )
    assert "work_mem" not in read_config(lines)


def test_delete_of_an_absent_setting_changes_nothing() -> None:
    assert "".join(alter_config({"maintenance_work_mem": DELETE}, CONF)) == CONF


def test_delete_and_none_differ() -> None:
    commented = "".join(alter_config({"shared_buffers": None}, CONF))
    assert "#shared_buffers = 128MB\n" in commented
    deleted = "".join(alter_config({"shared_buffers": DELETE}, CONF))
    assert "shared_buffers" not in deleted


@pytest.mark.parametrize(
    ("change", "note", "line"),
    [
        ({"work_mem": "16MB"}, "for the sort test", "work_mem = '16MB'  # for the sort test\n"),
        (
            {"maintenance_work_mem": "1GB"},
            "# bigger",
            "maintenance_work_mem = '1GB'\t\t# bigger\n",
        ),
        ({"jit": False}, "no jit", "jit = off  # no jit\n"),
    ],
    ids=["changed-line-keeps-its-spacing", "uncommented-default", "appended"],
)
def test_trailing_comment(change: dict[str, Any], note: str, line: str) -> None:
    (name,) = change
    lines = alter_config(change, CONF, comments={name: note})
    assert line in lines
    assert read_config(lines)[name] == ("off" if change[name] is False else change[name])


def test_changed_line_keeps_its_comment_without_a_new_one() -> None:
    lines = alter_config({"maintenance_work_mem": "1GB"}, CONF)
    assert "maintenance_work_mem = '1GB'\t\t# min 1MB\n" in lines


@pytest.mark.parametrize(
    "change", [{"work_mem": None}, {"work_mem": DELETE}, {}], ids=["none", "delete", "absent"]
)
def test_comment_needs_a_value(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="needs a value"):
        alter_config(change, CONF, comments={"work_mem": "x"})


def test_comment_cannot_break_the_line() -> None:
    with pytest.raises(ValueError, match="line break"):
        alter_config({"work_mem": "1MB"}, CONF, comments={"work_mem": "a\nb = 1"})


def test_write_config_comments() -> None:
    out = io.StringIO()
    write_config({"a.b": 1, "c.d": "x"}, out, comments={"c.d": "why"})
    assert out.getvalue() == "a.b = 1\nc.d = 'x'  # why\n"


# -- NUL bytes on a real server --------------------------------------------------------------

NUL_CASES = [
    pytest.param(b"boss.v = 'ab\0cd'\n", "a", id="in-quotes-ends-value-one-early"),
    pytest.param(b"boss.v = '\\101b\0c'\n", "A", id="after-an-escape"),
    pytest.param(b"boss.v = 'x' # a\0b\nboss.w = 'y'\n", "x", id="in-a-comment"),
    pytest.param(b"#x\0\nboss.v = 'z'\n", "z", id="in-a-comment-line"),
    pytest.param(b"boss.v = 4MB\0 garbage\n", None, id="after-a-value-syntax-error"),
    pytest.param(b"boss\0.v = 1\n", None, id="in-a-name-syntax-error"),
    pytest.param(b"boss.v = 1\n\0\n", None, id="alone-syntax-error"),
]


class Server:
    """A running cluster whose postgresql.conf includes ``nul.conf``."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.main = os.path.join(cluster.data_dir, "postgresql.conf")
        self.case = os.path.join(cluster.data_dir, "nul.conf")
        with open(self.main, "a", encoding="utf-8") as fo:
            fo.write("include_if_exists 'nul.conf'\n")

    def write(self, data: bytes) -> None:
        with open(self.case, "wb") as fo:
            fo.write(data)
        if os.geteuid() == 0:
            st = os.stat(self.cluster.data_dir)
            os.chown(self.case, st.st_uid, st.st_gid)

    def rows(self) -> list[tuple[str | None, ...]]:
        return [
            tuple(row)
            for row in self.cluster.sql(
                "SELECT name, setting, sourceline, error FROM pg_file_settings"
                " WHERE sourcefile LIKE '%/nul.conf' OR (sourcefile IS NULL) ORDER BY seqno"
            )
        ]


@pytest.fixture(scope="module")
def server(make_cluster: Callable[..., Any]) -> Iterator[Server]:
    cluster = make_cluster()
    cluster.start()
    yield Server(cluster)
    cluster.stop()


@pytest.mark.parametrize(("data", "value"), NUL_CASES)
def test_nul_like_the_server(server: Server, data: bytes, value: str | None) -> None:
    server.write(data)
    rows = server.rows()
    if value is None:
        assert any(row[3] == "syntax error" for row in rows), rows
        with pytest.raises(ConfigError):
            file_settings(server.main)
        return
    assert ("boss.v", value, "1", None) in rows or ("boss.v", value, "2", None) in rows, rows
    ours = {s.name: s.value for s in file_settings(server.main) if s.path == server.case}
    assert ours["boss.v"] == value
    postgres = os.path.join(server.cluster.server_bindir, "postgres")
    done = server.cluster.server_user.run(
        [postgres, "-C", "boss.v", "-D", server.cluster.data_dir], timeout=60
    )
    assert done.stdout.strip() == value
