"""``hotspot_classes`` from Spark (``pipelines/build/spark_hotspots.py``) equals the DuckDB build's, row for row."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import build
from pipelines.build import lake, spark_build, spark_hotspots
from routes import warehouse
from tests.support.frames import assert_same_rows
from tests.support.warehouse_fixture import make_small_warehouse


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> dict[str, Path]:  # noqa: F811
    """A small warehouse with DuckDB's hot-spot step run, and Spark's ``hotspot_classes`` of its lake as Parquet."""
    tmp = tmp_path_factory.mktemp("spark_hotspots")
    live = tmp / "routes.duckdb"
    make_small_warehouse(live, n=3000)
    with warehouse.write_snapshot(path=live) as con:
        # Plant hot spots (uniform records have none): a fifth of the records in one place
        # throughout, another fifth in a second place from 2025 on.
        for anchor, share, since in (("R000001", 0, None), ("R000002", 1, "2025-01-01")):
            con.execute("""
                UPDATE records SET dest_cell = a.dest_cell, dest_res = a.dest_res, dest_lat = a.dest_lat,
                    dest_lng = a.dest_lng, dest_county_fips = a.dest_county_fips,
                    dest_region = a.dest_region, dest_task_force = a.dest_task_force
                FROM (SELECT * FROM records WHERE record_id = ?) AS a
                WHERE hash(records.record_id) % 5 = ? AND (?::DATE IS NULL OR records.month >= ?::DATE)
                    AND records.record_id <> a.record_id
            """, [anchor, share, since, since])
    lake.export_lake(tmp / "lake", warehouse_path=live)
    duck = tmp / "duckdb.duckdb"
    shutil.copyfile(live, duck)
    build.build_warehouse(warehouse_path=duck, steps=("pipelines.build.hotspots",))
    spark_build.register_lake(spark, tmp / "lake")
    as_of = spark_hotspots.lake_data_as_of(tmp / "lake")
    spark_hotspots.hotspot_classes(spark, data_as_of=as_of).write.parquet(str(tmp / "out" / "hotspot_classes"))
    return {"duck": duck, "out": tmp / "out"}


@pytest.mark.spark
def test_spark_hotspot_classes_equal_the_duckdb_table(built: dict[str, Path]) -> None:
    con = duckdb.connect()
    con.execute(f"ATTACH '{built['duck']}' AS d (READ_ONLY)")
    con.read_parquet(f"{built['out'] / 'hotspot_classes'}/*.parquet").create_view("s")
    found = dict(con.execute("SELECT step, count(*) FILTER (WHERE pattern <> 'no_pattern') FROM d.hotspot_classes GROUP BY step").fetchall())
    assert set(found) == {"month", "quarter"} and min(found.values()) > 0, (
        f"DuckDB found hot spots per step {found}: the comparison would prove little"
    )
    # The records reach 2025-12-27; meta's data_as_of (2025-12-31), read from the lake's
    # manifest, completes December and the fourth quarter.
    last = dict(con.execute("SELECT step, max(last_period) FROM s GROUP BY step").fetchall())
    assert last == {"month": date(2025, 12, 1), "quarter": date(2025, 10, 1)}
    assert_same_rows(con, "d.hotspot_classes", "s")
    assert con.execute("DESCRIBE s").fetchall() == con.execute("DESCRIBE d.hotspot_classes").fetchall()
