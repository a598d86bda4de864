"""Comparing two engines' output tables row for row (the Spark tests)."""

from __future__ import annotations

import duckdb


def assert_same_rows(con: duckdb.DuckDBPyConnection, left: str, right: str) -> None:
    """Tables (or views) ``left`` and ``right`` on ``con`` hold the same columns and the same rows, duplicates included."""
    columns = [r[0] for r in con.execute(f"DESCRIBE {left}").fetchall()]  # noqa: S608
    assert sorted(columns) == sorted(r[0] for r in con.execute(f"DESCRIBE {right}").fetchall())  # noqa: S608
    cols = ", ".join(f'"{c}"' for c in columns)
    for a, b in ((left, right), (right, left)):
        extra = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b})").fetchone()  # noqa: S608
        assert extra == (0,), f"{extra[0] if extra else '?'} rows of {a} are not in {b}"
