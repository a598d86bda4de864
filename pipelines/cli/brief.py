"""``python -m pipelines brief``: export a regional briefing (PDF, PNG, HTML, CSV, GeoJSON).

::

    python -m pipelines brief --region "Region IV" --from 2025-01 --to 2025-12 \\
        --audience partner --purpose "quarterly partner meeting" --out briefings/ \\
        --as lead --task-force sacramento

The exporter (``--as ROLE --task-force TF``, ``--user`` for the audit log) must be
``admin`` or ``leadership`` (any place) or a ``lead`` exporting a county of their
task force or a region holding one (see :mod:`briefings`); anyone else gets
``AccessDenied``. The files hold only what ``--audience`` may see
(:mod:`briefings.audiences`), and the export is written to the audit log.
"""

from __future__ import annotations

import argparse
import getpass

import briefings
from briefings.audiences import load_audiences
from query.viewer import ROLES, Viewer
from routes.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``brief`` command."""
    audiences = load_audiences()
    brief = subparsers.add_parser(
        "brief", help="export a regional briefing (PDF, PNG, HTML, CSV, GeoJSON)",
        description="Export a briefing of one region or county for an audience; the export is audited.",
    )
    where = brief.add_mutually_exclusive_group(required=True)
    where.add_argument("--region", help='a Cal OES Mutual Aid Region, e.g. "Region IV"')
    where.add_argument("--county", help="a county FIPS code, e.g. 06003")
    brief.add_argument("--from", dest="start", required=True, metavar="YYYY-MM", help="first month")
    brief.add_argument("--to", dest="end", required=True, metavar="YYYY-MM", help="last month")
    brief.add_argument(
        "--audience", required=True, choices=sorted(audiences),
        help="who receives it: " + "; ".join(f"{a.name} = {a.description}" for a in audiences.values()),
    )
    brief.add_argument("--purpose", required=True, help="why it is given (printed and audited)")
    brief.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    brief.add_argument("--as", dest="role", default="lead", choices=ROLES, help="the exporter's role (default lead)")
    brief.add_argument("--task-force", help="the exporter's task force (a lead's own)")
    brief.add_argument("--user", default=None, help="who exports, for the audit log (default cli:<login>)")
    brief.add_argument("--no-html", action="store_true", help="skip the interactive HTML map")
    brief.set_defaults(func=_brief)


def _user(given: str | None) -> str:
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _brief(args: argparse.Namespace) -> int:
    viewer = Viewer(_user(args.user), args.role, args.task_force)
    try:
        files = briefings.export_briefing(
            viewer, region=args.region, county=args.county, start=args.start, end=args.end,
            audience=args.audience, purpose=args.purpose, out_dir=args.out, html=not args.no_html,
        )
    except ValueError as exc:  # bad place or period: a user message at the edge
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(str(exc)) from exc
    print(f"Wrote {len(files.paths)} files in {files.seconds:.1f} s (audit entry {files.audit_seq}):")
    for path in files.paths:
        print(f"  {path}")
    for note in files.notes:
        print(f"note: {note}")
    return 0
