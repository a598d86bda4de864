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


def assert_parquet_equals_table(warehouse: Path, table: str, parquet_dir: Path) -> None:
    """The Parquet folder holds exactly the rows of ``table`` in the DuckDB file ``warehouse`` (which has some)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{warehouse}' AS d (READ_ONLY)")
    con.execute(f"CREATE VIEW s AS SELECT * FROM read_parquet('{parquet_dir}/*.parquet')")  # noqa: S608 (paths from the test)
    rows = con.execute(f"SELECT count(*) FROM d.{table}").fetchone()  # noqa: S608 (names from the test)
    assert rows is not None and rows[0] > 0, f"DuckDB built no {table} rows: the test would prove nothing"
    assert_same_rows(con, f"d.{table}", "s")
