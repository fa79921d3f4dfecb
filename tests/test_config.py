"""Unit tests of boss.config: PostgreSQL's postgresql.conf rules, one table per rule.

Expected values are written from PostgreSQL's scanner (guc-file.l) and include handling
(conffiles.c); tests/test_config_oracle.py checks the same kinds of input against a server.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from pytest_boss.boss import config
from pytest_boss.boss._atomic import atomic_write_bytes, atomic_write_text, atomic_writer
from pytest_boss.boss.config import (
    ConfigError,
    ConfigIncludeError,
    ConfigSyntaxError,
    Setting,
    alter_config,
    alter_file,
    file_settings,
    parse_line,
    quote_value,
    read_config,
    read_file,
    render,
    unquote,
    write_config,
)

pytestmark = pytest.mark.unit


def sliced(line: str) -> tuple[str, str] | None:
    result = parse_line(line)
    if result is None:
        return None
    key, value = result
    return line[key], line[value]


# -- parse_line: live settings --------------------------------------------------------------

LIVE = [
    ("work_mem = 4MB", ("work_mem", "4MB"), "equals-with-blanks"),
    ("work_mem=4MB", ("work_mem", "4MB"), "equals-no-blanks"),
    ("work_mem 4MB", ("work_mem", "4MB"), "no-equals"),
    ("work_mem\t=\t4MB", ("work_mem", "4MB"), "tabs"),
    ("  work_mem = 4MB  ", ("work_mem", "4MB"), "leading-trailing-blanks"),
    ("work_mem = 4MB\n", ("work_mem", "4MB"), "newline-end"),
    ("work_mem = 4MB\r\n", ("work_mem", "4MB"), "crlf-end"),
    ("work_mem\r=\r4MB", ("work_mem", "4MB"), "lone-cr-is-blank"),
    ("work_mem = 4MB # comment", ("work_mem", "4MB"), "trailing-comment"),
    ("work_mem = 4MB#comment", ("work_mem", "4MB"), "comment-right-after-value"),
    ("Work_Mem = 4MB", ("Work_Mem", "4MB"), "mixed-case-name-kept"),
    ("_x = 1", ("_x", "1"), "name-starts-with-underscore"),
    ("x9_y = 1", ("x9_y", "1"), "name-with-digits"),
    ("auto_explain.log_min_duration = 0", ("auto_explain.log_min_duration", "0"), "dotted-name"),
    ("é = 1", ("é", "1"), "non-ascii-name"),
    ("a.é = 1", ("a.é", "1"), "non-ascii-dotted-name"),
    ("x = 0", ("x", "0"), "integer"),
    ("x = -1", ("x", "-1"), "negative-integer"),
    ("x = +5", ("x", "+5"), "plus-integer"),
    ("x = 4MB", ("x", "4MB"), "integer-unit"),
    ("x = 10s", ("x", "10s"), "integer-time-unit"),
    ("x = 0x1F", ("x", "0x1F"), "hex"),
    ("x = 0xffkB", ("x", "0xffkB"), "hex-with-unit"),
    ("x = 0xZZ", ("x", "0xZZ"), "zero-with-unit-letters-not-hex"),
    ("x = 1.5", ("x", "1.5"), "real"),
    ("x = .5", ("x", ".5"), "real-no-integer-part"),
    ("x = 5.", ("x", "5."), "real-no-fraction"),
    ("x = .", ("x", "."), "real-lone-dot"),
    ("x = -.", ("x", "-."), "real-signed-lone-dot"),
    ("x = 1.5e3", ("x", "1.5e3"), "real-exponent"),
    ("x = 1.5E-3", ("x", "1.5E-3"), "real-negative-exponent"),
    ("x = -0.25", ("x", "-0.25"), "negative-real"),
    ("x = on", ("x", "on"), "identifier"),
    ("x = a.b.c", ("x", "a.b.c"), "unquoted-two-dots"),
    ("x = abc.def/x", ("x", "abc.def/x"), "unquoted-dot-then-slash"),
    ("x = en_US.UTF-8", ("x", "en_US.UTF-8"), "unquoted-locale"),
    ("x = a-b", ("x", "a-b"), "unquoted-dash"),
    ("x = a:b", ("x", "a:b"), "unquoted-colon"),
    ("x = a/b/c", ("x", "a/b/c"), "unquoted-slashes"),
    ("x = a-", ("x", "a-"), "unquoted-trailing-dash"),
    ("x = héllo", ("x", "héllo"), "unquoted-non-ascii"),
    ("x = ''", ("x", "''"), "empty-quoted"),
    ("x = 'a b'", ("x", "'a b'"), "quoted-blank"),
    ("x = 'a # b'", ("x", "'a # b'"), "quoted-hash"),
    ("x = 'it''s'", ("x", "'it''s'"), "quoted-doubled-quote"),
    ("x = 'it\\'s'", ("x", "'it\\'s'"), "quoted-backslash-quote"),
    ("x = 'a\\\\'", ("x", "'a\\\\'"), "quoted-escaped-backslash-at-end"),
    ("x = '/a/b' # c 'd'", ("x", "'/a/b'"), "quoted-then-comment-with-quotes"),
    ("x = 'a'' # b'", ("x", "'a'' # b'"), "quoted-doubled-quote-then-hash"),
    ("include 'file.conf'", ("include", "'file.conf'"), "include-directive"),
]


@pytest.mark.parametrize(("line", "expected"), [c[:2] for c in LIVE], ids=[c[2] for c in LIVE])
def test_parse_line_live(line: str, expected: tuple[str, str]) -> None:
    assert sliced(line) == expected
    key, _ = parse_line(line) or (slice(0), slice(0))
    assert "#" not in line[: key.start]


COMMENTED = [
    ("#work_mem = 4MB", ("work_mem", "4MB"), "hash-then-setting"),
    ("# work_mem = 4MB", ("work_mem", "4MB"), "hash-blank-setting"),
    ("#work_mem = 4MB\t\t# min 64kB", ("work_mem", "4MB"), "initdb-style"),
    ("  #shared_buffers = 128MB", ("shared_buffers", "128MB"), "indented"),
    ("##x = 1", ("x", "1"), "double-hash"),
    ("#x='a b'", ("x", "'a b'"), "no-blanks-quoted"),
    ("#   name = value", ("name", "value"), "prose-shaped-like-a-setting"),
    ("#search_path = '\"$user\", public'", ("search_path", "'\"$user\", public'"), "search-path"),
]


@pytest.mark.parametrize(
    ("line", "expected"), [c[:2] for c in COMMENTED], ids=[c[2] for c in COMMENTED]
)
def test_parse_line_commented_setting(line: str, expected: tuple[str, str]) -> None:
    assert sliced(line) == expected
    key, _ = parse_line(line) or (slice(0), slice(0))
    assert "#" in line[: key.start]


NOT_SETTINGS = [
    ("", "empty"),
    ("\n", "newline"),
    ("\r\n", "crlf"),
    ("   \t ", "blanks"),
    ("# plain comment", "comment-two-words-no-equals"),
    ("#work_mem 4MB", "commented-without-equals"),
    ("#-------------------------", "comment-rule"),
    ("# - Memory -", "comment-heading"),
    ("#   (change requires restart)", "comment-parenthesis"),
    ("#\t\t\t\t\t# (change requires restart)", "comment-of-comment"),
    ("#   debug5", "comment-single-word"),
    ("#   off, local0", "comment-list"),
    ("#\t%a = application name", "comment-percent"),
    ("#x = ", "commented-no-value"),
    ("#x = 1 2", "commented-two-values"),
]


@pytest.mark.parametrize("line", [c[0] for c in NOT_SETTINGS], ids=[c[1] for c in NOT_SETTINGS])
def test_parse_line_not_a_setting(line: str) -> None:
    assert parse_line(line) is None


SYNTAX_ERRORS = [
    ("x", "name-only"),
    ("x =", "no-value"),
    ("x = # comment", "no-value-comment"),
    ("= 1", "no-name"),
    ("x = 1 2", "two-values"),
    ("x = a b", "two-identifiers"),
    ("x = 1e5", "exponent-without-dot"),
    ("x = 1.5MB", "real-with-unit"),
    ("x = 1.5.3", "two-reals"),
    ("x = abc.def", "qualified-name-as-value"),
    ("x = = 1", "two-equals"),
    ("x = 'abc", "unterminated-quote"),
    ("x = 'a'b'", "quote-then-text"),
    ("x = 'a\\'", "backslash-escapes-closing-quote"),
    ("x = /tmp", "unquoted-starts-with-slash"),
    ("x = -a", "unquoted-starts-with-dash"),
    ("x = a;b", "semicolon"),
    ("x = a b # comment", "two-values-then-comment"),
    ("x = $1", "dollar"),
    ('x = "a"', "double-quotes"),
    ("1x = 1", "name-starts-with-digit"),
    ("a.b.c = 1", "name-two-dots"),
    ("a-b = 1", "name-with-dash"),
    ("a.b-c = 1", "dotted-name-with-dash"),
    ("a. = 1", "name-trailing-dot"),
    ("'x' = 1", "quoted-name"),
    ("x = 1\fy", "form-feed-is-not-blank"),
    ("x = 1\vy", "vertical-tab-is-not-blank"),
    ("x = 1 \\", "backslash-continuation"),
    ("x\0 = 1", "nul-byte"),
]


@pytest.mark.parametrize("line", [c[0] for c in SYNTAX_ERRORS], ids=[c[1] for c in SYNTAX_ERRORS])
def test_parse_line_syntax_error(line: str) -> None:
    with pytest.raises(ConfigSyntaxError) as info:
        parse_line(line)
    assert info.value.line == line
    assert isinstance(info.value, ConfigError)
    assert isinstance(info.value, ValueError)


def test_parse_line_rejects_several_lines() -> None:
    with pytest.raises(ValueError, match="one line"):
        parse_line("a = 1\nb = 2\n")


@pytest.mark.parametrize(
    ("line", "equality", "comment", "quote_char", "expected"),
    [
        ("x : 1", ":", "#", "'", ("x", "1")),
        ("x = 1 ; c", "=", ";", "'", ("x", "1")),
        ('x = "a b"', "=", "#", '"', ("x", '"a b"')),
    ],
    ids=["equality-colon", "comment-semicolon", "quote-double"],
)
def test_parse_line_custom_characters(
    line: str, equality: str, comment: str, quote_char: str, expected: tuple[str, str]
) -> None:
    result = parse_line(line, equality=equality, comment=comment, quote=quote_char)
    assert result is not None
    assert (line[result[0]], line[result[1]]) == expected


# -- unquote and quote ----------------------------------------------------------------------

UNQUOTE = [
    ("4MB", "4MB", "unquoted-token-unchanged"),
    ("''", "", "empty"),
    ("'abc'", "abc", "plain"),
    ("'a b'", "a b", "blank"),
    ("'it''s'", "it's", "doubled-quote"),
    ("''''", "'", "only-a-quote"),
    ("'it\\'s'", "it's", "backslash-quote"),
    ("'a\\\\b'", "a\\b", "backslash-backslash"),
    ("'a\\nb'", "a\nb", "newline"),
    ("'a\\tb'", "a\tb", "tab"),
    ("'a\\bb'", "a\bb", "backspace"),
    ("'a\\fb'", "a\fb", "form-feed"),
    ("'a\\rb'", "a\rb", "carriage-return"),
    ("'\\101'", "A", "octal-three-digits"),
    ("'\\60'", "0", "octal-two-digits"),
    ("'\\7x'", "\x07x", "octal-one-digit"),
    ("'\\1011'", "A1", "octal-at-most-three-digits"),
    ("'\\08'", "", "octal-zero-ends-value"),
    ("'a\\0b'", "a", "nul-truncates"),
    ("'a\\400b'", "a", "octal-400-wraps-to-nul"),
    ("'\\501'", "A", "octal-wraps-modulo-256"),
    ("'\\303\\251'", "é", "octal-utf8-bytes"),
    ("'\\x'", "x", "unknown-escape-x"),
    ("'\\q\\%\\\"'", 'q%"', "unknown-escapes-stand-for-themselves"),
    ("'\\8'", "8", "eight-is-not-octal"),
    ("'\\é'", "é", "escaped-non-ascii"),
    ("'a#b'", "a#b", "hash"),
    ("'日本'", "日本", "non-ascii"),
]


@pytest.mark.parametrize(
    ("token", "expected"), [c[:2] for c in UNQUOTE], ids=[c[2] for c in UNQUOTE]
)
def test_unquote(token: str, expected: str) -> None:
    assert unquote(token) == expected


QUOTE = [
    ("", "''", "empty"),
    ("abc", "'abc'", "plain"),
    ("it's", "'it''s'", "quote-doubled"),
    ("a\\b", "'a\\\\b'", "backslash-doubled"),
    ("a\nb", "'a\\nb'", "newline-escaped"),
    ("a\rb", "'a\\rb'", "cr-escaped"),
    ("a\tb", "'a\tb'", "tab-raw"),
    ("a # b", "'a # b'", "hash-raw"),
    ("日本", "'日本'", "non-ascii-raw"),
]


@pytest.mark.parametrize(("value", "expected"), [c[:2] for c in QUOTE], ids=[c[2] for c in QUOTE])
def test_quote(value: str, expected: str) -> None:
    assert quote_value(value) == expected
    assert unquote(expected) == value


def test_quote_rejects_nul() -> None:
    with pytest.raises(ValueError, match="NUL"):
        quote_value("a\0b")


RENDER = [
    ("4MB", "'4MB'", "str-quoted"),
    ("", "''", "empty-str"),
    (True, "on", "true"),
    (False, "off", "false"),
    (0, "0", "zero"),
    (-1, "-1", "negative-int"),
    (1.5, "1.5", "float"),
    (1e-05, "1.0e-05", "float-exponent-gets-a-dot"),
    (1e20, "1.0e+20", "float-large"),
    (float("inf"), "'inf'", "float-inf-quoted"),
    (float("nan"), "'nan'", "float-nan-quoted"),
]


@pytest.mark.parametrize(("value", "expected"), [c[:2] for c in RENDER], ids=[c[2] for c in RENDER])
def test_render(value: config.Value, expected: str) -> None:
    assert render(value) == expected
    # Every rendering is one value token the server accepts.
    assert sliced(f"x = {expected}") == ("x", expected)


@pytest.mark.parametrize(
    "value", [None, b"x", [1], object()], ids=["none", "bytes", "list", "object"]
)
def test_render_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError, match="str, int, float or bool"):
        render(value)  # type: ignore[arg-type]


# -- read_config ----------------------------------------------------------------------------

READ = [
    ("", {}, "empty"),
    ("# only a comment\n\n", {}, "comments-only"),
    ("a = 1\nb = 'two'\n", {"a": "1", "b": "two"}, "two-settings"),
    ("a = 1\na = 2\n", {"a": "2"}, "last-wins"),
    ("Work_Mem = 1\nWORK_MEM = 2\n", {"work_mem": "2"}, "names-lower-cased-last-wins"),
    ("Boss.É = 1\n", {"boss.É": "1"}, "ascii-only-lower-case"),
    ("a = 1\r\nb = 2\r\n", {"a": "1", "b": "2"}, "crlf"),
    ("a = 1\nb = 2", {"a": "1", "b": "2"}, "no-final-newline"),
    ("#a = 1\nb = 2\n", {"b": "2"}, "commented-ignored"),
    ("a = 'x''y'\n", {"a": "x'y"}, "unquoted-value"),
    ("a = on\n", {"a": "on"}, "identifier-as-is"),
    ("a = 4MB\n", {"a": "4MB"}, "unit-as-is"),
    ("include 'x.conf'\na = 1\n", {"a": "1"}, "include-skipped"),
    ("INCLUDE_DIR 'd'\ninclude_if_exists 'x'\n", {}, "include-directives-case-insensitive"),
]


@pytest.mark.parametrize(("text", "expected"), [c[:2] for c in READ], ids=[c[2] for c in READ])
def test_read_config(text: str, expected: dict[str, str]) -> None:
    assert read_config(text) == expected
    assert read_config(io.StringIO(text, newline="")) == expected
    assert read_config(text.splitlines(keepends=True)) == expected


def test_read_config_lines_without_ends() -> None:
    assert read_config(["a = 1", "b = 2"]) == {"a": "1", "b": "2"}


def test_read_config_lone_cr_is_not_a_line_end() -> None:
    # Python's universal newlines would split here; the server reads "a", "1", "b", ...
    with pytest.raises(ConfigSyntaxError):
        read_config("a = 1\rb = 2\n")


def test_read_config_updates_given_dict() -> None:
    d = {"keep": "me", "a": "old"}
    assert read_config("a = new\n", d) is d
    assert d == {"keep": "me", "a": "new"}


def test_read_config_selector_sees_lower_case_names() -> None:
    seen: list[str] = []

    def selector(name: str) -> bool:
        seen.append(name)
        return name.startswith("log_")

    text = "Log_Min_Messages = debug1\nwork_mem = 1MB\nlog_connections = on\n"
    assert read_config(text, selector=selector) == {
        "log_min_messages": "debug1",
        "log_connections": "on",
    }
    assert seen == ["log_min_messages", "work_mem", "log_connections"]


@pytest.mark.parametrize(
    ("text", "lineno"),
    [
        ("x\n", 1),
        ("a = 1\nb = 2\nc = 1 2\n", 3),
        ("# c\r\n\r\nbad line here\r\n", 3),
        ("a = 1\n\n\nb =", 4),
    ],
    ids=["first-line", "third-line", "crlf-third-line", "last-line-no-newline"],
)
def test_read_config_error_line_number(text: str, lineno: int) -> None:
    with pytest.raises(ConfigSyntaxError) as info:
        read_config(text)
    assert info.value.lineno == lineno
    assert info.value.path is None
    assert f":{lineno}:" in str(info.value)


# -- read_file: includes --------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_read_file_plain(tmp_path: Path) -> None:
    main = write(tmp_path / "postgresql.conf", "a = 1\n#b = 2\nc = 'x y'  # comment\n")
    assert read_file(main) == {"a": "1", "c": "x y"}
    assert read_file(str(main)) == {"a": "1", "c": "x y"}


def test_file_settings_lists_every_line_in_order(tmp_path: Path) -> None:
    main = write(tmp_path / "main.conf", "A = 1\ninclude 'sub.conf'\na = 3\n")
    sub = write(tmp_path / "sub.conf", "\nb = 'two'\n")
    assert file_settings(main) == [
        Setting("A", "1", str(main), 1),
        Setting("b", "two", str(sub), 2),
        Setting("a", "3", str(main), 3),
    ]


def test_file_settings_path_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "main.conf", "a = 1\n")
    monkeypatch.chdir(tmp_path)
    assert file_settings("main.conf") == [Setting("a", "1", str(tmp_path / "main.conf"), 1)]


def test_include_is_processed_where_it_stands(tmp_path: Path) -> None:
    main = write(
        tmp_path / "main.conf",
        "a = main1\nb = main1\ninclude 'sub.conf'\nb = main2\n",
    )
    write(tmp_path / "sub.conf", "a = sub\nb = sub\n")
    assert read_file(main) == {"a": "sub", "b": "main2"}


def test_include_relative_to_including_file(tmp_path: Path) -> None:
    main = write(tmp_path / "main.conf", "include 'conf/first.conf'\n")
    write(tmp_path / "conf" / "first.conf", "include 'second.conf'\nfirst = 1\n")
    write(tmp_path / "conf" / "second.conf", "include '../top.conf'\nsecond = 2\n")
    write(tmp_path / "top.conf", "top = 3\n")
    assert read_file(main) == {"first": "1", "second": "2", "top": "3"}
    assert [s.path for s in file_settings(main)] == [
        str(tmp_path / "top.conf"),
        str(tmp_path / "conf" / "second.conf"),
        str(tmp_path / "conf" / "first.conf"),
    ]


def test_include_absolute_path(tmp_path: Path) -> None:
    other = write(tmp_path / "elsewhere" / "x.conf", "x = 1\n")
    main = write(tmp_path / "dir" / "main.conf", f"include {quote_value(str(other))}\n")
    assert read_file(main) == {"x": "1"}


@pytest.mark.parametrize(
    "directive",
    ["include", "INCLUDE", "Include", "include =", "include_if_exists", "INCLUDE_IF_EXISTS ="],
)
def test_include_directive_spellings(tmp_path: Path, directive: str) -> None:
    main = write(tmp_path / "main.conf", f"{directive} 'sub.conf'\n")
    write(tmp_path / "sub.conf", "x = 1\n")
    assert read_file(main) == {"x": "1"}


def test_include_unquoted_file_name(tmp_path: Path) -> None:
    # "sub.conf" alone would be a qualified name (an error); with a slash it is a string.
    main = write(tmp_path / "main.conf", "include sub/x.conf\n")
    write(tmp_path / "sub" / "x.conf", "x = 1\n")
    assert read_file(main) == {"x": "1"}


def test_include_unquoted_dotted_name_is_a_syntax_error(tmp_path: Path) -> None:
    main = write(tmp_path / "main.conf", "include sub.conf\n")
    write(tmp_path / "sub.conf", "x = 1\n")
    with pytest.raises(ConfigSyntaxError):
        read_file(main)


def test_include_missing_file_is_an_error_at_the_directive(tmp_path: Path) -> None:
    main = write(tmp_path / "main.conf", "a = 1\ninclude 'missing.conf'\n")
    with pytest.raises(ConfigIncludeError) as info:
        read_file(main)
    assert (info.value.path, info.value.lineno) == (str(main), 2)
    assert str(tmp_path / "missing.conf") in str(info.value)


def test_include_if_exists_missing_file_is_skipped(tmp_path: Path) -> None:
    main = write(tmp_path / "main.conf", "a = 1\ninclude_if_exists 'missing.conf'\nb = 2\n")
    assert read_file(main) == {"a": "1", "b": "2"}


@pytest.mark.parametrize("directive", ["include", "include_if_exists"])
def test_include_a_directory_is_an_error(tmp_path: Path, directive: str) -> None:
    (tmp_path / "sub").mkdir()
    main = write(tmp_path / "main.conf", f"{directive} 'sub'\n")
    with pytest.raises(ConfigIncludeError):
        read_file(main)


@pytest.mark.parametrize(
    "name", ["''", "' '", "'\\t'", "'\\n'"], ids=["empty", "blank", "tab", "nl"]
)
@pytest.mark.parametrize("directive", ["include", "include_if_exists", "include_dir"])
def test_include_empty_name_is_an_error(tmp_path: Path, directive: str, name: str) -> None:
    main = write(tmp_path / "main.conf", f"{directive} {name}\n")
    with pytest.raises(ConfigIncludeError, match="empty configuration"):
        read_file(main)


def test_include_itself_is_recursion(tmp_path: Path) -> None:
    main = write(tmp_path / "main.conf", "a = 1\ninclude 'main.conf'\n")
    with pytest.raises(ConfigIncludeError, match="recursion") as info:
        read_file(main)
    assert info.value.lineno == 2


def test_include_itself_by_another_spelling_is_recursion(tmp_path: Path) -> None:
    main = write(tmp_path / "d" / "main.conf", "include '../d/./main.conf'\n")
    with pytest.raises(ConfigIncludeError, match="recursion"):
        read_file(main)


def test_include_loop_hits_the_depth_limit(tmp_path: Path) -> None:
    main = write(tmp_path / "a.conf", "include 'b.conf'\n")
    write(tmp_path / "b.conf", "include 'a.conf'\n")
    with pytest.raises(ConfigIncludeError, match="depth"):
        read_file(main)


def chain(tmp_path: Path, levels: int) -> Path:
    """main.conf includes f1.conf ... which includes f<levels>.conf, which sets deep = 1."""
    for level in range(levels):
        name = "main.conf" if level == 0 else f"f{level}.conf"
        write(tmp_path / name, f"include 'f{level + 1}.conf'\n")
    write(tmp_path / f"f{levels}.conf", "deep = 1\n")
    return tmp_path / "main.conf"


def test_include_depth_ten_is_allowed(tmp_path: Path) -> None:
    assert read_file(chain(tmp_path, 10)) == {"deep": "1"}


def test_include_depth_eleven_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigIncludeError, match="depth") as info:
        read_file(chain(tmp_path, 11))
    assert info.value.path == str(tmp_path / "f10.conf")
    assert info.value.lineno == 1


def test_include_dir_order_and_filter(tmp_path: Path) -> None:
    main = write(tmp_path / "main.conf", "include_dir 'conf.d'\n")
    d = tmp_path / "conf.d"
    names = {
        "b.conf": "included",
        "B.conf": "included",  # C locale: upper case first
        "10.conf": "included",
        "2.conf": "included",  # '1' < '2': 10 before 2
        "a_b.conf": "included",
        "a.conf": "included",  # '.' < '_'
        "x.CONF": "skipped: suffix is case-sensitive",
        "x.conf.bak": "skipped: not .conf",
        "xconf": "skipped: no dot",
        ".conf": "skipped: too short",
        ".hidden.conf": "skipped: hidden",
        "#x.conf#": "skipped: not .conf",
    }
    for name, why in names.items():
        write(d / name, f"order = {quote_value(name)}\nn_{len(name)} = {quote_value(why)}\n")
    (d / "dir.conf").mkdir()
    write(d / "dir.conf" / "inner.conf", "inner = 1\n")
    seen = [s.value for s in file_settings(main) if s.name == "order"]
    assert seen == ["10.conf", "2.conf", "B.conf", "a.conf", "a_b.conf", "b.conf"]


def test_include_dir_relative_to_including_file(tmp_path: Path) -> None:
    main = write(tmp_path / "main.conf", "include 'sub/inc.conf'\n")
    write(tmp_path / "sub" / "inc.conf", "include_dir 'd'\n")
    write(tmp_path / "sub" / "d" / "x.conf", "x = 1\n")
    assert read_file(main) == {"x": "1"}


def test_include_dir_missing_is_an_error(tmp_path: Path) -> None:
    main = write(tmp_path / "main.conf", "include_dir 'missing'\n")
    with pytest.raises(ConfigIncludeError, match="directory") as info:
        read_file(main)
    assert (info.value.path, info.value.lineno) == (str(main), 1)


def test_include_dir_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    main = write(tmp_path / "main.conf", "a = 1\ninclude_dir 'd'\n")
    assert read_file(main) == {"a": "1"}


def test_include_dir_broken_symlink_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.conf").symlink_to(tmp_path / "nowhere.conf")
    main = write(tmp_path / "main.conf", "include_dir 'd'\n")
    with pytest.raises(ConfigIncludeError, match="stat"):
        read_file(main)


def test_syntax_error_in_included_file_names_that_file(tmp_path: Path) -> None:
    main = write(tmp_path / "main.conf", "a = 1\ninclude 'sub.conf'\n")
    sub = write(tmp_path / "sub.conf", "ok = 1\nnot ok at all\n")
    with pytest.raises(ConfigSyntaxError) as info:
        read_file(main)
    assert (info.value.path, info.value.lineno, info.value.line) == (str(sub), 2, "not ok at all")
    assert f"{sub}:2:" in str(info.value)


def test_read_file_keeps_invalid_utf8(tmp_path: Path) -> None:
    main = tmp_path / "main.conf"
    main.write_bytes(b"x = '\xff\xfe'\n\xe9 = 1\n")
    settings = read_file(main)
    assert {k.encode("utf-8", "surrogateescape"): v for k, v in settings.items()} == {
        b"x": "\udcff\udcfe",
        b"\xe9": "1",
    }


def test_read_file_missing_top_level_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_file(tmp_path / "missing.conf")


# -- write_config ---------------------------------------------------------------------------


def test_write_config_to_file_object() -> None:
    out = io.StringIO()
    write_config({"a": "x y", "b": 1, "c": True, "d": None, "e": 0.5}, out)
    assert out.getvalue() == "a = 'x y'\nb = 1\nc = on\ne = 0.5\n"


def test_write_config_to_callable_with_keys() -> None:
    chunks: list[str] = []
    write_config({"a": "1", "b": "2", "c": "3"}, chunks.append, keys=["c", "a"])
    assert "".join(chunks) == "c = '3'\na = '1'\n"


@pytest.mark.parametrize("name", ["", "1a", "a b", "a.b.c", "a-b", "include", "Include_Dir"])
def test_write_config_rejects_bad_names(name: str) -> None:
    with pytest.raises(ValueError, match=repr(name)):
        write_config({name: "x"}, io.StringIO())


# -- alter_config ---------------------------------------------------------------------------

INITDB_LIKE = (
    "# -----------------------------\n"
    "# PostgreSQL configuration file\n"
    "# -----------------------------\n"
    "\n"
    "max_connections = 100\t\t\t# (change requires restart)\n"
    "#superuser_reserved_connections = 3\t# (change requires restart)\n"
    "shared_buffers = 128MB\t\t\t# min 128kB\n"
    "\t\t\t\t\t# (change requires restart)\n"
    "#work_mem = 4MB\t\t\t\t# min 64kB\n"
    "#log_line_prefix = '%m [%p] '\t\t# special values:\n"
    "#\t\t\t\t\t#   %a = application name\n"
)

ALTER = [
    pytest.param("a = 1\n", {"a": "2"}, "a = '2'\n", id="live-line-value-replaced"),
    pytest.param(
        "a = 1   # keep me\n", {"a": 2}, "a = 2   # keep me\n", id="live-line-keeps-comment"
    ),
    pytest.param(
        "  A\t1#c\n", {"a": "x"}, "  A\t'x'#c\n", id="live-line-keeps-spelling-and-spacing"
    ),
    pytest.param("a = 1\r\n", {"a": True}, "a = on\r\n", id="live-line-keeps-crlf"),
    pytest.param(
        "#a = 1\t# default\n", {"a": 5}, "a = 5\t# default\n", id="commented-default-uncommented"
    ),
    pytest.param("  # a = 1\n", {"a": 5}, "  a = 5\n", id="commented-indented-uncommented"),
    pytest.param(
        "#a = 1\nb = 2\n#a = 3\n", {"a": 5}, "#a = 1\nb = 2\na = 5\n", id="last-commented-chosen"
    ),
    pytest.param("x = 1\n", {"a": "v"}, "x = 1\na = 'v'\n", id="appended"),
    pytest.param("x = 1", {"a": "v"}, "x = 1\na = 'v'\n", id="appended-after-missing-newline"),
    pytest.param("x = 1\r\n", {"a": "v"}, "x = 1\r\na = 'v'\r\n", id="appended-with-crlf"),
    pytest.param("", {"a": "v"}, "a = 'v'\n", id="appended-to-empty"),
    pytest.param(
        "a = 1\nb = 2\na = 3\n", {"a": 4}, "#a = 1\nb = 2\na = 4\n", id="duplicates-commented-out"
    ),
    pytest.param("A = 1\na = 3\n", {"a": 4}, "#A = 1\na = 4\n", id="duplicates-any-case"),
    pytest.param(
        "a = 1\nb = 2\na = 3\n", {"a": None}, "#a = 1\nb = 2\n#a = 3\n", id="none-comments-out-all"
    ),
    pytest.param("#a = 1\n", {"a": None}, "#a = 1\n", id="none-on-commented-unchanged"),
    pytest.param("b = 2\n", {"a": None}, "b = 2\n", id="none-on-absent-unchanged"),
    pytest.param("a = 1\n", {"a": None, "b": "x"}, "#a = 1\nb = 'x'\n", id="none-and-append"),
    pytest.param(
        "x = 1\n", {"c": "3", "a": "1"}, "x = 1\nc = '3'\na = '1'\n", id="appended-in-map-order"
    ),
    pytest.param("a.b = 1\n", {"A.B": "z"}, "a.b = 'z'\n", id="dotted-name-any-case"),
    pytest.param(
        "a = 1\n", {"a": "it's a \\ # test"}, "a = 'it''s a \\\\ # test'\n", id="value-quoted"
    ),
    pytest.param("a = 1\n", {"a": 1.5}, "a = 1.5\n", id="float-bare"),
    pytest.param("a = 1\n", {"a": False}, "a = off\n", id="bool-off"),
    pytest.param(
        "# a = 1 is a comment here\n",
        {"a": 1},
        "# a = 1 is a comment here\na = 1\n",
        id="prose-comment-not-uncommented",
    ),
    pytest.param(
        "include 'x.conf'\n", {"a": 1}, "include 'x.conf'\na = 1\n", id="include-untouched"
    ),
    pytest.param(
        INITDB_LIKE,
        {"work_mem": "8MB", "max_connections": 20, "log_line_prefix": "%m "},
        INITDB_LIKE.replace("max_connections = 100", "max_connections = 20")
        .replace("#work_mem = 4MB", "work_mem = '8MB'")
        .replace("#log_line_prefix = '%m [%p] '", "log_line_prefix = '%m '"),
        id="initdb-like",
    ),
]


@pytest.mark.parametrize(("before", "changes", "after"), ALTER)
def test_alter_config(before: str, changes: dict[str, config.Value | None], after: str) -> None:
    assert "".join(alter_config(changes, before)) == after
    assert "".join(alter_config(changes, io.StringIO(before, newline=""))) == after


def test_alter_config_returns_lines_with_ends() -> None:
    assert alter_config({"b": 2}, "a = 1\n# x\n") == ["a = 1\n", "# x\n", "b = 2\n"]


def test_alter_config_lines_without_ends() -> None:
    assert alter_config({"b": 2, "a": 0}, ["a = 1", "# x"]) == ["a = 0", "# x", "b = 2"]


def test_alter_config_keys_select_and_order() -> None:
    changes = {"a": 1, "b": 2, "c": 3}
    assert alter_config(changes, "", keys=["c", "a"]) == ["c = 3\n", "a = 1\n"]


def test_alter_config_keeps_other_lines_byte_for_byte() -> None:
    before = "a = 1\n\x0b odd\x85 comment \u2028 # é\r\n#\r\nb=2 \r \n"
    # '\x0b', '\x85', '\u2028' and a lone '\r' are not line ends to the server.
    with pytest.raises(ConfigSyntaxError):
        alter_config({"b": 3}, before)
    before = "a = 1\n# \x0b odd\x85 comment \u2028 é\r\n#\r\nb=2 \r \n"
    after = alter_config({"b": 3}, before)
    assert after == ["a = 1\n", "# \x0b odd\x85 comment \u2028 é\r\n", "#\r\n", "b=3 \r \n"]


def test_alter_config_rejects_a_broken_file() -> None:
    with pytest.raises(ConfigSyntaxError) as info:
        alter_config({"a": 1}, "a = 1\nb = 1 2\n")
    assert info.value.lineno == 2


@pytest.mark.parametrize("name", ["include", "include_if_exists", "INCLUDE_DIR", "a b", "9x"])
def test_alter_config_rejects_bad_names(name: str) -> None:
    with pytest.raises(ValueError, match=repr(name)):
        alter_config({name: "x"}, "")


def test_alter_config_value_round_trip() -> None:
    tricky = "it's \\ a # 'test'\n\r\t é 日本 \\101 ''"
    lines = alter_config({"boss.value": tricky}, "boss.value = 1\n")
    assert read_config(lines) == {"boss.value": tricky}
    out = io.StringIO()
    write_config({"boss.value": tricky}, out)
    assert read_config(out.getvalue()) == {"boss.value": tricky}


def test_alter_config_twice_is_stable() -> None:
    once = alter_config({"a": "1", "b": None, "c": 2}, INITDB_LIKE + "b = 1\n")
    twice = alter_config({"a": "1", "b": None, "c": 2}, once)
    assert once == twice


# -- alter_file and atomic replacement ------------------------------------------------------


def test_alter_file(tmp_path: Path) -> None:
    path = write(tmp_path / "postgresql.conf", "a = 1  # c\r\n#b = 2\r\n")
    os.chmod(path, 0o640)
    lines = alter_file(path, {"a": 5, "b": "x", "c": True})
    assert lines == ["a = 5  # c\r\n", "b = 'x'\r\n", "c = on\r\n"]
    assert path.read_bytes() == b"a = 5  # c\r\nb = 'x'\r\nc = on\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["postgresql.conf"]


def test_alter_file_unchanged_is_not_rewritten(tmp_path: Path) -> None:
    path = write(tmp_path / "postgresql.conf", "a = 5\n")
    inode = path.stat().st_ino
    alter_file(path, {"a": 5, "b": None})
    assert path.stat().st_ino == inode


def test_alter_file_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "postgresql.conf", "ok = 1\nbroken\n")
    with pytest.raises(ConfigSyntaxError) as info:
        alter_file(path, {"a": 1})
    assert (info.value.path, info.value.lineno) == (str(path), 2)
    assert path.read_text() == "ok = 1\nbroken\n"


def test_alter_file_keeps_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "postgresql.conf"
    path.write_bytes(b"# caf\xe9\nx = '\xff'\n")
    alter_file(path, {"y": "1"})
    assert path.read_bytes() == b"# caf\xe9\nx = '\xff'\ny = '1'\n"


def test_alter_file_follows_symlink(tmp_path: Path) -> None:
    real = write(tmp_path / "real.conf", "a = 1\n")
    link = tmp_path / "link.conf"
    link.symlink_to(real)
    alter_file(link, {"a": 2})
    assert link.is_symlink()
    assert real.read_text() == "a = 2\n"


def test_atomic_writer_failure_leaves_target(tmp_path: Path) -> None:
    path = write(tmp_path / "f.conf", "old\n")
    with pytest.raises(RuntimeError), atomic_writer(path) as fo:
        fo.write("new\n")
        raise RuntimeError("boom")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.conf"]


def test_atomic_write_new_file_uses_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "new.conf", "x\r\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.conf").stat().st_mode) == 0o640
    assert (tmp_path / "new.conf").read_bytes() == b"x\r\n"


def test_atomic_write_bytes_keeps_mode(tmp_path: Path) -> None:
    path = write(tmp_path / "f.conf", "old\n")
    os.chmod(path, 0o600)
    atomic_write_bytes(path, b"new\n")
    assert path.read_bytes() == b"new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_atomic_write_keeps_owner_as_root(tmp_path: Path) -> None:
    path = write(tmp_path / "f.conf", "old\n")
    os.chown(path, 12345, 23456)
    atomic_write_text(path, "new\n")
    assert (path.stat().st_uid, path.stat().st_gid) == (12345, 23456)
