"""Copying a data directory, in this process and in another one (treecopy)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from pytest_boss import treecopy
from pytest_boss.template import TemplateCache, TemplateKey
from pytest_boss.treecopy import MANIFEST, CopyError, copy_tree, copy_tree_elsewhere

pytestmark = pytest.mark.unit

SEGMENT = bytes(range(256)) * 40 + bytes(2 * 1024 * 1024)  # records, then zeros


def _tree(root: Path) -> Path:
    """A small data directory: nested folders, an empty file, a link, a hollow segment."""
    (root / "base" / "1").mkdir(parents=True)
    (root / "base" / "1" / "1259").write_bytes(b"\x01" * 8192)
    (root / "base" / "1" / "1259_fsm").write_bytes(b"")
    (root / "PG_VERSION").write_text("15\n")
    (root / "pg_tblspc").mkdir()
    os.symlink("/nowhere/tablespace", root / "pg_tblspc" / "16384")
    (root / "pg_wal").mkdir(mode=0o700)
    wal = root / "pg_wal" / "000000010000000000000001"
    wal.write_bytes(SEGMENT[:10240])
    os.truncate(wal, len(SEGMENT))  # the zero tail a hole, as the cache leaves it
    (root / MANIFEST).write_text("{}")  # the cache's own file: never copied
    return root


def _contents(root: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            found[rel] = ("dir", stat.S_IMODE(path.stat().st_mode))
        else:
            found[rel] = ("file", path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return found


@pytest.mark.parametrize("copy", [copy_tree, copy_tree_elsewhere], ids=["here", "elsewhere"])
def test_a_copy_has_the_same_contents_and_counts(tmp_path: Path, copy: object) -> None:
    source = _tree(tmp_path / "source")
    destination = tmp_path / "copy"
    files, size = copy(str(source), str(destination))  # type: ignore[operator]
    expected = _contents(source)
    del expected[MANIFEST]
    assert _contents(destination) == {
        rel: (kind[0], kind[1], 0o600) if kind[0] == "file" else kind
        for rel, kind in expected.items()
    }
    # Files, links included, and their bytes (a link counts its own length).
    assert files == 5
    assert size == 8192 + 0 + 3 + len("/nowhere/tablespace") + len(SEGMENT)
    wal = destination / "pg_wal" / "000000010000000000000001"
    assert wal.stat().st_blocks * 512 < len(SEGMENT)  # the hole stays a hole


def test_a_copy_elsewhere_that_fails_says_why(tmp_path: Path) -> None:
    with pytest.raises(CopyError, match="another process failed") as info:
        copy_tree_elsewhere(str(tmp_path / "missing"), str(tmp_path / "copy"))
    assert "missing" in info.value.output


def test_the_script_wants_two_folders(capsys: pytest.CaptureFixture[str]) -> None:
    assert treecopy.main(["only-one"]) == 2
    assert "usage" in capsys.readouterr().err


def test_a_cache_copies_in_this_process_when_another_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _tree(tmp_path / "made")
    cache = TemplateCache(str(tmp_path / "cache"), str(tmp_path / "scratch"))
    key = TemplateKey("/bin", "PostgreSQL 15", "1:2", ())
    cache.copy_to(key, lambda: str(source), str(tmp_path / "first"))
    assert cache.wait() == []
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(CopyError):
        copy_tree_elsewhere(str(tmp_path / "first"), str(tmp_path / "never"))
    fresh = TemplateCache(str(tmp_path / "cache"), str(tmp_path / "scratch"))
    fresh.copy_to(key, lambda: str(source), str(tmp_path / "second"), elsewhere=True)
    assert (tmp_path / "second" / "PG_VERSION").read_text() == "15\n"
    assert not (tmp_path / "never").exists()
