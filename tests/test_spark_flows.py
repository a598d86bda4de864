"""The flow tables Spark builds so far (``pipelines/spark_flows.py``) equal the DuckDB build's, row for row."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import build, lake, spark_build, spark_flows
from routes.contract.flow_tables import (
    FLOW_LEVELS,
)
from tests.support.frames import assert_parquet_equals_table, assert_same_rows
from tests.support.warehouse_fixture import make_small_warehouse

TABLES = ("flow_sources", "flow_facts", "flow_area_facts", "flow_facts_all_time")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> dict[str, Path]:
    """A small warehouse with DuckDB's flow step run, and Spark's flow tables of its lake as Parquet."""
    tmp = tmp_path_factory.mktemp("spark_flows")
    live = tmp / "routes.duckdb"
    make_small_warehouse(live, n=1500)
    lake.export_lake(tmp / "lake", warehouse_path=live)
    duck = tmp / "duckdb.duckdb"
    shutil.copyfile(live, duck)
    build.build_warehouse(warehouse_path=duck, steps=("pipelines.build_flows",))
    spark_build.register_lake(spark, tmp / "lake")
    for name, frame in spark_flows.flow_fact_tables(spark).items():
        frame.write.parquet(str(tmp / "out" / name))  # type: ignore[attr-defined]
    spark_flows.flow_edges(spark).write.parquet(str(tmp / "out" / "edges"))  # type: ignore[attr-defined]
    return {"duck": duck, "out": tmp / "out"}


@pytest.mark.spark
@pytest.mark.parametrize("table", TABLES)
def test_spark_flow_table_equals_duckdb_table(built: dict[str, Path], table: str) -> None:
    assert_parquet_equals_table(built["duck"], table, built["out"] / table)


@pytest.mark.spark
def test_spark_flow_edges_equal_the_duckdb_flows_at_every_level(built: dict[str, Path]) -> None:
    """The edges of every level: the ``flows`` table's columns but names, coordinates, shares and ``source_bits``."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{built['duck']}' AS d (READ_ONLY)")
    con.execute(f"CREATE VIEW s AS SELECT * FROM read_parquet('{built['out'] / 'edges'}/*.parquet')")  # noqa: S608 (paths from the test)
    columns = ", ".join(f'"{r[0]}"' for r in con.execute("DESCRIBE s").fetchall())
    con.execute(f"CREATE VIEW e AS SELECT {columns} FROM d.flows")  # noqa: S608 (names from the table)
    levels = {r[0] for r in con.execute("SELECT DISTINCT level FROM e").fetchall()}
    assert levels == set(FLOW_LEVELS), f"DuckDB built edges at {sorted(levels)} only: the test would prove less"
    assert_same_rows(con, "e", "s")
