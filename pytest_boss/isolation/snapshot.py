"""What a test can leave behind on a shared cluster, read in one query over the catalogs.

A `Snapshot` is a set of facts `(kind, name) -> detail`: roles with their attributes and
password, memberships, databases with their owner, ACL and limits, per-database and per-role
settings, tablespaces, prepared transactions, replication slots, subscriptions, client
connections, and the objects of the database the query ran in (new objects by name; the
grants and owners of the built-in ones as one digest). Comparing two snapshots gives the
`Change`s a repair must undo.

The objects of `postgres`, `template1` and the template database are read again only when
the server's cumulative statistics say rows were written there (or a session is there now):
a test that only connects and reads costs one short query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..admin import APP_NAME

__all__ = [
    "CATALOGS",
    "Change",
    "Snapshot",
    "catalogs_sql",
    "facts_of",
    "objects_sql",
    "quick_sql",
]

#: The part of a snapshot read from the shared catalogs (roles, settings...), by this name.
CATALOGS = "shared catalogs"

# Catalogs whose rows are objects of one database; a user's objects get oids >= 16384.
_OBJECT_CATALOGS = (
    "pg_am",
    "pg_cast",
    "pg_collation",
    "pg_conversion",
    "pg_default_acl",
    "pg_event_trigger",
    "pg_extension",
    "pg_foreign_data_wrapper",
    "pg_foreign_server",
    "pg_language",
    "pg_opclass",
    "pg_operator",
    "pg_opfamily",
    "pg_policy",
    "pg_proc",
    "pg_publication",
    "pg_statistic_ext",
    "pg_transform",
    "pg_trigger",
    "pg_ts_config",
    "pg_ts_dict",
    "pg_ts_parser",
    "pg_ts_template",
    "pg_type",
    "pg_user_mapping",
)
# Rows made along with another object (a table's row and array types, a foreign key's
# triggers): the object itself is reported.
_OWN = {
    "pg_type": " AND typrelid = 0 AND typelem = 0",
    "pg_trigger": " AND NOT tgisinternal",
}
_TEMP_SCHEMA = "(nspname LIKE 'pg\\_temp\\_%' OR nspname LIKE 'pg\\_toast\\_temp\\_%')"


def objects_sql() -> str:
    """The objects of the current database: each new one by its description, and one digest
    of the owners and grants of the built-in schemas, tables, functions, types and languages
    (a GRANT or REVOKE on them changes it). Temporary schemas are a session's, not a leak."""
    new = [
        f"SELECT '{name}'::regclass, oid FROM {name} WHERE oid >= 16384{_OWN.get(name, '')}"
        for name in _OBJECT_CATALOGS
    ]
    new.append(
        "SELECT 'pg_class'::regclass, c.oid FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE c.oid >= 16384 AND n.nspname <> 'pg_toast' "
        f"AND NOT {_TEMP_SCHEMA}"
    )
    new.append(
        "SELECT 'pg_namespace'::regclass, oid FROM pg_namespace "
        f"WHERE oid >= 16384 AND NOT {_TEMP_SCHEMA}"
    )
    new.append("SELECT 'pg_largeobject'::regclass, oid FROM pg_largeobject_metadata")
    union = " UNION ALL ".join(new)
    grants = (
        "md5(concat("
        "(SELECT string_agg(concat_ws(' ', oid, nspowner, nspacl), ',' ORDER BY oid) "
        "FROM pg_namespace WHERE oid < 16384),"
        "(SELECT string_agg(concat_ws(' ', oid, relowner, relacl), ',' ORDER BY oid) "
        "FROM pg_class WHERE oid < 16384 AND relacl IS NOT NULL),"
        "(SELECT string_agg(concat_ws(' ', oid, proacl), ',' ORDER BY oid) "
        "FROM pg_proc WHERE oid < 16384 AND proacl IS NOT NULL),"
        "(SELECT string_agg(concat_ws(' ', oid, typacl), ',' ORDER BY oid) "
        "FROM pg_type WHERE oid < 16384 AND typacl IS NOT NULL),"
        "(SELECT string_agg(concat_ws(' ', oid, lanacl), ',' ORDER BY oid) FROM pg_language)"
        "))"
    )
    return (
        "SELECT 'object', pg_describe_object(classid, objid, 0), '' "
        f"FROM ({union}) AS o(classid, objid) "
        f"UNION ALL SELECT 'grants', 'built-in objects', {grants}"
    )


def quick_sql(major: int, watched: Iterable[str]) -> str:
    """What one short query reads without the views and catalogs a new session has not
    loaded yet (their functions, rather): databases, prepared transactions, slots,
    sessions, and the row counts that say where rows were written (`activity`)."""
    datname = "(SELECT datname FROM pg_database d WHERE d.oid = {})"
    parts = [
        "SELECT 'database', datname, concat_ws('|', datdba::regrole, datistemplate, "
        "datallowconn, datconnlimit, coalesce(datacl::text, '-'), dattablespace) "
        "FROM pg_database",
        f"SELECT 'prepared', gid, {datname.format('dbid')} FROM pg_prepared_xact()",
        "SELECT 'slot', slot_name, concat_ws('|', slot_type, plugin, datoid) "
        "FROM pg_get_replication_slots()",
        f"SELECT 'connection', pid::text, concat_ws('|', {datname.format('datid')}, "
        "usesysid, application_name, backend_type) FROM pg_stat_get_activity(NULL) "
        "WHERE pid <> pg_backend_pid() AND backend_type IN ('client backend', 'walsender') "
        f"AND application_name IS DISTINCT FROM {_literal(APP_NAME)}",
        activity_sql(watched),
        _catalogs_activity_sql(major),
    ]
    return " UNION ALL ".join(parts)


def activity_sql(watched: Iterable[str]) -> str:
    """For each watched database, the rows its sessions inserted, updated and deleted (DDL
    writes catalog rows; reading writes none), when its statistics were reset, whether the
    server counts rows at all, and its sessions now: unchanged, nothing was written there."""
    names = ", ".join(_literal(name) for name in watched) or "NULL"
    return (
        "SELECT 'activity', d.datname, concat_ws('|', pg_stat_get_db_tuples_inserted(d.oid), "
        "pg_stat_get_db_tuples_updated(d.oid), pg_stat_get_db_tuples_deleted(d.oid), "
        "pg_stat_get_db_stat_reset_time(d.oid), "
        "'track_counts=' || current_setting('track_counts'), "
        "(SELECT count(*) FROM pg_stat_get_activity(NULL) a WHERE a.datid = d.oid "
        f"AND a.application_name IS DISTINCT FROM {_literal(APP_NAME)})) "
        f"FROM pg_database d WHERE d.datname IN ({names})"
    )


#: The shared catalogs of roles, memberships, settings, tablespaces, subscriptions,
#: comments, labels and (15+) parameter grants, by oid (a name would be looked up).
_SHARED_CATALOGS = (1260, 1261, 2964, 1213, 6100, 2396, 3592)
_PARAMETER_ACL = 6243


def _catalogs_activity_sql(major: int) -> str:
    """The rows written in the shared catalogs (pg_database is read as it is: the plugin's
    own databases come and go)."""
    oids = _SHARED_CATALOGS + ((_PARAMETER_ACL,) if major >= 15 else ())
    counts = ", ".join(
        f"pg_stat_get_tuples_inserted({oid}) + pg_stat_get_tuples_updated({oid}) + "
        f"pg_stat_get_tuples_deleted({oid})"
        for oid in oids
    )
    return (
        f"SELECT 'activity', {_literal(CATALOGS)}, concat_ws('|', "
        f"'track_counts=' || current_setting('track_counts'), {counts})"
    )


def catalogs_sql(major: int) -> str:
    """Roles, memberships, settings, tablespaces, subscriptions and parameter grants, read
    when their catalogs were written (see `_catalogs_activity_sql`)."""
    parts = [
        "SELECT 'role', rolname, concat_ws('|', rolsuper, rolinherit, rolcreaterole, "
        "rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit, "
        "coalesce(rolpassword, '-'), coalesce(rolvaliduntil::text, 'infinity')) FROM pg_authid",
        "SELECT 'member', r.rolname || ' in ' || g.rolname, m.admin_option::text "
        "FROM pg_auth_members m JOIN pg_authid r ON r.oid = m.member "
        "JOIN pg_authid g ON g.oid = m.roleid",
        "SELECT 'setting', coalesce(d.datname, '*') || ' ' || coalesce(r.rolname, '*'), "
        "s.setconfig::text FROM pg_db_role_setting s "
        "LEFT JOIN pg_database d ON d.oid = s.setdatabase "
        "LEFT JOIN pg_authid r ON r.oid = s.setrole",
        "SELECT 'tablespace', spcname, concat_ws('|', pg_get_userbyid(spcowner), "
        "coalesce(spcacl::text, '-'), coalesce(spcoptions::text, '-')) FROM pg_tablespace",
        "SELECT 'subscription', s.subname, d.datname FROM pg_subscription s "
        "JOIN pg_database d ON d.oid = s.subdbid",
    ]
    if major >= 15:
        parts.append(
            "SELECT 'parameter grant', parname, coalesce(paracl::text, '-') FROM pg_parameter_acl"
        )
    return " UNION ALL ".join(parts)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Change:
    """One difference from the baseline: `kind` and `name` say what, `was`/`now` the details
    (None: absent)."""

    kind: str
    name: str
    was: str | None
    now: str | None

    @property
    def added(self) -> bool:
        return self.was is None

    @property
    def removed(self) -> bool:
        return self.now is None

    def describe(self) -> str:
        """A few words for the report: "role app (added)"."""
        what = "added" if self.added else "removed" if self.removed else "changed"
        if self.kind == "object":
            return f"{self.name} ({what})"
        return f"{self.kind} {self.name} ({what})"


@dataclass(frozen=True)
class Snapshot:
    """Facts about a cluster: (kind, name) -> detail, and parts read only when their
    statistics moved: the shared catalogs (`CATALOGS`) and the objects of each database."""

    facts: Mapping[tuple[str, str], str]
    #: Each part read: (kind, name) -> detail.
    parts: Mapping[str, Mapping[tuple[str, str], str]]

    def changes(self, now: Snapshot, ignore: Callable[[Change], bool]) -> list[Change]:
        """What differs in `now` (parts it did not read are taken as unchanged), in a stable
        order; `ignore(change)` skips one."""
        changes = [change for change in _diff(self.facts, now.facts) if not ignore(change)]
        for part, facts in now.parts.items():
            before = self.parts.get(part)
            if before is None:
                continue
            for change in _diff(before, facts):
                if part == CATALOGS:
                    if not ignore(change):
                        changes.append(change)
                    continue
                name = f"{change.name} in {part}"
                changes.append(Change(change.kind, name, change.was, change.now))
        return changes

    def fact(self, kind: str, name: str) -> str | None:
        """One fact, from the facts or the shared catalogs' part."""
        key = (kind, name)
        return self.facts.get(key) or self.parts.get(CATALOGS, {}).get(key)


def _diff(
    before: Mapping[tuple[str, str], str], now: Mapping[tuple[str, str], str]
) -> list[Change]:
    changes = []
    for key in sorted(set(before) | set(now)):
        if key[0] == "activity":
            continue
        was, is_now = before.get(key), now.get(key)
        if was != is_now:
            changes.append(Change(key[0], key[1], was, is_now))
    return changes


def facts_of(rows: Iterable[tuple[str | None, ...]]) -> dict[tuple[str, str], str]:
    """Rows of (kind, name, detail) as a mapping."""
    return {(str(kind), str(name)): str(detail or "") for kind, name, detail in rows}
