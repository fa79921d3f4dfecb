"""Names in pg_hba.conf records: keywords, and whether a name was written quoted.

Private helper of ``hba`` (which re-exports ``Name``, ``KEYWORDS``, ``ADDRESS_KEYWORDS``): a
keyword (``all``, ``+role``, ``@file`` ...) keeps its meaning only when written without a
leading quote, so a name remembers how it was written.
"""

from __future__ import annotations

#: Database and user keywords; they mean themselves only when written with a quote.
KEYWORDS = ("all", "sameuser", "samerole", "samegroup", "replication")
#: Address keywords.
ADDRESS_KEYWORDS = ("all", "samehost", "samenet")


class Name(str):
    """A database, user or address name that knows whether it was written quoted.

    It compares like the plain string (``Name("all", quoted=True) == "all"``); look at
    ``quoted`` or ``special`` for the meaning.
    """

    quoted: bool = False

    def __new__(cls, value: str, quoted: bool = False) -> Name:
        self = super().__new__(cls, value)
        if quoted:
            self.quoted = True
        return self

    def __repr__(self) -> str:
        text = str.__repr__(str(self))
        return f"Name({text}, quoted=True)" if self.quoted else f"Name({text})"

    def __getnewargs__(self) -> tuple[str, bool]:  # type: ignore[override]
        return (str(self), self.quoted)

    @property
    def special(self) -> bool:
        """True for a keyword, ``+role`` or ``@file`` written without a leading quote."""
        return not self.quoted and significant(str(self), KEYWORDS)


def significant(value: str, keywords: tuple[str, ...]) -> bool:
    """Whether a leading quote changes what ``value`` means."""
    return value in keywords or (len(value) > 1 and value[0] in "+@")


def name_key(name: str, keywords: tuple[str, ...]) -> tuple[str, bool]:
    quoted = bool(getattr(name, "quoted", False))
    return str(name), quoted and significant(str(name), keywords)


def plain(value: str) -> Name:
    """``Name(value)``, made without a Python-level call (reading big files makes many)."""
    return str.__new__(Name, value)
