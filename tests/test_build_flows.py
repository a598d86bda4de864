"""Tests for pipelines/build/flows.py: flows, location totals, coordination pairs, route shifts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from geo import grid, reference
from pipelines.build import flows as build_flows
from routes import warehouse
from tests.support.flow_records import flow_record, write_flow_warehouse
from tests.support.warehouse_fixture import make_records

COUNT_KEYS = ["month", "trafficking_type", "origin_id", "dest_id"]


def _flows(path: Path, level: str) -> pd.DataFrame:
    with warehouse.open_snapshot(path=path) as con:
        return con.execute("SELECT * FROM flows WHERE level = ?", [level]).df()


@pytest.fixture(scope="module")
def fixture_records() -> pd.DataFrame:
    return make_records(1200, seed=5)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, fixture_records: pd.DataFrame) -> Path:
    return write_flow_warehouse(tmp_path_factory.mktemp("flows") / "w.duckdb", fixture_records)


# ------------------------------------------------------------- a hand-made input

DIMS = None


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [
        # Sacramento → Los Angeles: 3 records, 2 sources, 1 tip + 2 confirmed, 5 victims
        flow_record(1, origin="06067", dest="06037", kind="tip", victims=1, indicators=("drugs",)),
        flow_record(2, origin="06067", dest="06037", kind="incident", source="lapd", victims=3),
        flow_record(3, origin="06067", dest="06037", kind="recovery", source="lapd", victims=1,
                indicators=("drugs", "online_ads")),
        # Fresno → Alameda, labour, another month
        flow_record(4, origin="06019", dest="06001", month="2025-07-01", ttype="labor", kind="service"),
        # out of state: Las Vegas, Reno, Nevada, Mexico (country), Tijuana
        flow_record(5, origin=None, dest="06037", state="NV", country="US", origin_latlng=(36.17, -115.14)),
        flow_record(6, origin=None, dest="06061", state="NV", country="US", origin_latlng=(39.53, -119.81)),
        flow_record(7, origin=None, dest="06037", state="NV", country="US", origin_latlng=(39.3, -116.6)),
        flow_record(8, origin=None, dest="06073", country="MX", origin_latlng=(23.6, -102.5)),
        flow_record(9, origin=None, dest="06037", country="MX", origin_latlng=(32.51, -117.04)),
        # no origin: not a flow
        flow_record(10, origin=None, dest="06037"),
    ]
    return write_flow_warehouse(tmp_path_factory.mktemp("hand") / "w.duckdb", pd.DataFrame(rows))


def test_hand_made_edge_counts(hand_made: Path) -> None:
    county = _flows(hand_made, "county").set_index(["origin_id", "dest_id"])
    edge = county.loc[("06067", "06037")]
    assert (edge["records"], edge["victims"], edge["sources"]) == (3, 5, 2)
    assert (edge["tips"], edge["confirmed"], edge["incidents"], edge["recoveries"]) == (1, 2, 1, 1)
    assert list(edge["source_ids"]) == ["hotline", "lapd"]
    assert edge["share_drugs"] == pytest.approx(2 / 3, abs=1e-4)
    assert edge["share_online_ads"] == pytest.approx(1 / 3, abs=1e-4)
    assert edge["origin_name"] == "Sacramento" and edge["dest_name"] == "Los Angeles"
    assert county["records"].sum() == 9  # record 10 has no origin


def test_out_of_state_origins_appear_once_at_a_sensible_entry(hand_made: Path) -> None:
    for level in ("res6", "res5", "res4", "county", "region", "task_force"):
        flows = _flows(hand_made, level)
        outside = flows[flows["origin_kind"].isin(["state", "country"])]
        assert outside["records"].sum() == 5, level
    county = _flows(hand_made, "county")
    entry = county.set_index("origin_id")
    assert set(county.loc[county["origin_kind"] == "state", "origin_id"]) == {
        "US-NV@primm", "US-NV@truckee"
    }
    assert entry.loc["US-NV@truckee", "dest_id"] == "06061"   # Reno → Placer via Truckee
    assert set(county.loc[county["origin_kind"] == "country", "origin_id"]) == {"MX@san_ysidro"}
    assert entry.loc["US-NV@truckee", "origin_lat"] == pytest.approx(39.5)
    assert county.loc[county["origin_id"] == "US-NV@primm", "records"].sum() == 2


def test_cell_levels_use_the_parents_of_the_records_cells(hand_made: Path) -> None:
    res4 = _flows(hand_made, "res4")
    sac = reference.load_counties().set_index("county_fips").geometry["06067"].representative_point()
    expected = grid.cell_to_parent(grid.latlng_to_cell(sac.y, sac.x, 6), 4)
    assert expected in set(res4["origin_cell"].dropna().astype("int64"))
    assert (res4["origin_id"].str.len() > 0).all()


# ------------------------------------------------------------- independent pandas computation


def _pandas_edges(records: pd.DataFrame, level: str) -> pd.DataFrame:
    """The same edges from plain pandas (in-state origins only)."""
    flows = records[records["origin_county_fips"].notna() & records["dest_county_fips"].notna()].copy()
    if level in ("res4", "res5", "res6"):
        res = int(level[-1])
        flows = flows[(flows["origin_res"].astype(float) >= res) & (flows["dest_res"].astype(float) >= res)]
        to_hex = lambda c: format(grid.cell_to_parent(int(c), res), "x")  # noqa: E731
        flows["origin_id"] = flows["origin_cell"].map(to_hex)
        flows["dest_id"] = flows["dest_cell"].map(to_hex)
    else:
        column = {"county": "county_fips", "region": "region", "task_force": "task_force"}[level]
        flows["origin_id"] = flows[f"origin_{column}"]
        flows["dest_id"] = flows[f"dest_{column}"]
    flows["month"] = pd.to_datetime(flows["month"])
    flows["is_tip"] = flows["record_type"].eq("tip")
    flows["is_confirmed"] = flows["record_type"].isin(["incident", "recovery"])
    out = flows.groupby(COUNT_KEYS).agg(
        records=("record_id", "size"), victims=("victim_count", "sum"),
        sources=("source_id", "nunique"), tips=("is_tip", "sum"), confirmed=("is_confirmed", "sum"),
    )
    return out.reset_index().sort_values(COUNT_KEYS, ignore_index=True)


@pytest.mark.parametrize("level", ["county", "region", "task_force", "res6", "res5", "res4"])
def test_build_matches_an_independent_pandas_computation(
    built: Path, fixture_records: pd.DataFrame, level: str
) -> None:
    expected = _pandas_edges(fixture_records, level)
    flows = _flows(built, level)
    flows = flows[flows["origin_kind"] != "state"]
    flows = flows[flows["origin_kind"] != "country"]
    # cell rows are split by the records' counties: add counts, unite the sources
    grouped = flows.groupby(COUNT_KEYS)
    got = grouped[["records", "victims", "tips", "confirmed"]].sum()
    got.insert(2, "sources", grouped["source_ids"].agg(lambda ids: len(set().union(*map(set, ids)))))
    got = got.reset_index()
    got["month"] = pd.to_datetime(got["month"])
    got = got.sort_values(COUNT_KEYS, ignore_index=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_out_of_state_fixture_origins_are_counted_once(built: Path, fixture_records: pd.DataFrame) -> None:
    outside = fixture_records["origin_state"].isin(["NV", "AZ"]) | fixture_records["origin_country"].eq("MX")
    outside &= fixture_records["origin_county_fips"].isna()
    for level in ("county", "res6"):
        flows = _flows(built, level)
        got = flows.loc[flows["origin_kind"].isin(["state", "country"]), "records"].sum()
        assert got == outside.sum()
    county = _flows(built, "county")
    entries = county.groupby("origin_id")["origin_entry"].first()
    assert set(entries[entries.index.str.startswith("US-NV")]) <= {"primm", "truckee", "needles"}
    assert set(entries[entries.index.str.startswith("MX")]) <= {"san_ysidro", "otay_mesa", "calexico"}


def test_location_totals_agree_with_flows(built: Path) -> None:
    with warehouse.open_snapshot(path=built) as con:
        totals = con.execute(
            "SELECT location_id, sum(incoming) AS incoming, sum(outgoing) AS outgoing, "
            "sum(internal) AS internal FROM location_totals WHERE level = 'county' GROUP BY 1"
        ).df().set_index("location_id")
    flows = _flows(built, "county")
    cross = flows[flows["origin_id"] != flows["dest_id"]]
    same = flows[flows["origin_id"] == flows["dest_id"]]
    assert (totals["incoming"].reindex(cross.groupby("dest_id")["records"].sum().index)
            == cross.groupby("dest_id")["records"].sum()).all()
    assert (totals["outgoing"].reindex(cross.groupby("origin_id")["records"].sum().index)
            == cross.groupby("origin_id")["records"].sum()).all()
    assert totals["internal"].sum() == same["records"].sum()


def test_coordination_pairs_cross_task_forces_and_name_both(built: Path) -> None:
    with warehouse.open_snapshot(path=built) as con:
        pairs = con.sql("SELECT * FROM coordination_pairs").df()
    assert (pairs["origin_task_force"] != pairs["dest_task_force"]).all()
    assert pairs[["origin_task_force_name", "dest_task_force_name", "origin_name", "dest_name"]].notna().all().all()
    flows = _flows(built, "county")
    crossing = flows[(flows["origin_kind"] == "county") & (flows["origin_task_force"] != flows["dest_task_force"])]
    for level in ("county", "region", "task_force"):
        assert pairs.loc[pairs["level"] == level, "records"].sum() == crossing["records"].sum()


# ------------------------------------------------------------- route shifts


def test_classify_shifts_uses_the_exact_conditional_test() -> None:
    frame = pd.DataFrame({"recent": [30, 0, 5, 12, 2], "baseline": [10, 40, 20, 0, 80]})
    out = build_flows.classify_shifts(frame, recent_days=90, baseline_days=365)
    p0 = 90 / 455
    for row in out.itertuples():
        assert row.p_value == pytest.approx(stats.binomtest(row.recent, row.recent + row.baseline, p0).pvalue)
    assert out["shift"].tolist() == ["growing", "gone", "steady", "new", "fading"]
    assert np.all(out["q_value"] >= out["p_value"])


def test_a_planted_new_route_is_new_and_a_stopped_one_gone(tmp_path: Path, fixture_records: pd.DataFrame) -> None:
    base = fixture_records.copy()
    new = [flow_record(100 + i, origin="06015", dest="06003", month="2025-11-01") for i in range(15)]
    old = [flow_record(200 + i, origin="06093", dest="06049", month=f"2025-0{1 + i % 6}-01") for i in range(60)]
    frame = pd.concat([base, pd.DataFrame(new + old)], ignore_index=True)
    path = write_flow_warehouse(tmp_path / "w.duckdb", frame)
    with warehouse.open_snapshot(path=path) as con:
        shifts = con.execute(
            "SELECT origin_id, dest_id, shift, recent, baseline FROM route_shifts "
            "WHERE kind = 'edge' AND level = 'county' AND trafficking_type = 'all'"
        ).df().set_index(["origin_id", "dest_id"])
        segments = con.execute("SELECT count(*) FROM route_shifts WHERE kind = 'segment'").fetchall()[0][0]
    assert shifts.loc[("06015", "06003"), "shift"] == "new"
    assert shifts.loc[("06093", "06049"), "shift"] == "gone"
    assert (shifts["shift"] == "steady").mean() > 0.9   # noise is not change
    assert segments > 0


def test_shift_windows_follow_the_data(built: Path) -> None:
    with warehouse.open_snapshot(path=built) as con:
        windows = build_flows.shift_windows(con)
    assert windows is not None
    assert windows["recent_start"] == date(2025, 10, 1)
    assert windows["baseline_start"] == date(2024, 10, 1)
    assert windows["baseline_days"] == 365
