"""Loaders' keys: `Chain` combines its loaders' keys, and gives none when one gives none."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_boss.database import Database
from pytest_boss.loaders import Chain, SqlFiles, key_of

pytestmark = pytest.mark.unit


def _no_key(database: Database) -> None:
    """A loader without a key (loaded once per run)."""


def test_chain_key_follows_each_loaders_content(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("CREATE TABLE a ();")
    (tmp_path / "b.sql").write_text("CREATE TABLE b ();")
    first, second = SqlFiles(["a.sql"], str(tmp_path)), SqlFiles(["b.sql"], str(tmp_path))
    before = key_of(Chain(first, second))
    assert before is not None
    assert before != key_of(Chain(second, first))  # the order is part of what is loaded
    (tmp_path / "b.sql").write_text("CREATE TABLE b (x int);")
    assert key_of(Chain(first, second)) not in (None, before)


def test_chain_without_every_key_has_none(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("SELECT 1;")
    assert key_of(Chain(SqlFiles(["a.sql"], str(tmp_path)), _no_key)) is None
    assert repr(Chain(SqlFiles(["a.sql"], str(tmp_path)))) == "SqlFiles(a.sql)"
