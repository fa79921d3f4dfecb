"""Wait until a server has taken its configuration files after a reload signal.

Nothing is asked before the signal (the rules in force may refuse us: that is often why
they are being reloaded). The server stamps each reload with ``pg_conf_load_time()``,
compared with this machine's clock read before signalling; until it passes, a refused
connection only means "not yet". A file the server rejects as a whole is read from its log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ._control_errors import ReloadError
from ._postmaster import LOG_TAIL_LINES, log_tail
from ._psql import Query, SQLError

__all__ = ["REFUSED_SQLSTATES", "ReloadOutcome", "refused", "wait_for_reload"]

#: SQLSTATEs of a login refused by pg_hba.conf (or its authentication method).
REFUSED_SQLSTATES = ("28000", "28P01")
#: What the server logs when it rejects a configuration file as a whole.
_REJECTED = "no changes were applied"
#: Pauses between checks: short at first (the server usually takes a reload within a
#: millisecond, and a check over a kept connection costs little), then at most _POLL.
_FIRST_POLL = 0.00025
_POLL = 0.002


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload left: the server's log lines about it, the settings that wait for a
    restart, and whether the rules now in force let the caller in (False: a refused login
    was taken as the proof that they are in force)."""

    log: list[str]
    pending: list[str]
    admitted: bool


def refused(exc: SQLError) -> bool:
    """Whether a failure is a login refused by the rules (connection errors may carry no
    SQLSTATE, so the message counts too)."""
    text = f"{exc.message} {exc.output}"
    return (
        exc.sqlstate in REFUSED_SQLSTATES
        or "pg_hba.conf" in text
        or "authentication failed" in text
    )


def wait_for_reload(
    query: Query,
    *,
    signalled: float,
    log_path: str,
    log_offset: int,
    data_dir: str,
    timeout: float,
    refused_means_done: bool = False,
) -> ReloadOutcome:
    """Return once a new connection sees the files reloaded after ``signalled`` (a
    ``time.time()`` read before the signal). ``query`` runs one query; ``log_offset`` is
    where the server's lines about this reload begin in ``log_path``. With
    ``refused_means_done``, a refused login proves the new rules are in force. A file
    rejected as a whole, or no confirmation within ``timeout``, raises :class:`ReloadError`.
    """
    check = (
        f"SELECT pg_conf_load_time() >= to_timestamp({signalled!r}), "
        "(SELECT string_agg(name, ',') FROM pg_settings WHERE pending_restart)"
    )
    deadline = time.monotonic() + timeout
    last: SQLError | None = None
    pause = _FIRST_POLL
    while True:
        try:
            done, pending = query(check)[0]
        except SQLError as exc:
            if refused_means_done and refused(exc):
                return ReloadOutcome(_lines(log_path, log_offset), [], admitted=False)
            done, pending, last = None, None, exc
        if done in ("t", "True"):
            names = pending.split(",") if pending else []
            return ReloadOutcome(_lines(log_path, log_offset), names, admitted=True)
        lines = _lines(log_path, log_offset)
        if any(_REJECTED in line for line in lines):
            raise ReloadError(
                f"the server of {data_dir} rejected its configuration files; it runs on with "
                "the previous settings",
                data_dir,
                "\n".join(lines[-LOG_TAIL_LINES:]),
            )
        if time.monotonic() > deadline:
            why = f" (the last query failed: {last.message})" if last else ""
            raise ReloadError(
                f"the server of {data_dir} did not confirm the reload of its configuration "
                f"within {timeout:g} s{why}; reload(wait=False) does not ask",
                data_dir,
                "\n".join(lines[-LOG_TAIL_LINES:]),
            )
        time.sleep(pause)
        pause = min(pause * 2, _POLL)


def _lines(log_path: str, offset: int) -> list[str]:
    return log_tail(log_path, offset, 1000).splitlines()
