"""The geocoder on a fresh, untuned holdout of real text (issue 19).

``tests/data/geocode_fresh_holdout.csv`` holds 132 location phrases quoted from 70
public pages (district attorney, sheriff, police, US Attorney, FBI and CA DOJ
releases and local news about trafficking), built on 2026-12-04 with the search
tool's stored pages. Each row was labelled by reading its page, and the file was
committed (5195e0f) BEFORE the geocoder was first run on it; phrases already in
``geocode_real_text.csv`` were left out. Columns and kinds are those of
``geocode_real_text.csv`` (see ``test_geocode_real_text``), without a split: the
whole file is holdout. Never tune rules on it.

First evaluation (2026-12-04, the geocoder of commit c93a23c, no change since):
88 phrases naming a Californian place, 87 in the right county (98.9 %), 1 rejected;
1 of 112 Californian phrases in a wrong county (0.9 %); 16 of 20 places outside
California handled (rejected as a destination and kept at state or country as an
origin).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_geocode_real_text import RIGHT_COUNTY_MIN, WRONG_COUNTY_MAX, Scores, score

FRESH = Path(__file__).parent / "data" / "geocode_fresh_holdout.csv"


@pytest.fixture(scope="module")
def fresh() -> pd.DataFrame:
    return pd.read_csv(FRESH, dtype=str, keep_default_na=False, comment=None, skiprows=3)


@pytest.fixture(scope="module")
def scores(fresh: pd.DataFrame) -> Scores:
    return score(fresh)


def test_fresh_set_is_big_cited_and_apart_from_the_tuning_set(fresh: pd.DataFrame) -> None:
    assert len(fresh) >= 120
    assert fresh["phrase"].is_unique
    assert set(fresh["kind"]) == {"ca_place", "ca_no_place", "outside"}
    assert fresh["source_url"].str.match(r"https?://").all()
    labels = fresh.loc[fresh["expected_county_fips"] != "", "expected_county_fips"]
    assert labels.str.fullmatch(r"06\d{3}").all()
    tuned = pd.read_csv(Path(__file__).parent / "data" / "geocode_real_text.csv", dtype=str)
    assert not set(fresh["phrase"].str.lower()) & set(tuned["phrase"].str.lower())


def test_fresh_holdout_right_and_wrong_county_targets(scores: Scores) -> None:
    assert scores.right_share >= RIGHT_COUNTY_MIN, scores
    assert scores.wrong_share <= WRONG_COUNTY_MAX, scores


@pytest.mark.xfail(strict=False, reason=(
    "first evaluation 2026-12-04: 16/20 places outside California handled. Misses: "
    "'Vidalia, Ga.' placed in Tulare County (read as Visalia), 'SAVANNAH, Ga. (WSAV)' and "
    "'Douglas, Ga.' rejected without keeping Georgia as an origin ('Ga.' not read as a state), "
    "'smuggled into the United States from Mexico' kept as US rather than Mexico"))
def test_fresh_holdout_outside_target(scores: Scores) -> None:
    assert scores.outside_ok == scores.outside, scores


def test_fresh_holdout_does_not_slip_below_the_first_evaluation(scores: Scores) -> None:
    """A floor at the first evaluation's figures (not a target: the targets are above)."""
    assert (scores.places, scores.californian, scores.outside) == (88, 112, 20)
    assert scores.right >= 87, scores
    assert scores.wrong <= 1, scores
    assert scores.outside_ok >= 16, scores
