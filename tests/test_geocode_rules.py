"""Rules written against the classes of miss of holdout set 6 (branch georules7), each
tested with invented phrases of the same kind, none taken from a labelled set.

The classes: a city's nickname written in capitals or with its periods used as an
adjective ("the L.A. Madam", "SF massage parlors"), "from LA" at the end of a text,
well-known neighbourhoods of the big cities, a town's name before its police or
sheriff's station, a person's name after a title, a Spanish article that makes a
road's name ("El Camino"), regions of several counties (the Monterey Bay, the Inland
Empire, "counties surrounding X"), a state's name before "counties", an out-of-state
city after a preposition or a year, and a nationality in the plural.
"""

from __future__ import annotations

import pandas as pd
import pytest

from geo.geocode import geocode


def _no_county(result: dict) -> bool:
    return result["county_fips"] is None or pd.isna(result["county_fips"])


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("an L.A. pimp ran the ring", "06037"),
        ("the S.F. sex trade", "06075"),
        ("LA gang members moved her north", "06037"),
        ("OC massage parlors were raided", "06059"),
        ("the L.A. crew took her to Fresno", "06019"),  # the nickname gives way to a full name
        ("the girls were brought up from LA", "06037"),  # not Louisiana
    ],
)
def test_a_nickname_in_capitals_is_the_place_wherever_it_stands(text: str, fips: str) -> None:
    assert geocode(text)["county_fips"] == fips


@pytest.mark.parametrize("text", ["la casa de mi madre", "THE LA MADAM"])
def test_a_nickname_not_in_capitals_in_mixed_case_text_still_needs_a_place_position(text: str) -> None:
    assert _no_county(geocode(text))


def test_a_state_code_after_a_comma_stays_the_state() -> None:
    result = geocode("Shreveport, LA", role="origin")
    assert (result["state"], result["precision"]) == ("LA", "state")


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("an SRO hotel in the Tenderloin", "06075"),
        ("girls walking in Pacific Beach", "06073"),
        ("a house in the Fruitvale District", "06001"),
        ("a motel near Jack London Square", "06001"),
        ("shelters on Skid Row", "06037"),
        ("massage parlors in Willow Glen", "06085"),
        ("a Natomas apartment", "06067"),
        ("bars of the Tower District", "06019"),
        ("a house in Watts", "06037"),
        ("a hotel in Mission Valley", "06073"),
    ],
)
def test_a_well_known_neighbourhood_is_in_its_city(text: str, fips: str) -> None:
    assert geocode(text)["county_fips"] == fips


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("a Vista Sheriff's deputy found her", "06073"),  # Vista: a common word, a town here
        ("detectives of the Commerce Police Department", "06037"),
        ("Detective Oakley Smith of the Fresno Police", "06019"),  # Oakley: a person, not the town
    ],
)
def test_a_town_before_its_police_and_a_person_after_a_title(text: str, fips: str) -> None:
    assert geocode(text)["county_fips"] == fips


@pytest.mark.parametrize(
    "text",
    ["Officer Julian Morales said", "Deputy Rick Alvarez testified", "Officer Watts said",
     "women walking El Camino at night"],
)
def test_a_persons_name_and_a_road_are_no_place(text: str) -> None:
    result = geocode(text)
    assert _no_county(result), result


@pytest.mark.parametrize(
    "text",
    ["hotels along the Monterey Bay", "a ring across the Inland Empire", "the IE",
     "the Tri-Valley area", "truck stops in the Antelope Valley", "the counties surrounding Fresno",
     "counties near Sacramento"],
)
def test_a_region_of_several_counties_is_no_county(text: str) -> None:
    result = geocode(text)
    assert _no_county(result), result
    assert "region of several counties" in result["error"]


@pytest.mark.parametrize(
    ("text", "fips"),
    [
        ("the Inland Empire city of Fontana", "06071"),  # the region qualifies its place
        ("Humboldt and surrounding counties", "06023"),  # the text centres it on Humboldt
        ("the Monterey Bay Aquarium", "06053"),
    ],
)
def test_a_region_that_says_where_its_place_is(text: str, fips: str) -> None:
    assert geocode(text)["county_fips"] == fips


@pytest.mark.parametrize(
    ("text", "state", "country"),
    [
        ("several Nevada counties allow brothels", "NV", "US"),
        ("flights over Las Vegas", "NV", "US"),
        ("trucked through Phoenix", "AZ", "US"),
        ("a 2019 Seattle report", "WA", "US"),
        ("Guatemalans working in the fields", None, "GT"),
        ("smuggling Mexicans across the border", None, "MX"),
        ("the forced labour of Thais", None, "TH"),
    ],
)
def test_places_outside_california_in_these_shapes(text: str, state: str | None, country: str) -> None:
    dest = geocode(text)
    assert _no_county(dest) and dest["error"].startswith("outside California"), dest
    origin = geocode(text, role="origin")
    assert (origin["state"], origin["country"]) == (state, country), origin
    assert origin["precision"] in ("state", "country")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Nevada County", "06057"),
        ("Placer and Nevada counties", None),  # two Californian counties: no one answer
    ],
)
def test_nevada_county_stays_californian(text: str, want: str | None) -> None:
    result = geocode(text)
    assert (None if _no_county(result) else result["county_fips"]) == want


@pytest.mark.parametrize("text", ["Oak Park", "a girl from Oak Park"])
def test_a_town_that_is_also_a_big_citys_neighbourhood_elsewhere_is_not_guessed(text: str) -> None:
    result = geocode(text)  # Oak Park, Ventura County, and Sacramento's Oak Park
    assert _no_county(result), result
    assert "not guessing" in result["error"]


def test_a_county_or_zip_says_which_oak_park() -> None:
    assert geocode("Oak Park in Ventura County")["county_fips"] == "06111"
    assert geocode("Oak Park, CA 91377")["county_fips"] == "06111"


def test_a_short_title_needs_its_period() -> None:
    assert geocode("Sgt. Julian Ruiz of the Fresno police")["county_fips"] == "06019"
    result = geocode("Sen Clemente")  # a misspelt place, not Senator Clemente
    assert "person" not in str(result["matched"]) + str(result["error"]), result
    assert geocode("Sen. Julian Ortiz")["county_fips"] is None


def test_a_neighbourhoods_name_in_lower_case_is_common_words() -> None:
    assert geocode("beef tenderloin at a Fresno restaurant")["county_fips"] == "06019"
    assert geocode("a hotel in the Tenderloin")["county_fips"] == "06075"
    assert geocode("the tenderloin")["county_fips"] == "06075"  # a text in one case: its names too


def test_more_shapes_of_the_capital_nicknames() -> None:
    assert geocode("an LA-based gang")["county_fips"] == "06037"  # a hyphen after it: still LA
    assert _no_county(geocode("a cul-de-sac"))  # in lower case, inside other words: no Sacramento
    for text in ("the greater L.A. region", "Greater LA"):  # a region of several counties, not Louisiana
        result = geocode(text, role="origin")
        assert _no_county(result) and result["state"] is None, result


def test_a_sheriffs_station_named_for_a_town_in_another_county() -> None:
    # the Malibu/Lost Hills station of the Los Angeles County Sheriff; Lost Hills is a Kern town
    assert geocode("deputies of the Lost Hills Sheriff's Station")["county_fips"] == "06037"
    assert geocode("a farm in Lost Hills")["county_fips"] == "06029"
