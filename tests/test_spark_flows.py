"""The flow step on Spark (``pipelines/build/spark_flows.py``, ``spark_build.FLOWS``) equals the DuckDB build's, row for row."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.build import flows as build_flows
from pipelines.build import spark_build, spark_flows
from routes.contract.flow_tables import FLOW_LEVELS
from tests.support.frames import assert_parquet_equals_table

#: The flow step's tables but ``route_shifts``, which the Spark corridor step writes
#: (tests/test_spark_corridors.py); from the DuckDB step's list, so a table the Spark step drops fails.
TABLES = tuple(t for t in build_flows.TABLES if t != "route_shifts")
#: Tables with a ``source_bits`` column (DuckDB ``BIT``; Spark writes its text).
WITH_BITS = ("flows", "flow_area_cube", "flow_res4_cube", "flows_all_time", "flow_area_cube_all_time", "flow_res4_cube_all_time")


@pytest.mark.spark
@pytest.mark.parametrize("table", TABLES)
def test_spark_flow_table_equals_duckdb_table(spark_flow_build: dict[str, Path], table: str) -> None:
    cast = ("source_bits",) if table in WITH_BITS else ()
    assert_parquet_equals_table(spark_flow_build["duck"], table, spark_flow_build["out"] / table, cast=cast)


@pytest.mark.spark
def test_the_spark_flow_step_writes_the_duckdb_steps_tables() -> None:
    assert sorted(t.name for t in spark_build.FLOWS.tables) == sorted(TABLES)


@pytest.mark.spark
def test_the_compared_flows_cover_every_level_and_several_sources(spark_flow_build: dict[str, Path]) -> None:
    """What the comparison must exercise: edges at every level, and ``source_bits`` with more than one bit set."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{spark_flow_build['duck']}' AS d (READ_ONLY)")
    levels = {r[0] for r in con.execute("SELECT DISTINCT level FROM d.flows").fetchall()}
    assert levels == set(FLOW_LEVELS)
    most = con.execute("SELECT max(bit_count(source_bits)) FROM d.flows_all_time").fetchone()
    assert most is not None and most[0] >= 2, most


@pytest.mark.spark
def test_source_bits_on_spark_are_duckdbs_bitstring_agg_and_bit_or(spark: object) -> None:
    """The two BIT aggregates in Spark's spelling give DuckDB's bits as text, set bits at either end included."""
    sql = ("SELECT g, bitstring_agg(b, 0, 4)::VARCHAR AS bits "
           "FROM (VALUES (1, 0), (1, 4), (1, 4), (2, 2), (3, 0), (3, 1), (3, 2), (3, 3), (3, 4)) AS t(g, b) "
           "GROUP BY g ORDER BY g")
    duck = duckdb.sql(sql).fetchall()
    ours = [tuple(r) for r in spark.sql(spark_flows.duckdb_to_spark(sql.replace("::VARCHAR", ""))).collect()]  # type: ignore[attr-defined]
    assert ours == duck == [(1, "10001"), (2, "00100"), (3, "11111")]
    ored = ("SELECT bit_or(source_bits)::VARCHAR AS source_bits FROM (SELECT g, bitstring_agg(b, 0, 4) AS source_bits "
            "FROM (VALUES (1, 0), (1, 4), (1, 4), (2, 2), (3, 0), (3, 1), (3, 2), (3, 3), (3, 4)) AS t(g, b) "
            "WHERE g < 3 GROUP BY g)")
    spark_ored = spark_flows.duckdb_to_spark(ored.replace("::VARCHAR", ""))
    assert duckdb.sql(ored).fetchall() == [tuple(r) for r in spark.sql(spark_ored).collect()] == [("10101",)]  # type: ignore[attr-defined]
