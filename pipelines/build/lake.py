"""``python -m pipelines lake export --out DIR``: the warehouse's base tables as a Parquet lake.

The lake is what an engine other than DuckDB (Apache Spark, Trino, DuckDB itself
over files) builds from when the records outgrow one warehouse file. Layout,
plain Hive-style partitioned Parquet that those readers open as it is::

    DIR/records/month=2024-01-01/data_0.parquet
    DIR/records/month=__HIVE_DEFAULT_PARTITION__/data_0.parquet   (records with no month)
    DIR/record_identifiers/kind=phone/data_0.parquet
    DIR/sources/data_0.parquet
    DIR/_routes_lake.json                                          (manifest; readers skip "_" files)

Why these partitions: the build reads ``records`` by ``month`` (every aggregate,
trend and flow table has ``month`` as a dimension, and retention and incremental
builds cut by month), so a month is the unit an engine skips or rebuilds, and a
month of California holds tens of thousands to a few million rows: files large
enough to read well, few enough to list. ``record_identifiers`` is read by
``kind`` (matches join phone with phone, email with email), a handful of values.
``sources`` is a few rows and stays one file.

Partition columns live in the directory names, not in the files (Hive's rule),
so a reader gets ``month`` back typed ``DATE`` by inferring it from the path
(Spark's default, DuckDB's ``hive_partitioning=true``, Trino's Hive connector).

The export is atomic: it writes a temporary directory beside ``DIR`` and renames
it into place, so a reader sees the old lake or the new one, never half of one.
(Replacing an existing ``DIR`` moves the old one aside first, then deletes it: a
reader that starts in that instant finds no lake and fails; it never reads a mix.)

The manifest records the fingerprint of ``records`` and ``batches`` the lake was
cut from (``FINGERPRINT_SQL`` of ``routes/contract/tables.py``);
``python -m pipelines release load`` refuses a build made from a lake whose
fingerprint no longer matches the warehouse. It also carries the warehouse's
``meta`` entry ``data_as_of``, which the hot-spot window reads besides the records.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from routes import settings, warehouse
from routes.contract.tables import FINGERPRINT_SQL
from routes.errors import RoutesError

#: Table -> its Hive partition column (``None``: one unpartitioned directory).
LAKE_TABLES: dict[str, str | None] = {
    "records": "month",
    "record_identifiers": "kind",
    "sources": None,
}
#: The manifest's file name inside the lake (a leading "_" keeps readers off it).
MANIFEST = "_routes_lake.json"


def fingerprint(con: Any) -> dict[str, str | None]:
    """The ``records``/``batches`` fingerprint of a connection, as JSON-ready strings."""
    cursor = con.execute(FINGERPRINT_SQL)
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    return {n: (None if v is None else str(v)) for n, v in zip(names, row, strict=True)}


def export_lake(out: Path, *, warehouse_path: Path | None = None) -> dict[str, int]:
    """Write the lake at ``out`` from one snapshot of the warehouse; return rows per table.

    Examples
    --------
    >>> import tempfile
    >>> tmp = Path(tempfile.mkdtemp())
    >>> with warehouse.write_snapshot(path=tmp / "w.duckdb") as con:
    ...     _ = con.execute("INSERT INTO sources VALUES ('s1', 'S', 'ngo', NULL, NULL, NULL)")
    >>> export_lake(tmp / "lake", warehouse_path=tmp / "w.duckdb")
    {'records': 0, 'record_identifiers': 0, 'sources': 1}
    >>> sorted(p.name for p in (tmp / "lake").iterdir())
    ['_routes_lake.json', 'record_identifiers', 'records', 'sources']
    """
    out = Path(out)
    live = warehouse_path or settings.warehouse_path()
    if not live.exists():
        raise RoutesError(f"no warehouse at {str(live)!r}; run `python -m pipelines setup-demo` or ingest first")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        with warehouse.open_snapshot(path=live) as con:
            rows = {table: _copy_table(con, table, work / table, partition) for table, partition in LAKE_TABLES.items()}
            manifest = {
                "format": "routes-lake/1",
                "exported_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
                "warehouse": str(live),
                "partitioned_by": LAKE_TABLES,
                "rows": rows,
                "fingerprint": fingerprint(con),
                # meta's data_as_of, which the hot-spot window reads besides the records
                "data_as_of": warehouse.get_meta(con, "data_as_of"),
            }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        swap_in_folder(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return rows


def _copy_table(con: Any, table: str, target: Path, partition: str | None) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 (names from LAKE_TABLES)
    rows = int(row[0]) if row else 0
    target.mkdir()
    if partition is None or rows == 0:
        # An empty table is one empty file holding every column, so readers still see its schema.
        con.execute(f"COPY {table} TO {_quoted(target / 'data_0.parquet')} (FORMAT parquet)")
    else:
        con.execute(
            f"COPY {table} TO {_quoted(target)} "
            f"(FORMAT parquet, PARTITION_BY ({partition}), WRITE_PARTITION_COLUMNS false)"
        )
    return rows


def _quoted(path: Path) -> str:
    """``path`` as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def swap_in_folder(work: Path, out: Path, *, manifest: str = MANIFEST, kind: str = "Routes lake") -> None:
    """Rename folder ``work`` to ``out``; an existing ``out`` (which must hold ``manifest``) is moved aside, then removed.

    The lake export and the Spark build both write a new folder beside the old one
    and swap it in, so a reader never sees half of one.
    """
    old = out.with_name(f".{out.name}.{os.getpid()}.old")
    if out.exists():
        if not (out / manifest).exists():
            raise RoutesError(
                f"{str(out)!r} exists and is not a {kind} (no {manifest}); "
                "choose an empty or new directory for --out"
            )
        os.replace(out, old)
    os.replace(work, out)
    shutil.rmtree(old, ignore_errors=True)


def read_folder_manifest(
    folder: Path, *, manifest: str = MANIFEST, kind: str = "Routes lake",
    how: str = "`python -m pipelines lake export --out DIR`",
) -> dict[str, Any]:
    """The manifest of a lake (or of a Spark build); a clear error when ``folder`` is not one."""
    path = Path(folder) / manifest
    if not path.exists():
        raise RoutesError(f"{str(folder)!r} is not a {kind} (no {manifest}); write one with {how}")
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def read_manifest(lake: Path) -> dict[str, Any]:
    """The lake's manifest; a clear error when ``lake`` is not one."""
    return read_folder_manifest(lake)
