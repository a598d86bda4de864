"""The command line: ``python -m pipelines <command>``.

Every argparse definition lives in this package, one module per command group;
each exposes ``register(subparsers)``, which adds its subparsers and sets
``func(args) -> int``. The modules read options, call the library (the modules
of :mod:`pipelines`, :mod:`query`, :mod:`briefings`) and print; the work is
done there.

:func:`main` is the single error edge: a domain error
(:class:`routes.errors.RoutesError`), a DuckDB error and a file that cannot be
read each become one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

import duckdb

from routes.errors import RoutesError
from routes.safe_output import terminal_text

#: Modules that register commands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "pipelines.cli.demos",       # setup-demo: demo files → warehouse, for `make run`; demo: the exports
    "pipelines.cli.loading",     # sources add|list; ingest PATH… --source ID
    "pipelines.cli.building",    # build; release report|load|compare; lake export
    "pipelines.cli.geocoding",   # geocode TEXT… | --in FILE
    "pipelines.cli.admin",       # users, audit, retention
    "pipelines.cli.reading",     # query: read aggregates through the query layer
    "pipelines.cli.deconflict",  # operations, deconflict
    "pipelines.cli.brief",       # brief: regional briefing exports
    "pipelines.cli.vendor",      # vendor: refresh data/reference
)

#: Exit status of a command that failed with one of the errors :func:`main` reports.
EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description="Routes pipelines: generate, ingest, build, and read the warehouse.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


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
        return _fail(terminal_text(exc, keep_lines=True))
    except duckdb.Error as exc:
        return _fail(duckdb_message(exc))
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        return _fail(f"{exc.strerror or exc}: {str(exc.filename)!r}; check the path and try again")


def duckdb_message(exc: duckdb.Error) -> str:
    """One line for a DuckDB error: what DuckDB said, and what to do about it."""
    said = " ".join(str(exc).split())
    if isinstance(exc, duckdb.CatalogException):
        return (f"the warehouse lacks a table this command reads ({said}); build it with "
                "`python -m pipelines build`, or the demo with `python -m pipelines setup-demo`")
    if isinstance(exc, duckdb.IOException):
        return (f"the warehouse could not be opened ({said}); check ROUTES_WAREHOUSE or --warehouse, "
                "and that no other process is writing it")
    return f"the warehouse refused the command ({said}); check ROUTES_WAREHOUSE, or rebuild it with `python -m pipelines build`"


def _fail(message: str) -> int:
    print(f"error: {terminal_text(message, keep_lines=True)}", file=sys.stderr)
    return EXIT_ERROR
