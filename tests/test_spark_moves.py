"""``moves`` and ``circuits`` on Spark (``pipelines/build/spark_moves.py``) equal the DuckDB build's, row for row."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.build import moves as build_moves
from pipelines.build import spark_build
from tests.support.frames import assert_parquet_equals_table


@pytest.mark.spark
@pytest.mark.parametrize("table", build_moves.TABLES)
def test_spark_moves_table_equals_duckdb_table(spark_identifier_build: dict[str, Path], table: str) -> None:
    assert_parquet_equals_table(spark_identifier_build["duck"], table, spark_identifier_build["out"] / table)


@pytest.mark.spark
def test_the_spark_moves_step_writes_the_duckdb_steps_tables() -> None:
    assert sorted(t.name for t in spark_build.MOVES.tables) == sorted(build_moves.TABLES)


@pytest.mark.spark
def test_the_compared_moves_cover_every_level_and_both_circuit_shapes(spark_identifier_build: dict[str, Path]) -> None:
    con = duckdb.connect()
    con.execute(f"ATTACH '{spark_identifier_build['duck']}' AS d (READ_ONLY)")
    levels = {r[0] for r in con.execute("SELECT DISTINCT level FROM d.moves").fetchall()}
    assert levels == set(build_moves.MOVE_LEVELS)
    shapes = {r[0] for r in con.execute("SELECT DISTINCT shape FROM d.circuits").fetchall()}
    assert shapes == {"loop", "path"}
    share = con.execute("SELECT min(corroborated_share), max(corroborated_share) FROM d.moves").fetchone()
    assert share is not None and share[0] < share[1], share
