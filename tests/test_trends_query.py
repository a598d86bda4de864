"""query/trends.py on the small fixture warehouse (3,000 records, 2024-01..2025-12)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipelines import build
from pipelines.build import hotspots as build_hotspots
from query import trends
from query.filters import Filters
from query.suppression import max_visible_count_below_k
from tests.support.exact_path import exact_viewer, read_the_whole_warehouse
from tests.support.warehouse_fixture import SPARSE_COUNTY, make_small_warehouse

K = 11
#: The exact path, whose arithmetic and suppression these tests check over every record of the fixture
#: (tests/support/exact_path.py): in the product it serves an analyst's or lead's own-records scope, on its own
#: records only (tests/test_scope.py); every other view reads the protected release (tests/test_release_*.py).
EXACT = exact_viewer("lead-user", "analyst", "la")
EXACT_OTHER = exact_viewer("ngo-user", "lead", "san_diego")


@pytest.fixture(autouse=True)
def _exact_path_over_every_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here reads the whole fixture warehouse through the exact path."""
    read_the_whole_warehouse(monkeypatch)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    path = tmp_path_factory.mktemp("trends") / "routes.duckdb"
    records = make_small_warehouse(path)
    build.build_warehouse(warehouse_path=path)
    return path, records


@pytest.fixture(autouse=True)
def _warehouse(built: tuple[Path, pd.DataFrame], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_WAREHOUSE", str(built[0]))
    monkeypatch.delenv("ROUTES_K", raising=False)


def _months(records: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    month = pd.to_datetime(records["month"])
    return records[(month >= start) & (month <= end)]


def test_resolve_period_defaults_to_twelve_months_ending_with_the_data() -> None:
    assert trends.resolve_period(EXACT, Filters()) == (date(2025, 1, 1), date(2025, 12, 1))
    assert trends.resolve_period(EXACT, Filters(end=date(2024, 6, 15))) == (date(2023, 7, 1), date(2024, 6, 1))
    chosen = Filters(start=date(2025, 4, 1), end=date(2025, 6, 1))
    assert trends.resolve_period(EXACT, chosen) == (date(2025, 4, 1), date(2025, 6, 1))


def test_headline_counts_and_changes_match_the_records(built: tuple[Path, pd.DataFrame]) -> None:
    records = built[1]
    out = trends.headline_figures(EXACT, Filters()).set_index("period")
    assert list(out.index) == list(trends.PERIODS)
    current = _months(records, "2025-01-01", "2025-12-01")
    previous = _months(records, "2024-01-01", "2024-12-01")
    assert out.loc["current", "records"] == len(current)
    assert out.loc["current", "victims"] == current["victim_count"].sum()
    assert out.loc["current", "tips"] == (current["record_type"] == "tip").sum()
    assert out.loc["previous", "records"] == len(previous)
    assert out.loc["previous", "records_change"] == len(current) - len(previous)
    expected_pct = round((len(current) - len(previous)) / len(previous) * 100, 1)
    assert out.loc["previous", "records_change_pct"] == pytest.approx(expected_pct)
    assert pd.isna(out.loc["current", "records_change"])
    assert max_visible_count_below_k(out.reset_index(), k=K) is None


def test_headline_compares_a_quarter_with_the_quarter_before_and_a_year_before() -> None:
    out = trends.headline_figures(EXACT, Filters(start=date(2025, 4, 1), end=date(2025, 6, 30)))
    spans = dict(zip(out["period"], zip(out["start"], out["end"], strict=True), strict=True))
    assert spans["previous"] == (date(2025, 1, 1), date(2025, 3, 1))
    assert spans["year_before"] == (date(2024, 4, 1), date(2024, 6, 1))


def test_a_change_resting_on_a_hidden_count_is_hidden() -> None:
    # one month of a small region: counts under k are hidden, and so is every change from them
    out = trends.headline_figures(EXACT_OTHER, Filters(start=date(2025, 3, 1), end=date(2025, 3, 1), regions=("Region III",)))
    for column in trends.HEADLINE_COUNTS:
        for _, row in out.iterrows():
            if row["period"] != "current" and (pd.isna(row[column]) or pd.isna(out.iloc[0][column])):
                assert pd.isna(row[f"{column}_change"]) and pd.isna(row[f"{column}_change_pct"])
    assert max_visible_count_below_k(out, k=K) is None


def test_record_types_cannot_be_recovered_from_the_total() -> None:
    out = trends.headline_figures(EXACT, Filters(regions=("Region II",)))
    for _, row in out.iterrows():
        parts = [row[c] for c in ("tips", "incidents", "recoveries", "services")]
        hidden = [p for p in parts if pd.isna(p)]
        assert len(hidden) != 1 or pd.isna(row["records"])


def test_monthly_series_statewide_and_by_region(built: tuple[Path, pd.DataFrame]) -> None:
    records = built[1]
    state = trends.monthly_series(EXACT, Filters())
    assert len(state) == 24 and state["records"].sum() == len(records)
    by_region = trends.monthly_series(EXACT, Filters(), by="region")
    assert set(by_region["region"]) >= {"Region I", "Region VI"}
    assert len(by_region) == 24 * by_region["region"].nunique()
    assert max_visible_count_below_k(by_region, k=K) is None
    # no month's hidden regions can be worked out from the statewide series
    for month, group in by_region.groupby("month"):
        hidden = group["records"].isna()
        if hidden.any():
            truth = records[pd.to_datetime(records["month"]).dt.date == month]
            shown = group.loc[~hidden, "records"].sum()
            assert len(truth) - shown == 0 or len(truth) - shown >= K


def test_monthly_series_rejects_an_unknown_grouping() -> None:
    with pytest.raises(ValueError, match="by must be"):
        trends.monthly_series(EXACT, Filters(), by="county")


def test_county_rates_per_100k_and_the_sparse_county_is_suppressed(built: tuple[Path, pd.DataFrame]) -> None:
    out = trends.county_rates(EXACT, Filters()).set_index("county_fips")
    assert len(out) == 58
    la = _months(built[1], "2025-01-01", "2025-12-01")
    la_count = (la["dest_county_fips"] == "06037").sum()
    assert out.loc["06037", "records"] == la_count
    assert out.loc["06037", "rate_per_100k"] == pytest.approx(la_count / out.loc["06037", "population"] * 1e5, abs=0.01)
    assert bool(out.loc[SPARSE_COUNTY, "suppressed"])
    assert pd.isna(out.loc[SPARSE_COUNTY, "records"]) and pd.isna(out.loc[SPARSE_COUNTY, "rate_per_100k"])
    assert (out.loc[out["records"].isna(), "rate_per_100k"].isna()).all()
    assert max_visible_count_below_k(out.reset_index(), k=K) is None


def test_counties_ranked_by_change() -> None:
    out = trends.counties_ranked_by_change(EXACT, Filters())
    ranked = out[out["rank"].notna()]
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert ranked["change_pct"].is_monotonic_decreasing
    visible = out["records"].notna() & out["records_before"].notna()
    assert (out.loc[visible, "change"] == out.loc[visible, "records"] - out.loc[visible, "records_before"]).all()
    assert out.loc[~visible, "change"].isna().all()
    yearly = trends.counties_ranked_by_change(EXACT, Filters(), against="year_before")
    assert set(yearly["before_start"]) == {date(2024, 1, 1)}


def test_emerging_hot_spots_read_the_built_table() -> None:
    out = trends.emerging_hot_spots(EXACT, Filters(), res=6)
    assert len(out) > 0
    assert set(out["pattern"]) <= set(build_hotspots.PATTERNS)
    assert out["hex"].str.len().eq(15).all()
    assert max_visible_count_below_k(out, k=K) is None
    region = trends.emerging_hot_spots(EXACT, Filters(regions=("Region I",)), res=6)
    assert 0 < len(region) < len(out) and set(region["region"]) == {"Region I"}
    # the same cells are hidden statewide and in the narrowed view
    merged = region.merge(out, on="cell", suffixes=("", "_state"))
    assert (merged["suppressed"] == merged["suppressed_state"]).all()


def test_emerging_hot_spots_empty_before_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.duckdb"
    make_small_warehouse(path, n=200)
    monkeypatch.setenv("ROUTES_WAREHOUSE", str(path))
    assert trends.emerging_hot_spots(EXACT, Filters(), res=5).empty


def test_county_neighbours_share_a_border() -> None:
    assert trends.county_neighbours(["06075"]) == ["06001", "06041", "06081"]
    assert "06037" not in trends.county_neighbours(["06037"])


def test_region_profile_of_a_region_and_a_county() -> None:
    profile = trends.region_profile(EXACT, region="Region I", filters=Filters(regions=("Region VI",)))
    assert profile.name.endswith("Region I")
    assert set(profile.county_rates["county_fips"]) == set(profile.counties)
    assert not set(profile.neighbours["county_fips"]) & set(profile.counties)
    assert list(profile.headline["period"]) == list(trends.PERIODS)
    assert profile.trend["records"].notna().any()
    county = trends.region_profile(EXACT, county="06037", filters=Filters())
    assert county.counties == ("06037",) and county.name == "Los Angeles County"
    assert "06059" in set(county.neighbours["county_fips"])  # Orange borders Los Angeles
    assert county.flows_in is not None and set(county.flows_in["dest_id"]) <= {"06037"}
    assert not set(county.flows_out["dest_id"]) & {"06037"}
    assert max_visible_count_below_k(county.flows_in, k=K) is None
    with pytest.raises(ValueError, match="exactly one"):
        trends.region_profile(EXACT, filters=Filters())
    with pytest.raises(ValueError, match="unknown region"):
        trends.region_profile(EXACT, region="Region IX", filters=Filters())
