"""The offline geocoder (geo/geocode.py) and its CLI (pipelines/cli/geocoding.py)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo import reference
from geo._coordinates import text_to_latlng
from geo._gazetteer import latlngs_to_counties
from geo.geocode import (
    GEOCODE_COLUMNS,
    geocode,
    geocode_fields,
    geocode_locations,
)
from pipelines.cli import geocoding as geocode_cli

LABELLED = Path(__file__).parent / "data" / "geocode_labelled.csv"


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    return pd.read_csv(LABELLED, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def as_destinations(labelled: pd.DataFrame) -> pd.DataFrame:
    return geocode_locations(labelled["text"], role="destination")


@pytest.fixture(scope="module")
def as_origins(labelled: pd.DataFrame) -> pd.DataFrame:
    return geocode_locations(labelled["text"], role="origin")


# --------------------------------------------------------------------------- labelled set


def test_labelled_set_is_big_and_varied(labelled: pd.DataFrame) -> None:
    assert len(labelled) >= 300
    assert labelled["text"].is_unique
    resolvable = labelled[labelled["resolvable"] == "true"]
    assert set(resolvable["expected_precision"]) == {"point", "zip", "place", "county"}
    assert (labelled["expected_precision"].isin(["state", "country"])).sum() >= 30


def test_at_least_97_percent_of_resolvable_in_the_right_county(
    labelled: pd.DataFrame, as_destinations: pd.DataFrame
) -> None:
    resolvable = labelled["resolvable"] == "true"
    right = as_destinations["county_fips"] == labelled["expected_county_fips"]
    share = float(right[resolvable].mean())
    misses = labelled.loc[resolvable & ~right, "text"].tolist()
    assert share >= 0.97, f"{share:.1%} in the right county; misses: {misses}"


def test_resolvable_precision_matches_the_label(
    labelled: pd.DataFrame, as_destinations: pd.DataFrame
) -> None:
    resolvable = labelled["resolvable"] == "true"
    same = as_destinations["precision"] == labelled["expected_precision"]
    assert float(same[resolvable].mean()) >= 0.95


def test_every_out_of_state_string_is_rejected_as_a_destination(
    labelled: pd.DataFrame, as_destinations: pd.DataFrame
) -> None:
    outside = labelled["expected_precision"].isin(["state", "country"])
    errors = as_destinations.loc[outside, "error"]
    rejected = errors.str.startswith("outside California: ").fillna(False).astype(bool)
    assert rejected.all(), labelled.loc[outside, "text"][~rejected].tolist()
    assert as_destinations.loc[outside, "county_fips"].isna().all()


def test_out_of_state_origins_keep_state_or_country(
    labelled: pd.DataFrame, as_origins: pd.DataFrame
) -> None:
    outside = labelled["expected_precision"].isin(["state", "country"])
    got = as_origins[outside]
    want = labelled[outside]
    assert got["error"].isna().all()
    assert (got["precision"] == want["expected_precision"]).all()
    assert (got["country"] == want["expected_country"]).all()
    states = want["expected_state"] != ""
    assert (got.loc[states, "state"] == want.loc[states, "expected_state"]).all()
    assert got[["lat", "lng"]].notna().all().all()


def test_junk_gets_an_error_and_no_county(labelled: pd.DataFrame, as_destinations: pd.DataFrame) -> None:
    junk = (labelled["resolvable"] == "false") & (labelled["expected_precision"] == "")
    assert junk.sum() >= 15
    assert as_destinations.loc[junk, "error"].notna().all()
    assert as_destinations.loc[junk, "county_fips"].isna().all()


# --------------------------------------------------------------------------- contract


def test_result_has_exactly_the_contract_columns() -> None:
    result = geocode("Lodi")
    assert list(result) == GEOCODE_COLUMNS
    assert result["county_fips"] == "06077"
    assert result["matched"] == "Lodi (place, San Joaquin) from 'lodi'"
    assert (result["state"], result["country"], result["error"]) == ("CA", "US", None)
    assert 0 < result["confidence"] <= 1


def test_batch_keeps_order_and_index() -> None:
    texts = pd.Series(["Fresno", None, "95814", "Fresno", "asdf"], index=[10, 3, 7, 1, 99])
    out = geocode_locations(texts)
    assert list(out.columns) == GEOCODE_COLUMNS
    assert list(out.index) == [10, 3, 7, 1, 99]
    assert out["county_fips"].fillna("-").tolist() == ["06019", "-", "06067", "06019", "-"]
    assert out.loc[3, "error"] == "no location given"
    assert out.loc[99, "error"] == "no California place found in 'asdf'"
    assert out["lat"].dtype == np.float64


def test_results_do_not_depend_on_input_order(labelled: pd.DataFrame) -> None:
    texts = labelled["text"].tolist()
    forward = geocode_locations(texts)
    shuffled_order = np.random.default_rng(7).permutation(len(texts))
    backward = geocode_locations([texts[i] for i in shuffled_order])
    backward.index = shuffled_order
    pd.testing.assert_frame_equal(forward, backward.sort_index())


def test_list_input_gets_a_range_index() -> None:
    out = geocode_locations(["Lodi", "Reno, NV"])
    assert list(out.index) == [0, 1]


# --------------------------------------------------------------------------- quirks


def test_po_box_zip_has_low_confidence() -> None:
    po_box = geocode("95812")
    standard = geocode("95814")
    assert po_box["precision"] == "zip" and po_box["county_fips"] == "06067"
    assert po_box["confidence"] <= 0.4
    assert "PO-box" in po_box["matched"]
    assert standard["confidence"] >= 0.85


def test_zip_plus_four_and_address_give_zip_centroid() -> None:
    assert geocode("95814-1234")["matched"].startswith("95814 (ZIP")
    result = geocode("1234 Stockton Blvd, Sacramento, CA 95817")
    assert (result["precision"], result["county_fips"]) == ("zip", "06067")
    assert "street not located; ZIP centroid" in result["matched"]
    no_zip = geocode("123 Main St, Lodi")
    assert (no_zip["precision"], no_zip["county_fips"]) == ("place", "06077")
    assert "street not located" in no_zip["matched"]


def test_ambiguous_burbank_uses_hint_or_largest() -> None:
    alone = geocode("Burbank")
    assert alone["county_fips"] == "06037"
    assert "ambiguous" in alone["matched"]
    hinted = geocode("Burbank, Santa Clara County")
    assert hinted["county_fips"] == "06085"
    assert hinted["confidence"] > alone["confidence"]
    assert geocode("Burbank 91502")["county_fips"] == "06037"


def test_swapped_lat_lon_is_fixed() -> None:
    result = geocode("-122.4194, 37.7749")
    assert (result["precision"], result["county_fips"]) == ("point", "06075")
    assert result["lat"] == pytest.approx(37.7749)
    assert "swapped" in result["matched"]


def test_dms_coordinates() -> None:
    for text in ("34°03'08\"N 118°14'37\"W", "34 3 8 N 118 14 37 W", "N 34 3 8 W 118 14 37"):
        result = geocode(text)
        assert result["county_fips"] == "06037", text
        assert result["lat"] == pytest.approx(34.05222, abs=1e-4)
        assert result["lng"] == pytest.approx(-118.24361, abs=1e-4)


def test_point_just_off_the_coast_gets_nearest_county() -> None:
    result = geocode("33.98,-118.52")  # in the water off Marina del Rey
    assert result["county_fips"] == "06037"
    assert "nearest county" in result["matched"]


def test_point_outside_california_is_a_destination_error() -> None:
    result = geocode("36.17,-115.14")
    assert result["error"].startswith("outside California")
    assert result["state"] == "NV"
    origin = geocode("36.17,-115.14", role="origin")
    assert (origin["error"], origin["state"], origin["precision"]) == (None, "NV", "state")


def test_reno_rejected_as_destination_kept_as_origin() -> None:
    dest = geocode("Reno, NV")
    assert dest["error"] == "outside California: Reno, NV"
    assert (dest["state"], dest["country"]) == ("NV", "US")
    assert math.isnan(dest["lat"])
    origin = geocode("Reno, NV", role="origin")
    assert origin["error"] is None
    assert (origin["state"], origin["country"], origin["precision"]) == ("NV", "US", "state")
    assert 35 < origin["lat"] < 42


def test_foreign_origin_is_country_level() -> None:
    result = geocode("Tijuana, Mexico", role="origin")
    assert (result["country"], result["precision"], result["state"]) == ("MX", "country", None)
    assert geocode("Manila, Philippines", role="origin")["country"] == "PH"


@pytest.mark.parametrize(
    ("text", "fips", "precision"),
    [
        ("L.A.", "06037", "place"),
        ("S.F.", "06075", "place"),
        ("Sacto", "06067", "place"),
        ("East LA", "06037", "place"),
        ("NoHo", "06037", "place"),
        ("OC", "06059", "county"),
        ("Bako", "06029", "place"),
        ("San Jo", "06085", "place"),
        ("29 Palms", "06071", "place"),
        ("Mt. Shasta", "06093", "place"),
        ("Ft Bragg", "06045", "place"),
        ("St. Helena", "06055", "place"),
        ("So. San Francisco", "06081", "place"),
        ("Co. of Fresno", "06019", "county"),
        ("County of San Diego", "06073", "county"),
        ("Humboldt Co", "06023", "county"),
        ("Kern Co.", "06029", "county"),
        ("Hollywood, LA", "06037", "place"),
    ],
)
def test_nicknames_abbreviations_and_county_forms(text: str, fips: str, precision: str) -> None:
    result = geocode(text)
    assert (result["county_fips"], result["precision"]) == (fips, precision), result


def test_misspelling_is_read_with_lower_confidence() -> None:
    result = geocode("Sacremento")
    assert result["county_fips"] == "06067"
    assert "read as 'Sacramento'" in result["matched"]
    assert result["confidence"] < geocode("Sacramento")["confidence"]


@pytest.mark.parametrize(
    "text",
    [
        "Sex trafficking hits home in Lane County",  # Oregon: one letter changed in a 4-letter word
        "traídas a Estados Unidos a través de Tijuana",  # "través" is not Traver: Tijuana is named
    ],
)
def test_typo_needs_strong_evidence(text: str) -> None:
    result = geocode(text)
    assert result["county_fips"] is None or pd.isna(result["county_fips"]), result


@pytest.mark.parametrize(
    ("text", "fips"),
    [("San Jse", "06085"), ("in Lake Conty", "06033"), ("Sacramneto", "06067")],
)
def test_typo_with_strong_evidence_is_still_read(text: str, fips: str) -> None:
    result = geocode(text)
    assert result["county_fips"] == fips, result
    assert "read as" in result["matched"] or "conty" in result["matched"], result


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        # the common-word reading: not the town, so the place the text names wins
        ("the rescue of 20 reported victims in San Mateo County", "06081"),
        ("the Vacaville and Fairfield-Suisun chambers of commerce", "06095"),
        # the place reading: after in/at/near/from or "the city of"
        ("a motel in Commerce", "06037"),
        ("the city of Commerce", "06037"),
        ("arrested in Rescue", "06017"),
    ],
)
def test_common_word_town_only_in_a_place_position(text: str, fips: str) -> None:
    result = geocode(text)
    assert result["county_fips"] == fips, result


def test_free_text_street_name_is_not_the_town() -> None:
    result = geocode("Motel 6 on Harbor Blvd, Anaheim")
    assert result["matched"] == "Anaheim (place, Orange) from 'anaheim'"
    assert geocode("5000 Riverside Dr, Chino")["county_fips"] == "06071"


def test_louisiana_and_colorado_still_recognised() -> None:
    assert geocode("Baton Rouge, LA")["state"] == "LA"
    assert geocode("Denver, CO")["state"] == "CO"
    assert geocode("Kern, CO")["county_fips"] == "06029"


# --------------------------------------------------------------------------- several places, regions


def _no_county(result: dict) -> bool:
    return result["county_fips"] is None or pd.isna(result["county_fips"])


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("serving Fresno and Madera counties", "more than one county"),
        ("brothels in Alhambra, Pasadena and Anaheim, mostly in Los Angeles County", "outside Los Angeles"),
        ("the Modesto area and the San Joaquin Valley", "region of several counties"),
        ("from Stockton over to the East Bay", "region of several counties"),
        ("in Fresno or the whole of California", "region of several counties"),
    ],
)
def test_places_in_different_counties_get_no_county(text: str, why: str) -> None:
    """Several places, counties or regions named together: never the first one's county."""
    result = geocode(text)
    assert _no_county(result), result
    assert why in result["error"], result


@pytest.mark.parametrize(
    ("text", "fips"),
    [("Arcata and Eureka", "06023"), ("the San Mateo and Redwood City police", "06081")],
)
def test_places_in_one_county_get_that_county(text: str, fips: str) -> None:
    assert geocode(text)["county_fips"] == fips


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("a farmhouse in Kings County, about 30 miles south of Fresno", "06031"),
        ("a massage parlor in Yuba City, north of Sacramento", "06101"),
        ("a camp some miles east of Stockton", "06077"),  # the only place named: kept
    ],
)
def test_a_reference_point_gives_way_to_the_place_it_locates(text: str, fips: str) -> None:
    assert geocode(text)["county_fips"] == fips


@pytest.mark.parametrize(
    "text",
    ["hiking in the Sierra", "a Sierra timber company", "a Silicon Valley startup",
     "a sweep across the Bay Area", "a massage parlor in the Los Angeles metropolitan area"],
)
def test_a_region_of_several_counties_is_no_county(text: str) -> None:
    assert _no_county(geocode(text))


def test_sierra_county_with_its_word_and_the_inland_empire_convention() -> None:
    assert geocode("a deputy in Sierra County")["county_fips"] == "06091"
    # the convention since branch georules7: two counties (Riverside and San
    # Bernardino), a region like the others, never one county (it was Riverside)
    for text in ("the Inland Empire", "the IE", "a motel in the Inland Empire"):
        result = geocode(text)
        assert _no_county(result), result
        assert "region of several counties" in result["error"]
    assert geocode("the Inland Empire city of Fontana")["county_fips"] == "06071"


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("the San Francisco Bay Area town of Danville", "06013"),  # the qualified place wins
        ("the Central Valley city of Turlock", "06099"),
        ("a ranch near Lodi in the Central Valley", "06077"),
        ("a motel in the Pismo Beach area", "06079"),  # no region
        ("the Half Moon Bay area", "06081"),  # "Bay area" ends a town's name: no region
    ],
)
def test_a_region_that_qualifies_a_place_gives_way_to_it(text: str, fips: str) -> None:
    assert geocode(text)["county_fips"] == fips


@pytest.mark.parametrize(
    "text",
    ["stopped on the Pacific Coast Highway near a gas station", "a motel along Pacific Coast Hwy"],
)
def test_a_highway_name_is_no_place_and_no_typo_reads_into_it(text: str) -> None:
    result = geocode(text)
    assert _no_county(result), result


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("The coyote took them to a stash house in Calexico.", "06025"),
        ("The orange groves near Visalia", "06107"),
    ],
)
def test_a_town_name_in_lower_case_after_an_article_is_a_common_noun(text: str, fips: str) -> None:
    result = geocode(text)
    assert result["county_fips"] == fips, result
    assert "common noun" in result["matched"]


@pytest.mark.parametrize(
    ("text", "state"),
    [("King County, Washington", "WA"), ("Elk Grove Village, Illinois", "IL")],
)
def test_a_namesake_with_its_state_stays_outside_california(text: str, state: str) -> None:
    assert geocode(text)["error"].startswith("outside California")
    assert geocode(text, role="origin")["state"] == state


@pytest.mark.parametrize("text", ["the King County prosecutor", "a man from Elk Grove Village"])
def test_a_longer_or_other_name_is_not_its_californian_namesake(text: str) -> None:
    """"King County" is not a misspelt Kings County; "Elk Grove Village" is neither Elk Grove nor Elk."""
    assert _no_county(geocode(text))


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("a packing shed near Poplar", "06107"),  # of Poplar-Cotton Center, Tulare County
        ("arrested in Larkfield", "06097"),  # of Larkfield-Wikiup, Sonoma County
        ("a row of poplar trees outside Fresno", "06019"),  # a word, not in a place position
        ("Florence, Italy", None),  # not Florence-Graham: a part needs a place position
    ],
)
def test_a_community_of_a_joint_census_place_in_a_place_position(text: str, fips: str | None) -> None:
    result = geocode(text)
    if fips is None:
        assert _no_county(result), result
    else:
        assert result["county_fips"] == fips, result


@pytest.mark.parametrize(
    "text",
    [
        "Cartels spread their rings across the state",  # a word in lower case is no misspelt Kings
        "the Belmond District",  # a neighbourhood's name: no misspelt Belmont read into it
        "the Fairfeld District",
    ],
)
def test_no_typo_into_a_lower_case_word_or_a_neighbourhood_name(text: str) -> None:
    assert _no_county(geocode(text))


def test_a_typo_in_capitals_or_in_a_text_in_one_case_is_still_read() -> None:
    assert geocode("a motel in Sacramneto")["county_fips"] == "06067"
    assert geocode("a motel in sacramneto")["county_fips"] == "06067"  # no capitals anywhere
    assert geocode("Victim found at a motel in bakersfeild")["county_fips"] == "06029"  # after "in"


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("agents at the Indio Border Patrol checkpoint", None),  # named for a town, often not in it
        ("a kiosk near Manchester Mall", None),  # a mall's name, as a street's
        ("a Stockton mall", "06077"),  # a mall in Stockton
        ("the Calexico Border Patrol Station", "06025"),  # a station is in its town
    ],
)
def test_a_checkpoint_or_a_mall_named_for_a_town_is_not_the_town(text: str, fips: str | None) -> None:
    result = geocode(text)
    if fips is None:
        assert _no_county(result), result
    else:
        assert result["county_fips"] == fips, result


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("SACRAMENTO (CBS SF)", "06067"),  # a station's sign-off, not a second place
        ("SAN DIEGO (NBC LA)", "06073"),
        ("a bar at Lincoln and Second in Chico", "06007"),  # a cross street with an ordinal word
    ],
)
def test_a_broadcaster_dateline_or_cross_street_gives_way_to_the_place(text: str, fips: str) -> None:
    result = geocode(text)
    assert result["county_fips"] == fips, result


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("San Joaquin's dairy farms", None),  # the county, or the town of San Joaquin in Fresno County
        ("a clinic in San Joaquin", None),
        ("San Joaquin", None),
        ("the town of San Joaquin", "06019"),  # said to be the town
        ("a deputy in San Joaquin County", "06077"),  # said to be the county
        ("a motel in Alpine", "06073"),  # the town (San Diego County) outnumbers Alpine County
    ],
)
def test_a_county_name_that_is_a_smaller_town_elsewhere_is_not_guessed(text: str, fips: str | None) -> None:
    result = geocode(text)
    if fips is None:
        assert _no_county(result), result
        assert "reads both as San Joaquin County" in result["error"], result
    else:
        assert result["county_fips"] == fips, result


@pytest.mark.parametrize(
    ("text", "fips"),
    [("a motel in the Valley", None), ("raids across the Valley", None), ("a Van Nuys motel in the Valley", "06037")],
)
def test_the_valley_is_no_one_county(text: str, fips: str | None) -> None:
    """San Fernando, Central, Coachella, Napa, Santa Ynez, or Phoenix's: not Los Angeles County by default."""
    result = geocode(text)
    if fips is None:
        assert _no_county(result), result
    else:
        assert result["county_fips"] == fips, result


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("a room at the Fairfield Inn off Highway 99", None),  # a chain, not Fairfield (Solano County)
        ("two nights at a La Quinta Inn", None),
        ("a room at the La Quinta Inn in Fresno", "06019"),
        ("a motel in La Quinta", "06065"),  # the town itself
    ],
)
def test_a_hotel_chain_named_like_a_town_is_not_the_town(text: str, fips: str | None) -> None:
    result = geocode(text)
    if fips is None:
        assert _no_county(result), result
    else:
        assert result["county_fips"] == fips, result


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("smuggling arrests at the Otay Mesa border crossing", "06073"),
        ("the Rainbow checkpoint on I-15", "06073"),  # named for Temecula (Riverside), in San Diego County
        ("agents at the San Onofre checkpoint", "06073"),
        ("a recruiter posted to Travis Air Force Base", "06095"),  # GeoNames' "Travis AFB"
        ("a student at Cal State LA", "06037"),  # not Louisiana
        ("a hotel near CSU East Bay", "06001"),  # not the East Bay region
        ("a bar in the Gaslamp Quarter", "06073"),
    ],
)
def test_a_landmark_the_place_list_lacks(text: str, fips: str) -> None:
    result = geocode(text)
    assert result["county_fips"] == fips, result


def test_every_landmark_lies_in_its_county() -> None:
    landmarks = reference.load_landmarks()
    fips, _snapped = latlngs_to_counties(landmarks["lat"].to_numpy(), landmarks["lng"].to_numpy())
    assert list(fips) == landmarks["county_fips"].tolist()


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("Los Angeles County Super. Ct.", "06037"),  # a court citation, not Connecticut
        ("a fundraiser at Merced’s St. Patrick Church", "06047"),  # Saint, not a street
        ("a stash house on the outskirts of Commerce", "06037"),  # a common-word town in a place position
        ("S.F. police said", "06075"),  # a nickname before "police"
        ("Homeland Security agents in Fresno", "06019"),  # the agency, not Homeland (Riverside County)
        ("Julian A. Pollok Law Offices, Glendale, CA", "06037"),  # a person's name, not Julian
        ("a motel in Julian", "06073"),
    ],
)
def test_citations_saints_agencies_and_people_are_no_second_place(text: str, fips: str) -> None:
    result = geocode(text)
    assert result["county_fips"] == fips, result


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("the Santa Clara Parish food bank", None),  # a parish named for the saint, in any town
        ("a food drive at St. Helena Catholic Church", None),  # St. Helena, Napa County, or any town
        ("a motel in Santa Clara", "06085"),
    ],
)
def test_a_saints_name_before_a_church_word_is_no_town(text: str, fips: str | None) -> None:
    result = geocode(text)
    if fips is None:
        assert _no_county(result), result
    else:
        assert result["county_fips"] == fips, result


@pytest.mark.parametrize("text", ["north of Olive, south of Belmont", "east of Tulare, west of Chestnut"])
def test_two_bounds_of_an_area_are_streets_when_one_is_no_place(text: str) -> None:
    """As "between X and Y": "Belmont" bounding an area next to a street is a street, not Belmont."""
    assert _no_county(geocode(text))


# --------------------------------------------------------------------------- places outside California


def _kept_outside(text: str, state: str | None, country: str = "US") -> None:
    """Rejected as a destination, kept at state (or country) level as an origin."""
    dest = geocode(text)
    assert dest["county_fips"] is None and dest["error"].startswith("outside California"), dest
    origin = geocode(text, role="origin")
    assert (origin["state"], origin["country"]) == (state, country), origin
    assert origin["precision"] == ("state" if state else "country"), origin
    assert origin["county_fips"] is None and origin["error"] is None, origin


@pytest.mark.parametrize(("text", "state"), [
    ("Statesboro, Ga.", "GA"),
    ("Tupelo, Miss.", "MS"),
    ("Dothan, Ala.", "AL"),
    ("Tulsa, Okla.", "OK"),
    ("Lubbock, Tex.", "TX"),
    ("Wheeling, W. Va.", "WV"),
    ("Minot, N. Dak.", "ND"),
    ("Annapolis, Md.", "MD"),
    ("Springfield, Mo.", "MO"),
    ("Hartford, Conn.", "CT"),
    ("Burlington, Vt.", "VT"),
    ("Olympia, Wash.", "WA"),
    ("Cheyenne, Wyo.", "WY"),
    ("Shreveport, La.", "LA"),
    ("Nashville, Tenn.", "TN"),
    ("Lebanon, Ind.", "IN"),
    ("Scranton, Penna.", "PA"),
    ("MACON, GA. (WXYZ)", "GA"),
    ("Statesboro, Ga", "GA"),
    ("statesboro, ga", "GA"),
    ("Bangor, ME", "ME"),
    ("Gary, IN 46402", "IN"),
])
def test_a_state_written_ap_or_postal_after_a_place_is_that_state(text: str, state: str) -> None:
    _kept_outside(text, state)


@pytest.mark.parametrize(("text", "state"), [
    ("Eureka, Mont.", "MT"),  # Eureka, Humboldt County
    ("Burbank, Ill.", "IL"),  # Burbank, Los Angeles County
    ("Wilmington, Del.", "DE"),  # Wilmington, Los Angeles
    ("Richmond, Va.", "VA"),  # Richmond, Contra Costa County
    ("Lancaster, Pa.", "PA"),  # Lancaster, Los Angeles County
    ("Auburn, Ala.", "AL"),  # Auburn, Placer County
    ("Salina, Okla.", "OK"),  # one letter from Salinas, Monterey County
    ("Mercer, Pa.", "PA"),  # one letter from Merced
])
def test_a_named_state_beats_a_californian_namesake_or_near_miss(text: str, state: str) -> None:
    _kept_outside(text, state)


@pytest.mark.parametrize(("text", "state"), [
    ("a former Tucson resident", "AZ"),
    ("cities like Denver", "CO"),
    ("the greater Boise area", "ID"),
    ("a suburban Reno apartment", "NV"),
])
def test_an_out_of_state_city_after_a_describing_word(text: str, state: str) -> None:
    _kept_outside(text, state)


@pytest.mark.parametrize(("text", "state"), [
    ("a Pima County detective", "AZ"),
    ("Multnomah County prosecutors said", "OR"),
    ("a brothel in Nye County", "NV"),
    ("the Maricopa County jail", "AZ"),  # not Maricopa, Kern County
])
def test_a_county_of_a_neighbouring_state_is_that_state(text: str, state: str) -> None:
    _kept_outside(text, state)


@pytest.mark.parametrize(("text", "state"), [
    ("a cousin who lives in Memphis", "TN"),
    ("a family in Baltimore", "MD"),
    ("a warehouse in Long Island City", "NY"),
])
def test_a_large_us_city_is_its_state(text: str, state: str) -> None:
    _kept_outside(text, state)


@pytest.mark.parametrize(("text", "state"), [
    ("a massage parlor in Houston's Chinatown", "TX"),  # not Chinatown, San Francisco or Oakland
    ("a bar in Denver's Hollywood district", "CO"),  # not Hollywood, Los Angeles
])
def test_a_part_of_an_out_of_state_city_in_the_possessive_is_there(text: str, state: str) -> None:
    _kept_outside(text, state)


def test_a_capital_postal_code_before_a_lower_case_word_is_the_state() -> None:
    _kept_outside("two nurses from Madison, WI in 2001", "WI")
    _kept_outside("the Glendale, AZ Police Department", "AZ")  # not Glendale (Los Angeles County)
    assert geocode("Modesto, OR Turlock")["county_fips"] == "06099"  # "OR" a word: still no state


@pytest.mark.parametrize(("text", "country"), [
    ("a 30-year-old Guatemalan national", "GT"),
    ("two women of Honduran nationality", "HN"),
    ("a Thai citizen", "TH"),
    ("relatives in Dubai", "AE"),
    ("a cousin back home in Malawi", "MW"),
])
def test_a_nationality_or_a_country_outside_is_that_country(text: str, country: str) -> None:
    _kept_outside(text, None, country)


def test_a_nationality_is_the_origin_and_the_place_the_destination() -> None:
    assert geocode("a Chinese national arrested in Fresno")["county_fips"] == "06019"
    assert geocode("a Chinese national arrested in Fresno", role="origin")["country"] == "CN"


def test_the_state_and_its_abbreviation_are_named_in_matched() -> None:
    origin = geocode("Salina, Okla.", role="origin")
    assert "'Okla.' after salina names Oklahoma" in origin["matched"], origin
    assert "read as" not in origin["matched"]  # no typo was read into "Salina"


@pytest.mark.parametrize(("text", "fips"), [
    ("Fresno, OR Modesto", None),  # "OR" before a word is the conjunction
    ("Gary, In", None),  # title-case "In" is a word
    ("fresno, la", None),  # lower-case "la" is not Louisiana
    ("Compton, LA", "06037"),
    ("Kern, CO", "06029"),
    ("Kern, Co.", "06029"),
    ("a motel in or near Stockton", "06077"),
])
def test_a_word_that_looks_like_a_state_code_is_not_a_state(text: str, fips: str | None) -> None:
    dest = geocode(text)
    origin = geocode(text, role="origin")
    assert dest["county_fips"] == fips, dest
    assert origin["precision"] not in ("state", "country"), origin


@pytest.mark.parametrize(("text", "dest_fips", "origin_state"), [
    ("a Dothan, Ala., man arrested at a Fresno motel", "06019", "AL"),
    ("a woman from Tupelo, Miss., was found in Stockton", "06077", "MS"),
])
def test_an_abbreviated_state_inside_a_sentence(text: str, dest_fips: str, origin_state: str) -> None:
    assert geocode(text)["county_fips"] == dest_fips
    origin = geocode(text, role="origin")
    assert (origin["state"], origin["precision"]) == (origin_state, "state"), origin


@pytest.mark.parametrize("text", [
    "Torreón, Coahuila",  # a Mexican state the shipped centroids lack
    "Hermosillo, Sonora",  # Sonora is also a town in Tuolumne County
    "Tecate, B.C.",  # Tecate is also a hamlet in San Diego County
    "Ensenada, BC",
])
def test_a_mexican_state_after_a_place_is_mexico(text: str) -> None:
    _kept_outside(text, None, "MX")


def test_sonora_after_a_californian_place_stays_in_tuolumne() -> None:
    assert geocode("Jamestown, Sonora")["county_fips"] == "06109"
    assert geocode("in Sonora")["county_fips"] == "06109"


@pytest.mark.parametrize(("text", "country"), [
    ("brought into the United States from Honduras", "HN"),
    ("girls moved from Guatemala into the United States", "GT"),
    ("workers recruited out of Nicaragua", "NI"),
])
def test_the_origin_is_the_most_specific_country_named(text: str, country: str) -> None:
    _kept_outside(text, None, country)


@pytest.mark.parametrize(("text", "dest_fips", "origin"), [
    ("trafficked from Vietnam to San Jose", "06085", (None, "VN", "country")),
    ("workers from El Salvador picked crops near Salinas", "06053", (None, "SV", "country")),
    ("driven from Bakersfield, Calif., to Phoenix, Ariz.", None, ("CA", "US", "place")),
    ("taken from Sacramento to Reno", None, ("CA", "US", "place")),
    ("born in Guatemala, arrested in Oakland", "06001", (None, "GT", "country")),
    ("a native of Jalisco living in Fresno", "06019", (None, "MX", "country")),
])
def test_from_names_the_origin_and_not_the_destination(
    text: str, dest_fips: str | None, origin: tuple[str | None, str, str]
) -> None:
    dest = geocode(text)
    assert dest["county_fips"] == dest_fips, dest
    if dest_fips is None:
        assert dest["error"].startswith("outside California"), dest
    got = geocode(text, role="origin")
    assert (got["state"], got["country"], got["precision"]) == origin, got


# --------------------------------------------------------------------------- structured fields


def test_geocode_fields_structured_columns() -> None:
    frame = pd.DataFrame(
        {
            "address": ["1234 Stockton Blvd", "", "", None],
            "city": ["Sacramento", "Burbank", "Burbank", None],
            "zip": [95817, None, None, None],
            "county": ["", "", "Santa Clara", "Kern"],
            "lat": [None, None, None, None],
            "lon": [None, None, None, None],
        },
        index=["a", "b", "c", "d"],
    )
    out = geocode_fields(frame)
    assert list(out.index) == ["a", "b", "c", "d"]
    assert out["county_fips"].tolist() == ["06067", "06037", "06085", "06029"]
    assert out["precision"].tolist() == ["zip", "place", "place", "county"]


def test_geocode_fields_coordinates_win_and_origin_prefix() -> None:
    frame = pd.DataFrame(
        {
            "location": ["Lodi", "Fresno"],
            "lat": [37.7749, None],
            "lon": [-122.4194, None],
            "origin_city": ["Reno", "Modesto"],
            "origin_location": ["", "ignored when city is given"],
        }
    )
    dest = geocode_fields(frame)
    assert dest["precision"].tolist() == ["point", "place"]
    assert dest["county_fips"].tolist() == ["06075", "06019"]
    origin = geocode_fields(frame, prefix="origin_", role="origin")
    assert origin["state"].tolist() == ["NV", "CA"]
    assert origin["precision"].tolist() == ["state", "place"]
    assert origin.loc[1, "county_fips"] == "06099"


def test_geocode_fields_with_no_location_columns() -> None:
    out = geocode_fields(pd.DataFrame({"other": [1, 2]}))
    assert (out["error"] == "no location given").all()


# --------------------------------------------------------------------------- never raises


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.none(), st.text(max_size=120), st.from_regex(r"[-+0-9NSEW°'\". ,]{0,40}")))
def test_never_raises(text: str | None) -> None:
    result = geocode(text)
    assert list(result) == GEOCODE_COLUMNS
    assert (result["error"] is None) == (result["precision"] is not None)
    if result["county_fips"] is not None:
        assert len(result["county_fips"]) == 5


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(), st.integers(), st.text(max_size=30)), max_size=20))
def test_batch_never_raises_on_mixed_values(values: list) -> None:
    out = geocode_locations(pd.Series(values, dtype=object))
    assert len(out) == len(values)


def test_coordinate_parser_leaves_house_numbers_alone() -> None:
    assert text_to_latlng("1234 Main St") is None
    assert text_to_latlng("Hwy 99 N 12 miles") is None


def test_latlngs_to_counties_vectorised() -> None:
    lat = np.array([38.13, 36.17, 33.98])
    lng = np.array([-121.27, -115.14, -118.52])
    fips, snapped = latlngs_to_counties(lat, lng)
    assert list(fips) == ["06077", None, "06037"]
    assert snapped.tolist() == [False, False, True]


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipelines")
    geocode_cli.register(parser.add_subparsers(dest="command"))
    return parser


def test_cli_prints_json_per_text(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["geocode", "I-5 near Lodi", "Reno, NV"])
    assert args.func(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["county_fips"] for row in lines] == ["06077", None]
    assert lines[1]["error"] == "outside California: Reno, NV"
    assert lines[1]["lat"] is None


def test_cli_file_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.csv"
    pd.DataFrame({"id": [1, 2, 3], "where": ["Fresno", "Tijuana", "95814"]}).to_csv(src, index=False)
    out = tmp_path / "out.parquet"
    args = _parser().parse_args(
        ["geocode", "--in", str(src), "--column", "where", "--out", str(out), "--role", "origin"]
    )
    assert args.func(args) == 0
    result = pd.read_parquet(out)
    assert list(result.columns) == ["id", "where", *GEOCODE_COLUMNS]
    assert result["country"].tolist() == ["US", "MX", "US"]
    assert "Geocoded 3 rows" in capsys.readouterr().err


def test_cli_bad_column_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.csv"
    pd.DataFrame({"place": ["Fresno"]}).to_csv(src, index=False)
    args = _parser().parse_args(["geocode", "--in", str(src), "--column", "nope"])
    assert args.func(args) == 2
    assert "column 'nope' is not in" in capsys.readouterr().err


def test_geocode_fields_falls_back_to_words_when_coordinates_fail() -> None:
    frame = pd.DataFrame({"lat": ["abc", 0.0], "lon": ["def", 0.0], "city": ["Lodi", ""]})
    out = geocode_fields(frame)
    assert out.loc[0, "county_fips"] == "06077"
    assert out.loc[1, "error"].startswith("outside California")


@settings(max_examples=300, deadline=None)
@given(st.floats(-200, 200, allow_nan=False), st.floats(-200, 200, allow_nan=False))
def test_decimal_pair_shortcut_gives_what_the_full_parse_gives(a: float, b: float) -> None:
    from geo.geocode import _decimal_pair, _PendingPoint, _resolve_text

    text = f"{a!r}, {b!r}"
    fast = _decimal_pair(text)
    if fast is None:
        return
    slow = _resolve_text(text, "destination")
    assert isinstance(slow, _PendingPoint)
    assert slow.text == fast.text
    assert [repr(v) for v in slow.point] == [repr(v) for v in fast.point]
