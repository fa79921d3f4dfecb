"""TCP ports that no two workers or runs on this machine can both take.

A port is chosen at random below the kernel's ephemeral range (where outgoing connections
do not land), checked free by binding it on loopback, and claimed with an exclusive `flock`
on a file named after it in a shared folder. The claim lasts as long as the holder keeps the
file open, and the kernel drops it when the holder dies, so a killed run never blocks a port.
A program that is not pytest-boss may still take the port before the server binds it: the
caller then releases it and asks again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket

from .errors import PytestBossError

__all__ = ["PortClaim", "PortError", "claim_port"]

LOW, HIGH = 20000, 32000
_ATTEMPTS = 200


class PortError(PytestBossError, RuntimeError):
    """No free port was found; says which range and folder were tried."""

    def __init__(self, low: int, high: int, folder: str) -> None:
        self.low, self.high, self.folder = low, high, folder
        super().__init__(
            f"no free TCP port in {low}-{high} after {_ATTEMPTS} tries (claims in {folder}): "
            "stop leftover servers, or free ports in that range"
        )


class PortClaim:
    """A claimed port; `release()` (or process exit) gives it back."""

    def __init__(self, port: int, fd: int) -> None:
        self.port = port
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __repr__(self) -> str:
        return f"PortClaim({self.port})"


def _free_on_loopback(port: int) -> bool:
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no IPv6 on this machine: the server will not listen there either
        with sock:
            try:
                sock.bind((address, port))
            except OSError as exc:
                if family == socket.AF_INET6 and exc.errno == 99:  # EADDRNOTAVAIL: no ::1
                    continue
                return False
    return True


def claim_port(folder: str, low: int = LOW, high: int = HIGH) -> PortClaim:
    """Claim a port free on loopback that no other pytest-boss process holds."""
    os.makedirs(folder, mode=0o777, exist_ok=True)
    rng = random.SystemRandom()
    for _ in range(_ATTEMPTS):
        port = rng.randint(low, high)
        path = os.path.join(folder, f"{port}.lock")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            continue  # another user's claim file we may not open: that port is theirs
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if _free_on_loopback(port):
            return PortClaim(port, fd)
        with contextlib.suppress(OSError):
            os.close(fd)
    raise PortError(low, high, folder)
