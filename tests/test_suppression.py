"""Tests of query/suppression.py: primary, complementary, roll-up and the filter guard."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo import grid
from query.filters import Filters
from query.suppression import (
    COUNT_COLUMNS,
    FilterIsolationError,
    guard_filters,
    max_visible_count_below_k,
    protect_breakdown,
    roll_up_cells,
    suppress_small_counts,
)
from routes import warehouse
from routes.contract.sql import compose
from routes.errors import AccessDenied
from tests.support.warehouse_fixture import SPARSE_COUNTY, SPARSE_RECORDS, make_small_warehouse

K = 11


# ----------------------------------------------------------------- primary + complement


def test_primary_hides_one_to_k_minus_one_and_keeps_zero() -> None:
    f = pd.DataFrame({"records": [0, 1, 10, 11, 500]})
    out = suppress_small_counts(f, k=K)
    assert out["records"].isna().tolist() == [False, True, True, False, False]
    assert out["records"].iloc[0] == 0
    assert out["suppressed"].tolist() == [False, True, True, False, False]


def test_one_hidden_part_hides_the_next_smallest() -> None:
    f = pd.DataFrame({"county": list("abcd"), "records": [3, 40, 15, 12]})
    out = suppress_small_counts(f, k=K)
    # total 70 minus the visible parts must not give 3
    assert out["records"].isna().tolist() == [True, False, False, True]
    hidden_sum = 70 - int(out["records"].sum())
    assert hidden_sum >= K


def test_two_small_parts_whose_sum_is_under_k_pull_in_a_third() -> None:
    f = pd.DataFrame({"records": [2, 3, 50, 20]})
    out = suppress_small_counts(f, k=K)
    assert out["records"].isna().tolist() == [True, True, False, True]


def test_secondary_columns_get_their_own_complement() -> None:
    f = pd.DataFrame({"records": [20, 30, 40], "victims": [4, 30, 50]})
    out = suppress_small_counts(f, k=K)
    assert out["records"].notna().all()
    assert out["victims"].isna().tolist() == [True, True, False]
    assert not out["suppressed"].any()


def test_margins_protect_both_directions_of_a_table() -> None:
    f = pd.DataFrame(
        {
            "county": ["a", "a", "b", "b", "c", "c"],
            "month": ["m1", "m2", "m1", "m2", "m1", "m2"],
            "records": [3, 30, 25, 40, 50, 60],
        }
    )
    out = protect_breakdown(f, k=K, margins=[["county"], ["month"]])
    for margin in ("county", "month"):
        raw = f.groupby(margin)["records"].sum()
        shown = out.groupby(margin)["records"].sum()
        recovered = raw - shown
        assert ((recovered == 0) | (recovered >= K)).all(), (margin, recovered)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=12),
    st.integers(min_value=K, max_value=20),
)
def test_no_total_minus_visible_parts_gives_a_small_count(values: list[int], k: int) -> None:
    f = pd.DataFrame({"records": values, "victims": [v * 2 for v in values]})
    out = suppress_small_counts(f, k=k)
    assert max_visible_count_below_k(out, k=k) is None
    for column in ("records", "victims"):
        total = int(f[column].sum())
        recovered = total - int(out[column].sum())
        # a total under k is itself suppressed wherever it is shown, so all may hide
        assert recovered == 0 or recovered >= k or (total < k and recovered == total)
    assert out.loc[out["suppressed"], ["records", "victims"]].isna().all().all()


def test_count_columns_are_documented_names() -> None:
    assert "records" in COUNT_COLUMNS and "load" in COUNT_COLUMNS


def test_max_visible_count_below_k_finds_a_leak() -> None:
    assert max_visible_count_below_k(pd.DataFrame({"records": [12, 4, None]}), k=K) == 4
    assert max_visible_count_below_k(pd.DataFrame({"name": ["x"]}), k=K) is None


# ----------------------------------------------------------------------------- roll-up


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("wh") / "routes.duckdb"
    make_small_warehouse(path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT * FROM records").df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def warehouse_con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    path = tmp_path_factory.mktemp("whg") / "routes.duckdb"
    make_small_warehouse(path)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def _cells_at(records: pd.DataFrame, res: int) -> pd.DataFrame:
    frame = records.assign(
        cell=[
            grid.cell_to_parent(c, min(res, r)) if pd.notna(c) and c else None
            for c, r in zip(records["dest_cell"], records["dest_res"], strict=True)
        ]
    )
    return (
        frame.groupby(["cell", "dest_county_fips"], dropna=False)
        .agg(records=("record_id", "size"), victims=("victim_count", "sum"))
        .reset_index()
        .rename(columns={"dest_county_fips": "county_fips"})
    )


@pytest.mark.parametrize("res", [9, 7, 6])
def test_roll_up_keeps_every_record_once_and_shows_nothing_under_k(records: pd.DataFrame, res: int) -> None:
    cells = _cells_at(records, res)
    out = roll_up_cells(cells, k=K, min_res=4)
    assert max_visible_count_below_k(out, k=K) is None
    visible = out.loc[~out["suppressed"], "records"].astype(int)
    assert (visible >= K).all()
    hidden = len(records) - int(visible.sum())
    assert hidden == 0 or hidden >= K, "the statewide total minus the map gives a small count"
    cell_rows = out[out["level"] == "cell"]
    assert cell_rows["cell"].is_unique
    assert (cell_rows["res"] >= 4).all() and (cell_rows["res"] <= res).all()
    # a shown cell never overlaps a finer shown cell that is not a rolled-up residual
    assert set(out["level"]) <= {"cell", "county"}


def test_roll_up_moves_the_sparse_county_to_county_level_suppressed(records: pd.DataFrame) -> None:
    out = roll_up_cells(_cells_at(records, 9), k=K, min_res=4)
    sparse = out[out["county_fips"] == SPARSE_COUNTY]
    assert len(sparse) == 1
    row = sparse.iloc[0]
    assert row["level"] == "county" and bool(row["suppressed"]) and pd.isna(row["records"])


def test_roll_up_residual_of_a_parent_absorbs_the_smallest_sibling() -> None:
    parent = grid.latlng_to_cell(34.05, -118.25, 6)
    import h3

    children = sorted(h3.str_to_int(c) for c in h3.cell_to_children(h3.int_to_str(parent), 7))
    f = pd.DataFrame({"cell": children[:3], "county_fips": "06037", "records": [4, 12, 30]})
    out = roll_up_cells(f, k=K, min_res=6)
    shown = out[~out["suppressed"]]
    # 4 alone cannot stand: the 12 joins it in the parent's residual (16)
    assert sorted(shown["records"].astype(int)) == [16, 30]
    residual = shown[shown["rolled_up"]].iloc[0]
    assert residual["cell"] == parent and residual["res"] == 6


def test_roll_up_county_only_records_go_to_their_county() -> None:
    f = pd.DataFrame({"cell": [None, None], "county_fips": ["06037", "06001"], "records": [30, 20]})
    out = roll_up_cells(f, k=K, min_res=5)
    assert out["level"].tolist() == ["county", "county"]
    assert sorted(out["records"].astype(int)) == [20, 30]


def test_roll_up_names_a_missing_column() -> None:
    with pytest.raises(ValueError, match="'cell'"):
        roll_up_cells(pd.DataFrame({"records": [1]}), k=K, min_res=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=10_000), st.sampled_from([9, 8, 7]), st.sampled_from([4, 5, 6]))
def test_roll_up_random_subsets(records: pd.DataFrame, seed: int, res: int, min_res: int) -> None:
    rng = np.random.default_rng(seed)
    subset = records[rng.random(len(records)) < rng.uniform(0.01, 0.3)]
    out = roll_up_cells(_cells_at(subset, res), k=K, min_res=min_res)
    assert max_visible_count_below_k(out, k=K) is None
    hidden = len(subset) - int(out["records"].sum())
    assert hidden == 0 or hidden >= K or hidden == len(subset) < K


# ------------------------------------------------------------------------------- guard


def _count(con: duckdb.DuckDBPyConnection, filters: Filters) -> int:
    where, params = filters.where()
    return int(con.execute(compose("SELECT count(*) FROM records WHERE {where}", where=where), params).fetchone()[0])


def test_guard_refuses_two_overlapping_selections_that_isolate_the_sparse_county(
    warehouse_con: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(FilterIsolationError, match="county"):
        guard_filters(warehouse_con, Filters(counties=(SPARSE_COUNTY, "06005")), k=K)
    with pytest.raises(AccessDenied):  # callers may catch the broader error
        guard_filters(warehouse_con, Filters(counties=(SPARSE_COUNTY,)), k=K)


def test_guard_allows_whole_regions_and_task_forces(warehouse_con: duckdb.DuckDBPyConnection) -> None:
    # small counties are bundled within their task force first, so selecting whole
    # task forces or regions stays possible (the fixture's Region III as a whole is
    # under k, so its bundle must join another region's: that one is refused)
    guard_filters(warehouse_con, Filters(regions=("Region I",)), k=K)
    guard_filters(warehouse_con, Filters(regions=("Region I", "Region II")), k=K)
    guard_filters(warehouse_con, Filters(task_forces=("la", "orange")), k=K)
    with pytest.raises(FilterIsolationError, match="06111"):  # central coast (7) is bundled with Ventura
        guard_filters(warehouse_con, Filters(task_forces=("central_coast",)), k=K)
    guard_filters(warehouse_con, Filters(counties=("06037",)), k=K)
    guard_filters(warehouse_con, Filters(), k=K)


def test_guard_refuses_the_region_minus_the_sparse_county(warehouse_con: duckdb.DuckDBPyConnection) -> None:
    counties = warehouse_con.execute(
        "SELECT DISTINCT dest_county_fips FROM records WHERE dest_region = 'Region IV' AND dest_county_fips <> ?",
        [SPARSE_COUNTY],
    ).fetchall()
    with pytest.raises(FilterIsolationError):
        guard_filters(warehouse_con, Filters(counties=tuple(sorted(c for (c,) in counties))), k=K)


def _allowed(con: duckdb.DuckDBPyConnection, filters: Filters) -> bool:
    try:
        guard_filters(con, filters, k=K)
    except FilterIsolationError:
        return False
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_two_allowed_county_selections_differ_by_zero_or_k_or_more(
    warehouse_con: duckdb.DuckDBPyConnection, data: st.DataObject
) -> None:
    counties = [
        c for (c,) in warehouse_con.execute(
            "SELECT DISTINCT dest_county_fips FROM records WHERE dest_region IN ('Region IV', 'Region III') ORDER BY 1"
        ).fetchall()
    ]
    smaller = data.draw(st.sets(st.sampled_from(counties), min_size=1, max_size=6))
    extra = data.draw(st.sets(st.sampled_from(counties), min_size=1, max_size=4))
    ttype = data.draw(st.sampled_from([(), ("sex",), ("labor", "both")]))
    wide = Filters(counties=tuple(sorted(smaller | extra)), trafficking_types=ttype)
    narrow = Filters(counties=tuple(sorted(smaller)), trafficking_types=ttype)
    if _allowed(warehouse_con, wide) and _allowed(warehouse_con, narrow):
        difference = _count(warehouse_con, wide) - _count(warehouse_con, narrow)
        assert difference == 0 or difference >= K, (wide, narrow, difference)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_two_allowed_periods_differ_by_zero_or_k_or_more(
    warehouse_con: duckdb.DuckDBPyConnection, data: st.DataObject
) -> None:
    months = [date(2024 + (m // 12), m % 12 + 1, 1) for m in range(24)]
    a, b, c = sorted(data.draw(st.lists(st.sampled_from(months), min_size=3, max_size=3)))
    county = data.draw(st.sampled_from([(), ("06037",), ("06073",), ("06001",)]))
    wide = Filters(start=a, end=c, counties=county)
    narrow = Filters(start=a, end=b, counties=county)
    if _allowed(warehouse_con, wide) and _allowed(warehouse_con, narrow):
        difference = _count(warehouse_con, wide) - _count(warehouse_con, narrow)
        assert difference == 0 or difference >= K


def test_guard_statewide_minus_every_other_county_cannot_isolate(warehouse_con: duckdb.DuckDBPyConnection) -> None:
    everything = _count(warehouse_con, Filters())
    others = [
        c for (c,) in warehouse_con.execute(
            "SELECT DISTINCT dest_county_fips FROM records WHERE dest_county_fips <> ?", [SPARSE_COUNTY]
        ).fetchall()
    ]
    allowed_parts = [c for c in others if _allowed(warehouse_con, Filters(counties=(c,)))]
    recovered = everything - sum(_count(warehouse_con, Filters(counties=(c,))) for c in allowed_parts)
    assert recovered != SPARSE_RECORDS and (recovered == 0 or recovered >= K)


def test_guard_indicator_one_edit() -> None:
    con = duckdb.connect()
    warehouse.ensure_schema(con)
    rows = [(f"r{i}", ["motel"] if i < 40 else ["drugs"] if i < 45 else []) for i in range(65)]
    for record_id, indicators in rows:
        con.execute(
            "INSERT INTO records (source_id, record_id, batch_id, indicators) VALUES ('s', ?, 'b', ?)",
            [record_id, indicators],
        )
    guard_filters(con, Filters(indicators=("motel",)), k=K)
    # motel-or-drugs minus motel would be the 5 drugs-only records
    with pytest.raises(FilterIsolationError, match="indicator"):
        guard_filters(con, Filters(indicators=("motel", "drugs")), k=K)


def test_guard_names_bad_filters_type(tmp_path: Path) -> None:
    con = duckdb.connect()
    with pytest.raises(TypeError, match="'dict'"):
        guard_filters(con, {}, k=K)  # type: ignore[arg-type]
