"""The pg-hba command line (``python -m pytest_boss.boss.hba FILE list|check|add|remove``)."""

# ruff: noqa: E501  (case tables keep one case per line)
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_boss.boss.hba import main

pytestmark = pytest.mark.unit

FILE = """\
# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             all                                     trust
# IPv4 local connections:
host    all             all             127.0.0.1/32            trust
host    all             all             ::1/128                 trust
"""


@pytest.fixture
def hba_file(tmp_path: Path) -> Path:
    path = tmp_path / "pg_hba.conf"
    path.write_text(FILE)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list(hba_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(hba_file), "list")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "2\tlocal all all trust",
        "4\thost all all 127.0.0.1/32 trust",
        "5\thost all all ::1/128 trust",
    ]


def test_check_ok(hba_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(hba_file), "check")
    assert code == 0
    assert out == f"{hba_file}: 3 records, no errors\n"


CHECK_ERRORS = [
    ("local all all peer\nhost all all ::1/128 peer\n", 2, "peer authentication is only supported on local sockets", "method-type"),
    ("local all all trust\n\nlocal all \\\n  bogus\n", 3, "end-of-line before authentication method", "continued-record"),
    ("host all all 10.0.0.1 md5\n", 1, 'invalid IP mask "md5"', "netmask"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "lineno", "reason"), [c[:3] for c in CHECK_ERRORS], ids=[c[3] for c in CHECK_ERRORS])  # fmt: skip
def test_check_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, lineno: int, reason: str
) -> None:
    path = tmp_path / "pg_hba.conf"
    path.write_text(text)
    code, out, err = run(capsys, str(path), "check")
    assert (code, out) == (1, "")
    assert err.startswith(f"pg-hba: {path}:{lineno}: {reason}")


def test_check_server_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pg_hba.conf"
    path.write_text("include_if_exists other.conf\nlocal all all trust\n")
    assert run(capsys, str(path), "check")[0] == 0
    code, _, err = run(capsys, str(path), "--server-version", "15", "check")
    assert code == 1
    assert 'invalid connection type "include_if_exists"' in err


ADDS = [
    ((), 5, "append"),
    (("--before", "host all all ::1/128"), 4, "before"),
    (("--after", "local"), 2, "after"),
    (("--before", "host all all 127.0.0.1 255.255.255.255"), 3, "before-netmask-form"),
]


@pytest.mark.parametrize(("where", "at"), [c[:2] for c in ADDS], ids=[c[2] for c in ADDS])
def test_add(
    hba_file: Path, capsys: pytest.CaptureFixture[str], where: tuple[str, ...], at: int
) -> None:
    new = "host    all             all             10.0.0.0/8              reject\n"
    code, _, err = run(capsys, str(hba_file), "add", "host all all 10.0.0.0/8 reject", *where)
    assert (code, err) == (0, "")
    lines = FILE.splitlines(keepends=True)
    lines.insert(at, new)
    assert hba_file.read_text() == "".join(lines)


ADD_ERRORS = [
    (("host all all ::1/128 peer",), "peer authentication is only supported on local sockets", "invalid-record"),
    (("local all all md5", "--before", "hostssl"), "no record matches 'hostssl'", "no-match"),
    (("local all all md5\nlocal all all md5",), "expected one record, found 2", "two-records"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), [c[:2] for c in ADD_ERRORS], ids=[c[2] for c in ADD_ERRORS])  # fmt: skip
def test_add_errors(
    hba_file: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, str(hba_file), "add", *args)
    assert code == 1
    assert message in err
    assert hba_file.read_text() == FILE


def test_remove(hba_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, str(hba_file), "remove", "host all all 127.0.0.1 255.255.255.255")[0] == 0
    assert hba_file.read_text() == FILE.replace(
        "host    all             all             127.0.0.1/32            trust\n", ""
    )


def test_remove_all(hba_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, str(hba_file), "remove", "host", "--all")[0] == 0
    assert hba_file.read_text() == "".join(FILE.splitlines(keepends=True)[:3])


def test_remove_first_only(hba_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, str(hba_file), "remove", "host")[0] == 0
    assert "127.0.0.1/32" not in hba_file.read_text()
    assert "::1/128" in hba_file.read_text()


def test_remove_no_match(hba_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(hba_file), "remove", "hostssl")
    assert code == 1
    assert "no record matches 'hostssl'" in err
    assert hba_file.read_text() == FILE


def test_edit_keeps_bytes_mode_and_line_ends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    path = tmp_path / "pg_hba.conf"
    data = b"# caf\xe9\r\nlocal all all trust \\\r\n  # odd\r\nhost all all ::1/128 md5\r\n"
    path.write_bytes(data)
    os.chmod(path, 0o600)
    assert run(capsys, str(path), "add", "local db u peer", "--after", "local")[0] == 0
    assert path.read_bytes() == (
        b"# caf\xe9\r\nlocal all all trust \\\r\n  # odd\r\nlocal db u peer\r\n"
        b"host all all ::1/128 md5\r\n"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(tmp_path / "nope.conf"), "list")
    assert code == 1
    assert "nope.conf" in err


def test_usage_errors(hba_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([str(hba_file)])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main([str(hba_file), "add", "x", "--before", "a", "--after", "b"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for word in ("list", "check", "add", "remove", "--server-version"):
        assert word in out


def test_main_reads_argv(
    hba_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["pg-hba", str(hba_file), "check"])
    assert main() == 0
    assert "3 records" in capsys.readouterr().out


def test_python_dash_m(hba_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_boss.boss.hba", str(hba_file), "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[0] == "2\tlocal all all trust"
    bad = subprocess.run(
        [sys.executable, "-m", "pytest_boss.boss.hba", str(hba_file), "add", "bogus"],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
        timeout=60,
    )
    assert bad.returncode == 1
    assert "invalid connection type" in bad.stderr
