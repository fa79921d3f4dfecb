"""The root of every error the boss core raises, and the shape of errors about one line.

``except BossError`` catches whatever the core raises on purpose; each class also keeps the
built-in base it always had (``ValueError`` for a bad line, ``OSError`` for a failed write),
so callers that catch those go on working.
"""

from __future__ import annotations

__all__ = ["BossError", "LineError"]


class BossError(Exception):
    """Something the boss core was asked to do cannot be done; subclasses say what."""


class LineError(BossError, ValueError):
    """A line of a file that PostgreSQL would reject.

    Attributes: ``reason`` (what is wrong), ``path`` (``None`` for lines not read from a
    file), ``lineno`` (1-based, ``None`` when unknown) and ``line`` (the text, no line end).
    Subclasses say in ``__str__`` what the server does with such a file and what to do.
    """

    def __init__(
        self,
        reason: str,
        path: str | None = None,
        lineno: int | None = None,
        line: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = path
        self.lineno = lineno
        self.line = line
        super().__init__(reason, path, lineno, line)

    def where(self) -> str:
        """``path:lineno``, with ``<lines>`` for lines not read from a file."""
        where = self.path if self.path is not None else "<lines>"
        if self.lineno is not None:
            where = f"{where}:{self.lineno}"
        return where
