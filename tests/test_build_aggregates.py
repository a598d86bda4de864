"""pipelines/build/aggregates.py: cell and county pre-aggregates."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from geo import grid
from pipelines.build import aggregates as build_aggregates
from routes import warehouse
from routes.contract.sql import compose, ident
from tests.support.warehouse_fixture import make_small_warehouse


@pytest.fixture
def built(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    make_small_warehouse(path, n=3000, seed=1)
    with warehouse.write_snapshot(path=path) as con:
        build_aggregates.build(con)
    return path


COUNT_TABLES = [t for t in build_aggregates.TABLES if t not in ("cell_build_state", "indicator_sets")]
_COUNT_SQL = {t: compose("SELECT count(*), sum(records) FROM {t}", t=ident(t)) for t in COUNT_TABLES}


def test_build_writes_every_table_and_is_idempotent(built: Path) -> None:
    with warehouse.open_snapshot(path=built) as con:
        first = {t: con.execute(_COUNT_SQL[t]).fetchall()[0] for t in COUNT_TABLES}
    with warehouse.write_snapshot(path=built) as con:
        counts = build_aggregates.build(con)
    with warehouse.open_snapshot(path=built) as con:
        second = {t: con.execute(_COUNT_SQL[t]).fetchall()[0] for t in COUNT_TABLES}
        sets = con.execute("SELECT count(*) FROM indicator_sets").fetchone()
        temp = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('_cell_indicator_base', '_indicator_set_base')"
        ).fetchone()
    assert first == second
    assert sets is not None and sets[0] > 0
    assert counts == {**{t: second[t][0] for t in COUNT_TABLES}, "indicator_sets": sets[0], "cell_build_state": 1}
    assert temp == (0,)


def test_indicator_sets_cover_every_record_with_a_cell_and_an_indicator(built: Path) -> None:
    with warehouse.open_snapshot(path=built) as con:
        expected = con.execute(
            "SELECT count(*), coalesce(sum(victim_count), 0) FROM records "
            "WHERE dest_cell IS NOT NULL AND len(list_distinct(indicators)) > 0"
        ).fetchone()
        got = con.execute("SELECT sum(records), sum(victims) FROM cell_indicator_sets").fetchone()
        per_indicator = con.execute(
            "SELECT value, sum(c.records) FROM cell_indicator_sets AS c JOIN ("
            "SELECT set_id, unnest(indicators) AS value FROM indicator_sets) USING (set_id) GROUP BY ALL ORDER BY 1"
        ).fetchall()
        from_records = con.execute(
            "SELECT value, count(*) FROM (SELECT unnest(list_distinct(indicators)) AS value FROM records "
            "WHERE dest_cell IS NOT NULL) WHERE value IS NOT NULL GROUP BY ALL ORDER BY 1"
        ).fetchall()
        lists = con.execute("SELECT count(*), count(DISTINCT indicators) FROM indicator_sets").fetchone()
    assert got is not None and expected is not None and expected[0] > 0
    assert tuple(int(x) for x in got) == tuple(int(x) for x in expected)
    assert per_indicator == from_records
    assert lists is not None and lists[0] == lists[1]


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
        ).fetchall()[0][0]
    assert got is not None and expected is not None
    assert tuple(int(x or 0) for x in got) == tuple(int(x) for x in expected)
    assert bad == 0


def test_res9_cells_come_only_from_point_precision(built: Path) -> None:
    with warehouse.open_snapshot(path=built) as con:
        points = con.execute("SELECT count(*) FROM records WHERE dest_precision = 'point'").fetchall()[0][0]
        at9 = con.execute("SELECT sum(records) FROM cell_counts WHERE res = 9").fetchall()[0][0]
    assert at9 == points


def test_county_month_counts_cover_every_record(built: Path) -> None:
    with warehouse.open_snapshot(path=built) as con:
        total = con.execute("SELECT count(*) FROM records WHERE dest_county_fips IS NOT NULL").fetchall()[0][0]
        got = con.execute("SELECT sum(records) FROM county_month_counts").fetchall()[0][0]
        coarse7 = con.execute(
            "SELECT sum(records) FROM county_month_counts WHERE dest_res IS NULL OR dest_res < 7"
        ).fetchall()[0][0]
        place = con.execute("SELECT count(*) FROM records WHERE dest_res < 7").fetchall()[0][0]
    assert got == total
    assert coarse7 == place


def test_build_on_an_empty_warehouse(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    warehouse.ensure_schema(con)
    counts = build_aggregates.build(con)
    assert counts == {**{t: 0 for t in build_aggregates.TABLES}, "cell_build_state": 1}
    con.close()


@pytest.mark.parametrize("res", grid.MAP_RESOLUTIONS)
def test_indicator_cells_count_each_record_once_per_indicator(built: Path, res: int) -> None:
    with warehouse.open_snapshot(path=built) as con:
        expected = dict(
            (name, (int(n), int(v)))
            for name, n, v in con.execute(
                "SELECT i, count(*), coalesce(sum(victim_count), 0) FROM "
                "(SELECT unnest(list_distinct(indicators)) AS i, victim_count FROM records "
                " WHERE dest_cell IS NOT NULL AND dest_res >= ?) GROUP BY i",
                [res],
            ).fetchall()
        )
        got = dict(
            (name, (int(n), int(v)))
            for name, n, v in con.execute(
                "SELECT indicator, sum(records), sum(victims) FROM cell_indicator_counts WHERE res = ? GROUP BY ALL",
                [res],
            ).fetchall()
        )
        motel_cells = con.execute(
            "SELECT sum(records) FROM cell_indicator_counts WHERE res = ? AND indicator = 'motel'", [res]
        ).fetchall()[0][0]
        motel_records = con.execute(
            "SELECT count(*) FROM records WHERE dest_cell IS NOT NULL AND dest_res >= ? "
            "AND list_has_any(indicators, ['motel'])",
            [res],
        ).fetchall()[0][0]
    assert got == expected and motel_cells == motel_records > 0


def test_county_indicator_counts_cover_every_record(built: Path) -> None:
    with warehouse.open_snapshot(path=built) as con:
        expected = con.execute(
            "SELECT count(*) FROM records WHERE dest_county_fips IS NOT NULL AND list_contains(indicators, 'drugs')"
        ).fetchall()[0][0]
        got = con.execute(
            "SELECT sum(records) FROM county_indicator_month_counts WHERE indicator = 'drugs'"
        ).fetchall()[0][0]
        state = con.execute("SELECT records_rows FROM cell_build_state").fetchall()[0][0]
        rows = con.execute("SELECT count(*) FROM records").fetchall()[0][0]
    assert got == expected > 0
    assert state == rows
