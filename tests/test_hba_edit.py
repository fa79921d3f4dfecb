"""Editing pg_hba.conf: comments on new records, removal by predicate, index bookkeeping under
any sequence of edits, and refusing a NUL byte (the server misreads such a file).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_boss.boss import hba

TEXT = (
    "# TYPE  DATABASE  USER  ADDRESS        METHOD\n"
    "local   all       all                  peer\n"
    "\n"
    "# apps\n"
    "host    app       app   10.0.0.0/8     scram-sha-256\n"
    "host    all       all   127.0.0.1/32   md5   # loopback\n"
)


def test_comment_on_a_new_record() -> None:
    seq = hba.read_config(TEXT)
    seq.append("host all bob 10.1.0.0/16 md5", comment="bob's office")
    seq.insert_before("host app", "host app ci ::1/128 trust", comment="# CI")
    text = seq.text()
    assert text.endswith("host    all       bob   10.1.0.0/16    md5  # bob's office\n")
    assert "host    app       ci    ::1/128        trust  # CI\n" in text
    assert hba.read_config(text)[-1] == hba.Entry.parse("host all bob 10.1.0.0/16 md5")


def test_comment_written_in_the_line_is_kept() -> None:
    seq = hba.read_config(TEXT)
    seq.append("local db u trust   # from text")
    assert seq.text().endswith("trust  # from text\n")


def test_comment_cannot_break_the_line() -> None:
    seq = hba.read_config(TEXT)
    with pytest.raises(hba.HBAError, match="line break"):
        seq.append("local all all trust", comment="x\nhost all all all trust")


def test_remove_if() -> None:
    seq = hba.read_config(TEXT)
    removed = seq.remove_if(lambda e: e.type == "host")
    assert [e.method for e in removed] == ["scram-sha-256", "md5"]
    assert [e.method for e in seq] == ["peer"]
    assert seq.text() == (
        "# TYPE  DATABASE  USER  ADDRESS        METHOD\n"
        "local   all       all                  peer\n"
        "\n"
        "# apps\n"
    )
    assert seq.remove_if(lambda e: False) == []


LINES = [f"host db{i} u{i} 10.0.{i}.0/24 md5" for i in range(40)]
EDITS = st.lists(
    st.tuples(st.sampled_from(["insert", "del", "pop", "set", "remove_if"]), st.integers(0, 60)),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(EDITS)
def test_edits_keep_indexes_right(edits: list[tuple[str, int]]) -> None:
    """Any mix of edits leaves the Sequence equal to a plain list given the same edits."""
    seq = hba.read_config("# head\n" + "".join(f"{line}\n# c\n" for line in LINES[:10]))
    model = [hba.Entry.parse(line) for line in LINES[:10]]
    fresh = iter(LINES[10:])
    for op, n in edits:
        if op == "insert":
            entry = hba.Entry.parse(next(fresh, "local all all trust"))
            seq.insert(n % (len(model) + 1), entry, position=n % 2)
            model.insert(n % (len(model) + 1), entry)
        elif model and op in ("del", "pop"):
            k = n % len(model)
            assert (seq.pop(k) if op == "pop" else seq[k]) == model[k]
            if op == "del":
                del seq[k]
            del model[k]
        elif model and op == "set":
            k = n % len(model)
            seq[k] = model[k] = hba.Entry.parse(f"local all u{n} trust")
        elif op == "remove_if":
            seq.remove_if(lambda e, n=n: str(e.users[0]) == f"u{n}")
            model = [e for e in model if str(e.users[0]) != f"u{n}"]
        assert len(seq) == len(model)
    assert list(seq) == model
    assert [seq[i] for i in range(len(seq))] == model
    assert list(hba.read_config(seq.text())) == model


# -- NUL bytes -------------------------------------------------------------------------------

NUL_CASES = [
    pytest.param(b"host all all 10.0.0.0/8 trust\0 rest\nhost all all ::1/128 md5\n", 1, id="end"),
    pytest.param(b"# a comment\0\nhost all all 10.0.0.0/8 md5\n", 1, id="comment"),
    pytest.param(b"local all all trust\nhost \0all all 10.0.0.0/8 md5\n", 2, id="middle"),
]


def test_nul_is_refused_with_its_line() -> None:
    with pytest.raises(hba.HBAError, match="NUL byte") as info:
        hba.read_config(["local all all trust\n", "# x\0y\n"])
    assert info.value.lineno == 2


@pytest.fixture(scope="module")
def server(make_cluster: Callable[..., Any]) -> Iterator[Any]:
    cluster = make_cluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.mark.parametrize(("data", "lineno"), NUL_CASES)
def test_nul_the_server_misreads(server: Any, data: bytes, lineno: int, tmp_path: Any) -> None:
    """The server drops what follows a NUL and the line end after it, so the next line joins
    the record (or vanishes into the comment): not what the file says. We refuse it."""
    with open(server.hba_path, "rb") as fo:
        saved = fo.read()
    head = saved.count(b"\n")
    try:
        with open(server.hba_path, "wb") as fo:
            fo.write(saved + data)
        rows = server.sql(
            f"SELECT line_number, auth_method, error FROM pg_hba_file_rules"
            f" WHERE line_number > {head} ORDER BY line_number"
        )
    finally:
        with open(server.hba_path, "wb") as fo:
            fo.write(saved)
    text_records = [line for line in data.split(b"\n") if line and not line.startswith(b"#")]
    assert len(rows) < len(text_records) or any(row[2] for row in rows), rows
    path = tmp_path / "pg_hba.conf"
    path.write_bytes(data)
    with pytest.raises(hba.HBAError, match="NUL byte") as info:
        hba.read_file(path)
    assert info.value.lineno == lineno
    assert os.fspath(path) == info.value.path


def test_many_new_records_share_the_files_columns() -> None:
    """Records far from any record as read still get the columns of the file."""
    seq = hba.read_config(TEXT)
    for i in range(200):
        seq.append(f"host all u{i} 10.9.{i}.0/24 md5")
    lines = seq.text().splitlines()[-200:]
    assert lines[0] == "host    all       u0    10.9.0.0/24    md5"
    assert {line.index("10.9.") for line in lines} == {24}
    assert {line.rindex("md5") for line in lines} == {39}
