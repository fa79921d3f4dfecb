"""Run SQL with psql and read its rows: no Python driver needed.

psql prints CSV (``--csv -t``) with a NULL marker no value can hold; a failure is read
from its verbose error output, SQLSTATE included.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import subprocess
from collections.abc import Callable, Mapping

from ._errors import BossError

__all__ = ["Query", "Rows", "SQLError", "run_psql"]

#: Rows of a result: tuples of text, ``None`` for NULL.
Rows = list[tuple[str | None, ...]]
#: A way to run one query and get its rows (``Cluster.sql``, or a faster driver's).
Query = Callable[[str], Rows]

_ERROR_RE = re.compile(
    r"^(?:psql:[^\n]*?:\d+: )?(?:ERROR|FATAL|PANIC):\s+(?:([0-9A-Z]{5}): )?(.*)$", re.M
)


class SQLError(BossError):
    """A query failed; ``message`` and ``sqlstate`` are the server's (or psql's)."""

    def __init__(
        self,
        query: str,
        message: str,
        sqlstate: str | None = None,
        output: str = "",
        dbname: str = "",
    ) -> None:
        self.query = query
        self.message = message
        self.sqlstate = sqlstate
        self.output = output
        self.dbname = dbname
        super().__init__(message)

    def __str__(self) -> str:
        code = f" [{self.sqlstate}]" if self.sqlstate else ""
        query = self.query if len(self.query) <= 300 else self.query[:300] + "..."
        return f"{self.message}{code}\nin database {self.dbname!r}, query: {query}"


def run_psql(
    psql: str,
    dsn: str,
    query: str,
    *,
    env: Callable[[], Mapping[str, str]],
    timeout: float,
    dbname: str,
) -> Rows:
    """Run ``query`` (one or more statements) with the program ``psql`` on ``dsn``; the rows
    of the results. A failure raises :class:`SQLError` with the server's message.

    ``env()`` gives psql's environment, which carries the password (the command line would
    show it to other users). It is called in place, never held in a local variable, so a
    traceback that shows locals cannot show the password.
    """
    null = f"<NULL {secrets.token_hex(8)}>"
    args = [psql, "-X", "-q", "--csv", "-t", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"]
    args += ["-P", f"null={null}", "-d", dsn, "-f", "-"]
    try:
        done = subprocess.run(
            args,
            input=query.encode("utf-8"),
            capture_output=True,
            env=dict(env()),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SQLError(query, f"psql did not finish within {timeout:g} s", dbname=dbname) from None
    errors = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        match = _ERROR_RE.search(errors)
        if match:
            message, sqlstate = match.group(2).strip(), match.group(1)
        else:
            message, sqlstate = errors.strip() or f"psql exited {done.returncode}", None
        raise SQLError(query, message, sqlstate, errors, dbname)
    rows: Rows = []
    reader = csv.reader(io.StringIO(done.stdout.decode("utf-8", "replace"), newline=""))
    for row in reader:
        # psql writes a lone empty string as an empty line (csv reads it as no field).
        rows.append(tuple(None if v == null else v for v in row) if row else ("",))
    return rows
