"""Tests for routes/contract/: the declared tables are the built ones, and SQL takes only declared names."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from routes import warehouse
from routes.contract import sql, tables
from routes.contract.sql import SQL, compose, ident, idents, join
from routes.errors import RoutesError, UnknownIdentifier


def test_each_declared_table_is_what_the_build_writes(pages_warehouse: Path) -> None:
    """Name, columns in order, and one row per key, on a built 4,000-record warehouse."""
    with duckdb.connect(str(pages_warehouse), read_only=True) as con:
        for table in tables.DERIVED_TABLES:
            columns = tuple(r[0] for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table.name]
            ).fetchall())
            assert columns == table.columns, f"{table.name}: built {columns}, declared {table.columns}"
            rows, keys = con.execute(
                compose("SELECT count(*), count(DISTINCT ({key})) FROM {table}",
                        key=idents(table.key) if table.key else SQL("1"), table=ident(table.name))
            ).fetchone()
            assert rows > 0 or table.name in {"route_shifts", "moves", "circuits"}, f"{table.name} is empty"
            assert keys == (rows if table.key else min(rows, 1)), f"{table.name}: {rows} rows, {keys} distinct keys"


def test_records_columns_are_the_schemas() -> None:
    """``RECORDS_COLUMNS`` (what :func:`ident` accepts for ``records``) is the table the schema creates, in order."""
    with duckdb.connect(":memory:") as con:
        warehouse.ensure_schema(con)
        columns = tuple(r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'records' ORDER BY column_index"
        ).fetchall())
    assert columns == tables.RECORDS_COLUMNS


def test_an_unknown_name_is_refused_with_advice() -> None:
    with pytest.raises(UnknownIdentifier, match=r"'records; DROP TABLE x' is not a table or column .* declare it"):
        ident("records; DROP TABLE x")
    assert issubclass(UnknownIdentifier, RoutesError) and issubclass(UnknownIdentifier, ValueError)
    with pytest.raises(UnknownIdentifier, match="'flow_fact' is not a derived table"):
        tables.table("flow_fact")


def test_compose_takes_only_sql_and_numbers() -> None:
    assert compose("SELECT {n} FROM {t}", n=6, t=ident("cell_counts")) == "SELECT 6 FROM cell_counts"
    for bad in ("cell_counts", True, None, ["cell_counts"]):
        with pytest.raises(TypeError, match="part 't'"):
            compose("SELECT * FROM {t}", t=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="plain str"):
        join([ident("month"), "x"], ", ")  # type: ignore[list-item]
    with pytest.raises(ValueError, match="separator"):
        join([ident("month")], "; DROP TABLE records; ")
    assert isinstance(compose("SELECT 1"), SQL) and isinstance(ident("month"), SQL)


def test_every_declared_name_is_a_plain_word() -> None:
    """Identifiers are written unquoted (the text DuckDB and Spark share), so each must be a lower-case word."""
    odd = sorted(n for n in sql.declared_names() if not n.isidentifier() or n != n.lower())
    assert not odd, odd
