"""``python -m pipelines operations …`` and ``python -m pipelines deconflict``.

``operations add``      record a planned operation (place by lat/lng or by text)
``operations import``   import a CSV of planned operations (the demo's ``operations.csv``)
``operations list``     the stored operations (the clearinghouse operator's view;
                        ``--task-force`` narrows it to one task force's own plans)
``deconflict``          the NEW subject matches and operation conflicts since the
                        last run, for a watch desk or a scheduled job, as seen by
                        ``--as ROLE --task-force TF`` (``--all``: every open one).
                        Leadership and admin get counts by region and month.

The reads go through ``query/matches.py`` (role rules, small cells, audit); what a
run listed is remembered per task force on the ``deconflict`` channel, so the
next run lists only what is new. Exit code 0, also when nothing is new. Every
printed cell passes :func:`routes.safe_output.terminal_text` (another agency's
case number cannot carry terminal escape sequences to this screen).
"""

from __future__ import annotations

import argparse
import getpass

import pandas as pd

from query import matches, operations
from query.viewer import ROLES, Viewer
from routes import safe_output

#: The seen-state channel of this command.
CHANNEL = "deconflict"

_MATCH_SHOWN = [
    "match_id", "own_case_number", "other_source", "other_task_force", "other_case_number",
    "other_contact", "identifier_kinds", "tokens_matched", "other_last_seen",
]
_CONFLICT_SHOWN = [
    "conflict_id", "own_operation", "own_start", "own_end", "other_source", "other_contact",
    "other_start", "other_end", "within",
]
_OPERATION_SHOWN = [
    "operation_id", "source_id", "task_force", "kind", "start_at", "end_at", "radius_m",
    "lat", "lng", "place", "contact",
]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``operations`` and ``deconflict`` commands."""
    ops = subparsers.add_parser("operations", help="planned operations: add, import, list")
    sub = ops.add_subparsers(dest="operations_command", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="record a planned operation")
    add.add_argument("--source", required=True, help="the agency's source id")
    add.add_argument("--start", required=True, help="start, e.g. '2026-12-03 05:00' (local)")
    add.add_argument("--end", required=True, help="end, local time")
    add.add_argument("--contact", required=True, help="who the other agency should call")
    add.add_argument("--kind", default="other", choices=operations.OPERATION_KINDS)
    add.add_argument("--lat", type=float)
    add.add_argument("--lng", type=float)
    add.add_argument("--place", help="a place or address, geocoded offline (instead of lat/lng)")
    add.add_argument("--radius-m", type=float, default=200.0, help="area radius in metres")
    add.add_argument("--task-force", help="the agency's task force (default: from sources)")
    add.set_defaults(func=_add)

    imp = sub.add_parser("import", help="import planned operations from a CSV file")
    imp.add_argument("file", help="CSV with source_id, start, end, contact, lat/lng or place …")
    imp.set_defaults(func=_import)

    lst = sub.add_parser("list", help="list stored operations")
    lst.add_argument("--task-force", help="only this task force's own operations")
    lst.set_defaults(func=_list)

    dec = subparsers.add_parser(
        "deconflict", help="list new subject matches and operation conflicts"
    )
    dec.add_argument("--as", dest="role", required=True, choices=ROLES, help="the viewer's role")
    dec.add_argument("--task-force", help="the viewer's task force (analyst, lead)")
    dec.add_argument("--user", default=None, help="who runs it, for the audit log")
    dec.add_argument("--all", action="store_true", help="every open item, not only new ones")
    dec.set_defaults(func=_deconflict)


def _add(args: argparse.Namespace) -> int:
    op_id = operations.add_operation(
        args.source, start=args.start, end=args.end, contact=args.contact, kind=args.kind,
        lat=args.lat, lng=args.lng, place=args.place, radius_m=args.radius_m,
        task_force=args.task_force, created_by=_user(None),
    )
    print(f"Recorded operation {op_id}.")
    return 0


def _import(args: argparse.Namespace) -> int:
    count = operations.load_operations_file(args.file, created_by=_user(None))
    print(f"Imported {count} operations from {args.file}.")
    return 0


def _list(args: argparse.Namespace) -> int:
    frame = operations.list_operations()
    if args.task_force:
        frame = frame[frame["task_force"] == args.task_force]
    _print_table("Operations", frame[_OPERATION_SHOWN])
    return 0


def _user(given: str | None) -> str:
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _print_table(title: str, frame: pd.DataFrame) -> None:
    print(f"{safe_output.terminal_text(title)} ({len(frame)})")
    if frame.empty:
        print("  none")
    else:  # case numbers and contacts are the agencies' own text: never let them drive the terminal
        print(safe_output.terminal_frame(frame).to_string(index=False, na_rep="suppressed"))
    print()


def _deconflict(args: argparse.Namespace) -> int:
    viewer = Viewer(_user(args.user), args.role, args.task_force)
    operations.refresh_conflicts()
    if not viewer.has_record_access:
        _print_table("Subject matches by region and month", matches.match_counts(viewer))
        _print_table("Operation conflicts by region and month", matches.conflict_counts(viewer))
        return 0
    unseen = None if args.all else CHANNEL
    found = matches.open_matches(viewer, unseen_on=unseen)
    conflicts = matches.operation_conflicts(viewer, unseen_on=unseen)
    label = "Open" if args.all else "New"
    _print_table(f"{label} subject matches for {viewer.task_force}", found[_MATCH_SHOWN])
    _print_table(f"{label} operation conflicts for {viewer.task_force}",
                 conflicts[_CONFLICT_SHOWN])
    matches.mark_seen(viewer, channel=CHANNEL, match_ids=list(found["match_id"]),
                      conflict_ids=list(conflicts["conflict_id"]))
    return 0
