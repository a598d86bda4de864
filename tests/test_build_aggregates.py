"""pipelines/build_aggregates.py: cell and county pre-aggregates."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from geo import grid
from pipelines import build_aggregates
from routes import warehouse
from tests.warehouse_fixture import make_small_warehouse


@pytest.fixture
def built(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    make_small_warehouse(path, n=3000, seed=1)
    with warehouse.write_snapshot(path=path) as con:
        build_aggregates.build(con)
    return path


def test_build_writes_both_tables_and_is_idempotent(built: Path) -> None:
    with warehouse.open_snapshot(path=built) as con:
        first = {t: con.execute(f"SELECT count(*), sum(records) FROM {t}").fetchone() for t in build_aggregates.TABLES}  # noqa: S608
    with warehouse.write_snapshot(path=built) as con:
        counts = build_aggregates.build(con)
    with warehouse.open_snapshot(path=built) as con:
        second = {t: con.execute(f"SELECT count(*), sum(records) FROM {t}").fetchone() for t in build_aggregates.TABLES}  # noqa: S608
    assert first == second
    assert counts == {t: second[t][0] for t in build_aggregates.TABLES}


@pytest.mark.parametrize("res", grid.MAP_RESOLUTIONS)
def test_cells_hold_only_records_precise_enough(built: Path, res: int) -> None:
    with warehouse.open_snapshot(path=built) as con:
        expected = con.execute(
            "SELECT count(*), coalesce(sum(victim_count), 0) FROM records WHERE dest_cell IS NOT NULL AND dest_res >= ?",
            [res],
        ).fetchone()
        got = con.execute("SELECT sum(records), sum(victims) FROM cell_counts WHERE res = ?", [res]).fetchone()
        bad = con.execute(
            "SELECT count(*) FROM cell_counts WHERE res = ? AND ((cell >> 52) & 15) <> res", [res]
        ).fetchone()[0]
    assert tuple(int(x or 0) for x in got) == tuple(int(x) for x in expected)
    assert bad == 0


def test_res9_cells_come_only_from_point_precision(built: Path) -> None:
    with warehouse.open_snapshot(path=built) as con:
        points = con.execute("SELECT count(*) FROM records WHERE dest_precision = 'point'").fetchone()[0]
        at9 = con.execute("SELECT sum(records) FROM cell_counts WHERE res = 9").fetchone()[0]
    assert at9 == points


def test_county_month_counts_cover_every_record(built: Path) -> None:
    with warehouse.open_snapshot(path=built) as con:
        total = con.execute("SELECT count(*) FROM records WHERE dest_county_fips IS NOT NULL").fetchone()[0]
        got = con.execute("SELECT sum(records) FROM county_month_counts").fetchone()[0]
        coarse7 = con.execute(
            "SELECT sum(records) FROM county_month_counts WHERE dest_res IS NULL OR dest_res < 7"
        ).fetchone()[0]
        place = con.execute("SELECT count(*) FROM records WHERE dest_res < 7").fetchone()[0]
    assert got == total
    assert coarse7 == place


def test_build_on_an_empty_warehouse(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    warehouse.ensure_schema(con)
    assert build_aggregates.build(con) == {"cell_counts": 0, "county_month_counts": 0}
    con.close()
