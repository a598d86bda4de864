"""``python -m pipelines release load DIR``: swap a Spark build's tables into the warehouse.

``DIR`` is what ``python -m pipelines build --engine spark --out DIR`` wrote. The
load opens one :func:`routes.warehouse.write_snapshot` (a copy of the warehouse,
swapped in with ``os.replace`` on success), so it is atomic as the DuckDB build
is: a failure or a kill leaves the live warehouse as it was.

Each table is loaded with the column types the DuckDB step gives it (the step is
run once on an empty in-memory warehouse to learn them; Spark has no ``HUGEINT``,
for one) and in the order the DuckDB step stores it, so the app reads the same
table whichever engine built it.

The load refuses a build whose lake was exported from other records than the
warehouse now holds (a later ingest or retention delete): the fingerprint of
``records`` and ``batches`` in the lake's manifest must equal the warehouse's.
When it does, each step's state table (``cell_build_state``, ``trend_build_state``)
is written as the DuckDB step writes it, so the query layer trusts the loaded
tables exactly as it trusts a DuckDB build's. A build missing any table of a step
is refused too: a step's state table vouches for all of its tables. After the steps, when the build holds the release's pre-noise counts
(``release_true_counts/``), the protected release is measured from them by
``build_release.build(con, true_counts=...)`` in the same snapshot: the noise is
drawn here, in the driver, against the warehouse's ``release_noise`` and charged to
its ``release_ledger``, exactly as the DuckDB build does. Table names,
types and order come from the code (``spark_build.SPARK_STEPS``), never from the
build's files.
"""

from __future__ import annotations

import contextlib
import importlib
import io
from pathlib import Path
from typing import Any

import duckdb

from pipelines.build import release as build_release
from pipelines.build.lake import fingerprint
from pipelines.build.spark_build import RELEASE_COUNTS, STEPS_BY_MODULE, read_build_manifest
from routes import warehouse
from routes.errors import RoutesError


def load_release(build_dir: Path, *, warehouse_path: Path | None = None) -> dict[str, int]:
    """Replace the warehouse's tables with those of the Spark build in ``build_dir``; rows per table.

    Raises
    ------
    RoutesError
        ``build_dir`` is not a Spark build, misses a table, or was built from a
        lake of other records than the warehouse holds.
    """
    build_dir = Path(build_dir)
    manifest = read_build_manifest(build_dir)
    counts: dict[str, int] = {}
    with warehouse.write_snapshot(path=warehouse_path) as con:
        now = fingerprint(con)
        if now != manifest["lake_fingerprint"]:
            raise RoutesError(
                f"the warehouse changed since the lake of {str(build_dir)!r} was exported "
                f"(lake {manifest['lake_fingerprint']}, warehouse now {now}); "
                "export the lake again, rebuild with --engine spark, then load"
            )
        for module, built in manifest["steps"].items():
            step = STEPS_BY_MODULE.get(module)
            names = [t.name for t in step.tables] if step else []
            if step is None or sorted(built["tables"]) != sorted(names):
                raise RoutesError(
                    f"{str(build_dir)!r} holds {module} as {sorted(built['tables'])}, which this "
                    f"version does not build on Spark as {sorted(names)}; rebuild with --engine spark"
                )
            types = _duckdb_types(module, requires=step.requires)
            if step.before_load:
                step.before_load(con)
            for table in step.tables:  # names, types and order from the code, never from the files
                counts[table.name] = _load_table(con, build_dir / table.name, table.name, types[table.name], table.order)
            for statement in step.indexes:
                con.execute(statement)
            if step.after_load:
                step.after_load(con)
            if step.state_table:
                con.execute(f"CREATE OR REPLACE TABLE {step.state_table} AS {step.state_sql}")  # noqa: S608 (fixed text)
        if manifest.get("release_true_counts"):
            counts.update(_release_from_counts(con, build_dir / RELEASE_COUNTS))
    return counts


def _release_from_counts(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, int]:
    """The protected release from the build's pre-noise counts: ``build_release.build``'s own noise and ledger.

    Each read is cast to the types DuckDB's own query gives (Spark's ``year()`` is an
    INT, DuckDB's a BIGINT), so the measurements see the frames the DuckDB build sees.
    """
    types = duckdb.connect()
    warehouse.ensure_schema(types)
    relations = {}
    for name, sql in build_release.TRUE_COUNT_SELECTS.items():
        files = sorted((folder / name).glob("*.parquet"))
        if not files:
            raise RoutesError(f"{str(folder / name)!r} holds no Parquet files; rebuild with --engine spark")
        columns = ", ".join(
            f'CAST("{column}" AS {kind}) AS "{column}"'
            for column, kind, *_ in types.execute(f"DESCRIBE {sql}").fetchall()  # noqa: S608 (fixed text)
        )
        listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        relations[name] = f"SELECT {columns} FROM read_parquet([{listed}])"  # noqa: S608 (columns from the code)
    types.close()
    with contextlib.redirect_stderr(io.StringIO()):  # its per-table timings
        return build_release.build(con, true_counts=relations)


def _load_table(con: duckdb.DuckDBPyConnection, folder: Path, table: str, types: dict[str, str], order: str) -> int:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise RoutesError(f"{str(folder)!r} holds no Parquet files; rebuild with --engine spark")
    columns = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind in types.items())
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT {columns} FROM read_parquet(?) ORDER BY {order}",  # noqa: S608 (names from the DuckDB step)
        [[str(f) for f in files]],
    )
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def _duckdb_types(module: str, *, requires: tuple[str, ...] = ()) -> dict[str, dict[str, str]]:
    """Column -> DuckDB type, per table, as the DuckDB ``module`` creates them (run on no records).

    ``requires`` are the DuckDB steps run first, whose tables ``module`` reads; their
    tables are given too (the Spark corridor step writes the flow step's ``route_shifts``).
    """
    step: Any = importlib.import_module(module)
    con = duckdb.connect()
    try:
        warehouse.ensure_schema(con)
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):  # per-table timings
            for before in requires:
                importlib.import_module(before).build(con)
            step.build(con)
        return {
            table: {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall()}  # noqa: S608
            for table in (*(t for before in requires for t in importlib.import_module(before).TABLES), *step.TABLES)
        }
    finally:
        con.close()


def compare_release(build_dir: Path, *, warehouse_path: Path | None = None) -> dict[str, tuple[int, int, int]]:
    """Per table of a Spark build: (rows in the warehouse, rows only there, rows only in the build).

    Compares the build with the warehouse's own tables (built by DuckDB), row for
    row with duplicates counted (``EXCEPT ALL`` both ways), columns by name. Equal
    tables give ``(n, 0, 0)``. Reads only; the warehouse is not changed.
    """
    build_dir = Path(build_dir)
    manifest = read_build_manifest(build_dir)
    result: dict[str, tuple[int, int, int]] = {}
    with warehouse.open_snapshot(path=warehouse_path) as con:
        for module in manifest["steps"]:
            step = STEPS_BY_MODULE.get(module)
            for table in step.tables if step else ():
                files = [str(f) for f in sorted((build_dir / table.name).glob("*.parquet"))]
                described = [r[:2] for r in con.execute(f"DESCRIBE {table.name}").fetchall() if r[0] not in table.stamped]  # noqa: S608 (names from the code)
                columns = ", ".join(f'"{name}"' for name, _ in described)
                # read as ``release load`` reads them: Spark's text of a BIT becomes a BIT
                cast = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind in described)
                ours = f"(SELECT {columns} FROM {table.name})"  # noqa: S608
                theirs = f"(SELECT {cast} FROM read_parquet($files))"  # noqa: S608
                counts = con.execute(
                    f"SELECT (SELECT count(*) FROM {table.name}), "  # noqa: S608
                    f"(SELECT count(*) FROM ({ours} EXCEPT ALL {theirs})), "
                    f"(SELECT count(*) FROM ({theirs} EXCEPT ALL {ours}))",
                    {"files": files},
                ).fetchone()
                assert counts is not None
                result[table.name] = (int(counts[0]), int(counts[1]), int(counts[2]))
    return result
