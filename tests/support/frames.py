"""Comparing two engines' output tables row for row (the Spark tests).

Written with DuckDB's relation API (tables, views and Parquet files as
relations, columns as expressions), so no query text is assembled from the
test's names or paths.
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def _counted(relation: duckdb.DuckDBPyRelation, columns: list[str]) -> duckdb.DuckDBPyRelation:
    """Each distinct row of ``relation`` over ``columns`` with how many times it occurs (``_n``)."""
    return relation.aggregate(
        [*(duckdb.ColumnExpression(c) for c in columns), duckdb.FunctionExpression("count", duckdb.StarExpression()).alias("_n")]
    )


def _count(relation: duckdb.DuckDBPyRelation) -> int:
    return int(relation.aggregate([duckdb.FunctionExpression("count", duckdb.StarExpression())]).fetchall()[0][0])


def assert_same_relations(left: duckdb.DuckDBPyRelation, right: duckdb.DuckDBPyRelation, *, names: tuple[str, str]) -> None:
    """``left`` and ``right`` hold the same columns (by name) and the same rows, duplicates included.

    Rows are compared as ``EXCEPT ALL`` compares them both ways: each distinct
    row with its number of copies.
    """
    columns = list(left.columns)
    assert sorted(columns) == sorted(right.columns)
    for (a, name_a), (b, name_b) in (((left, names[0]), (right, names[1])), ((right, names[1]), (left, names[0]))):
        extra = _count(_counted(a, columns).except_(_counted(b, columns)))
        assert extra == 0, f"{extra} distinct rows of {name_a} (or their number of copies) are not in {name_b}"


def assert_same_rows(con: duckdb.DuckDBPyConnection, left: str, right: str) -> None:
    """Tables (or views) ``left`` and ``right`` on ``con`` hold the same columns and the same rows, duplicates included.

    ``con`` must hold no unfinished result (fetch a result whole, ``fetchall()``, before calling).
    """
    assert_same_relations(con.table(left), con.table(right), names=(left, right))


def assert_parquet_equals_table(
    warehouse: Path, table: str, parquet_dir: Path, *, cast: tuple[str, ...] = (), skip: tuple[str, ...] = ()
) -> None:
    """The Parquet folder holds exactly the rows of ``table`` in the DuckDB file ``warehouse`` (which has some).

    ``cast``: columns read as the DuckDB table's type first, as ``release load`` reads
    them (``source_bits``: Spark's ``0``/``1`` text, DuckDB's ``BIT``). ``skip``:
    columns left out of the comparison (each test says why).
    """
    con = duckdb.connect(str(warehouse), read_only=True)
    built = con.table(table)
    types = dict(zip(built.columns, built.types, strict=True))
    read = con.read_parquet(f"{parquet_dir}/*.parquet")
    s = read.project(*(
        duckdb.ColumnExpression(c).cast(types[c]).alias(c) if c in cast else duckdb.ColumnExpression(c)
        for c in read.columns if c not in skip
    ))
    t = built.project(*(duckdb.ColumnExpression(c) for c in built.columns if c not in skip))
    assert _count(t) > 0, f"DuckDB built no {table} rows: the test would prove nothing"
    assert_same_relations(t, s, names=(table, str(parquet_dir)))
