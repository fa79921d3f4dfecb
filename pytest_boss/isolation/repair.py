"""Undoing what a test left on a shared cluster, cheapest step first, in dependency order.

Connections end first (they hold locks and block drops), then prepared transactions roll
back, subscriptions and slots go, added databases are dropped, and `postgres` or `template1`
with new or changed objects are made again from `template0` (which nobody can change);
then settings, memberships and roles are put back, and added tablespaces dropped. What
cannot be put back with certainty (a dropped role, a changed database of the plugin's)
raises `CannotRepair`: the pool then replaces the cluster with a fresh copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from .snapshot import Change, Snapshot

__all__ = ["CannotRepair", "Repairer", "ident"]

#: Databases made again from template0 when a test changed their objects or their row.
REMADE = ("postgres", "template1")

Query = Callable[[str, str], list[tuple[str | None, ...]]]


class CannotRepair(Exception):
    """A change that no statement undoes with certainty."""


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Repairer:
    """Runs the statements that undo `changes` on one cluster (`query(sql, dbname)`)."""

    def __init__(self, query: Query, superuser: str, major: int, baseline: Snapshot) -> None:
        self.query = query
        self.superuser = superuser
        self.baseline = baseline
        self.strategy = " STRATEGY FILE_COPY" if major >= 15 else ""

    def repair(self, changes: Sequence[Change]) -> None:
        by_kind: dict[str, list[Change]] = {}
        for change in changes:
            by_kind.setdefault(change.kind, []).append(change)
        self._connections(by_kind.pop("connection", []))
        self._prepared(by_kind.pop("prepared", []))
        self._subscriptions(by_kind.pop("subscription", []))
        self._slots(by_kind.pop("slot", []))
        remade = self._databases(by_kind.pop("database", []))
        remade |= {c.name.rsplit(" in ", 1)[1] for c in [*by_kind.pop("object", [])]}
        remade |= {c.name.rsplit(" in ", 1)[1] for c in [*by_kind.pop("grants", [])]}
        self._remake(remade)
        self._settings(by_kind.pop("setting", []), remade)
        self._members(by_kind.pop("member", []))
        self._roles(by_kind.pop("role", []))
        self._tablespaces(by_kind.pop("tablespace", []))
        if by_kind:
            raise CannotRepair(", ".join(c.describe() for v in by_kind.values() for c in v))

    # -- sessions and replication ------------------------------------------------------------

    def _connections(self, changes: Sequence[Change]) -> None:
        pids = [c.name for c in changes if c.added]
        if not pids:
            return
        listed = ", ".join(pids)
        self.query(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN ({listed})",
            "postgres",
        )
        self.wait_gone(f"pid IN ({listed})")

    def wait_gone(self, where: str, timeout: float = 10.0) -> None:
        """Wait until no server process matches `where` in pg_stat_activity."""
        deadline = time.monotonic() + timeout
        sql = f"SELECT count(*) FROM pg_stat_activity WHERE ({where}) AND pid <> pg_backend_pid()"
        while self.query(sql, "postgres")[0][0] != "0":
            if time.monotonic() > deadline:
                raise CannotRepair(f"server processes ({where}) did not end in {timeout:.0f} s")
            time.sleep(0.005)

    def _prepared(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if not change.added or not change.now:
                raise CannotRepair(change.describe())
            self.query(f"ROLLBACK PREPARED {literal(change.name)}", change.now)

    def _subscriptions(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if not change.added or not change.now:
                raise CannotRepair(change.describe())
            name = ident(change.name)
            for sql in ("DISABLE", "SET (slot_name = NONE)"):
                self.query(f"ALTER SUBSCRIPTION {name} {sql}", change.now)
            self.query(f"DROP SUBSCRIPTION {name}", change.now)

    def _slots(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if not change.added:
                raise CannotRepair(change.describe())
            name = literal(change.name)
            self.query(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                f"WHERE slot_name = {name} AND active_pid IS NOT NULL",
                "postgres",
            )
            self.wait_gone(
                f"pid IN (SELECT active_pid FROM pg_replication_slots WHERE slot_name = {name})"
            )
            self.query(f"SELECT pg_drop_replication_slot({name})", "postgres")

    # -- databases ---------------------------------------------------------------------------

    def _databases(self, changes: Sequence[Change]) -> set[str]:
        """Drop added databases; the names of those to make again."""
        remade: set[str] = set()
        for change in changes:
            if change.name in REMADE:
                remade.add(change.name)
            elif change.added:
                self._drop(change.name)
            else:
                raise CannotRepair(change.describe())
        return remade

    def _drop(self, name: str) -> None:
        self.query(f"ALTER DATABASE {ident(name)} IS_TEMPLATE false", "postgres")
        self.query(f"DROP DATABASE IF EXISTS {ident(name)} WITH (FORCE)", "postgres")

    def _remake(self, names: set[str]) -> None:
        """Make `template1`, then `postgres`, again from template0 (each from the other)."""
        unknown = names - set(REMADE)
        if unknown:
            raise CannotRepair(f"objects changed in {', '.join(sorted(unknown))}")
        for name in REMADE:
            if name not in names:
                continue
            other = "template1" if name == "postgres" else "postgres"
            rows = self.query(
                f"SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                f"WHERE datname = {literal(name)}",
                other,
            )
            comment = rows[0][0] if rows else None
            if rows:
                self.query(f"ALTER DATABASE {name} IS_TEMPLATE false", other)
                self.query(f"DROP DATABASE {name} WITH (FORCE)", other)
            template = " IS_TEMPLATE true" if name == "template1" else ""
            self.query(f"CREATE DATABASE {name} TEMPLATE template0{self.strategy}{template}", other)
            if comment is not None:
                self.query(f"COMMENT ON DATABASE {name} IS {literal(comment)}", other)
            self._restore_acl(name, other)

    def _restore_acl(self, name: str, other: str) -> None:
        """The grants the database had (initdb's on template1), written back as they were."""
        detail = self.baseline.fact("database", name)
        acl = detail.split("|")[4] if detail else "-"
        if acl != "-":
            self.query(
                f"UPDATE pg_database SET datacl = {literal(acl)}::aclitem[] "
                f"WHERE datname = {literal(name)}",
                other,
            )

    # -- settings, roles, tablespaces --------------------------------------------------------

    def _settings(self, changes: Sequence[Change], remade: set[str]) -> None:
        for change in changes:
            database, role = change.name.split(" ", 1)
            if database in remade:
                continue  # its settings went with it
            if not change.added:
                raise CannotRepair(change.describe())
            if role == "*":
                self.query(f"ALTER DATABASE {ident(database)} RESET ALL", "postgres")
            elif database == "*":
                self.query(f"ALTER ROLE {ident(role)} RESET ALL", "postgres")
            else:
                self.query(
                    f"ALTER ROLE {ident(role)} IN DATABASE {ident(database)} RESET ALL", "postgres"
                )

    def _members(self, changes: Sequence[Change]) -> None:
        for change in changes:
            member, group = (ident(part) for part in change.name.split(" in ", 1))
            if change.was is None or change.now is not None:
                self.query(f"REVOKE {group} FROM {member}", "postgres")
            if change.was is not None:
                admin = " WITH ADMIN OPTION" if change.was == "true" else ""
                self.query(f"GRANT {group} TO {member}{admin}", "postgres")

    def _roles(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if change.removed or (change.was is None and change.name == self.superuser):
                raise CannotRepair(change.describe())
            if change.added:
                self._drop_role(change.name)
                continue
            attributes = _attributes(change.was or "", change.now or "")
            self.query(f"ALTER ROLE {ident(change.name)} {attributes}", "postgres")

    def _drop_role(self, name: str) -> None:
        try:
            self.query(f"DROP ROLE {ident(name)}", "postgres")
            return
        except Exception:
            pass
        rows = self.query("SELECT datname FROM pg_database WHERE datallowconn", "postgres")
        for (database,) in rows:
            self.query(f"REASSIGN OWNED BY {ident(name)} TO {ident(self.superuser)}", str(database))
            self.query(f"DROP OWNED BY {ident(name)}", str(database))
        self.query(f"DROP ROLE {ident(name)}", "postgres")

    def _tablespaces(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if not change.added:
                raise CannotRepair(change.describe())
            self.query(f"DROP TABLESPACE {ident(change.name)}", "postgres")


_ATTRIBUTES = (
    *("SUPERUSER", "INHERIT", "CREATEROLE", "CREATEDB", "LOGIN", "REPLICATION", "BYPASSRLS"),
    *("CONNECTION LIMIT", "PASSWORD", "VALID UNTIL"),
)


def _attributes(was: str, now: str) -> str:
    """ALTER ROLE's options that give back the attributes a snapshot's detail had, only
    those that changed (the bootstrap superuser's flags may not even be restated)."""
    words = []
    for name, before, after in zip(_ATTRIBUTES, was.split("|"), now.split("|"), strict=True):
        if before == after:
            continue
        if name == "CONNECTION LIMIT":
            words.append(f"CONNECTION LIMIT {int(before)}")
        elif name == "PASSWORD":
            words.append("PASSWORD NULL" if before == "-" else f"PASSWORD {literal(before)}")
        elif name == "VALID UNTIL":
            words.append(f"VALID UNTIL {literal(before)}")
        else:  # concat_ws writes booleans as t/f
            words.append(name if before in ("t", "true") else f"NO{name}")
    return " ".join(words)
