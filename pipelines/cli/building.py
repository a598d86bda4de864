"""``build``, ``release report|load|compare`` and ``lake export``: the derived tables and the engines that make them.

The work is in :mod:`pipelines.build`, :mod:`pipelines.build.release_report`,
:mod:`pipelines.build.release_load`, :mod:`pipelines.build.lake` and, for ``--engine spark``,
:mod:`pipelines.build.spark_build` (imported only when asked for: it needs pyspark).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.build import build_warehouse, release_load, release_report, spark_build
from pipelines.build.lake import export_lake
from routes import settings, warehouse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``build``, ``release`` (``report``, ``load DIR``, ``compare DIR``) and ``lake export``."""
    _add_build(subparsers)
    _add_release(subparsers)
    _add_lake(subparsers)


def _warehouse_path(given: str | None) -> Path | None:
    """``--warehouse`` as an absolute path, or ``None`` for the default (``ROUTES_WAREHOUSE``)."""
    return Path(given).expanduser().resolve() if given else None


# -- build -----------------------------------------------------------------------------


def _add_build(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build",
        help="derive flows, corridors, aggregates, hot spots and matches from the records",
        description=(
            "Rebuild every derived table in one atomic warehouse snapshot. "
            "Idempotent: building twice gives the same tables."
        ),
    )
    parser.add_argument("--warehouse", help="warehouse file (default: ROUTES_WAREHOUSE)")
    spark_build.add_engine_arguments(parser)
    parser.set_defaults(func=_build)


def _build(args: argparse.Namespace) -> int:
    if args.engine == "spark":  # pyspark is imported only now
        return spark_build.run_spark_build(args)
    build_warehouse(warehouse_path=_warehouse_path(args.warehouse))
    return 0


# -- release ---------------------------------------------------------------------------


def _add_release(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "release",
        help="the protected release's budget (report); load or compare a Spark build's tables",
        description="Report the protected release's budget per measurement, its total and expected errors.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    report = actions.add_parser("report", help="budget per measurement, total, error per level, rebuilds a year")
    report.add_argument("--warehouse", help="warehouse file (default: ROUTES_WAREHOUSE)")
    report.set_defaults(func=_release_report)
    load = actions.add_parser(
        "load",
        help="swap a Spark build's tables into the warehouse, atomically",
        description=(
            "Replace the warehouse's copies of the tables in DIR (written by "
            "`python -m pipelines build --engine spark --out DIR`) in one atomic snapshot."
        ),
    )
    load.add_argument("build_dir", metavar="DIR", help="the --out directory of a Spark build")
    load.add_argument("--warehouse", help="warehouse file (default: ROUTES_WAREHOUSE)")
    load.set_defaults(func=_release_load)
    compare = actions.add_parser(
        "compare",
        help="check a Spark build row for row against the warehouse's DuckDB-built tables",
        description=(
            "For each table of DIR, count the rows only in the warehouse and only in DIR "
            "(duplicates counted). Exit status 0 when every table is equal, 1 otherwise. "
            "Build the warehouse with `python -m pipelines build` from the same records first."
        ),
    )
    compare.add_argument("build_dir", metavar="DIR", help="the --out directory of a Spark build")
    compare.add_argument("--warehouse", help="warehouse file (default: ROUTES_WAREHOUSE)")
    compare.set_defaults(func=_release_compare)


def _release_report(args: argparse.Namespace) -> int:
    path = _warehouse_path(args.warehouse) or settings.warehouse_path()
    if path.exists():
        with warehouse.open_snapshot(path=path) as con:
            lines = release_report.report_lines(con)
    else:
        lines = release_report.report_lines(None)
    print("\n".join(lines))
    return 0


def _release_compare(args: argparse.Namespace) -> int:
    result = release_load.compare_release(Path(args.build_dir).expanduser().resolve(),
                                          warehouse_path=_warehouse_path(args.warehouse))
    for table, (rows, only_here, only_there) in result.items():
        verdict = "equal" if only_here == only_there == 0 else "DIFFERENT"
        print(f"{table:<32} {rows:>12,} rows  only in warehouse {only_here:>8,}  only in build {only_there:>8,}  {verdict}")
    return 0 if all(a == b == 0 for _, a, b in result.values()) else 1


def _release_load(args: argparse.Namespace) -> int:
    counts = release_load.load_release(Path(args.build_dir).expanduser().resolve(),
                                       warehouse_path=_warehouse_path(args.warehouse))
    if not settings.quiet():
        for table, n in counts.items():
            print(f"{table:<32} {n:>12,} rows")
        print("loaded into the warehouse")
    return 0


# -- lake ------------------------------------------------------------------------------


def _add_lake(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lake",
        help="export records, identifiers and sources as a partitioned Parquet lake",
        description="The Parquet lake other engines (Spark, Trino, DuckDB over files) build from.",
    )
    actions = parser.add_subparsers(dest="lake_command", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export",
        help="write the lake (atomically) from the warehouse",
        description=(
            "Write records (partitioned by month), record_identifiers (by kind) and sources "
            "as Hive-partitioned Parquet under --out, replacing an earlier lake there atomically."
        ),
    )
    export.add_argument("--out", required=True, help="the lake directory to write")
    export.add_argument("--warehouse", help="warehouse file (default: ROUTES_WAREHOUSE)")
    export.set_defaults(func=_lake_export)


def _lake_export(args: argparse.Namespace) -> int:
    rows = export_lake(Path(args.out).expanduser().resolve(), warehouse_path=_warehouse_path(args.warehouse))
    if not settings.quiet():
        for table, n in rows.items():
            print(f"{table:<20} {n:>12,} rows")
        print(f"lake written to {args.out}")
    return 0
