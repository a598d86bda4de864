"""The command line: ``python -m pipelines <command>``.

A thin layer: each command lives in the module that does the work, which exposes
``register(subparsers)``; that adds its subparser and sets ``func(args) -> int``.
Domain errors (:class:`routes.errors.RoutesError`) become one-line messages here,
and only here.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from routes.errors import RoutesError
from routes.safe_output import terminal_text

#: Modules that register commands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "pipelines.setup_demo",       # setup-demo: demo files → warehouse, for `make run`
    "pipelines.demo",             # demo: generate demo agency exports
    "pipelines.sources",          # sources add|list
    "pipelines.ingest",           # ingest PATH… --source ID
    "pipelines.build",            # build: aggregates, flows, corridors, matches
    "pipelines.release_cli",      # release report | load | compare: the protected release; a Spark build's tables
    "pipelines.lake",             # lake export: the Parquet lake other engines build from
    "pipelines.geocode_cli",      # geocode TEXT… | --in FILE
    "pipelines.admin_cli",        # users, audit, retention
    "pipelines.query_cli",        # read aggregates through the query layer
    "pipelines.deconflict_cli",   # operations, deconflict
    "pipelines.brief_cli",        # brief: regional briefing exports
    "pipelines.vendor_reference", # vendor: refresh data/reference
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available command registered."""
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description="Routes pipelines: generate, ingest, build, and read the warehouse.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        _register(importlib.import_module(name), subparsers)
    return parser


def _register(module: object, subparsers: argparse._SubParsersAction) -> None:
    registrars = [getattr(module, "register", None)] + [
        getattr(module, n) for n in sorted(dir(module)) if n.startswith("add_") and n.endswith("_parser")
    ]
    for registrar in (r for r in registrars if callable(r)):
        registrar(subparsers)
        return
    raise TypeError(f"{getattr(module, '__name__', module)!r} registers no command")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except RoutesError as exc:
        print(f"error: {terminal_text(exc, keep_lines=True)}", file=sys.stderr)
        return 2
