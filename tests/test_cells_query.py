"""query/cells.py: heatmap reads, with and without the pre-aggregates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from geo import grid
from pipelines.build import aggregates as build_aggregates
from pipelines.build import trend_aggregates as build_trend_aggregates
from query import cells, suppression
from query.filters import Filters
from routes import warehouse
from routes.contract.sql import compose
from tests.support.exact_path import exact_viewer, read_the_whole_warehouse
from tests.support.warehouse_fixture import SPARSE_COUNTY, make_small_warehouse

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
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cells")
    plain, built = root / "plain.duckdb", root / "built.duckdb"
    make_small_warehouse(plain, n=3000, seed=1)
    make_small_warehouse(built, n=3000, seed=1)
    with warehouse.write_snapshot(path=built) as con:
        build_aggregates.build(con)
        build_trend_aggregates.build(con)
    return {"plain": plain, "built": built}


def _read(path: Path, fn, *args, **kwargs):  # noqa: ANN001, ANN202
    with warehouse.open_snapshot(path=path) as con:
        return fn(*args, con=con, **kwargs)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["level", "cell", "county_fips"], na_position="last").reset_index(drop=True)


@pytest.mark.parametrize("res", [4, 6, 7, 9])
def test_aggregates_and_records_agree(paths: dict[str, Path], res: int) -> None:
    a = _read(paths["plain"], cells.cell_counts, EXACT, Filters(), res=res)
    b = _read(paths["built"], cells.cell_counts, EXACT, Filters(), res=res)
    pd.testing.assert_frame_equal(_sorted(a), _sorted(b))


@pytest.mark.parametrize("res", grid.MAP_RESOLUTIONS)
def test_no_count_under_k_is_visible(paths: dict[str, Path], res: int) -> None:
    out = _read(paths["built"], cells.cell_counts, EXACT_OTHER, Filters(), res=res)
    assert suppression.max_visible_count_below_k(out, k=EXACT_OTHER.k) is None
    assert out.loc[out["suppressed"], ["records", "victims", "value"]].isna().all().all()
    assert not (out["records"] == 0).any()  # suppressed is never shown as zero


def test_never_finer_than_precision(paths: dict[str, Path]) -> None:
    out = _read(paths["built"], cells.cell_counts, EXACT, Filters(), res=9)
    shown = out[out["level"].eq("cell")]
    assert (shown["res"] <= 9).all()
    with warehouse.open_snapshot(path=paths["built"]) as con:
        points = con.execute("SELECT count(*) FROM records WHERE dest_res >= 9").fetchall()[0][0]
    assert shown["records"].fillna(0).sum() <= points  # zip/place records are not res-9 cells
    assert (out["level"] == "county").any()


def test_cells_are_hex_strings_the_map_can_draw(paths: dict[str, Path]) -> None:
    out = _read(paths["built"], cells.cell_counts, EXACT, Filters(), res=6)
    shown = out[out["level"].eq("cell")]
    assert shown["hex"].map(lambda h: grid.is_valid_cell(cells.cell_from_hex(h)[0])).all()
    assert (out.loc[out["level"].eq("county"), "hex"].isna()).all()


def test_sparse_county_never_shows_its_three_records(paths: dict[str, Path]) -> None:
    for res in grid.MAP_RESOLUTIONS:
        out = _read(paths["built"], cells.cell_counts, EXACT_OTHER, Filters(), res=res)
        alpine = out[out["county_fips"].eq(SPARSE_COUNTY)]
        assert alpine["records"].isna().all(), alpine


def test_measures(paths: dict[str, Path]) -> None:
    rec = _read(paths["built"], cells.cell_counts, EXACT, Filters(), res=5, measure="records")
    vic = _read(paths["built"], cells.cell_counts, EXACT, Filters(), res=5, measure="victims")
    cap = _read(paths["built"], cells.cell_counts, EXACT, Filters(), res=5, measure="per_capita")
    shown = ~rec["suppressed"]
    assert (rec.loc[shown, "value"] == rec.loc[shown, "records"].astype("Float64")).all()
    assert (vic.loc[~vic["suppressed"], "value"] >= vic.loc[~vic["suppressed"], "records"].astype("Float64")).all()
    assert (cap.loc[~cap["suppressed"], "value"] > 0).all()
    with pytest.raises(ValueError, match="measure"):
        cells.cell_counts(EXACT, Filters(), res=5, measure="density")
    with pytest.raises(ValueError, match="resolution"):
        cells.cell_counts(EXACT, Filters(), res=11)


def test_filters_narrow_counts_and_indicators_use_records(paths: dict[str, Path]) -> None:
    full = _read(paths["built"], cells.cell_counts, EXACT, Filters(), res=4)
    sex = _read(paths["built"], cells.cell_counts, EXACT, Filters(trafficking_types=("sex",)), res=4)
    assert sex["records"].fillna(0).sum() < full["records"].fillna(0).sum()
    with_ind = Filters(indicators=("motel",))
    a = _read(paths["plain"], cells.cell_counts, EXACT, with_ind, res=4)
    b = _read(paths["built"], cells.cell_counts, EXACT, with_ind, res=4)
    pd.testing.assert_frame_equal(_sorted(a), _sorted(b))


def test_breakdown_of_a_busy_cell(paths: dict[str, Path]) -> None:
    counts = _read(paths["built"], cells.cell_counts, EXACT, Filters(), res=6)
    top = cells.top_cells(counts, n=3)
    assert len(top) == 3 and top["value"].is_monotonic_decreasing
    out = _read(paths["built"], cells.cell_breakdown, EXACT, Filters(), cell=top["hex"][0])
    assert set(out["dimension"]) == set(cells.BREAKDOWN_DIMENSIONS)
    assert suppression.max_visible_count_below_k(out, k=EXACT.k) is None
    total = top["value"][0]
    for dimension in ("trafficking_type", "record_type", "source_kind"):
        part = out[out["dimension"].eq(dimension)]
        hidden = total - part["records"].fillna(0).sum()
        assert hidden == 0 or hidden >= EXACT.k, (dimension, part)


def test_breakdown_of_a_small_cell_is_all_suppressed(paths: dict[str, Path]) -> None:
    with warehouse.open_snapshot(path=paths["built"]) as con:
        cell = con.execute(
            "SELECT dest_cell FROM records WHERE dest_county_fips = ? AND dest_res = 9 LIMIT 1", [SPARSE_COUNTY]
        ).fetchone()
    if cell is None:
        with warehouse.open_snapshot(path=paths["built"]) as con:
            cell = con.execute("SELECT dest_cell FROM records WHERE dest_county_fips = ? LIMIT 1", [SPARSE_COUNTY]).fetchone()
    assert cell is not None
    out = _read(paths["built"], cells.cell_breakdown, EXACT_OTHER, Filters(), cell=int(cell[0]))
    assert out["suppressed"].all() and out["records"].isna().all()


def test_histogram_ignores_the_period(paths: dict[str, Path]) -> None:
    one = Filters(start=date(2024, 3, 1), end=date(2024, 3, 1))
    out = _read(paths["built"], cells.histogram_by_month, EXACT, one)
    assert len(out) == 24 and out["month"].iloc[0] == date(2024, 1, 1)
    plain = _read(paths["plain"], cells.histogram_by_month, EXACT, Filters())
    pd.testing.assert_frame_equal(out, plain)


@pytest.mark.parametrize(
    "filters",
    [Filters(indicators=("motel",)), Filters(indicators=("minor", "drugs"), record_types=("tip",)),
     Filters(source_kinds=("ngo", "hotline"), trafficking_types=("sex", "labor"))],
    ids=["motel", "minor-drugs-tips", "ngo-sex-labor"],
)
def test_histogram_from_pre_aggregates_equals_records(paths: dict[str, Path], filters: Filters) -> None:
    with warehouse.open_snapshot(path=paths["built"]) as con:
        from query.aggregates import count_source

        assert count_source(con, [filters]).aggregated  # the built path really reads the pre-aggregates
    built = _read(paths["built"], cells.histogram_by_month, EXACT, filters)
    plain = _read(paths["plain"], cells.histogram_by_month, EXACT, filters)
    assert built["records"].notna().any()
    pd.testing.assert_frame_equal(built, plain)


def test_change_between_two_periods(paths: dict[str, Path]) -> None:
    before = Filters(start=date(2024, 1, 1), end=date(2024, 12, 1))
    after = Filters(start=date(2025, 1, 1), end=date(2025, 12, 1))
    out = _read(paths["built"], cells.cell_change, EXACT, before, after, res=4)
    shown = out[~out["suppressed"]]
    assert len(shown) > 0
    assert (shown["change"] == (shown["after"] - shown["before"]).astype("Float64")).all()
    k = EXACT.k
    for column in ("before", "after"):
        values = shown[column]
        assert not ((values > 0) & (values < k)).any()
    assert out.loc[out["suppressed"], "change"].isna().all()


def test_period_months() -> None:
    assert cells.period_months(Filters(start=date(2024, 11, 1), end=date(2025, 2, 1))) == 4
    months = [date(2024, m, 1) for m in range(1, 13)]
    assert cells.period_months(Filters(), available=months) == 12


def test_reads_the_live_snapshot_by_default(paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_WAREHOUSE", str(paths["built"]))
    out = cells.cell_counts(EXACT, Filters(), res=5)
    assert len(out) > 0


def test_breakdown_same_with_and_without_aggregates(paths: dict[str, Path]) -> None:
    counts = _read(paths["built"], cells.cell_counts, EXACT, Filters(), res=5)
    hex_id = cells.top_cells(counts, n=1)["hex"][0]
    a = _read(paths["plain"], cells.cell_breakdown, EXACT, Filters(), cell=hex_id)
    b = _read(paths["built"], cells.cell_breakdown, EXACT, Filters(), cell=hex_id)
    key = ["dimension", "value"]
    pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True))


def test_scale_values_hold_no_small_counts(paths: dict[str, Path]) -> None:
    for measure in cells.MEASURES:
        values = _read(paths["built"], cells.scale_values, EXACT_OTHER, res=6, measure=measure)
        assert len(values) > 0
        if measure != "per_capita":
            assert (values >= EXACT_OTHER.k).all()


# ------------------------------------------------ per-indicator pre-aggregates

ONE_INDICATOR = [
    Filters(indicators=("motel",)),
    Filters(indicators=("drugs",), record_types=("tip", "incident"), start=date(2024, 6, 1), end=date(2025, 5, 1)),
]


def _source_table(path: Path, filters: Filters) -> str:
    with warehouse.open_snapshot(path=path) as con:
        source = cells._aggregate_source(con, filters)
    return "records" if source is None else source.cells


def test_the_fixture_can_tell_a_wrong_precision_rule(paths: dict[str, Path]) -> None:
    # motel records at every precision: a res-7 or res-9 read that took records
    # indexed too coarsely (a wrong dest_res rule) would count more than records does
    with warehouse.open_snapshot(path=paths["built"]) as con:
        per_res = dict(
            con.execute(
                "SELECT dest_res, count(*) FROM records WHERE list_contains(indicators, 'motel') GROUP BY ALL"
            ).fetchall()
        )
    assert {6, 7, 9} <= set(per_res) and min(per_res.values()) >= 100


@pytest.mark.parametrize("res", [4, 5, 6, 7, 9])
@pytest.mark.parametrize("filters", ONE_INDICATOR, ids=["motel", "drugs-tips-period"])
def test_one_indicator_counts_from_aggregates_equal_records(paths: dict[str, Path], res: int, filters: Filters) -> None:
    assert _source_table(paths["built"], filters) == "cell_indicator_counts"
    assert _source_table(paths["plain"], filters) == "records"
    a = _read(paths["plain"], cells.cell_counts, EXACT, filters, res=res)
    b = _read(paths["built"], cells.cell_counts, EXACT, filters, res=res)
    assert b["records"].notna().any() and b["level"].eq("county").any()
    pd.testing.assert_frame_equal(_sorted(a), _sorted(b))


def test_several_indicators_read_records(paths: dict[str, Path]) -> None:
    both = Filters(indicators=("motel", "drugs"))
    assert _source_table(paths["built"], both) == "records"
    assert _source_table(paths["built"], Filters(indicators=("motel", "motel"))) == "cell_indicator_counts"
    a = _read(paths["plain"], cells.cell_counts, EXACT, both, res=6)
    b = _read(paths["built"], cells.cell_counts, EXACT, both, res=6)
    pd.testing.assert_frame_equal(_sorted(a), _sorted(b))


def _breakdowns(paths: dict[str, Path], filters: Filters, hex_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    key = ["dimension", "value"]
    a = _read(paths["plain"], cells.cell_breakdown, EXACT, filters, cell=hex_id)
    b = _read(paths["built"], cells.cell_breakdown, EXACT, filters, cell=hex_id)
    return a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)


@pytest.mark.parametrize("res", [4, 5, 7, 9])
@pytest.mark.parametrize(
    "filters",
    [Filters(), *ONE_INDICATOR, Filters(indicators=("motel", "agriculture"))],
    ids=["none", "motel", "drugs-tips-period", "two"],
)
def test_breakdown_with_indicators_same_with_and_without_aggregates(
    paths: dict[str, Path], res: int, filters: Filters
) -> None:
    parent = grid.sql_cell_to_parent("dest_cell", res)
    with warehouse.open_snapshot(path=paths["plain"]) as con:
        busiest = con.execute(
            compose("SELECT {parent} AS cell FROM records WHERE dest_res >= ? GROUP BY ALL ORDER BY count(*) DESC, cell LIMIT 2",
                    parent=parent),
            [res],
        ).fetchall()
    for (cell_id,) in busiest:
        hex_id = grid.cells_to_strings([cell_id])[0]
        a, b = _breakdowns(paths, filters, hex_id)
        assert set(b["dimension"]) <= set(cells.BREAKDOWN_DIMENSIONS)
        if res == 5 and filters in (Filters(), ONE_INDICATOR[0]):  # busy enough that indicator rows are shown, not all suppressed
            assert b.loc[b["dimension"].eq("indicator"), "records"].notna().any()
        pd.testing.assert_frame_equal(a, b)


def test_breakdown_under_indicators_reads_the_indicator_sets(paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    read = cells._indicator_set_read
    monkeypatch.setattr(cells, "_indicator_set_read", lambda *a, **k: calls.append(k) or read(*a, **k))
    counts = _read(paths["built"], cells.cell_counts, EXACT, Filters(), res=5)
    hex_id = cells.top_cells(counts, n=1)["hex"][0]
    for filters in (*ONE_INDICATOR, Filters(indicators=("motel", "agriculture"))):
        _read(paths["built"], cells.cell_breakdown, EXACT, filters, cell=hex_id)
        _read(paths["plain"], cells.cell_breakdown, EXACT, filters, cell=hex_id)  # no tables: records
    _read(paths["built"], cells.cell_breakdown, EXACT, Filters(), cell=hex_id)  # no indicator: cell_counts
    assert len(calls) == 3


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


def test_stale_or_missing_cell_aggregates_are_not_read(paths: dict[str, Path], tmp_path: Path) -> None:
    motel = Filters(indicators=("motel",))
    stale = _copy(paths["built"], tmp_path / "stale.duckdb")
    plain = _copy(paths["plain"], tmp_path / "plain.duckdb")
    for path in (stale, plain):  # the same change to records in both, no rebuild
        with warehouse.write_snapshot(path=path) as con:
            con.execute("DELETE FROM records WHERE dest_county_fips = (SELECT min(dest_county_fips) FROM records)")
    assert _source_table(stale, motel) == "records" and _source_table(stale, Filters()) == "records"
    for filters in (Filters(), motel):
        a = _read(plain, cells.cell_counts, EXACT, filters, res=7)
        b = _read(stale, cells.cell_counts, EXACT, filters, res=7)
        pd.testing.assert_frame_equal(_sorted(a), _sorted(b))
    missing = _copy(paths["built"], tmp_path / "missing.duckdb")
    with warehouse.write_snapshot(path=missing) as con:
        con.execute("DROP TABLE cell_indicator_counts")
    assert _source_table(missing, motel) == "records"
    pd.testing.assert_frame_equal(
        _sorted(_read(missing, cells.cell_counts, EXACT, motel, res=5)),
        _sorted(_read(paths["plain"], cells.cell_counts, EXACT, motel, res=5)),
    )


def test_no_cells_reason_names_the_filter_that_empties_the_cells() -> None:
    """Under an indicator filter the release's map stops at res 5 and the filter thins every cell: the reason says so."""
    from query.viewer import Viewer

    partner = Viewer("p", "partner")
    plain = cells.no_cells_reason(partner, 6)
    assert "res 6 only" in plain and "filter" not in plain
    by_indicator = cells.no_cells_reason(partner, 6, filters=Filters(indicators=("debt_bondage",)))
    assert "res 5 only" in by_indicator and "res 6" not in by_indicator
    assert "indicator filter ['debt_bondage']" in by_indicator and "remove the indicator filter" in by_indicator
    by_kind = cells.no_cells_reason(partner, 6, filters=Filters(source_kinds=("hotline",)))
    assert "source-kind filter ['hotline']" in by_kind and "res 6 only" in by_kind
    exact = cells.no_cells_reason(EXACT, 8, filters=Filters(record_types=("tip",)))
    assert "res 8" in exact and "record-type filter ['tip']" in exact
