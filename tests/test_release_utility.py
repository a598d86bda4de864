"""The protected release still tells the demo's planted story (60 k records), as a partner sees it."""

from __future__ import annotations

from pathlib import Path

import h3
import pandas as pd
import pytest

from bench.release_accuracy import accuracy, level_errors
from query import flows, trends
from query.filters import Filters
from query.viewer import Viewer
from routes import warehouse
from tests.support.release_attacks import parent_minus_shown_children, score

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),  # see test_deconfliction_demo
]

PARTNER = Viewer("ngo", "partner")



def test_planted_routes_are_still_the_top_county_flows(demo: tuple[Path, dict]) -> None:
    _, truth = demo
    edges = flows.flow_edges(PARTNER, Filters(), level="county")
    edges = edges[edges["level"].eq("county") & (edges["origin_id"] != edges["dest_id"])]
    planted = truth["planted_flows"]
    top = set(zip(edges["origin_id"].head(2 * len(planted)), edges["dest_id"].head(2 * len(planted)), strict=True))
    for flow in planted:
        pairs = {(o, d) for o in flow["origin_county_fips"] for d in flow["dest_county_fips"]}
        assert pairs & top, flow["name"]


def test_planted_corridors_still_carry_the_most_load(demo: tuple[Path, dict]) -> None:
    _, truth = demo
    segments = flows.corridor_loads(PARTNER, Filters())
    segments = segments[~segments["suppressed"]].reset_index(drop=True)
    routes = [set(r.split(" / ")) for r in segments["route"]]
    assert routes[0] & set(truth["planted_corridors"])
    best = {c: min(i for i, r in enumerate(routes) if c in r) for c in truth["planted_corridors"]}
    assert all(rank <= len(segments) / 2 for rank in best.values()), best


def _planted_spots_found(truth: dict) -> int:
    """How many planted emerging hot spots a partner's hot-spot classes find (the cell or a neighbour)."""
    found = trends.emerging_hot_spots(PARTNER, Filters(), res=6, step="quarter")
    hot = found[found["pattern"].astype(str).str.endswith("hot_spot")]
    hot_cells = set(hot["cell"].astype("int64"))
    seen = 0
    for spot in truth["emerging_hot_spots"]:
        near = {int(h3.str_to_int(c)) for c in h3.grid_disk(h3.int_to_str(int(spot["cell_res6"])), 1)}
        seen += bool(near & hot_cells)
    return seen


def test_planted_emerging_hot_spots_are_still_found(
    demo: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 60 k a planted spot adds a dozen to fifty records a quarter to its cell; the noise (σ 3.4 per cell
    and quarter) can keep one under the Gi* FDR cut-off. Over 6 fresh draws of the release (2026-12-06) the
    three spots were found 3, 2, 2, 2, 3, 2 times of 3: Redding missed in 3 draws, Santa Maria in 1,
    Bakersfield in none, so two misses in one draw happen roughly one build in ten (two CI runs saw it).
    The test therefore allows one miss, and on two misses draws the release's noise once more on a copy
    (its stored noise dropped, the release step rebuilt): a working release then fails about one run in a
    hundred, a release that lost the spots fails every time. At 1 M all three are found."""
    path, truth = demo
    needed = len(truth["emerging_hot_spots"]) - 1
    seen = _planted_spots_found(truth)
    if seen < needed:
        import shutil

        import duckdb

        from pipelines import build

        copy = tmp_path / "routes.duckdb"
        shutil.copy(path, copy)
        with duckdb.connect(str(copy)) as con:
            con.execute("DROP TABLE release_noise")
            con.execute("DROP TABLE release_ledger")
        build.build_warehouse(warehouse_path=copy, steps=("pipelines.build.release",))
        monkeypatch.setenv("ROUTES_WAREHOUSE", str(copy))
        seen = max(seen, _planted_spots_found(truth))
    assert seen >= needed, (seen, truth["emerging_hot_spots"])


def test_statewide_monthly_totals_are_within_two_percent(demo: tuple[Path, dict]) -> None:
    path, _ = demo
    series = trends.monthly_series(PARTNER, Filters())
    with warehouse.open_snapshot(path=path) as con:
        true = con.execute("SELECT month, count(*) AS n FROM records GROUP BY ALL").df()
    true["month"] = pd.to_datetime(true["month"]).dt.date
    both = series.merge(true, on="month")
    assert len(both) == len(true)
    assert ((both["records"] - both["n"]).abs() / both["n"]).max() <= 0.02


def test_median_relative_error_per_level(demo: tuple[Path, dict]) -> None:
    path, _ = demo
    with warehouse.open_snapshot(path=path) as con:
        errors = accuracy(con)
        flows_by_size = level_errors(con, "county-flow-year")
    print({k: round(v, 3) for k, v in errors.items()})
    assert errors["median statewide-month"] <= 0.01
    assert errors["median region-month"] <= 0.15
    assert errors["median county-year"] <= 0.35
    # large flows are close: the county edges of 100 records a year or more
    big = flows_by_size[flows_by_size["true"] >= 100]
    assert big["rel_error"].median() <= 0.1


def test_parent_cell_minus_shown_children_recovers_no_small_count(demo: tuple[Path, dict]) -> None:
    path, _ = demo
    hit_rate, mean_error, n = score(parent_minus_shown_children(path))
    print(f"cell attack: {n} small counts, exact {hit_rate:.0%}, mean abs error {mean_error:.2f}")
    assert n >= 10
    assert hit_rate <= 0.25 and mean_error >= 1.5
