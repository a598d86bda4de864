"""The corridor tables from Spark (``pipelines/spark_corridors.py``) equal the DuckDB build's, row for row."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import build, lake, spark_build, spark_corridors
from tests.support.frames import assert_parquet_equals_table
from tests.support.warehouse_fixture import make_small_warehouse

TABLES = ("corridor_paths", "corridor_segments")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> dict[str, Path]:  # noqa: F811
    """A small warehouse with DuckDB's flow and corridor steps run, and Spark's corridor tables of its lake as Parquet."""
    tmp = tmp_path_factory.mktemp("spark_corridors")
    live = tmp / "routes.duckdb"
    make_small_warehouse(live, n=1500)
    lake.export_lake(tmp / "lake", warehouse_path=live)
    duck = tmp / "duckdb.duckdb"
    shutil.copyfile(live, duck)
    build.build_warehouse(warehouse_path=duck, steps=("pipelines.build_flows", "pipelines.build_corridors"))
    spark_build.register_lake(spark, tmp / "lake")
    for name, frame in spark_corridors.corridor_tables(spark).items():
        frame.write.parquet(str(tmp / "out" / name))
    return {"duck": duck, "out": tmp / "out"}


@pytest.mark.spark
@pytest.mark.parametrize("table", TABLES)
def test_spark_corridor_table_equals_duckdb_table(built: dict[str, Path], table: str) -> None:
    assert_parquet_equals_table(built["duck"], table, built["out"] / table)


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
    from pipelines.build_corridors import _rounded

    values = [25.025, -91.835, -8.805, -115.005, 1.005, 34.125, -118.2437, 37.77]
    listed = ", ".join(f"({v!r}::DOUBLE)" for v in values)

    def both(expr: str) -> tuple[list[float], list[float]]:
        sql = f"SELECT {expr} AS r FROM (VALUES {listed}) AS t(x)"  # noqa: S608 (fixed text)
        return [r[0] for r in duckdb.sql(sql).fetchall()], [r["r"] for r in spark.sql(sql).collect()]

    duck, spark_values = both("round(x, 2)")
    assert duck != spark_values, "round() now agrees on halves: the shared expression may be needless"
    duck, spark_values = both(_rounded("x"))
    assert duck == spark_values
    assert duck[:2] == [25.03, -91.83]  # half up, as floor(x * 100 + 0.5) gives
