"""pipelines/build/hotspots.py: Gi* + Mann-Kendall on small synthetic grids with known answers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import h3
import numpy as np
import pandas as pd
import pymannkendall
import pytest

from pipelines.build import hotspots as bh
from routes import warehouse
from tests.support.warehouse_fixture import make_small_warehouse

#: A res-6 cell in the Central Valley, and the 10-ring patch around it (331 cells).
CENTRE = h3.str_to_int(h3.latlng_to_cell(36.75, -119.8, 6))
PATCH = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(CENTRE), 10)), dtype=np.int64)
PERIODS = bh.step_periods(date(2024, 1, 1), date(2025, 12, 1), step="month")


def _ring(k: int) -> set[int]:
    return {h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(CENTRE), k)}


def _counts(matrix: np.ndarray) -> pd.DataFrame:
    """A (cells x periods) matrix as the long counts frame the analysis reads."""
    rows, cols = np.nonzero(matrix)
    return pd.DataFrame({"cell": PATCH[rows], "period": [PERIODS[c] for c in cols], "records": matrix[rows, cols]})


def _background(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(3.0, size=(len(PATCH), len(PERIODS))).astype(float) + 1


def _pattern_of(found: pd.DataFrame, cell: int) -> str:
    return str(found.loc[found["cell"] == cell, "pattern"].iloc[0])


def test_a_planted_persistent_hot_spot_is_found() -> None:
    matrix = _background()
    planted = np.isin(PATCH, list(_ring(1)))
    matrix[planted] += 25
    found = bh.emerging_hot_spots_of(_counts(matrix), PERIODS, rings=2)
    assert _pattern_of(found, CENTRE) in {"persistent_hot_spot", "intensifying_hot_spot", "diminishing_hot_spot"}
    assert _pattern_of(found, CENTRE) == "persistent_hot_spot"  # flat over time: no trend
    far = set(PATCH) - _ring(5)
    hot_far = found[found["cell"].isin(far) & found["pattern"].str.endswith("hot_spot")]
    assert hot_far.empty


def test_a_hot_spot_that_appears_late_is_new_or_consecutive() -> None:
    matrix = _background()
    planted = np.isin(PATCH, list(_ring(1)))
    matrix[np.ix_(planted, [len(PERIODS) - 1])] += 30
    found = bh.emerging_hot_spots_of(_counts(matrix), PERIODS, rings=2)
    assert _pattern_of(found, CENTRE) == "new_hot_spot"
    matrix[np.ix_(planted, [len(PERIODS) - 3, len(PERIODS) - 2])] += 30
    found = bh.emerging_hot_spots_of(_counts(matrix), PERIODS, rings=2)
    assert _pattern_of(found, CENTRE) == "consecutive_hot_spot"


def test_a_growing_hot_spot_is_intensifying_and_a_fading_one_diminishing() -> None:
    planted = np.isin(PATCH, list(_ring(1)))
    growth = np.linspace(20, 80, len(PERIODS))
    matrix = _background()
    matrix[planted] += growth
    found = bh.emerging_hot_spots_of(_counts(matrix), PERIODS, rings=2)
    assert _pattern_of(found, CENTRE) == "intensifying_hot_spot"
    assert found.loc[found["cell"] == CENTRE, "trend_z"].iloc[0] > 0
    matrix = _background()
    matrix[planted] += growth[::-1]
    found = bh.emerging_hot_spots_of(_counts(matrix), PERIODS, rings=2)
    assert _pattern_of(found, CENTRE) == "diminishing_hot_spot"
    assert found.loc[found["cell"] == CENTRE, "trend_z"].iloc[0] < 0


def test_a_flat_grid_has_no_hot_spots() -> None:
    flat = np.full((len(PATCH), len(PERIODS)), 5.0)
    found = bh.emerging_hot_spots_of(_counts(flat), PERIODS, rings=2)
    assert set(found["pattern"]) == {"no_pattern"}
    assert (found["gi_z_last"] == 0).all()
    noisy = bh.emerging_hot_spots_of(_counts(_background(seed=11)), PERIODS, rings=2)
    # Poisson noise with no structure: FDR keeps chance "hot spots" out
    assert not noisy["pattern"].str.endswith("_spot").any()


def test_mann_kendall_matches_pymannkendall_including_ties() -> None:
    rng = np.random.default_rng(5)
    series = np.vstack([
        np.arange(24.0),                       # increasing
        np.arange(24.0)[::-1],                 # decreasing
        rng.normal(size=24),
        rng.integers(0, 4, 24).astype(float),  # many ties
        np.zeros(24),                          # constant
    ])
    ours = bh.mann_kendall(series)
    for row, values in zip(ours.itertuples(), series, strict=True):
        ref = pymannkendall.original_test(values)
        assert row.s == pytest.approx(ref.s)
        assert row.var_s == pytest.approx(ref.var_s)
        assert row.z == pytest.approx(ref.z)
        assert row.p == pytest.approx(ref.p)
        assert row.tau == pytest.approx(ref.Tau)
    assert ours.loc[0, "z"] > 0 and ours.loc[0, "p"] < 0.05
    assert ours.loc[1, "z"] < 0 and ours.loc[1, "p"] < 0.05


def test_classify_patterns_follows_the_arcgis_definitions() -> None:
    t, f = True, False
    hot = np.array([
        [t] * 10,                                  # persistent (no trend)
        [t] * 10,                                  # intensifying (trend up)
        [t] * 10,                                  # diminishing (trend down)
        [t] * 9 + [f],                             # historical
        [f] * 9 + [t],                             # new
        [f] * 7 + [t] * 3,                         # consecutive
        [t, f, t, f, f, f, f, t, f, t],            # sporadic
        [f] * 9 + [t],                             # oscillating (cold before)
        [f] * 10,                                  # no pattern
    ])
    cold = np.zeros_like(hot)
    cold[7, 2] = True
    trend_z = np.array([0.5, 3.0, -3.0, 0, 0, 0, 0, 0, 0])
    trend_p = np.array([0.6, 0.001, 0.001, 1, 1, 1, 1, 1, 1])
    out = bh.classify_patterns(hot, cold, trend_z, trend_p)
    assert out.tolist() == [
        "persistent_hot_spot", "intensifying_hot_spot", "diminishing_hot_spot", "historical_hot_spot",
        "new_hot_spot", "consecutive_hot_spot", "sporadic_hot_spot", "oscillating_hot_spot", "no_pattern",
    ]
    # the cold side mirrors it: a cold spot whose z keeps falling is intensifying
    mirrored = bh.classify_patterns(cold, hot, -trend_z, trend_p)
    assert mirrored[:3].tolist() == ["persistent_cold_spot", "intensifying_cold_spot", "diminishing_cold_spot"]
    assert mirrored[7] == "oscillating_cold_spot"


def test_last_complete_step_drops_a_running_month_or_quarter() -> None:
    assert bh.last_complete_step(date(2025, 11, 30), step="month") == date(2025, 11, 1)
    assert bh.last_complete_step(date(2025, 11, 29), step="month") == date(2025, 10, 1)
    assert bh.last_complete_step(date(2025, 9, 30), step="quarter") == date(2025, 7, 1)
    assert bh.last_complete_step(date(2025, 11, 30), step="quarter") == date(2025, 7, 1)


def test_build_writes_the_table_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    make_small_warehouse(path)
    with warehouse.write_snapshot(path=path) as con:
        first = bh.build(con)
        table1 = con.execute("SELECT * FROM hotspot_classes ORDER BY res, step, cell").df()
        second = bh.build(con)
        table2 = con.execute("SELECT * FROM hotspot_classes ORDER BY res, step, cell").df()
    assert first == second and first["hotspot_classes"] > 0
    pd.testing.assert_frame_equal(table1, table2)
    with duckdb.connect(str(path), read_only=True) as con:
        summary = con.execute(
            "SELECT res, step, min(first_period), max(last_period), count(*) FROM hotspot_classes GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        patterns = {r[0] for r in con.execute("SELECT DISTINCT pattern FROM hotspot_classes").fetchall()}
    assert [(r[0], r[1]) for r in summary] == [(5, "month"), (5, "quarter"), (6, "month"), (6, "quarter")]
    assert summary[0][2] == date(2024, 1, 1) and summary[0][3] == date(2025, 12, 1)
    assert patterns <= set(bh.PATTERNS)


def test_build_on_an_empty_warehouse_writes_an_empty_table(tmp_path: Path) -> None:
    with warehouse.write_snapshot(path=tmp_path / "w.duckdb") as con:
        assert bh.build(con) == {"hotspot_classes": 0}
        assert con.execute("SELECT count(*) FROM hotspot_classes").fetchone() == (0,)
