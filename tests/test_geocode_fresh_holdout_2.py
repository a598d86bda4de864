"""The geocoder on a second fresh, untuned holdout of real text (issue 19).

The first fresh holdout (``geocode_fresh_holdout.csv``) has been looked at while fixing
misses, so it no longer measures rules that never saw it. ``tests/data/
geocode_fresh_holdout_2.csv`` replaces it in that role: 187 location phrases quoted from
107 public pages (sheriff, police, district attorney, US Attorney, FBI releases and local
news about sex and labour trafficking, smuggling and vice in California), built on
2026-12-04 with the search tool's stored pages. No page is cited in either earlier set,
and no phrase is in either. Each row was labelled by reading its page, and the file was
committed (3dd19ee) BEFORE the geocoder was first run on it. Columns and kinds are those
of ``geocode_real_text.csv`` (see ``test_geocode_real_text``), without a split: the whole
file is holdout. Never tune rules on it; when it has been looked at, build a third.

First evaluation (2026-12-04, on branch issue-geo-holdout2 at 3dd19ee: the geocoder of
main cd5de87, last changed in 77aa6a8, no change since): 112 phrases naming a Californian
place, 104 in the right county (92.9 %), 8 rejected, none in a wrong county; 4 of 152
Californian phrases in a wrong county (2.6 %), all of them phrases that name no single
county; 24 of 35 places outside California handled (rejected as a destination and kept at
state or country as an origin), 4 of the 11 misses placed inside California. All three of
the issue's targets are missed here; the xfail reasons below list every miss.

Second evaluation (2026-12-04, main after merge 6e527cf: the outside-California rules,
written without sight of this set): 104/112 right, 4/152 wrong, 25/35 outside handled.
The rules fixed every miss of the first holdout they were written against and one more
here: most misses on this set are of other kinds (gazetteer gaps, Oregon and Utah towns
named without their state, typo matches onto Californian places).

Since then this set is a TUNING set, no longer a holdout: its misses were read and rules
written against their kinds (branch s27-geo-rules, issue 19). A typo needs strong
evidence (in a word under five letters only a dropped letter is read, and no typo is read
when the text names a place outside California exactly), and a common-word town (Rescue,
Commerce) inside other words is a place only in a place position. Third evaluation:
106/112 right (94.6 %), 6 rejected, 4/152 wrong, 25/35 outside handled; 'Lane County' and
'a través de Tijuana' are no longer placed inside California (rejected instead, but not
yet kept as Oregon / Mexico as an origin, so the outside count is unchanged). An honest
figure needs the third holdout.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.support.geocode_scores import RIGHT_COUNTY_MIN, WRONG_COUNTY_MAX, Scores, score

DATA = Path(__file__).parent / "data"
FRESH_2 = DATA / "geocode_fresh_holdout_2.csv"


def _read_earlier_sets() -> pd.DataFrame:
    tuned = pd.read_csv(DATA / "geocode_real_text.csv", dtype=str, keep_default_na=False)
    first = pd.read_csv(DATA / "geocode_fresh_holdout.csv", dtype=str, keep_default_na=False,
                        skiprows=3)
    return pd.concat([tuned, first], ignore_index=True)


@pytest.fixture(scope="module")
def fresh() -> pd.DataFrame:
    return pd.read_csv(FRESH_2, dtype=str, keep_default_na=False, comment=None, skiprows=3)


@pytest.fixture(scope="module")
def scores(fresh: pd.DataFrame) -> Scores:
    return score(fresh)


def test_second_set_is_big_and_cited(fresh: pd.DataFrame) -> None:
    assert len(fresh) >= 120
    assert fresh["source_url"].nunique() >= 50
    assert fresh["phrase"].str.lower().is_unique
    assert set(fresh["kind"]) == {"ca_place", "ca_no_place", "outside"}
    assert fresh["source_url"].str.match(r"https?://").all()
    assert (fresh["source_title"].str.len() > 5).all()
    labels = fresh.loc[fresh["expected_county_fips"] != "", "expected_county_fips"]
    assert labels.str.fullmatch(r"06\d{3}").all()
    assert (fresh.loc[fresh["kind"] == "ca_place", "expected_county_fips"] != "").all()
    # places outside California: other US states and other countries both
    outside = fresh[fresh["kind"] == "outside"]
    assert (outside["expected_country"] != "US").sum() >= 5
    assert (outside["expected_state"] != "").sum() >= 5


def test_second_set_is_apart_from_both_earlier_sets(fresh: pd.DataFrame) -> None:
    earlier = _read_earlier_sets()
    assert not set(fresh["phrase"].str.lower()) & set(earlier["phrase"].str.lower())
    assert not set(fresh["source_url"]) & set(earlier["source_url"])


@pytest.mark.xfail(strict=False, reason=(
    "third evaluation: 106/112 right (94.6 %), 6 rejected (first: 104, 8; the Rescue and "
    "Commerce misses are fixed): 'Jacumba Wilderness' "
    "(San Diego) against Ocotillo (Imperial), 'the L.A. law firm' (nickname set aside), and places the gazetteer "
    "lacks: Little Saigon (read as outside California), Travis Air Force Base, CSU Channel "
    "Islands, 'Casita Springs' (Casitas Springs)"))
def test_second_holdout_right_county_target(scores: Scores) -> None:
    assert scores.right_share >= RIGHT_COUNTY_MIN, scores


@pytest.mark.xfail(strict=False, reason=(
    "first evaluation 2026-12-04: 4/152 wrong (2.6 %), all phrases naming no single county: "
    "'between the Mexican border and the Los Angeles Metro region' (San Diego County) -> Los "
    "Angeles, 'the Highway 101 corridor or in the Valley itself' (Sonoma) -> 'the valley' as "
    "Los Angeles County, 'It starts in Sacramento, comes down over to the Bay Area' -> "
    "Sacramento, 'as far afield as the Mojave Desert, the steep mountains on the North Coast' "
    "-> the town Mojave (Kern)"))
def test_second_holdout_wrong_county_target(scores: Scores) -> None:
    assert scores.wrong_share <= WRONG_COUNTY_MAX, scores


@pytest.mark.xfail(strict=False, reason=(
    "first evaluation 2026-12-04: 24/35 places outside California handled. Placed inside "
    "California: 'farms near Milford' (Utah) -> Milford (Lassen), "
    "'officers in Ontario and Medford' (Oregon) -> Ontario (San "
    "Bernardino). Rejected without a state or country kept as an origin (now also 'a través "
    "de Tijuana' and 'Lane County', no longer typos onto Traver and Lake County): 'Washoe County jail', 'in Baltimore', 'Vancouver, Wash.-based', "
    "'former Medford resident', 'Jackson County's location along the Interstate 5 corridor', "
    "'Parish Hall in Hillsboro', and Seattle's Chinatown (read as Seattle or a Bay Area "
    "Chinatown, not guessed)"))
def test_second_holdout_outside_target(scores: Scores) -> None:
    assert scores.outside_ok == scores.outside, scores


def test_second_holdout_does_not_slip_below_the_first_evaluation(scores: Scores) -> None:
    """A floor at the first evaluation's figures (not a target: the targets are above)."""
    assert (scores.places, scores.californian, scores.outside) == (112, 152, 35)
    assert scores.right >= 106, scores  # third evaluation (the first: 104)
    assert scores.wrong <= 4, scores
    assert scores.outside_ok >= 25, scores
