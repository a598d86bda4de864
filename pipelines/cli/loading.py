"""``sources add|list`` and ``ingest``: register the agencies, load their exports.

The work is in :mod:`pipelines.ingest.sources` and :mod:`pipelines.ingest`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.ingest import ingest_files
from pipelines.ingest.profiles import load_profile
from pipelines.ingest.sources import add_source, get_source, list_sources
from routes.contract.vocabularies import SOURCE_KINDS
from routes.errors import RoutesError
from routes.safe_output import terminal_text


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sources add``, ``sources list`` and ``ingest PATH [PATH …] --source ID [--profile FILE]``."""
    parser = subparsers.add_parser("sources", help="register and list data sources")
    sub = parser.add_subparsers(dest="sources_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="register a source (or update its details)")
    add.add_argument("source_id", metavar="ID", help="short id, e.g. sd_sheriff")
    add.add_argument("--name", required=True, help="the agency's name")
    add.add_argument("--kind", required=True, choices=SOURCE_KINDS)
    add.add_argument("--task-force", help="the task force the source belongs to")
    add.add_argument("--contact", help="point of contact for deconfliction notices")
    add.set_defaults(func=_sources_add)
    lst = sub.add_parser("list", help="list registered sources")
    lst.set_defaults(func=_sources_list)

    parser = subparsers.add_parser(
        "ingest", help="load agency exports into the warehouse (a batch per file, one atomic swap)"
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="CSV, TSV, XLSX, JSON, GeoJSON or Parquet")
    parser.add_argument("--source", required=True, metavar="ID", help="a registered source id")
    parser.add_argument("--profile", metavar="FILE", help="TOML mapping profile for this source")
    parser.set_defaults(func=_ingest)


def _sources_add(args: argparse.Namespace) -> int:
    source = add_source(
        args.source_id, name=args.name, kind=args.kind, task_force=args.task_force,
        contact=args.contact,
    )
    print(f"Source {source.source_id!r} registered ({source.kind}, task force {source.task_force or '-'})")
    return 0


def _sources_list(args: argparse.Namespace) -> int:
    sources = list_sources()
    if not sources:
        print("No sources yet; add one with `python -m pipelines sources add ID --name … --kind …`")
        return 0
    width = max(len(s.source_id) for s in sources)
    for s in sources:
        print(terminal_text(f"{s.source_id:<{width}}  {s.kind:<15}  {s.task_force or '-':<16}  {s.name}"))
    return 0


def _ingest(args: argparse.Namespace) -> int:
    get_source(args.source)  # refuse an unknown source before reading anything
    if args.profile:
        load_profile(args.profile)
    failed: list[Path] = []

    def report(path: Path, exc: RoutesError) -> None:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        failed.append(path)

    for summary in ingest_files(args.paths, source_id=args.source, profile_path=args.profile,
                                on_error=report):
        print(terminal_text(summary.format(), keep_lines=True))  # the file name is the sender's text
    return 1 if failed else 0
