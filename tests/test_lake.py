"""The Parquet lake: Hive-partitioned, atomic, read back equal by DuckDB and by Spark."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.build import lake
from pipelines.cli import main
from routes import warehouse
from routes.errors import RoutesError
from tests.support.frames import assert_same_rows
from tests.support.warehouse_fixture import make_small_warehouse

IDENTIFIERS = [
    ("hotline", "R000001", "phone", "tok-a", datetime(2026, 1, 2)),
    ("lapd", "R000002", "phone", "tok-b", None),
    ("lapd", "R000003", "email", "tok-c", datetime(2026, 1, 3)),
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small warehouse (with identifiers and a record with no month) and its lake."""
    tmp = tmp_path_factory.mktemp("lake")
    live = tmp / "w.duckdb"
    make_small_warehouse(live, n=800)
    with warehouse.write_snapshot(path=live) as con:
        con.executemany("INSERT INTO record_identifiers VALUES (?, ?, ?, ?, ?)", IDENTIFIERS)
        con.execute("UPDATE records SET month = NULL, occurred_at = NULL WHERE record_id = 'R000005'")
    lake.export_lake(tmp / "out" / "lake", warehouse_path=live)
    return live, tmp / "out" / "lake"


def test_layout_is_hive_partitioned_by_month_and_kind(exported: tuple[Path, Path]) -> None:
    _, out = exported
    months = sorted(p.name for p in (out / "records").iterdir())
    assert "month=2024-01-01" in months and "month=2025-12-01" in months
    assert "month=__HIVE_DEFAULT_PARTITION__" in months  # the record with no month
    assert len(months) == 24 + 1
    assert sorted(p.name for p in (out / "record_identifiers").iterdir()) == ["kind=email", "kind=phone"]
    assert [p.name for p in (out / "sources").iterdir()] == ["data_0.parquet"]
    manifest = json.loads((out / lake.MANIFEST).read_text())
    assert manifest["rows"] == {"records": 800, "record_identifiers": 3, "sources": 4}
    assert manifest["fingerprint"]["records_rows"] == "800"
    # No temporary directory is left beside the lake.
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_duckdb_reads_the_lake_back_equal(exported: tuple[Path, Path]) -> None:
    live, out = exported
    con = duckdb.connect()
    con.execute(f"ATTACH '{live}' AS w (READ_ONLY)")
    for table in lake.LAKE_TABLES:
        con.read_parquet(f"{out / table}/**/*.parquet", hive_partitioning=True).create_view(f"lake_{table}")
        assert_same_rows(con, f"w.{table}", f"lake_{table}")
    assert con.execute("SELECT typeof(month) FROM lake_records LIMIT 1").fetchone() == ("DATE",)


def test_export_replaces_an_old_lake_and_keeps_it_when_it_fails(
    exported: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, _ = exported
    out = tmp_path / "lake"
    lake.export_lake(out, warehouse_path=live)
    before = (out / lake.MANIFEST).read_text()
    original = lake._copy_table

    def fail_on_sources(con: Any, table: str, target: Path, partition: str | None) -> int:
        if table == "sources":
            raise OSError("disk full")
        return original(con, table, target, partition)

    monkeypatch.setattr(lake, "_copy_table", fail_on_sources)
    with pytest.raises(OSError, match="disk full"):
        lake.export_lake(out, warehouse_path=live)
    assert (out / lake.MANIFEST).read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake"]
    monkeypatch.undo()
    assert main(["lake", "export", "--out", str(out), "--warehouse", str(live)]) == 0
    assert json.loads((out / lake.MANIFEST).read_text())["exported_at"] >= json.loads(before)["exported_at"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake"]


def test_export_will_not_replace_a_folder_that_is_not_a_lake(exported: tuple[Path, Path], tmp_path: Path) -> None:
    live, _ = exported
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    with pytest.raises(RoutesError, match="not a Routes lake"):
        lake.export_lake(tmp_path / "precious", warehouse_path=live)
    assert (tmp_path / "precious" / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious"]


@pytest.mark.spark
def test_spark_reads_the_lake_back_equal(exported: tuple[Path, Path], spark: Any, tmp_path: Path) -> None:
    """Spark opens the lake as it is; what it read, written back out, equals the warehouse."""
    live, out = exported
    frame = spark.read.parquet(str(out / "records"))
    assert dict(frame.dtypes)["month"] == "date"  # inferred from the directory names
    assert frame.count() == 800
    con = duckdb.connect()
    con.execute(f"ATTACH '{live}' AS w (READ_ONLY)")
    for table in lake.LAKE_TABLES:
        spark.read.parquet(str(out / table)).write.parquet(str(tmp_path / table))
        con.read_parquet(f"{tmp_path / table}/*.parquet").create_view(f"spark_{table}")
        assert_same_rows(con, f"w.{table}", f"spark_{table}")
