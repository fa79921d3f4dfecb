"""The ``pg-hba`` command line: list, check and edit a pg_hba.conf file.

Private helper of ``hba``, whose ``main`` runs it (``python -m pytest_boss.boss.hba``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ._hba_check import NEWEST
from ._hba_entry import HBAError
from ._hba_query import Query


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pg-hba",
        description="Read, check and edit a pg_hba.conf file the way PostgreSQL reads it. "
        "Edits keep every other line byte for byte and replace the file atomically.",
    )
    parser.add_argument("file", help="the pg_hba.conf file")
    parser.add_argument(
        "--server-version",
        type=int,
        default=None,
        metavar="MAJOR",
        help=f"apply the rules of this PostgreSQL major version (default: {NEWEST})",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="print each record with its line number")
    sub.add_parser("check", help="exit 1 with the server's message if a record is invalid")
    add = sub.add_parser("add", help="add a record (at the end, or next to another one)")
    add.add_argument("line", help='the record, e.g. "host all all 10.0.0.0/8 scram-sha-256"')
    where = add.add_mutually_exclusive_group()
    where.add_argument("--before", metavar="FIELDS", help="above the first record matching")
    where.add_argument("--after", metavar="FIELDS", help="below the first record matching")
    remove = sub.add_parser("remove", help="remove the first record whose leading fields match")
    remove.add_argument("fields", help='leading fields, e.g. "host all all 10.0.0.0/8"')
    remove.add_argument("--all", action="store_true", help="remove every matching record")
    return parser


def run(args: Sequence[str] | None, read_file: Callable[..., Any]) -> int:
    """``pg-hba FILE list|check|add|remove ...``; returns the exit status (0, 1; 2 for usage)."""
    ns = _parser().parse_args(list(sys.argv[1:] if args is None else args))
    try:
        seq = read_file(ns.file, version=ns.server_version)
        if ns.command == "list":
            for lineno, entry in seq.numbered():
                print(f"{lineno}\t{entry}")
        elif ns.command == "check":
            print(f"{ns.file}: {len(seq)} records, no errors")
        elif ns.command == "add":
            if ns.before is not None:
                seq.insert_before(ns.before, ns.line)
            elif ns.after is not None:
                seq.insert_after(ns.after, ns.line)
            else:
                seq.append(ns.line)
            seq.write()
        else:
            if ns.all:
                query = Query([ns.fields])
                if not seq.remove_if(query.matches):
                    raise ValueError(f"no record matches {ns.fields!r}")
            else:
                seq.remove(ns.fields)
            seq.write()
    except (HBAError, ValueError, OSError) as exc:
        print(f"pg-hba: {exc}", file=sys.stderr)
        return 1
    return 0
