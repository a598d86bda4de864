"""The corridor tables from Spark (``pipelines/build/spark_corridors.py``) equal the DuckDB build's, row for row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.support.frames import assert_parquet_equals_table

#: The corridor step's tables, and ``route_shifts`` (edge rows from the flow step, segment rows from this one).
TABLES = ("corridor_paths", "corridor_segments", "route_shifts")


@pytest.fixture(scope="module")
def built(spark_flow_build: dict[str, Path]) -> dict[str, Path]:
    """The flow and corridor steps on both engines (``conftest.spark_flow_build``)."""
    return spark_flow_build


@pytest.mark.spark
@pytest.mark.parametrize("table", TABLES)
def test_spark_corridor_table_equals_duckdb_table(built: dict[str, Path], table: str) -> None:
    assert_parquet_equals_table(built["duck"], table, built["out"] / table)


@pytest.mark.spark
def test_the_compared_route_shifts_hold_edges_and_segments_that_shifted(built: dict[str, Path]) -> None:
    """The comparison covers both kinds of row and tests that found a shift (not only 'steady')."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{built['duck']}' AS d (READ_ONLY)")
    kinds = dict(con.execute("SELECT kind, count(*) FILTER (WHERE shift <> 'steady') FROM d.route_shifts GROUP BY kind").fetchall())
    assert set(kinds) == {"edge", "segment"} and min(kinds.values()) > 0, kinds


@pytest.mark.spark
def test_the_compared_paths_cover_out_of_state_origins_and_long_routes(built: dict[str, Path]) -> None:
    """The fixture routes what the Spark side must get right: entry points and many-segment paths."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{built['duck']}' AS d (READ_ONLY)")
    outside, longest = con.execute(
        "SELECT count(DISTINCT origin_id) FILTER (WHERE origin_id LIKE '%@%'), max(seq) FROM d.corridor_paths"
    ).fetchone() or (0, 0)
    assert outside > 0 and longest >= 10, (outside, longest)


@pytest.mark.spark
def test_flow_points_round_alike_on_both_engines(spark: Any) -> None:  # noqa: F811
    """Halves that DuckDB's and Spark's ``round()`` settle differently round alike in the corridor step's text."""
    from pipelines.build.corridors import _rounded

    values = [25.025, -91.835, -8.805, -115.005, 1.005, 34.125, -118.2437, 37.77]
    listed = ", ".join(f"({v!r}::DOUBLE)" for v in values)

    def both(expr: str) -> tuple[list[float], list[float]]:
        # a generated list (the test's own values as a VALUES list) in text both engines run, so no parameters
        sql = f"SELECT {expr} AS r FROM (VALUES {listed}) AS t(x)"  # noqa: S608 (generated VALUES list)
        return [r[0] for r in duckdb.sql(sql).fetchall()], [r["r"] for r in spark.sql(sql).collect()]

    duck, spark_values = both("round(x, 2)")
    assert duck != spark_values, "round() now agrees on halves: the shared expression may be needless"
    duck, spark_values = both(_rounded("x"))
    assert duck == spark_values
    assert duck[:2] == [25.03, -91.83]  # half up, as floor(x * 100 + 0.5) gives
