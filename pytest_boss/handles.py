"""The per-test handles `pg_conf` and `pg_hba`: edits that apply at once, for one test.

`ConfHandle` is a mutable mapping over the server's settings: reading gives the effective
value, writing applies it (reload or restart, as the setting's context requires). `HbaHandle`
is the list of pg_hba.conf records: every edit is written and reloaded. Both work through
the test's `Lease`; no other test sees the edits, since the next test's lease brings the
files back to the pool's (see lease.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, overload

from .boss import hba as pghba
from .boss.config import Value
from .errors import HbaRuleError
from .lease import Lease
from .markers import setting_text

__all__ = ["ConfHandle", "HbaHandle"]


class ConfHandle(MutableMapping[str, str]):
    """The settings of this test's cluster; changes apply at once and last for the test."""

    def __init__(self, lease: Lease) -> None:
        self._lease = lease

    def __getitem__(self, name: str) -> str:
        return self._lease.effective(name)

    def __setitem__(self, name: str, value: Value) -> None:
        self._lease.set_settings({name.lower(): setting_text(value)})

    def __delitem__(self, name: str) -> None:
        """Drop this test's own value: the setting is what it was before the test set it."""
        self._lease.drop_settings([name])

    def clear(self) -> None:
        """Drop every value this test set through pg_conf (one reload or restart)."""
        names = self._lease.own_names()
        if names:
            self._lease.drop_settings(names)

    def update(self, other: Any = (), /, **kwargs: Value) -> None:
        """Apply several settings with one reload (or restart)."""
        items = dict(other.items() if isinstance(other, Mapping) else other)
        items.update(kwargs)
        self._lease.set_settings({k.lower(): setting_text(v) for k, v in items.items()})

    def __iter__(self) -> Iterator[str]:
        return iter(self._lease.setting_names())

    def __len__(self) -> int:
        return len(self._lease.setting_names())

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self._lease.effective(name)
        except KeyError:
            return False
        return True

    def __repr__(self) -> str:
        return f"<pg_conf of {self._lease.cluster!r}>"


class HbaHandle:
    """The pg_hba.conf records of this test's cluster, list-like; edits apply at once.

    Entries may be given as `Entry` or as a line of text. `find`, `index`,
    `insert_before` and `insert_after` match leading fields, as `Sequence` does.
    """

    def __init__(self, lease: Lease) -> None:
        self._lease = lease

    def _records(self) -> pghba.Sequence:
        return self._lease.hba_records()

    def _edit(self, change: Any) -> Any:
        records = self._records()
        result = change(records)
        self._lease.write_hba_records(records)
        return result

    def _new(self, entry: pghba.Entry | str) -> pghba.Entry | str:
        """A record to add, refused when it needs a newer PostgreSQL than this cluster's
        (on 15, a regular expression name would silently be a plain name)."""
        try:
            pghba.require_version(entry, self._lease.cluster.version[0])
        except pghba.HBAError as exc:
            raise HbaRuleError(str(entry).strip(), exc.reason) from None
        return entry

    # reading
    def __len__(self) -> int:
        return len(self._records())

    @overload
    def __getitem__(self, index: int) -> pghba.Entry: ...
    @overload
    def __getitem__(self, index: slice) -> list[pghba.Entry]: ...
    def __getitem__(self, index: int | slice) -> pghba.Entry | list[pghba.Entry]:
        return self._records()[index]

    def __iter__(self) -> Iterator[pghba.Entry]:
        records = self._records()
        return iter([records[i] for i in range(len(records))])

    def find(self, fields: Any) -> int:
        return int(self._records().find(fields))

    def index(self, fields: Any) -> int:
        return int(self._records().index(fields))

    def text(self) -> str:
        """The whole pg_hba.conf as it is now."""
        return self._records().text()

    __str__ = text

    # editing: each one written and reloaded
    def __delitem__(self, index: int | slice) -> None:
        def change(records: pghba.Sequence) -> None:
            del records[index]

        self._edit(change)

    def __setitem__(self, index: int, entry: pghba.Entry | str) -> None:
        def change(records: pghba.Sequence) -> None:
            records[index] = self._new(entry)

        self._edit(change)

    def append(self, entry: pghba.Entry | str) -> None:
        self._edit(lambda records: records.append(self._new(entry)))

    def insert(self, index: int, entry: pghba.Entry | str, position: int = 0) -> None:
        self._edit(lambda records: records.insert(index, self._new(entry), position))

    def pop(self, index: int = -1) -> pghba.Entry:
        return self._edit(lambda records: records.pop(index))  # type: ignore[no-any-return]

    def insert_before(self, fields: Any, entry: pghba.Entry | str) -> None:
        self._edit(lambda records: records.insert_before(fields, self._new(entry)))

    def insert_after(self, fields: Any, entry: pghba.Entry | str) -> None:
        self._edit(lambda records: records.insert_after(fields, self._new(entry)))

    def remove(self, fields: Any) -> pghba.Entry:
        """Remove the first record whose leading fields match (ValueError when none)."""
        return self._edit(lambda records: records.remove(fields))  # type: ignore[no-any-return]

    def clear(self) -> None:
        def change(records: pghba.Sequence) -> None:
            while len(records):
                del records[0]

        self._edit(change)

    def __repr__(self) -> str:
        return f"<pg_hba of {self._lease.cluster!r}: {len(self)} records>"
