"""boss.config against PostgreSQL itself: the ``pg_file_settings`` view is the oracle.

The server's postgresql.conf gets ``include_if_exists 'boss_oracle/case.conf'``; each case
writes that file (and the files it includes) and compares ``file_settings`` of the whole
postgresql.conf with the view, which re-reads the files on every query (no reload). The
server is never reloaded, so a broken case cannot break it.

- No error row: the same (name as written, value, file, line) list, in the same order.
- Error rows (``name`` NULL: syntax and include errors): ours raises ``ConfigError`` at the
  place of the first one. Where the server reports another place on purpose-less grounds
  (a syntax error at the end of a file without a final newline is reported one line
  early; an included directory is blamed on the directory), the case says so.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_boss.boss.config import ConfigError, file_settings, quote_value, read_file

ORACLE_DIR = "boss_oracle"
INCLUDE_LINE = f"include_if_exists '{ORACLE_DIR}/case.conf'\n"
QUERY = (
    "SELECT name, setting, sourcefile, sourceline, error FROM pg_file_settings"
    " WHERE sourcefile IS NULL OR sourcefile NOT LIKE '%/postgresql.auto.conf'"
    " ORDER BY seqno"
)


class Dir:
    """A directory to create in a case."""


@dataclass(frozen=True)
class Link:
    """A symbolic link to create in a case (target as written)."""

    target: str


DIR = Dir()
FileSpec = str | bytes | Dir | Link


class Oracle:
    """A running server whose postgresql.conf includes the case file."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.data_dir = Path(os.path.abspath(cluster.data_dir))
        self.root = self.data_dir / ORACLE_DIR
        self.main = self.data_dir / "postgresql.conf"
        st = self.data_dir.stat()
        self.owner = (st.st_uid, st.st_gid)

    def install(self) -> None:
        with self.main.open("a", encoding="utf-8", newline="") as fo:
            fo.write(INCLUDE_LINE)
        self.root.mkdir(mode=0o755, exist_ok=True)
        self._give(self.root)

    def _give(self, path: Path) -> None:
        """Files root writes must be readable by the server's user (and belong to it)."""
        if path.is_symlink():
            if os.geteuid() == 0:
                os.lchown(path, *self.owner)
            return
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
        if os.geteuid() == 0:
            os.chown(path, *self.owner)

    def write(self, files: Mapping[str, FileSpec]) -> None:
        for child in self.root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        for name, spec in files.items():
            path = self.root / name
            for parent in reversed(path.relative_to(self.root).parents[:-1]):
                if not (self.root / parent).exists():
                    (self.root / parent).mkdir()
                    self._give(self.root / parent)
            if isinstance(spec, Dir):
                path.mkdir()
            elif isinstance(spec, Link):
                path.symlink_to(spec.target)
            elif isinstance(spec, bytes):
                path.write_bytes(spec)
            else:
                path.write_bytes(spec.encode("utf-8"))
            self._give(path)

    def rows(self) -> list[tuple[str | None, ...]]:
        return [tuple(row) for row in self.cluster.sql(QUERY)]

    def path(self, name: str) -> str:
        return str(self.root / name)


@pytest.fixture(scope="module")
def oracle(make_cluster: Callable[..., Any]) -> Iterator[Oracle]:
    cluster = make_cluster()
    cluster.start()
    oracle = Oracle(cluster)
    oracle.install()
    yield oracle
    cluster.stop()


def check(
    oracle: Oracle, files: Mapping[str, FileSpec], pg_error_at: tuple[str, int] | None
) -> None:
    """Write a case, then compare our reading with the server's."""
    oracle.write(files)
    rows = oracle.rows()
    errors = [row for row in rows if row[0] is None]
    try:
        ours = file_settings(oracle.main)
    except ConfigError as exc:
        assert errors, f"we reject what PostgreSQL accepts: {exc}\nserver rows: {rows}"
        first = errors[0]
        pg_place = (first[2], int(first[3] or 0))
        if pg_error_at is None:
            assert pg_place == (exc.path, exc.lineno), (
                f"PostgreSQL reports {first[4]!r} at {pg_place}; we report {exc}"
            )
        else:
            assert pg_place == (oracle.path(pg_error_at[0]), pg_error_at[1])
        return
    assert not errors, f"we accept what PostgreSQL rejects: {errors}"
    assert pg_error_at is None, "the case expects an error"
    expected = [(row[0], row[1], row[2], row[3]) for row in rows]
    got = [(s.name, s.value, s.path, str(s.lineno)) for s in ours]
    assert got == expected


def one(text: str, pg_error_at: tuple[str, int] | None = None, *, id: str) -> Any:
    return pytest.param({"case.conf": text}, pg_error_at, id=id)


# Values as single tokens: valid ones and ones the scanner rejects.
VALUES = [
    ("4MB", "integer-unit"),
    ("-1", "negative"),
    ("+5", "plus"),
    ("0x1F", "hex"),
    ("0xffkB", "hex-unit"),
    ("0xZZ", "zero-unit-letters"),
    ("1.5", "real"),
    (".5", "real-no-int"),
    ("5.", "real-no-frac"),
    (".", "lone-dot"),
    ("-.", "signed-lone-dot"),
    ("1.5e3", "exponent"),
    ("1.5E-3", "negative-exponent"),
    ("on", "identifier"),
    ("a.b.c", "two-dots"),
    ("abc.def/x", "dot-slash"),
    ("en_US.UTF-8", "locale"),
    ("a-b:c/d", "punctuation"),
    ("a-", "trailing-dash"),
    ("héllo", "non-ascii"),
    ("''", "empty-quoted"),
    ("'a b'", "quoted-blank"),
    ("'a # b'", "quoted-hash"),
    ("'it''s'", "doubled-quote"),
    ("''''", "only-quote"),
    ("'it\\'s'", "backslash-quote"),
    ("'a\\\\'", "backslash-at-end"),
    ("'a\\nb\\tc\\bd\\fe\\rf'", "simple-escapes"),
    ("'\\101\\60\\7x'", "octal"),
    ("'\\1011'", "octal-three-digits-max"),
    ("'a\\0b'", "octal-nul-truncates"),
    ("'a\\400b'", "octal-wraps-to-nul"),
    ("'\\501'", "octal-wraps"),
    ("'\\303\\251'", "octal-utf8"),
    ("'\\x\\q\\%\\\"\\8'", "unknown-escapes"),
    ("'\\é'", "escaped-non-ascii"),
    ("'日本 語'", "cjk"),
    ("'a'' # b'", "doubled-quote-hash"),
    ("abc.def", "error-qualified-name"),
    ("1e5", "error-exponent-no-dot"),
    ("1.5MB", "error-real-unit"),
    ("1.5.3", "error-two-reals"),
    ("1 2", "error-two-values"),
    ("a b", "error-two-identifiers"),
    ("= 1", "error-two-equals"),
    ("'abc", "error-unterminated"),
    ("'a'b'", "error-quote-then-text"),
    ("'a\\'", "error-escaped-closing-quote"),
    ("/tmp", "error-leading-slash"),
    ("-a", "error-leading-dash"),
    ("a;b", "error-semicolon"),
    ("$1", "error-dollar"),
    ('"a"', "error-double-quotes"),
    ("1\fx", "error-form-feed"),
    ("1 \\", "error-backslash-continuation"),
]

LINES = [
    one("boss.a = 1\nboss.b 2\nboss.c=3\n\tboss.d\t=\t4\t\n", id="equals-optional-blanks"),
    one("boss.a = 1\r\nboss.b = 'x'\r\n", id="crlf"),
    one("boss.a\r=\r1\n", id="lone-cr-is-blank"),
    one("boss.a = 1\rboss.b = 2\n", id="lone-cr-is-not-a-line-end"),
    one("boss.a = 1\nboss.b = 2", id="no-final-newline"),
    one("boss.a = 1\nboss.b =", ("case.conf", 1), id="error-at-eof-no-newline"),
    one("boss.a = 1\nboss.b =\n", id="error-no-value"),
    one("boss.a = 1 # c\nboss.b = 2#c\n# boss.c = 3\n\n  # x\n", id="comments"),
    one("Boss.X = 1\nBOSS.x = 2\nboss.Y = 3\n", id="name-case-kept"),
    one("boss.é = 1\nbøss.x = 2\n_boss._x9 = 3\n", id="names-non-ascii-underscore"),
    one("bossx = 1\n", id="name-without-dot"),
    one("boss.a.b = 1\n", id="error-name-two-dots"),
    one("boss-a = 1\n", id="error-name-dash"),
    one("boss.a-b = 1\n", id="error-dotted-name-dash"),
    one("1boss.a = 1\n", id="error-name-digit"),
    one("'boss.a' = 1\n", id="error-quoted-name"),
    one("boss.a = 1\nboss.a = 2\nboss.a = 3\n", id="duplicates"),
    one("boss.a = 1 \\\n  2\n", id="error-no-continuation"),
    one("\ufeffboss.a = 1\n", id="byte-order-mark-is-a-letter"),
    one("boss.a = 1\nnot ok at all\nboss.b = 2\n", id="error-middle-line"),
    one("", id="empty-file"),
    one("boss.a$b = 1\n", id="error-name-dollar"),
    one("=\n", id="error-lone-equals"),
    one("boss.a = 1 =\n", id="error-trailing-equals"),
    one("boss.a#c\n", id="error-comment-after-name"),
    one("boss.a = a#b\nboss.b = 'a'#b\n", id="comment-ends-unquoted-value"),
    pytest.param({"case.conf": b"boss.a = 1\0\n"}, None, id="error-nul-byte"),
    pytest.param({"case.conf": b"# caf\xe9 \xff\nboss.a = 1\n"}, None, id="invalid-utf8-comment"),
] + [one(f"boss.v = {value}\n", id=f"value-{name}") for value, name in VALUES]


INCLUDES = [
    pytest.param(
        {
            "case.conf": "boss.a = case\ninclude 'sub.conf'\nboss.b = case\n",
            "sub.conf": "boss.a = sub\nboss.b = sub\n",
        },
        None,
        id="include-where-it-stands",
    ),
    pytest.param(
        {
            "case.conf": "include 'conf/first.conf'\n",
            "conf/first.conf": "include 'second.conf'\nboss.first = 1\n",
            "conf/second.conf": "include '../top.conf'\nboss.second = 2\n",
            "top.conf": "boss.top = 3\n",
        },
        None,
        id="include-relative-to-including-file",
    ),
    pytest.param(
        {
            "case.conf": "INCLUDE = 'sub.conf'\nInclude_If_Exists 'sub.conf'\n",
            "sub.conf": "boss.x = 1\n",
        },
        None,
        id="include-directive-case-insensitive",
    ),
    pytest.param(
        {"case.conf": "include sub/x.conf\n", "sub/x.conf": "boss.x = 1\n"},
        None,
        id="include-unquoted-path",
    ),
    pytest.param(
        {"case.conf": "include sub.conf\n", "sub.conf": "boss.x = 1\n"},
        None,
        id="include-unquoted-dotted-name-error",
    ),
    pytest.param(
        {"case.conf": "boss.a = 1\ninclude 'missing.conf'\nboss.b = 2\n"},
        None,
        id="include-missing-error",
    ),
    pytest.param(
        {"case.conf": "boss.a = 1\ninclude_if_exists 'missing.conf'\nboss.b = 2\n"},
        None,
        id="include-if-exists-missing-skipped",
    ),
    pytest.param(
        {"case.conf": "include 'sub'\n", "sub": DIR},
        ("sub", 1),
        id="include-directory-error",
    ),
    pytest.param(
        {"case.conf": "include_if_exists 'sub'\n", "sub": DIR},
        ("sub", 1),
        id="include-if-exists-directory-error",
    ),
    pytest.param(
        {"case.conf": "include_dir 'file.conf'\n", "file.conf": "boss.a = 1\n"},
        None,
        id="include-dir-of-a-file-error",
    ),
    pytest.param(
        {"case.conf": "include ''\n"},
        None,
        id="include-empty-name-error",
    ),
    pytest.param(
        {"case.conf": "include_if_exists ' '\n"},
        None,
        id="include-if-exists-blank-name-error",
    ),
    pytest.param(
        {"case.conf": "include_dir ''\n"},
        None,
        id="include-dir-empty-name-error",
    ),
    pytest.param(
        {"case.conf": "boss.a = 1\ninclude 'case.conf'\n"},
        None,
        id="include-itself-recursion-error",
    ),
    pytest.param(
        {"case.conf": "include 'd/../case.conf'\n", "d": DIR},
        None,
        id="include-itself-other-spelling-recursion-error",
    ),
    pytest.param(
        {"case.conf": "include 'b.conf'\n", "b.conf": "boss.b = 1\ninclude 'case.conf'\n"},
        None,
        id="include-loop-depth-error",
    ),
    pytest.param(
        {
            "case.conf": "include_dir 'conf.d'\n",
            **{
                f"conf.d/{name}": f"boss.order = {quote_value(name)}\n"
                for name in [
                    "b.conf",
                    "B.conf",
                    "10.conf",
                    "2.conf",
                    "a_b.conf",
                    "a.conf",
                    "x.CONF",
                    "x.conf.bak",
                    "xconf",
                    ".conf",
                    ".hidden.conf",
                    "#x.conf#",
                    "é.conf",
                ]
            },
            "conf.d/dir.conf": DIR,
            "conf.d/dir.conf/inner.conf": "boss.inner = 1\n",
            "conf.d/link.conf": Link("../elsewhere.conf"),
            "elsewhere.conf": "boss.linked = 1\n",
        },
        None,
        id="include-dir-order-and-filter",
    ),
    pytest.param(
        {
            "case.conf": "include 'sub/inc.conf'\n",
            "sub/inc.conf": "include_dir 'd'\n",
            "sub/d/x.conf": "boss.x = 1\n",
        },
        None,
        id="include-dir-relative-to-including-file",
    ),
    pytest.param(
        {"case.conf": "boss.a = 1\ninclude_dir 'missing'\n"},
        None,
        id="include-dir-missing-error",
    ),
    pytest.param(
        {"case.conf": "boss.a = 1\ninclude_dir 'd'\nboss.b = 2\n", "d": DIR},
        None,
        id="include-dir-empty",
    ),
    pytest.param(
        {"case.conf": "include_dir 'd'\n", "d/x.conf": Link("../nowhere.conf")},
        None,
        id="include-dir-broken-symlink-error",
    ),
    pytest.param(
        {
            "case.conf": "boss.a = 1\ninclude 'sub.conf'\n",
            "sub.conf": "boss.ok = 1\nnot ok at all\n",
        },
        None,
        id="syntax-error-in-included-file",
    ),
    pytest.param(
        {"case.conf": "include_dir '.'\n", "a.conf": "boss.a = 1\n"},
        None,
        id="include-dir-holding-the-including-file-recursion-error",
    ),
]


def chain(levels: int) -> dict[str, FileSpec]:
    """case.conf (depth 1 below postgresql.conf) includes f2.conf ... f<levels>.conf."""
    files: dict[str, FileSpec] = {"case.conf": "include 'f2.conf'\n"}
    for level in range(2, levels):
        files[f"f{level}.conf"] = f"include 'f{level + 1}.conf'\nboss.level{level} = 1\n"
    files[f"f{levels}.conf"] = "boss.deep = 1\n"
    return files


DEPTH = [
    pytest.param(chain(10), None, id="depth-ten-allowed"),
    pytest.param(chain(11), None, id="depth-eleven-error"),
]


@pytest.mark.parametrize(("files", "pg_error_at"), LINES + INCLUDES + DEPTH)
def test_file_settings_like_the_server(
    oracle: Oracle, files: Mapping[str, FileSpec], pg_error_at: tuple[str, int] | None
) -> None:
    check(oracle, files, pg_error_at)


def test_the_oracle_sees_errors(oracle: Oracle) -> None:
    """Guard against a vacuous oracle: the view really reports this case's error."""
    oracle.write({"case.conf": "boss.a = 1 2\n"})
    errors = [row for row in oracle.rows() if row[0] is None]
    assert [(row[2], row[3], row[4]) for row in errors] == [
        (oracle.path("case.conf"), "1", "syntax error")
    ]


def test_the_oracle_sees_case_settings(oracle: Oracle) -> None:
    oracle.write({"case.conf": "boss.seen = 'yes'\n"})
    assert (("boss.seen", "yes", oracle.path("case.conf"), "1", None)) in oracle.rows()


POSTGRES_C = [
    pytest.param({"case.conf": "boss.v = 'it''s a \\\\ # test é'\n"}, "boss.v", id="quoted"),
    pytest.param({"case.conf": "BOSS.V = abc.def/x\n"}, "boss.v", id="unquoted-name-case"),
    pytest.param(
        {"case.conf": "boss.v = 1\ninclude 'sub.conf'\n", "sub.conf": "boss.v = 2\n"},
        "boss.v",
        id="include",
    ),
    pytest.param(
        {"case.conf": "include_dir 'd'\n", "d/B.conf": "boss.v = B\n", "d/a.conf": "boss.v = a\n"},
        "boss.v",
        id="include-dir-last-wins",
    ),
    pytest.param({"case.conf": "boss.v = 1 2\n"}, "boss.v", id="syntax-error"),
    pytest.param({"case.conf": "include 'missing.conf'\n"}, "boss.v", id="include-error"),
]


@pytest.mark.parametrize(("files", "name"), POSTGRES_C)
def test_read_file_like_postgres_C(
    oracle: Oracle, files: Mapping[str, FileSpec], name: str
) -> None:
    """``postgres -C name -D datadir`` reads the files as at server start (no server needed)."""
    oracle.write(files)
    cluster = oracle.cluster
    postgres = os.path.join(cluster.server_bindir, "postgres")
    result = cluster.server_user.run([postgres, "-C", name, "-D", str(oracle.data_dir)], timeout=60)
    try:
        ours = read_file(oracle.main)
    except ConfigError as exc:
        assert result.returncode != 0, f"postgres -C accepts what we reject ({exc})"
        assert "contains errors" in result.stdout
        return
    assert result.returncode == 0, result.stdout
    assert result.stdout.rstrip("\n") == ours[name]
