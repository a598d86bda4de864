"""The release's pre-noise measurements from Spark (``pipelines/build/spark_release.py``) equal DuckDB's, row for row."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from pipelines.build import lake, spark_build, spark_release
from pipelines.build import release as build_release
from routes import warehouse
from tests.support.frames import assert_same_rows
from tests.support.warehouse_fixture import make_small_warehouse


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> dict[str, Any]:
    """A small warehouse, DuckDB's true counts of it, and Spark's of its lake."""
    tmp = tmp_path_factory.mktemp("spark_release")
    live = tmp / "routes.duckdb"
    make_small_warehouse(live, n=1500)
    with warehouse.write_snapshot(path=live) as con:
        # What the victims' clamp must treat alike: none, negative, above the cap.
        con.execute("UPDATE records SET victim_count = NULL WHERE record_id = 'R000010'")
        con.execute("UPDATE records SET victim_count = -3 WHERE record_id = 'R000011'")
        con.execute("UPDATE records SET victim_count = ? WHERE record_id = 'R000012'", [build_release.VICTIM_CAP + 7])
        # What the out-of-state key must treat alike: a US origin of unknown state, California without a county.
        for record_id, state in (("R000013", None), ("R000014", "CA")):
            con.execute(
                "UPDATE records SET origin_county_fips = NULL, origin_state = ?, origin_country = 'US' WHERE record_id = ?",
                [state, record_id],
            )
    lake.export_lake(tmp / "lake", warehouse_path=live)
    spark_build.register_lake(spark, tmp / "lake")
    with warehouse.open_snapshot(path=live) as con:
        duck = {name: con.execute(sql).df() for name, sql in build_release.TRUE_COUNT_SELECTS.items()}
    return {"duck": duck, "spark": spark_release.true_counts(spark)}


@pytest.mark.spark
@pytest.mark.parametrize("name", sorted(build_release.TRUE_COUNT_SELECTS))
def test_spark_true_counts_equal_duckdb_true_counts(counted: dict[str, Any], name: str) -> None:
    con = duckdb.connect()
    duck, spark = counted["duck"][name], counted["spark"][name]
    assert len(duck) > 0, f"the fixture gives no {name} counts: the comparison would prove nothing"
    con.register("d", duck)
    con.register("s", spark)
    assert_same_rows(con, "d", "s")

