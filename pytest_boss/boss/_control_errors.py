"""The errors of starting, stopping and signalling a server, and the warning of a no-op."""

from __future__ import annotations

from ._errors import BossError

__all__ = [
    "AlreadyRunningError",
    "ControlError",
    "ControlTimeoutError",
    "ControlWarning",
    "NotAClusterError",
    "NotRunningError",
    "PortInUseError",
    "ReloadError",
    "StartupError",
]


class ControlError(BossError):
    """A server could not be started, stopped or signalled.

    ``data_dir`` names the cluster, ``log_tail`` holds the last lines of its log (may be "").
    """

    def __init__(self, message: str, data_dir: str = "", log_tail: str = "") -> None:
        self.message = message
        self.data_dir = data_dir
        self.log_tail = log_tail
        super().__init__(message)

    def __str__(self) -> str:
        text = self.message
        if self.log_tail.strip():
            text += "\nserver log:\n" + self.log_tail.rstrip()
        return text


class NotAClusterError(ControlError):
    """The folder is not a PostgreSQL data directory."""


class AlreadyRunningError(ControlError):
    """start() on a running server."""


class NotRunningError(ControlError):
    """An action that needs a running server (reload) found none."""


class StartupError(ControlError):
    """The postmaster exited while starting; ``returncode`` is its exit status."""

    def __init__(
        self, message: str, data_dir: str = "", log_tail: str = "", returncode: int | None = None
    ) -> None:
        super().__init__(message, data_dir, log_tail)
        self.returncode = returncode


class PortInUseError(StartupError):
    """The postmaster could not listen: another process holds its port."""


class ReloadError(ControlError):
    """The server did not take its configuration files (it runs on with the old ones)."""


class ControlTimeoutError(ControlError):
    """A start or stop did not finish within its time-out."""


class ControlWarning(UserWarning):
    """Nothing to do: e.g. stopping a server that is not running."""
