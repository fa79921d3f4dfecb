"""The server's configuration files as bytes: composed, written, and checked by the server.

One place for each file operation the pool and the test handles share: a file replaced
atomically and owned by the server user; a test's settings and hba rules put on the pool's
files; and the server's own verdict on a pg_hba.conf (`pg_hba_file_rules` re-reads it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .. import admin
from ..boss import config as pgconfig
from ..boss.cluster import Cluster
from ..boss.privileges import ServerUser
from ..errors import HbaRuleError

if TYPE_CHECKING:
    from ..boss import hba as pghba

__all__ = [
    "ENCODING",
    "PLUGIN_SETTINGS",
    "check_hba",
    "conf_with",
    "decode",
    "encode",
    "hba_with",
    "read_hba",
    "write_server_file",
]

#: Settings of every cluster the plugin makes, before the run's and the test's own: a
#: test's share of the server log holds what the test caused, not the checkpoints that
#: making and dropping its databases cause (a test may turn them on again).
PLUGIN_SETTINGS: Mapping[str, str] = {"log_checkpoints": "off"}
ENCODING = pgconfig.ENCODING
_ERRORS = pgconfig.ENCODING_ERRORS
_BAD_RULES = "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL"


def decode(data: bytes) -> str:
    return data.decode(ENCODING, _ERRORS)


def encode(text: str) -> bytes:
    return text.encode(ENCODING, _ERRORS)


def write_server_file(path: str, data: bytes, user: ServerUser) -> None:
    """Replace a server file atomically, owned by the server user.

    A failed write (full disk, read-only folder) is a ConfigWriteError naming the file; the
    atomic replacement leaves the file as it was.
    """
    from ..boss._atomic import atomic_write_bytes
    from ..boss.cluster import ConfigWriteError

    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ConfigWriteError(path, exc) from exc
    user.chown(path)


def conf_with(conf: bytes, settings: Mapping[str, str]) -> bytes:
    """postgresql.conf with these settings changed (structure and comments kept)."""
    lines = pgconfig.alter_config(dict(settings), decode(conf))
    return encode("".join(lines))


def read_hba(text: str, major: int) -> pghba.Sequence:
    """pg_hba.conf records, checked by this major version's rules."""
    from ..boss import hba as pghba  # imported only by tests that touch hba rules

    return pghba.read_config(text, version=major)


def hba_with(text: str, rules: Sequence[str], replace: bool, major: int) -> str:
    """pg_hba.conf with `rules` before its records (first match wins), or instead of them."""
    from ..boss import hba as pghba

    records = read_hba(text, major)
    if replace:
        while len(records):
            del records[0]
    for index, rule in enumerate(rules):
        try:
            records.insert(index, rule)
        except pghba.HBAError as exc:
            raise HbaRuleError(rule, exc.reason) from None
    return records.text()


def check_hba(cluster: Cluster, text: str) -> None:
    """Ask the running server whether it accepts the pg_hba.conf just written (`text`),
    before it is loaded; HbaRuleError names the first line it rejects."""
    rows = admin.query(cluster, _BAD_RULES)
    if rows:
        line_number, error = int(str(rows[0][0])), str(rows[0][1])
        lines = text.splitlines()
        line = lines[line_number - 1] if 0 < line_number <= len(lines) else "?"
        raise HbaRuleError(line.strip(), error)
