"""Comparing two engines' output tables row for row (the Spark tests)."""

from __future__ import annotations

from pathlib import Path

import duckdb


def assert_same_rows(con: duckdb.DuckDBPyConnection, left: str, right: str) -> None:
    """Tables (or views) ``left`` and ``right`` on ``con`` hold the same columns and the same rows, duplicates included."""
    columns = [r[0] for r in con.execute(f"DESCRIBE {left}").fetchall()]  # noqa: S608
    assert sorted(columns) == sorted(r[0] for r in con.execute(f"DESCRIBE {right}").fetchall())  # noqa: S608
    cols = ", ".join(f'"{c}"' for c in columns)
    for a, b in ((left, right), (right, left)):
        extra = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b})").fetchone()  # noqa: S608
        assert extra == (0,), f"{extra[0] if extra else '?'} rows of {a} are not in {b}"


def assert_parquet_equals_table(
    warehouse: Path, table: str, parquet_dir: Path, *, cast: tuple[str, ...] = (), skip: tuple[str, ...] = ()
) -> None:
    """The Parquet folder holds exactly the rows of ``table`` in the DuckDB file ``warehouse`` (which has some).

    ``cast``: columns read as the DuckDB table's type first, as ``release load`` reads
    them (``source_bits``: Spark's ``0``/``1`` text, DuckDB's ``BIT``). ``skip``:
    columns left out of the comparison (each test says why).
    """
    con = duckdb.connect()
    con.execute(f"ATTACH '{warehouse}' AS d (READ_ONLY)")
    types = dict(con.execute(f"SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'd' AND table_name = '{table}'").fetchall())  # noqa: S608 (names from the test)
    read = f"read_parquet('{parquet_dir}/*.parquet')"
    replaced = ", ".join(f'CAST("{c}" AS {types[c]}) AS "{c}"' for c in cast)
    casts = f" REPLACE ({replaced})" if cast else ""
    skipped = f" EXCLUDE ({', '.join(skip)})" if skip else ""
    con.execute(f"CREATE VIEW s AS SELECT *{skipped}{casts} FROM {read}")  # noqa: S608 (paths from the test)
    con.execute(f"CREATE VIEW t AS SELECT *{skipped} FROM d.{table}")  # noqa: S608 (names from the test)
    rows = con.execute(f"SELECT count(*) FROM d.{table}").fetchone()  # noqa: S608 (names from the test)
    assert rows is not None and rows[0] > 0, f"DuckDB built no {table} rows: the test would prove nothing"
    assert_same_rows(con, "t", "s")
