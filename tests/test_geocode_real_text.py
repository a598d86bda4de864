"""The geocoder on phrases quoted from real public texts (issue 19).

``tests/data/geocode_real_text.csv`` holds location phrases quoted verbatim from
police and prosecutors' press releases, local news and court opinions about
trafficking and vice in California, each with its source URL and title, labelled by
reading the source. ``kind`` is ``ca_place`` (names a Californian place; the label is
its county), ``ca_no_place`` (in California but names no place the gazetteer can
know, such as "along International Boulevard"; a rejection is right, a county other
than the label is wrong; an empty label means no single county is right) or
``outside`` (a state or country outside California). ``split`` was fixed by a hash
of the phrase before any rule was changed: rules are tuned on ``tune`` only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geo.geocode import geocode
from tests.support.geocode_scores import RIGHT_COUNTY_MIN, WRONG_COUNTY_MAX, Scores, score

REAL_TEXT = Path(__file__).parent / "data" / "geocode_real_text.csv"

@pytest.fixture(scope="module")
def real_text() -> pd.DataFrame:
    return pd.read_csv(REAL_TEXT, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def scores(real_text: pd.DataFrame) -> dict[str, Scores]:
    return {split: score(part.reset_index(drop=True)) for split, part in real_text.groupby("split")}


# --------------------------------------------------------------------------- the set itself


def test_set_is_big_cited_and_split(real_text: pd.DataFrame) -> None:
    assert len(real_text) >= 200
    assert real_text["phrase"].is_unique
    assert set(real_text["kind"]) == {"ca_place", "ca_no_place", "outside"}
    assert set(real_text["split"]) == {"tune", "holdout"}
    assert real_text["source_url"].str.match(r"https?://").all()
    assert (real_text["source_title"].str.len() > 5).all()
    # Mexico and other countries as well as US states among the places outside
    outside = real_text[real_text["kind"] == "outside"]
    assert (outside["expected_country"] != "US").sum() >= 10
    assert (outside["expected_state"] != "").sum() >= 15
    # every county label is a Californian FIPS
    labels = real_text.loc[real_text["expected_county_fips"] != "", "expected_county_fips"]
    assert labels.str.fullmatch(r"06\d{3}").all()


def test_split_is_the_phrase_hash(real_text: pd.DataFrame) -> None:
    """The split was fixed before tuning; it must not drift as rows are added."""
    import hashlib

    want = ["tune" if int(hashlib.sha1(p.encode()).hexdigest(), 16) % 2 == 0 else "holdout"
            for p in real_text["phrase"]]
    assert real_text["split"].tolist() == want


# --------------------------------------------------------------------------- targets


def test_holdout_meets_the_targets(scores: dict[str, Scores]) -> None:
    held = scores["holdout"]
    assert held.right_share >= RIGHT_COUNTY_MIN, held
    assert held.wrong_share <= WRONG_COUNTY_MAX, held
    assert held.outside_ok == held.outside, held


@pytest.mark.xfail(strict=True, reason=(
    "tune half: 63/64 right (98.4 %), 0/92 wrong, 24/25 outside kept (branch georules7: 'the "
    "Inland Empire' now a region of two counties, rejected; branch geo-rules6: Otay Mesa and Tulsa "
    "in the reference data, 'south of Holt, north of Mission' two street bounds); the misses: a "
    "'Laguna' meaning Laguna Beach (rejected) and 'Del Rio' named after 'Texas'; see README"))
def test_tune_half_meets_the_targets(scores: dict[str, Scores]) -> None:
    tune = scores["tune"]
    assert tune.right_share >= RIGHT_COUNTY_MIN
    assert tune.wrong_share <= WRONG_COUNTY_MAX
    assert tune.outside_ok == tune.outside


def test_tune_half_does_not_slip_below_todays_scores(scores: dict[str, Scores]) -> None:
    """Today's measure on the tune half (before this work: 57/64 right, 18/92 wrong)."""
    tune = scores["tune"]
    assert tune.right >= 63, tune
    assert tune.wrong <= 0, tune  # 1 until branch georules7 (the Inland Empire as Riverside)
    assert tune.outside_ok >= 24, tune


# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize(("text", "fips"), [
    ("a motel on Harbor Boulevard in Anaheim", "06059"),
    ("International Boulevard in Oakland", "06001"),
    ("Long Beach Boulevard in Compton", "06037"),
    ("Fresno's Parkway Drive", "06019"),
    ("the city of Ontario", "06071"),
    ("the City of Fresno", "06019"),
    ("the city of Weed", "06093"),
    ("in the City", "06075"),
    ("Hesperia, Victorville and San Bernardino", "06071"),
])
def test_real_phrasing_goes_to_the_right_county(text: str, fips: str) -> None:
    assert geocode(text)["county_fips"] == fips


@pytest.mark.parametrize("text", [
    "on Holt Boulevard",
    "hotels on Parkway Dr., between Belmont and Olive",
    "the 700 block of Stockton Boulevard",
    "near 8th and Stockton",
    "at Fresno and 8th",
    "a brothel operating in a rental home on a cul-de-sac",
    "along the Holt Corridor",
])
def test_streets_and_words_inside_words_are_never_a_place(text: str) -> None:
    result = geocode(text)
    assert result["county_fips"] is None, result
    assert "set aside" in result["error"], result


@pytest.mark.parametrize(("text", "state", "country"), [
    ("Newark, New Jersey", "NJ", "US"),
    ("Pasadena, Texas", "TX", "US"),
    ("Glendale, Arizona", "AZ", "US"),
    ("Richmond, Virginia", "VA", "US"),
    ("Portland, Maine", "ME", "US"),
    ("Ontario, Canada", None, "CA"),
    ("Tecate, Baja California", None, "MX"),
])
def test_a_state_or_country_after_a_place_wins_over_a_namesake(
    text: str, state: str | None, country: str
) -> None:
    dest = geocode(text)
    assert dest["county_fips"] is None and dest["error"].startswith("outside California"), dest
    origin = geocode(text, role="origin")
    assert (origin["state"], origin["country"]) == (state, country), origin
    assert origin["precision"] == ("state" if state else "country")


def test_two_readings_in_different_counties_are_not_guessed() -> None:
    both = geocode("in San Diego and in Los Angeles")
    assert both["county_fips"] is None
    assert "different counties" in both["error"] and "not guessing" in both["error"]
    counties = geocode("throughout Orange County all the way to Los Angeles County")
    assert counties["county_fips"] is None and "more than one county" in counties["error"]
    disagree = geocode("Fresno, Los Angeles County")
    assert disagree["county_fips"] is None and "not guessing" in disagree["error"]
    assert geocode("Burbank, Santa Clara County")["county_fips"] == "06085"  # agreeing hint
    london = geocode("London, Ontario", role="origin")
    assert london["country"] is None and "not guessing" in london["error"]


@pytest.mark.slow  # geocodes in fresh Python processes
def test_typo_ties_do_not_depend_on_the_hash_seed() -> None:
    """"Chio" is one edit from Chico and from Chino: the more populous wins, every run."""
    import subprocess
    import sys

    code = "from geo.geocode import geocode; print(geocode('Chio')['county_fips'])"
    seen = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**__import__("os").environ, "PYTHONHASHSEED": seed, "ROUTES_QUIET": "1"},
                       cwd=Path(__file__).parent.parent).stdout.strip()
        for seed in ("1", "2", "3", "4")
    }
    assert len(seen) == 1, seen


def test_matched_names_the_entry_and_the_words() -> None:
    result = geocode("a motel on Harbor Boulevard in Anaheim")
    assert result["matched"].startswith("Anaheim (place, Orange) from 'anaheim'")
    assert "'boulevard' set aside: a street type" in result["matched"]
    origin = geocode("Tecate, Baja California", role="origin")
    assert "from 'tecate baja california'" in origin["matched"]
