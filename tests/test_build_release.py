"""The protected release: mechanism, consistency, noise reuse, the ledger and the budget cap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.build import build_warehouse
from pipelines.build import release as build_release
from pipelines.build.release import MEASUREMENTS, fit_to_parent, rho_of, scale_for
from query import release
from routes import warehouse
from routes.contract.sql import compose, ident
from tests.support.warehouse_fixture import make_small_warehouse


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("release") / "routes.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROUTES_QUIET", "1")
        make_small_warehouse(path, n=3000)
        build_warehouse(warehouse_path=path)
        yield path


def _read(path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).df()


# ------------------------------------------------------------------ reconciliation


def test_fit_to_parent_gives_non_negative_integers_that_sum_to_each_parent() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        n, groups = int(rng.integers(1, 40)), int(rng.integers(1, 6))
        group = rng.integers(0, groups, n)
        noisy = rng.integers(-15, 40, n)
        parent = rng.integers(0, 80, groups)
        out = fit_to_parent(noisy, group, parent)
        assert out.dtype == np.int64 and (out >= 0).all()
        for g in range(groups):
            if (group == g).any():
                assert out[group == g].sum() == parent[g]


def test_fit_to_parent_keeps_the_order_of_the_noisy_counts() -> None:
    out = fit_to_parent(np.array([40, 3, 12, -4]), np.zeros(4, dtype=int), np.array([50]))
    assert out[0] >= out[2] >= out[1] >= out[3] == 0


# ------------------------------------------------------------------ mechanism and accounting


def test_the_accountant_is_opendp_and_the_split_spends_the_budget() -> None:
    rho = build_release.DEFAULT_RHO
    spent = sum(rho_of(m, scale_for(m, rho)) for m in MEASUREMENTS)
    assert spent == pytest.approx(rho, rel=1e-6)
    # the discrete Gaussian's map: rho = sensitivity^2 / (2 sigma^2)
    fine = next(m for m in MEASUREMENTS if m.name == "records_fine")
    assert rho_of(fine, 2.0) == pytest.approx(1 / 8)


def test_noise_is_integer_and_has_the_scale_asked_for() -> None:
    draws = build_release.draw_noise(20_000, 3.0)
    assert draws.dtype == np.int64
    assert abs(draws.mean()) < 0.1
    assert draws.std() == pytest.approx(3.0, rel=0.05)


# ------------------------------------------------------------------ the tables


def test_release_counts_are_consistent_non_negative_and_not_the_truth(built: Path) -> None:
    counts = _read(built, "SELECT * FROM release_counts")
    assert (counts[["records", "victims", "minors"]] >= 0).all().all()
    assert counts["records"].dtype.kind == "i"
    truth = _read(built, """
        SELECT month, coalesce(dest_county_fips, '') AS county, record_type, trafficking_type, count(*) AS n
        FROM records GROUP BY ALL""")
    released = counts.assign(county=counts["dest_county_fips"].fillna(""))
    both = truth.merge(released, on=["month", "county", "record_type", "trafficking_type"], how="outer")
    both = both.fillna({"n": 0, "records": 0})
    # noise: a good share of the finest cells differ from the truth ...
    assert (both["n"] != both["records"]).mean() > 0.3
    # ... while the statewide months are close (their measurement has the largest share of the budget)
    months = both.groupby("month")[["n", "records"]].sum()
    assert (months["records"] - months["n"]).abs().max() <= 8


def test_cells_and_flows_add_up_to_their_parents(built: Path) -> None:
    cells = _read(built, "SELECT res, month, dest_county_fips, sum(records) AS n FROM release_cells GROUP BY ALL")
    by_res = cells.pivot_table(index=["month", "dest_county_fips"], columns="res", values="n", aggfunc="sum")
    assert (by_res[4] == by_res[5]).all() and (by_res[5] == by_res[6]).all()
    # every county's cells (and its records in no cell) add up to the released county count of the quarter
    counts = _read(built, """
        SELECT date_trunc('quarter', month)::DATE AS month, dest_county_fips, sum(records) AS n
        FROM release_counts WHERE dest_county_fips IS NOT NULL GROUP BY ALL""")
    six = cells[cells["res"] == 6].merge(counts, on=["month", "dest_county_fips"], how="outer").fillna(0)
    assert (six["n_x"] == six["n_y"]).all()
    assert not _read(built, "SELECT * FROM release_flows WHERE records < 0").shape[0]


def test_a_busy_county_has_its_records_in_released_res6_cells(built: Path) -> None:
    """The busiest county's released records sit in its res-6 cells, not in its "no cell" row.

    Only the records outside the cell domain belong in "no cell": the county's
    released total minus its released res-6 cells stays within noise of their
    true number (4 σ per quarter, added over the quarters). And with hundreds of
    records a year, many of its cells hold k or more over the period, so a
    partner's res-6 heatmap shows them.
    """
    from geo.grid import sql_cell_to_parent

    with duckdb.connect(str(built), read_only=True) as con:
        county, released = con.execute("""
            SELECT dest_county_fips, sum(records)::BIGINT AS n FROM release_counts
            WHERE dest_county_fips IS NOT NULL GROUP BY ALL ORDER BY n DESC LIMIT 1""").fetchall()[0]
        cells = con.execute("""
            SELECT cell, sum(records) AS n, count(DISTINCT month) AS quarters FROM release_cells
            WHERE res = 6 AND dest_county_fips = ? GROUP BY ALL""", [county]).df()
        true = con.execute(compose("""
            SELECT CASE WHEN dest_res >= 6 THEN {cell6} END AS cell6, count(*) AS n
            FROM records WHERE dest_county_fips = ? AND month IS NOT NULL GROUP BY ALL""",
                                   cell6=sql_cell_to_parent("dest_cell", 6)), [county]).df()
        sigma = release.scales(con)["cells_res6"]
    in_cells = cells[cells["cell"].notna()]
    domain = set(build_release.cell_domain().query("county == @county")["cell6"])
    true_outside = int(true.loc[~true["cell6"].isin(domain), "n"].sum())
    quarters = int(cells["quarters"].max())
    outside = released - int(in_cells["n"].sum())
    assert released >= 500, (county, released)  # the fixture's busiest county is busy
    assert abs(outside - true_outside) <= 4 * sigma * np.sqrt(quarters), (county, released, outside, true_outside)
    assert (in_cells["n"] >= 11).sum() >= 10, in_cells.sort_values("n").tail(10)


def test_release_tables_hold_no_true_count_column(built: Path) -> None:
    for table in build_release.RELEASE_TABLES:
        columns = set(_read(built, compose("SELECT * FROM {table} LIMIT 0", table=ident(table))).columns)
        assert not columns & {"true_value", "noise", "n"}, table


# ------------------------------------------------------------------ rebuilds


def _ledger(path: Path) -> pd.DataFrame:
    return _read(path, "SELECT * FROM release_ledger ORDER BY built_at, measurement")


def _snapshot(path: Path, table: str) -> pd.DataFrame:
    frame = _read(path, compose("SELECT * FROM {table}", table=ident(table)))
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_a_rebuild_without_new_data_gives_the_same_release_and_spends_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_QUIET", "1")
    path = tmp_path / "routes.duckdb"
    make_small_warehouse(path, n=1500)
    build_warehouse(warehouse_path=path, steps=("pipelines.build.release",))
    first = {t: _snapshot(path, t) for t in ("release_counts", "release_cells", "release_flows")}
    build_warehouse(warehouse_path=path, steps=("pipelines.build.release",))
    for table, frame in first.items():
        pd.testing.assert_frame_equal(_snapshot(path, table), frame)
    ledger = _ledger(path)
    builds = ledger.groupby("build_id", sort=False)["rho"].sum()
    assert len(builds) == 2
    assert builds.iloc[0] == pytest.approx(build_release.DEFAULT_RHO)
    assert builds.iloc[1] == 0


def test_a_rebuild_redraws_only_changed_cells_and_charges_their_measurements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_QUIET", "1")
    path = tmp_path / "routes.duckdb"
    records = make_small_warehouse(path, n=1500)
    build_warehouse(warehouse_path=path, steps=("pipelines.build.release",))
    noise_before = _read(path, "SELECT * FROM release_noise")
    with warehouse.write_snapshot(path=path) as con:  # one record deleted: a few cells change
        con.execute("DELETE FROM records WHERE record_id = ?", [str(records["record_id"].iloc[0])])
    build_warehouse(warehouse_path=path, steps=("pipelines.build.release",))
    second = _ledger(path).groupby("build_id", sort=False).tail(len(MEASUREMENTS))
    second = second.iloc[-len(MEASUREMENTS):].set_index("measurement")
    noise = _read(path, "SELECT * FROM release_noise").merge(
        noise_before, on=["measurement", "key"], how="outer", suffixes=("", "_before"), indicator=True
    )
    assert noise["_merge"].ne("right_only").all(), "a cell's stored noise was dropped"  # sparse cells keep theirs
    both = noise[noise["_merge"].eq("both")]
    same = both[both["true_value"].eq(both["true_value_before"])]
    assert same["noise"].eq(same["noise_before"]).all(), "noise redrawn for a cell whose count did not change"
    changed = both[both["true_value"].ne(both["true_value_before"])].groupby("measurement").size()
    new = noise[noise["_merge"].eq("left_only")].groupby("measurement").size()
    for m in MEASUREMENTS:
        # the deleted record was in one cell of each measurement (an indicator cube: Δ² of them, one per indicator)
        assert changed.get(m.name, 0) <= round(m.sensitivity**2), (m.name, changed.get(m.name, 0))
        # a breakdown is measured only under released parents above 0, which move with the parents' noise:
        # cells that come in for the first time are drawn then; every other measurement's cells are fixed
        assert m.sparse or new.get(m.name, 0) == 0, (m.name, new.get(m.name, 0))
        assert second.loc[m.name, "redrawn"] == changed.get(m.name, 0) + new.get(m.name, 0), m.name
    assert second["redrawn"].sum() >= 1
    charged = second[second["redrawn"] > 0]
    assert charged["rho"].gt(0).all()
    assert second.loc[second["redrawn"] == 0, "rho"].eq(0).all()


def test_the_yearly_cap_keeps_the_previous_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_QUIET", "1")
    path = tmp_path / "routes.duckdb"
    records = make_small_warehouse(path, n=1500)
    build_warehouse(warehouse_path=path, steps=("pipelines.build.release",))
    before = _snapshot(path, "release_counts")
    monkeypatch.setenv("ROUTES_RELEASE_RHO_YEAR", "1.0")  # the first build spent 0.75 of it
    with warehouse.write_snapshot(path=path) as con:
        con.execute("DELETE FROM records WHERE record_id = ?", [str(records["record_id"].iloc[0])])
    build_warehouse(warehouse_path=path, steps=("pipelines.build.release",))
    pd.testing.assert_frame_equal(_snapshot(path, "release_counts"), before)
    assert len(_ledger(path)) == len(MEASUREMENTS)


def test_a_bad_budget_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_RELEASE_RHO", "lots")
    with pytest.raises(ValueError, match="'lots'"):
        build_release.release_rho()


def test_the_cell_domain_comes_from_reference_data_only() -> None:
    domain = build_release.cell_domain()
    assert len(domain) > 1000
    assert domain["county"].str.len().eq(5).all()


def test_the_protection_note_quotes_the_typical_error(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from query.viewer import Viewer

    monkeypatch.setenv("ROUTES_WAREHOUSE", str(built))
    with warehouse.open_snapshot(path=built) as con:
        note = release.protection_note(Viewer("p", "partner"), con=con)
        sigma = release.scales(con)["records_county_month"]
    assert note is not None and f"±{int(np.ceil(1.96 * sigma))} at 95 %" in note
    assert "fewer than 11" in note


def test_release_report_prints_the_budget_per_measurement_and_the_total(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    assert main(["release", "report", "--warehouse", str(built)]) == 0
    out = capsys.readouterr().out
    for m in MEASUREMENTS:
        assert m.name in out
    assert "total per release" in out and "0.7500" in out
    assert "allows 12 charged rebuilds a year" in out
    assert "Charged in the last 365 days: rho 0.7500" in out


# ------------------------------------------------------------------ flows from outside California


def _outside_domain(rows: list[tuple[object, ...]]) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """The out-of-state flow measurement of a warehouse holding only ``rows`` (month, origin county, state, country, dest county)."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE records (month DATE, origin_county_fips VARCHAR, origin_state VARCHAR,
                   origin_country VARCHAR, dest_county_fips VARCHAR)""")
    if rows:
        con.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?)", rows)
    con.execute(build_release._NOISE_DDL)
    ledger = build_release._Ledger("test", datetime(2026, 1, 1), build_release.release_rho(), [])
    return build_release._measure_outside_flows(con, [date(2025, 1, 1), date(2025, 2, 1)], ledger), ledger.rows


def test_flows_from_outside_california_are_measured_over_a_fixed_domain() -> None:
    """No key of the out-of-state flows appears because records exist: the same cells with or without them."""
    from geo.flow_places import outside_origin_ids

    empty, _ = _outside_domain([])
    busy, charged = _outside_domain(
        [(date(2025, 3, 1), None, "NV", "US", "06037")] * 40 + [(date(2025, 3, 1), None, None, "MX", "06073")] * 3
        + [(date(2025, 3, 1), None, "CA", "US", "06001")] * 5 + [(date(2025, 3, 1), "06001", "CA", "US", "06037")] * 5
    )
    keys = ["year", "o_outside", "d_region", "d_county"]
    pd.testing.assert_frame_equal(empty[keys], busy[keys])
    assert len(busy) == len(outside_origin_ids()) * 58
    assert {"US-NV", "US-PR", "US", "MX", "GT", "PH"} <= set(busy["o_outside"]) and "US-CA" not in set(busy["o_outside"])
    # the true counts: in-state records (with or without a county) are not out-of-state flows
    truth = busy.set_index(["o_outside", "d_county"])["records"]
    assert truth[("US-NV", "06037")] == 40 and truth[("MX", "06073")] == 3 and truth.sum() == 43
    assert {r["measurement"]: r["cells"] for r in charged} == {
        "flows_outside": len(outside_origin_ids()), "flows_outside_region": len(busy[keys[:3]].drop_duplicates()),
        "flows_outside_county": len(busy),
    }
    # consistent: every region adds up to its counties, never below 0
    assert (busy["released"] >= 0).all()


def test_a_partner_sees_flows_from_outside_california_within_the_noise(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Released out-of-state edges exist for a partner, named and drawn, and the big ones are near the truth."""
    from query import flows
    from query.filters import Filters
    from query.viewer import Viewer

    monkeypatch.setenv("ROUTES_WAREHOUSE", str(built))
    partner = Viewer("p", "partner")
    truth = _read(built, """
        SELECT CASE WHEN coalesce(origin_country, 'US') = 'US' THEN 'US-' || origin_state ELSE origin_country END AS o,
            dest_region AS d, count(*) AS n, count(DISTINCT year(month)) AS years
        FROM records WHERE origin_county_fips IS NULL AND dest_county_fips IS NOT NULL
          AND (origin_country <> 'US' OR origin_state <> 'CA') GROUP BY ALL""")
    years = int(_read(built, "SELECT count(DISTINCT year(month)) AS n FROM records")["n"][0])
    with warehouse.open_snapshot(path=built) as con:
        sigma = release.scales(con)
        edges = flows.flow_edges(partner, Filters(), level="region", con=con)
        counties = flows.flow_edges(partner, Filters(), level="county", con=con)
        places = flows.location_totals(partner, Filters(), level="region", con=con).set_index("location_id")
    outside = edges[edges["origin_kind"].isin(["state", "country"])].set_index(["origin_id", "dest_id"])
    assert not outside.empty and outside["origin_name"].notna().all() and outside["origin_lat"].notna().all()
    assert set(outside.reset_index()["origin_id"]) >= {"MX", "US-NV", "US-AZ"}
    assert not outside.reset_index()["origin_id"].str.contains("@").any()  # the entry point is dropped
    # an origin's total (its released edges add up to it): the noise of one measured cell per year
    totals = truth.groupby("o")["n"].sum()
    for origin in ("MX", "US-NV", "US-AZ"):
        sd = np.sqrt(years) * sigma["flows_outside"]
        got = float(places.loc[origin, "outgoing"])
        assert places.loc[origin, "location_kind"] in ("state", "country")
        assert abs(got - totals[origin]) <= 5 * sd, (origin, got, totals[origin], sd)
    # an edge to a region: the origin total's noise, then the region's (the fit moves a big cell less than that)
    sd = np.sqrt(years * (sigma["flows_outside"] ** 2 + sigma["flows_outside_region"] ** 2))
    big = truth[truth["n"] >= 50]
    assert len(big) >= 3
    for row in big.itertuples():
        got = float(outside.loc[(row.o, row.d), "records"])
        assert abs(got - row.n) <= 5 * sd, (row.o, row.d, got, row.n, sd)
    # county level: the same origins, at their entry ('MX' drawn at San Ysidro), no type split
    mx = counties[counties["origin_id"].eq("MX")]
    assert len(mx) and mx["origin_kind"].eq("country").all() and mx["tips"].isna().all()
    assert abs(mx["origin_lat"].iloc[0] - 32.54) < 0.05


# ------------------------------------------------------------------ area counts by source kind and indicator


def test_count_parts_by_source_kind_add_up_to_the_released_county_month(built: Path) -> None:
    """``release_count_parts``: a county-month's source kinds sum to its ``release_counts`` row, victims too."""
    kinds = _read(built, """
        SELECT month, coalesce(dest_county_fips, '') AS county, sum(records) AS n, sum(victims) AS v, sum(minors) AS m
        FROM release_count_parts WHERE dimension = 'source_kind' GROUP BY ALL""")
    counts = _read(built, """
        SELECT month, coalesce(dest_county_fips, '') AS county, sum(records) AS n, sum(victims) AS v, sum(minors) AS m
        FROM release_counts GROUP BY ALL""")
    both = counts.merge(kinds, on=["month", "county"], how="outer").fillna(0)
    assert len(both) == len(counts) and (both["n_x"] == both["n_y"]).all()
    assert (both["v_x"] == both["v_y"]).all() and (both["m_x"] == both["m_y"]).all()
    parts = _read(built, "SELECT * FROM release_count_parts")
    assert set(parts["dimension"]) == {"source_kind", "indicator"} and (parts["records"] > 0).all()
    assert set(parts.loc[parts["dimension"].eq("source_kind"), "value"]) <= set(build_release.SOURCE_KINDS)
    # one indicator of a county-month is at most its records (indicators overlap: no sum)
    ind = parts[parts["dimension"].eq("indicator")].assign(county=lambda f: f["dest_county_fips"].fillna(""))
    capped = ind.merge(counts, on=["month", "county"])
    assert len(capped) == len(ind) and (capped["records"] <= capped["n"]).all()


def test_outside_flow_paths_are_keyed_by_their_entry_point(built: Path) -> None:
    """One set of paths per entry point (``@san_ysidro``), not per origin: ``MX`` and ``GT`` share San Ysidro's."""
    from geo.flow_places import default_entry, outside_origin_ids

    keys = set(_read(built, "SELECT DISTINCT origin_id FROM release_corridor_paths")["origin_id"])
    entries = {release.entry_path_id(default_entry(o)) for o in outside_origin_ids()}
    assert entries <= keys and not keys & set(outside_origin_ids())
    assert release.corridor_path_origins()["MX"] == "@san_ysidro"
    assert len(entries) < len(outside_origin_ids()) / 10
